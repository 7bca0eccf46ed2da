"""Seeds for one fit, with no global random state read or written.

SciKeras seeds through ``TF_DETERMINISTIC_OPS`` and op determinism, which stays on
for the whole process: after one seeded fit, later unseeded Keras code fails with
"Random ops require a seed".  Even ``keras.utils.set_random_seed`` reseeds Python,
NumPy and TensorFlow globally (and clears TensorFlow's kernel caches, ~0.1 s).

skgru needs none of that: every random choice of a fit takes its seed from
:class:`FitSeeds` -- each initializer and dropout layer gets an explicit seed
(``skgru._keras.network``), the epoch shuffles and the validation split use a local NumPy
``Generator`` -- so a seeded fit is reproducible, an unseeded one is random, fits
in threads do not disturb each other, and the process's global generators are
never touched.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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


@dataclass
class FitSeeds:
    """Independent streams for one fit, all derived from ``random_state``."""

    network: int  # initial weights and dropout masks
    split: int  # early-stopping validation split
    shuffle: np.random.Generator  # epoch order

    @classmethod
    def from_random_state(cls, random_state) -> "FitSeeds":
        seed = resolve_seed(random_state)
        # SeedSequence(None) draws fresh OS entropy: an unseeded fit is random.
        network, split, shuffle = np.random.SeedSequence(seed).spawn(3)
        return cls(
            network=int(network.generate_state(1)[0] % (2**31 - 1)),
            split=int(split.generate_state(1)[0] % (2**31 - 1)),
            shuffle=np.random.default_rng(shuffle),
        )
