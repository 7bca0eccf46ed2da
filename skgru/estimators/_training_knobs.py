"""Training knobs of issue 18: ``l1``, ``lr_schedule`` / ``lr_decay`` / ``lr_patience``, ``weight_decay``.

Their constraints (merged into the estimators' ``_parameter_constraints``), the
optimizer keyword that ``weight_decay`` becomes, and the per-epoch learning-rate
schedule of a fit.  ``l1`` itself only enters the network spec (see
``skgru._keras.network``: the same kernels ``l2`` covers).
"""

from __future__ import annotations

import inspect
import numbers

import keras
from sklearn.utils._param_validation import Interval, StrOptions

from skgru._keras import schedules

CONSTRAINTS = {
    "l1": [Interval(numbers.Real, 0, None, closed="left")],
    "lr_schedule": [None, StrOptions(set(schedules.SCHEDULES))],
    # a factor: 1 keeps the rate (handy in a grid), > 1 would raise it
    "lr_decay": [None, Interval(numbers.Real, 0, 1, closed="right")],
    "lr_patience": [Interval(numbers.Integral, 1, None, closed="left")],
    "weight_decay": [None, Interval(numbers.Real, 0, None, closed="left")],
}

# Optimizers that accept ``weight_decay`` but do not apply it (Keras 3.15, measured:
# five steps of lr=0.1, weight_decay=0.5 shrink the weights of every other optimizer
# by 0.08-0.23, as AdamW does; FTRL's closed-form update recomputes the variable from
# its accumulators and overwrites the decay, a change of 2e-5).  tests/
# test_training_knobs.py re-measures every optimizer, so a Keras that fixes FTRL shows.
IGNORES_WEIGHT_DECAY = ("Ftrl",)


def _accepts_weight_decay(opt_cls) -> bool:
    try:
        sig = inspect.signature(opt_cls.__init__)
    except (TypeError, ValueError):
        return True
    return any(p.name == "weight_decay" or p.kind is p.VAR_KEYWORD for p in sig.parameters.values())


def _ignores_weight_decay(opt_cls) -> bool:
    return any(issubclass(opt_cls, getattr(keras.optimizers, name)) for name in IGNORES_WEIGHT_DECAY
               if hasattr(keras.optimizers, name))


def with_weight_decay(opt_cls, opt_kwargs: dict, params: dict) -> dict:
    """``opt_kwargs`` with ``weight_decay`` set from the estimator parameter.

    ``weight_decay=None`` leaves the optimizer's own default (AdamW: 0.004, the
    others: none); a float is passed to the optimizer, also to one given as an
    instance.  A routed ``optimizer__weight_decay`` wins, as routed arguments
    always do.  A decay that the optimizer would not apply is a ValueError.
    """
    kwargs = dict(opt_kwargs)
    value = params.get("weight_decay")
    if value is not None and "optimizer__weight_decay" not in params:
        kwargs["weight_decay"] = float(value)
    decay = kwargs.get("weight_decay")
    if decay is not None and decay != 0:
        name = opt_cls.__name__
        if not _accepts_weight_decay(opt_cls):
            raise ValueError(
                f"weight_decay={decay!r}: the optimizer {name} takes no weight_decay argument. "
                "Use an optimizer that applies decoupled weight decay (adamw, adam, sgd, rmsprop, ...) "
                "or the l2 penalty."
            )
        if _ignores_weight_decay(opt_cls):
            raise ValueError(
                f"weight_decay={decay!r} would be silently ignored by {name}: its update recomputes "
                "the weights from its accumulators. Use l2 (or optimizer__l2_regularization_strength) "
                "with ftrl, or another optimizer (adamw, adam, sgd, ...)."
            )
    return kwargs


def _is_float_rate(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def epoch_schedule(params: dict, optimizer_kwargs: dict, history: dict, n_iter: int) -> schedules.EpochLearningRate:
    """The callback that sets and records each epoch's rate for this fit.

    ``history``/``n_iter`` are the estimator's own record of the epochs already
    trained (empty for a fresh fit), so a warm start or ``partial_fit`` continues
    the schedule; nothing is read from the (pooled) engine.
    """
    kind = params["lr_schedule"]
    base = optimizer_kwargs.get("learning_rate")
    if not _is_float_rate(base):
        if kind is not None:
            raise ValueError(
                f"lr_schedule={kind!r} sets the rate of each epoch, but the optimizer's learning_rate "
                f"is {type(base).__name__} (a Keras LearningRateSchedule?). Give the optimizer a float "
                "learning_rate, or leave lr_schedule=None to keep its own schedule."
            )
        return schedules.EpochLearningRate(schedules.Schedule(kind=None, base=float("nan")))
    decay = params["lr_decay"]
    schedule = schedules.Schedule(
        kind=kind,
        base=float(base),
        decay=float(schedules.DEFAULT_DECAY.get(kind, 1.0) if decay is None else decay),
        patience=int(params["lr_patience"]),
        planned_epochs=int(params["epochs"]),
        monitor="val_loss" if params["early_stopping"] else "loss",
        tol=float(params["tol"]),
        epoch_scale=float(params.get("_lr_epoch_scale", 1.0)),  # set by _params.run_budget
    )
    return schedules.EpochLearningRate(schedule.resume(history, n_iter))
