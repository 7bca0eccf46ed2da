"""``GRURegressor.predict(X, return_std=True)``: mean and std under Monte Carlo dropout.

Each of ``mc_samples`` forward passes keeps dropout on (a different mask per
pass, seeded by ``random_state``); the returned mean and standard deviation are
taken over the passes' predictions in the units of ``y`` (Gal & Ghahramani 2016,
"Dropout as a Bayesian approximation"). The spread reflects the network's
uncertainty about its weights, not the noise in ``y``: for calibrated intervals
use :class:`skgru.conformal.ConformalRegressor`.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import _check_feature_names, check_is_fitted

from skgru._keras.mc_dropout import mc_dropout_predict
from skgru.estimators import _ensemble, _params, _range_fade
from skgru.estimators._seeding import resolve_seed


def mc_seed(random_state) -> int | None:
    """Seed of the dropout masks: independent of the fit's streams (FitSeeds spawns 3)."""
    seed = resolve_seed(random_state)
    if seed is None:
        return None  # fresh entropy: an unseeded estimator samples new masks each call
    child = np.random.SeedSequence(seed).spawn(4)[3]
    return int(child.generate_state(1)[0] % (2**31 - 1))


def predict_mean_std(estimator, X):
    """(mean, std) of ``estimator.predict`` over ``mc_samples`` dropout masks, pooled
    over the members of an ensemble (``ensemble_size > 1``: a member without dropout
    counts as its one deterministic prediction, so the spread between the members'
    predictions is the std of an ensemble without dropout)."""
    check_is_fitted(estimator, ("model_", "target_encoder_"))
    networks = _ensemble.members(estimator)
    if len(networks) == 1 and not _has_dropout(estimator):
        raise ValueError(
            "predict(return_std=True) estimates the std by Monte Carlo dropout, but this "
            "network was fitted with dropout=0 and recurrent_dropout=0: every pass would give "
            "the same prediction (std 0). Refit with dropout > 0 (e.g. 0.1) or "
            "recurrent_dropout > 0, or with ensemble_size > 1 (the spread between the "
            "members), or use skgru.conformal.ConformalRegressor for intervals."
        )
    _check_feature_names(estimator, X, reset=False)
    # the owner's mc_samples and batch size (a member keeps the ones of its fit), each
    # member's own seed
    params = estimator.get_params(deep=False)
    n_passes = int(params["mc_samples"])
    batch = int(_params.routed(params, "predict__").get("batch_size", _params.PREDICT_BATCH_SIZE))
    samples = [_point_samples(member, X, n_passes, batch) for member in networks]
    if len(samples) == 1:
        return samples[0].mean(axis=0), samples[0].std(axis=0)
    return _ensemble.pooled_mean_std(samples)


def _has_dropout(estimator) -> bool:
    spec = estimator.network_spec_
    return spec.dropout > 0 or spec.recurrent_dropout > 0


def _point_samples(estimator, X, n_passes, batch):
    """``estimator``'s predictions (shrinkage applied, in the units of ``y``) under
    ``mc_samples`` dropout masks, shape (passes, n_samples, ...); one pass, the
    deterministic prediction, for a network without dropout."""
    if not _has_dropout(estimator):
        return estimator._network_prediction(X)[None]
    spec = estimator.network_spec_
    Xa = estimator.feature_encoder_.transform(X)
    samples = mc_dropout_predict(
        spec, estimator.model_.get_weights(), Xa, n_passes, mc_seed(estimator.random_state), batch
    )
    if not np.all(np.isfinite(samples)):
        raise ValueError("The network produced non-finite outputs under dropout; refit with a lower learning_rate.")
    samples = _range_fade.faded(estimator, Xa, samples)  # as predict: the GRU part fades outside the range
    # the shrinkage is part of the model: each pass is shrunk as predict shrinks
    return np.stack([estimator.target_encoder_.inverse(estimator._shrink(s)) for s in samples])
