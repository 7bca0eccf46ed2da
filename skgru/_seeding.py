"""Seeded fits that leave no global random state behind.

SciKeras seeds through ``TF_DETERMINISTIC_OPS`` and op determinism, which stays on
for the whole process: after one seeded fit, later unseeded Keras code fails
with "Random ops require a seed".  We seed with ``keras.utils.set_random_seed``
instead and put every global generator it touches back as it was on exit, so a
later unseeded fit is random again.
"""

from __future__ import annotations

import contextlib
import random

import keras
import numpy as np

_KERAS_GLOBAL_ATTRS = ("global_random_seed", "global_seed_generator")


def _global_state():
    from keras.src.backend.common import global_state

    return global_state


def _tf_eager_context():
    """TensorFlow's eager context, when TensorFlow is importable (any backend)."""
    try:
        from tensorflow.python.eager import context
    except ImportError:  # pragma: no cover - TF is a core dependency
        return None
    return context.context()


def _save_state():
    gs = _global_state()
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "keras": {a: gs.get_global_attribute(a) for a in _KERAS_GLOBAL_ATTRS},
    }
    ctx = _tf_eager_context()
    if ctx is not None:
        state["tf"] = (ctx._seed, getattr(ctx, "_rng", None))
    if keras.backend.backend() == "torch":
        import torch

        state["torch"] = torch.get_rng_state()
    return state


def _restore_state(state) -> None:
    gs = _global_state()
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    for attr, value in state["keras"].items():
        gs.set_global_attribute(attr, value)
    ctx = _tf_eager_context()
    if ctx is not None and "tf" in state:
        seed, rng = state["tf"]
        ctx._seed = seed
        ctx._rng = rng
    if "torch" in state:
        import torch

        torch.set_rng_state(state["torch"])


@contextlib.contextmanager
def seeded(seed: int | None):
    """Run the block with all Keras-relevant generators seeded by ``seed``.

    ``seed=None`` does nothing (the block draws from the global generators).
    On exit the Python, NumPy, Keras, TensorFlow (and torch) global generators
    are restored, so the seed does not leak into the caller's process.
    """
    if seed is None:
        yield
        return
    state = _save_state()
    keras.utils.set_random_seed(int(seed))
    try:
        yield
    finally:
        _restore_state(state)


def resolve_seed(random_state) -> int | None:
    """sklearn's ``random_state`` (None, int or RandomState) -> an int seed or None.

    A ``RandomState`` instance is not advanced, so the same instance gives the
    same seed on every fit (as in SciKeras), and the user's object is not mutated.
    """
    if random_state is None:
        return None
    if isinstance(random_state, (int, np.integer)):
        return int(random_state) % (2**31)
    if isinstance(random_state, np.random.RandomState):
        copy = np.random.RandomState()
        copy.set_state(random_state.get_state())
        return int(copy.randint(0, 2**31 - 1))
    raise TypeError(
        f"random_state must be None, an int or a numpy RandomState; got {type(random_state).__name__}."
    )
