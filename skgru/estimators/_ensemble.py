"""``GRURegressor(ensemble_size=m)``: m networks that differ only in their seeds, averaged.

The estimator trains its own network (``model_``, exactly what ``ensemble_size=1``
trains) and ``m - 1`` more, each an estimator of its class with its parameters,
``ensemble_size=1`` and a seed derived from ``random_state`` (:func:`member_seed`); they
are kept in ``ensemble_``.
``predict`` averages the members' predictions after each member's own shrinkage.

Why: on 50-300 training windows a GRU's prediction moves with its seed (its initial
weights, dropout masks and batch order) by more than the GRU adds over a linear
model. Averaging three seeds lifted the mean cross-validated R^2 over issue 12's six
regression training splits from 0.439 to 0.448 on seeds 0-2 and from 0.419 to 0.442 on
seeds 3-5 (Ridge 0.425), level with or above Ridge on every set (benchmarks/README.md,
"Round 14"); five seeds were no better (0.448, 0.439) at 5/3 the cost.  Each member is
an ordinary, complete fit (its own validation split, early stopping, ridge start and
shrinkage), so every guarantee a single fit gives holds for each; and as the squared
error is convex, the average's error on any rows is at most the members' mean error
there.
"""

from __future__ import annotations

import numpy as np

from skgru.estimators._persistence import restore_model, snapshot_model
from skgru.estimators._seeding import resolve_seed


def member_seed(random_state, index: int) -> int | None:
    """``random_state`` of ensemble member ``index`` (>= 1; member 0 is the estimator's
    own network, trained with ``random_state`` itself).  None stays None (fresh
    entropy for every member); an int or a RandomState gives fixed, distinct seeds,
    so a seeded ensemble is reproducible."""
    seed = resolve_seed(random_state)
    if seed is None:
        return None
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0] % (2**31 - 1))


def members(estimator) -> list:
    """Every fitted network of ``estimator``: itself first, then ``ensemble_``."""
    return [estimator, *getattr(estimator, "ensemble_", ())]


def fit_with_members(estimator, fit_own, X, y, sample_weight=None, *, epochs=None, continue_training=False,
                     train=True):
    """Train (``train=False``: only build, as ``initialize``) or continue the
    ``ensemble_size - 1`` extra members, then ``fit_own()`` (the estimator's own
    network, trained the same way); ``ensemble_`` is set only when all succeeded.

    As the fit template promises for one network, a fit that raises leaves the
    estimator as it was: every member it had is restored (its weights, optimizer state
    and fitted attributes) whichever member or the own network failed.

    A warm start or ``partial_fit`` continues the members it has; when
    ``ensemble_size`` grew since, the new members start fresh on this call's data (as
    a random forest's ``warm_start`` adds trees), and when it shrank the last ones are
    dropped.  Each member takes the estimator's current parameters, so a changed
    ``epochs`` or ``learning_rate`` reaches every member; the user's ``callbacks``
    objects are passed on as they are (each member's training calls them in turn), not
    copied: a Keras callback that saw a training holds its model and cannot be copied.
    """
    n_extra = int(estimator.ensemble_size) - 1
    kept = list(getattr(estimator, "ensemble_", ())) if continue_training else []
    kept = (kept + [None] * n_extra)[:n_extra]
    params = estimator.get_params(deep=False)
    saved = [(member, dict(vars(member)), snapshot_model(member.model_)) for member in kept if member is not None]
    fitted = []
    try:
        for index, member in enumerate(kept, start=1):
            member_params = {**params, "ensemble_size": 1, "random_state": member_seed(params["random_state"], index)}
            member = type(estimator)(**member_params) if member is None else member.set_params(**member_params)
            member._fit(X, y, sample_weight, epochs=epochs, continue_training=continue_training, train=train)
            fitted.append(member)
        fit_own()
    except BaseException:
        for member, state, weights in saved:
            vars(member).clear()
            vars(member).update(state)
            restore_model(member.model_, weights)
        raise
    estimator.ensemble_ = fitted
    return estimator


# How predict weighs the members: "equal" (the default), or "inverse_val_loss", each
# member by 1 / its lowest validation loss (a benchmark knob, set by
# benchmarks/bench_accuracy.py's "ens3-weighted"; only predict reads it, not
# return_std or the ONNX graph).  Not adopted: level with the plain mean in training-split
# CV in rounds 14 and 15 of issue 12 (mean R^2 0.4171 vs 0.4160 over nine sets).
MEMBER_WEIGHTS = "equal"


def member_weights(fitted):
    """Weights of ``fitted``'s members in ``predict`` (None: equal, also when a member
    has no validation loss, i.e. without ``early_stopping``)."""
    if MEMBER_WEIGHTS == "equal":
        return None
    losses = [np.min(m.history_.get("val_loss") or [np.nan]) for m in fitted]
    if not np.all(np.isfinite(losses)) or min(losses) <= 0:
        return None
    return 1.0 / np.asarray(losses, dtype=np.float64)


def average(outputs, weights=None):
    """The mean of the members' outputs (the only output when there is one).  Average
    in the units of ``y``: members started apart (a warm start that grew the ensemble)
    standardised their targets on different data."""
    if len(outputs) == 1:
        return outputs[0]
    if weights is not None:
        return np.average(np.stack(outputs), axis=0, weights=weights).astype(outputs[0].dtype, copy=False)
    return np.mean(np.stack(outputs), axis=0).astype(outputs[0].dtype, copy=False)


def pooled_mean_std(point_samples):
    """Mean and std over every member's samples pooled with equal weight per member:
    a member's spread (Monte Carlo dropout passes) and the spread between members'
    means both count, as in a deep ensemble (Lakshminarayanan et al. 2017)."""
    means = np.stack([s.mean(axis=0) for s in point_samples])
    second = np.stack([(s.astype(np.float64) ** 2).mean(axis=0) for s in point_samples])
    mean = means.mean(axis=0)
    var = np.maximum(second.mean(axis=0) - mean.astype(np.float64) ** 2, 0.0)
    return mean, np.sqrt(var).astype(mean.dtype, copy=False)
