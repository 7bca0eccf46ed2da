"""``range_fade``: a regressor's GRU part fades out beyond the range of its training input.

A GRU fitted on tens to hundreds of windows has learned nothing about values it never
saw, while its linear skip extrapolates as a linear autoregression does. In issue 12's
round 17 diagnosis (benchmarks/README.md), on airline's last CV fold, whose windows rise
above the training range, the linear skip alone beat the whole network in all eight
fits (R^2 0.83-0.93 against 0.40-0.74). With ``range_fade`` set, the regressor predicts
``linear + g * (network - linear)`` per window, ``g = max(0, 1 - e / range_fade)``,
``e`` the farthest any of the window's values lies outside the per-feature range of
every valid step seen in ``fit``, in units of that range's width (``e = 0`` inside).
Round 18 adopted ``range_fade=0.1`` by training-split CV over eleven sets and six seeds
(mean R^2 0.451 against 0.442 without); round 19 took it back (default None) when the
futures of simulated forecasting series scored it worse against Ridge (random walk,
linear trend) than no fade: see benchmarks/README.md, "Round 19".

Every row ``fit`` saw lies in the range, so training, early stopping and the shrink
factors (fitted on validation rows that are part of ``X``) are unchanged: only windows
outside the range predict differently. The fade is applied after the network, like
``shrink_to_mean`` (predict, the fold models a search scores, Monte Carlo dropout and
the ONNX export all apply it).
"""

from __future__ import annotations

import numpy as np

from skgru._keras.network import skip_inputs


def valid_steps(Xa: np.ndarray, mask_value) -> np.ndarray | None:
    """``(n, t)`` bools, False at padded steps (every feature equal to ``mask_value``);
    None when nothing is masked."""
    if mask_value is None:
        return None
    return np.any(Xa != np.asarray(mask_value, dtype=Xa.dtype), axis=-1)


def input_range(Xa: np.ndarray, mask_value) -> np.ndarray:
    """``(2, n_features)``: each feature's minimum and maximum over every valid step of
    ``Xa`` (``(n, t, f)``); +inf / -inf for a feature with no valid step.

    Every fit records it, so it reads ``Xa`` in its own dtype: a minimum and a maximum
    are exact in any dtype, and a float64 copy of the training set would double its
    memory at the end of every fit."""
    x = np.asarray(Xa)
    valid = valid_steps(x, mask_value)
    if valid is not None:
        x = x[valid]  # (n_valid_steps, f)
    x = x.reshape(-1, x.shape[-1])
    if not len(x):
        return np.stack([np.full(x.shape[-1], np.inf), np.full(x.shape[-1], -np.inf)])
    return np.stack([x.min(axis=0), x.max(axis=0)]).astype(np.float64)


def merge_ranges(old: np.ndarray | None, new: np.ndarray) -> np.ndarray:
    """The range covering both (a partial or warm-started fit adds its rows)."""
    if old is None:
        return new
    return np.stack([np.minimum(old[0], new[0]), np.maximum(old[1], new[1])])


def range_excess(Xa: np.ndarray, value_range: np.ndarray, mask_value) -> np.ndarray:
    """Per row of ``Xa``: how far its farthest valid value lies outside ``value_range``,
    in units of the range's width (0 inside). A feature that was constant in ``fit``
    (width 0) is not scored: it has no width to measure a distance in, and a fade on any
    change of it would drop the GRU part for a rounding difference."""
    x = np.asarray(Xa, dtype=np.float64)
    lo, hi = value_range
    width = hi - lo
    scored = np.isfinite(width) & (width > 0)
    if not np.any(scored):
        return np.zeros(len(x))
    valid = valid_steps(x, mask_value)
    outside = np.maximum(x[..., scored] - hi[scored], lo[scored] - x[..., scored]) / width[scored]
    if valid is not None:  # (n, t, f'), negative inside the range; padding never counts
        outside = np.where(valid[..., None], outside, -np.inf)
    worst = outside.reshape(len(x), -1).max(axis=1, initial=-np.inf)
    return np.maximum(worst, 0.0)


def fade_factors(excess: np.ndarray, margin: float) -> np.ndarray:
    """``g`` per row: 1 inside the range, falling linearly to 0 at ``margin`` range-widths
    outside (``margin=0``: 0 as soon as a value leaves it)."""
    if margin == 0:
        return (excess <= 0).astype(np.float64)
    return np.clip(1.0 - excess / float(margin), 0.0, 1.0)


def linear_part(model, Xa: np.ndarray) -> np.ndarray:
    """The network's linear skip alone for ``Xa``, ``(n, n_outputs)`` in the network's
    output units (what the output is with the GRU head at zero), in NumPy."""
    layer = model.get_layer("linear_skip")
    kernel, bias = (np.asarray(v, dtype=np.float32) for v in layer.get_weights())
    return skip_inputs(model, Xa) @ kernel + bias


def faded(estimator, Xa: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    """``outputs`` (``(..., n, n_outputs)``, raw network outputs for ``Xa``, any leading
    axes such as dropout passes) with ``estimator``'s GRU part faded outside its
    training range; ``outputs`` itself when nothing fades."""
    margin = getattr(estimator, "range_fade", None)
    value_range = getattr(estimator, "input_range_", None)
    if margin is None or value_range is None or not estimator.network_spec_.linear_skip:
        return outputs
    mask_value = estimator.network_spec_.mask_value
    g = fade_factors(range_excess(Xa, value_range, mask_value), margin)
    if np.all(g == 1.0):
        return outputs
    skip = linear_part(estimator.model_, Xa).reshape(outputs.shape[-2:])
    g = g.astype(outputs.dtype)[:, None]
    return (skip + g * (outputs - skip)).astype(outputs.dtype)
