"""Quantile regression targets: one network, every level of every output.

With ``GRURegressor(quantiles=(...))`` the output layer has ``n_outputs * n_levels``
linear units (output-major: unit ``j * n_levels + l`` is level ``l`` of output
``j``), trained with :class:`~skgru._keras.losses.PinballLoss` on the
(standardised) targets.

Non-crossing: the levels' predictions are *sorted* at predict time (the
monotone rearrangement of Chernozhukov, Fernandez-Val & Galichon 2010,
Econometrica 78(3)), which never increases the pinball loss of a crossing
prediction and leaves a non-crossing one unchanged. Sorting was chosen over a
base level plus cumulative softplus increments because it keeps the network and
its engine exactly as for a point regressor (one linear output layer), so every
architecture option works unchanged.
"""

from __future__ import annotations

from numbers import Real

import numpy as np

from skgru._keras.losses import PinballLoss
from skgru.estimators._targets import OutputSpec, RegressionTargets


def check_quantiles(quantiles) -> np.ndarray:
    """``quantiles`` parameter -> sorted float levels, or a ValueError that says why."""
    try:
        values = list(quantiles)
    except TypeError:
        values = None
    if (
        values is None
        or isinstance(quantiles, str)
        or not values
        or not all(isinstance(q, Real) and not isinstance(q, bool) for q in values)
    ):
        raise ValueError(
            f"quantiles must be None or a non-empty tuple of floats in (0, 1), e.g. (0.1, 0.5, 0.9); got {quantiles!r}."
        )
    levels = np.sort(np.asarray(values, dtype=float))
    if np.any(~np.isfinite(levels)) or np.any((levels <= 0) | (levels >= 1)):
        raise ValueError(f"quantiles must lie strictly between 0 and 1; got {list(values)!r}.")
    if np.any(np.diff(levels) == 0):
        raise ValueError(f"quantiles must be distinct; got {list(values)!r}.")
    return levels


def point_level_index(levels) -> int:
    """The level ``predict`` returns: 0.5 when present, else the middle one (lower middle)."""
    hit = np.flatnonzero(np.isclose(levels, 0.5))
    return int(hit[0]) if hit.size else (len(levels) - 1) // 2


class QuantileTargets(RegressionTargets):
    """Standardised real targets for a network that predicts several quantile levels.

    ``transform`` gives the standardised ``y`` of shape ``(n, n_outputs)`` (what
    the pinball loss compares every level with); :meth:`quantiles` maps raw
    network outputs ``(n, n_outputs * n_levels)`` back to sorted quantiles in the
    units of ``y``; ``inverse`` (what ``predict`` uses) returns the point level.
    """

    def __init__(self, quantiles=(0.1, 0.5, 0.9), standardize=True):
        self.quantiles = quantiles
        self.standardize = standardize

    def fit(self, y, sample_weight=None):
        self.levels_ = check_quantiles(self.quantiles)
        super().fit(y, sample_weight)
        self.n_targets_ = self.output_.n_outputs
        self.point_index_ = point_level_index(self.levels_)
        self.output_ = OutputSpec(
            self.n_targets_ * len(self.levels_), "linear", PinballLoss(tuple(self.levels_.tolist()))
        )
        return self

    def transform(self, y):
        y2 = self._check(y).reshape(len(y), -1)
        if y2.shape[1] != self.n_targets_:
            raise ValueError(f"Expected y with {self.n_targets_} outputs; got {y2.shape[1]}.")
        return ((y2 - self.mean_) / self.scale_).astype("float32")

    def quantiles_from_raw(self, raw):
        """Raw outputs -> (n, n_levels) for one output, (n, n_outputs, n_levels) for several."""
        raw = np.asarray(raw, dtype="float64")
        q = np.sort(raw.reshape(len(raw), self.n_targets_, len(self.levels_)), axis=-1)
        # scale_ > 0, so the affine map back to y's units keeps the order
        q = q * self.scale_[:, None] + self.mean_[:, None]
        return q[:, 0, :] if self.ndim_ == 1 else q

    def inverse(self, raw):
        q = self.quantiles_from_raw(raw)
        return q[..., self.point_index_]
