"""``crop_size``: a classifier trained on random windows of its series, predicting
by averaging its class probabilities over windows that cover each series.

Window slicing (Le Guennec, Malinowski & Tavenard, 2016): the class of a series is
also the class of each of its windows, so a training set of ``n`` long series
becomes ``n * k`` shorter ones. It is the lever for long series with very few
training series per class: on PigCVP's *training* split (52 classes, 2 series of
2000 steps each; a stratified 2-fold CV, one series per class to train on) the
defaults score 0.183, 500-step windows 0.442 and 250-step windows 0.625
(``benchmarks/bench_accuracy.py --select --candidates defaults crop1/4 crop1/8``;
round 7 in benchmarks/README.md, which also shows the sets where crops cost accuracy).

``CropMixin`` sits first in GRUClassifier's bases and wraps the fit template's
steps, so the template is unchanged:

* validate: the converted training series are replaced by ``k`` random windows
  each (``k = ceil(WINDOW_COVERAGE * t / w)``, seeded by ``random_state``); every
  later step (``patch_size="auto"``, input statistics, the epoch budget) sees the
  windows;
* validation split (``early_stopping``): whole series go to one side, never
  windows of one series to both;
* predict: windows of ``w`` steps at a stride of ``w // 2`` over each series'
  valid (unpadded) steps, the last one ending at the series' end; the network's
  outputs are averaged per series (windows the length of the series are what the
  network was trained on: reading the whole 2000-step series at once scored 0.31
  where the window average scored 0.42, 1000-step windows, fold 0).
"""

from __future__ import annotations

import numbers
from types import SimpleNamespace

import numpy as np

from skgru.estimators._params import input_mask_value
from skgru.estimators._seeding import resolve_seed

# Windows per training series: enough that every step of a series is in about 4 of
# them (the PigCVP check above used 16 windows of t/4 and 32 of t/8: both 4x).
WINDOW_COVERAGE = 4


def resolve_crop_size(crop_size, n_timesteps) -> int | None:
    """Window length in steps for series of ``n_timesteps`` (padded) steps; None: no cropping.

    An int is a number of steps, a float in (0, 1) a fraction of the training length.
    A window as long as the series (or longer) is no crop.
    """
    if crop_size is None or n_timesteps is None:
        return None
    if isinstance(crop_size, numbers.Integral):
        width = int(crop_size)
    else:
        width = int(np.ceil(float(crop_size) * n_timesteps))
    width = max(width, 1)
    return None if width >= n_timesteps else width


def pad_value(params, input_spec):
    """The value of a padded step in the converted input (None: nothing is padded)."""
    return 0 if input_spec.tokens else input_mask_value(params, input_spec)


def valid_lengths(X, pad) -> np.ndarray:
    """Steps up to and including each series' last unpadded step (inputs are post-padded)."""
    n, t = X.shape[:2]
    if pad is None:
        return np.full(n, t, dtype=np.int64)
    padded = X == np.asarray(pad, dtype=X.dtype)
    if X.ndim > 2:
        padded = padded.all(axis=tuple(range(2, X.ndim)))
    real = ~padded
    last_real = t - np.argmax(real[:, ::-1], axis=1)
    return np.where(real.any(axis=1), last_real, 0).astype(np.int64)


def _gather(X, owner, starts, width):
    steps = starts[:, None] + np.arange(width)
    return X[owner[:, None], steps]


def _pad_to(X, width, pad):
    if X.shape[1] >= width:
        return X
    fill = np.asarray(0 if pad is None else pad, dtype=X.dtype)
    spec = [(0, 0), (0, width - X.shape[1])] + [(0, 0)] * (X.ndim - 2)
    return np.pad(X, spec, constant_values=fill)


def training_windows(X, width, rng, pad):
    """``k`` random windows of ``width`` steps per series -> (windows, owner index)."""
    n, t = X.shape[:2]
    lengths = valid_lengths(X, pad)
    X = _pad_to(X, width, pad)
    k = int(np.ceil(WINDOW_COVERAGE * t / width))
    last_start = np.maximum(lengths - width, 0)
    starts = np.floor(rng.random((n, k)) * (last_start[:, None] + 1)).astype(np.int64)
    owner = np.repeat(np.arange(n), k)
    return _gather(X, owner, starts.ravel(), width), owner


def prediction_windows(X, width, pad):
    """Windows at a stride of ``width // 2`` covering each series' valid steps -> (windows, owner)."""
    lengths = valid_lengths(X, pad)
    X = _pad_to(X, width, pad)
    stride = max(width // 2, 1)
    last = np.maximum(lengths - width, 0)
    # starts 0, stride, ... and each series' last start, which is always read (the
    # series' end), for all series at once (the per-series loop this replaces took
    # 0.06 s of a 0.32 s call on 10^5 series of 40 steps; the gather is the rest)
    regular = last // stride + 1
    has_tail = (last % stride) != 0
    counts = regular + has_tail
    owner = np.repeat(np.arange(len(lengths), dtype=np.int64), counts)
    first = np.cumsum(counts) - counts
    rank = np.arange(owner.size, dtype=np.int64) - first[owner]
    starts = np.minimum(rank * stride, last[owner])
    return _gather(X, owner, starts, width), owner


def average_by_owner(values, owner, n):
    total = np.zeros((n, *values.shape[1:]), dtype=np.float64)
    np.add.at(total, owner, values)
    counts = np.bincount(owner, minlength=n).reshape((n,) + (1,) * (values.ndim - 1))
    return (total / counts).astype(values.dtype)


class CropMixin:
    """Window slicing for ``crop_size`` (see the module docstring)."""

    def _validate_fit_data(self, X, y, sample_weight, classes, continuing):
        data = super()._validate_fit_data(X, y, sample_weight, classes, continuing)
        params = self._params_dict()
        spec = data.features.input_spec_
        if continuing:
            width = vars(self).get("crop_size_")
        else:
            width = resolve_crop_size(params["crop_size"], data.X.shape[1])
        data.crop_width = width
        if width is None:
            return data
        seeds = np.random.SeedSequence(resolve_seed(params["random_state"]))
        # continuing, X is already padded to the network's length (the unroll bucket's tail too)
        pad = self._fitted_pad() if continuing else pad_value(params, spec)
        windows, owner = training_windows(data.X, width, np.random.default_rng(seeds), pad)
        # a new network pads its input itself (initialize); a fitted one reads this
        data.X = data.features.pad_to_network(windows) if continuing else windows
        data.y = data.y[owner]
        if data.sample_weight is not None:
            data.sample_weight = data.sample_weight[owner]
        data.crop_owner = owner
        return data

    def _validation_split(self, params, data, seeds):
        owner = getattr(data, "crop_owner", None)
        if owner is None or not params["early_stopping"]:
            return super()._validation_split(params, data, seeds)
        # split whole series: windows of one series on both sides would leak
        first = np.unique(owner, return_index=True)[1]
        series = SimpleNamespace(X=np.arange(len(first))[:, None], y=data.y[first], sample_weight=None)
        train_series, _, _, (val_series, _) = super()._validation_split(params, series, seeds)
        tr, va = np.isin(owner, train_series[:, 0]), np.isin(owner, val_series[:, 0])
        sw = data.sample_weight
        validation = (data.X[va], data.y[va]) if sw is None else (data.X[va], data.y[va], sw[va])
        return data.X[tr], data.y[tr], None if sw is None else sw[tr], validation

    def _record(self, data, network, result):
        super()._record(data, network, result)
        if not network.continuing:
            self.crop_size_ = data.crop_width

    def _network_outputs(self, Xa):
        width = vars(self).get("crop_size_")
        if width is None:
            return super()._network_outputs(Xa)
        windows, owner = prediction_windows(Xa, width, self._fitted_pad())
        # an unrolled network (short series) reads a fixed length: pad the windows to it, masked
        windows = self.feature_encoder_.pad_to_network(windows)
        return average_by_owner(super()._network_outputs(windows), owner, Xa.shape[0])

    def _fitted_pad(self):
        """The padded-step value of input converted for the fitted network (its padding
        to the unroll bucket included)."""
        return 0 if self.input_spec_.tokens else self.network_spec_.mask_value

