"""Every private Keras, KerasTuner and TensorFlow API skgru relies on, in one place.

Why one module: these names are not part of any documented interface and may
move in a minor release.  Each accessor here is exercised by
``tests/test_private_api.py``, which fails loudly (naming the missing attribute)
when a new version of a dependency removes it, instead of letting a search or a
fit degrade silently.  Nothing outside this module may import ``keras.src``,
``keras_tuner.src`` or ``tensorflow.python``.
"""

from __future__ import annotations

import sys

# ----------------------------------------------------------------------- Keras


def has_symbolic_build(model) -> bool:
    """Whether ``Model._symbolic_build`` (Keras 3 trainer internals) exists."""
    return hasattr(model, "_symbolic_build")


def symbolic_build(model, data_batch) -> None:
    """Create a compiled model's optimizer and metric variables outside any graph.

    ``Model.fit`` does this on its first call; skgru traces its own epoch function,
    whose graph must not create variables, so it calls the same private step first.
    """
    model._symbolic_build(data_batch=data_batch)  # noqa: SLF001


# ------------------------------------------------------------------ TensorFlow


def tf_context_initialized() -> bool:
    """Whether TensorFlow's eager context already exists (devices are then fixed).

    Never imports TensorFlow: False when it has not been imported yet.
    """
    if "tensorflow" not in sys.modules:
        return False
    try:
        from tensorflow.python.eager import context

        return context.context()._context_handle is not None  # noqa: SLF001
    except Exception:  # noqa: BLE001 - private API moved: assume not
        return False


# ------------------------------------------------------------------ KerasTuner
# (keras_tuner is an optional extra: these import it only when called.)


def kt_oracle_module():
    """``keras_tuner.src.engine.oracle``: the Oracle base class and its global LOCKS/THREADS."""
    from keras_tuner.src.engine import oracle

    return oracle


def kt_hyperparameters_module():
    """``keras_tuner.src.engine.hyperparameters`` (Fixed, Int, Float, Choice, HyperParameters)."""
    from keras_tuner.src.engine import hyperparameters

    return hyperparameters


def kt_trial_module():
    """``keras_tuner.src.engine.trial`` (TrialStatus)."""
    from keras_tuner.src.engine import trial

    return trial


def kt_release_oracle(oracle) -> None:
    """Drop the per-Oracle Lock/Thread entries KerasTuner keeps in module globals.

    They are keyed by the oracle, so without this every Oracle (and all its
    trials) stays alive for the life of the process.
    """
    module = kt_oracle_module()
    module.LOCKS.pop(oracle, None)
    module.THREADS.pop(oracle, None)


def kt_disable_trial_saving(oracle, noop) -> None:
    """Stop an Oracle writing JSON under ``<directory>/<project_name>`` on every call."""
    oracle.save = noop
    oracle._save_trial = noop  # noqa: SLF001


def kt_hyperband_brackets(oracle):
    """``(oracle._brackets, oracle._get_size)`` of a Hyperband oracle, or None.

    TunedGRU keeps the fitted models of trials Hyperband may still promote; which
    those are is only known from these two private members.
    """
    brackets = getattr(oracle, "_brackets", None)
    get_size = getattr(oracle, "_get_size", None)
    if brackets is None or get_size is None:
        return None
    return brackets, get_size


def kt_random_values(oracle):
    """``Oracle._random_values()``: a random configuration not tried yet, or None."""
    return oracle._random_values()  # noqa: SLF001


def kt_is_duplicate(oracle, values) -> bool:
    """``Oracle._duplicate(values)``: whether this configuration was tried already."""
    return oracle._duplicate(values)  # noqa: SLF001


def kt_max_collisions(oracle) -> int:
    """``Oracle._max_collisions``: how often to retry before giving up on a new value."""
    return oracle._max_collisions  # noqa: SLF001
