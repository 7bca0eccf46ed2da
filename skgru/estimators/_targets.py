"""Targets: sklearn ``y`` <-> what the network's output layer is trained on.

Both encoders are sklearn transformers (``fit`` / ``transform`` /
``inverse_transform``), as SciKeras documents for ``target_encoder``: the
estimators' ``target_encoder`` property returns a new, unfitted one and
``target_encoder_`` is the fitted one used by ``fit`` and ``predict``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import DataConversionWarning
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import assert_all_finite


@dataclass(frozen=True)
class OutputSpec:
    n_outputs: int
    activation: str
    loss: str


def _as_array(y, name="y"):
    if y is None:
        raise ValueError(f"requires y to be passed, but the target {name} is None.")
    if hasattr(y, "to_numpy"):
        y = y.to_numpy()
    y = np.asarray(y)
    if np.iscomplexobj(y):
        raise ValueError(f"Complex data not supported: {name} has a complex dtype.")
    if y.ndim == 0:
        raise ValueError(f"{name} must be 1D or 2D; got a scalar.")
    if y.shape[0] == 0:
        raise ValueError("Found y with 0 sample(s) while a minimum of 1 is required.")
    return y


class ClassTargets(TransformerMixin, BaseEstimator):
    """Label encoding for binary, multiclass (any label type) and multilabel targets.

    ``transform`` gives class indices (int32) or, for multilabel targets, a float32
    indicator matrix; ``inverse_transform(raw, return_proba=False)`` maps network
    outputs back to labels (or normalised probabilities).
    """

    def fit(self, y, classes=None):
        y = self._column_or_2d(_as_array(y))
        check_classification_targets(y)
        self.target_type_ = type_of_target(y)
        if self.target_type_ == "multilabel-indicator":
            self.classes_ = np.arange(y.shape[1])
            self.output_ = OutputSpec(y.shape[1], "sigmoid", "binary_crossentropy")
            return self
        if self.target_type_ not in ("binary", "multiclass"):
            raise ValueError(
                f"Unsupported target type {self.target_type_!r}: GRUClassifier handles "
                "binary, multiclass and multilabel-indicator targets."
            )
        if classes is None:
            self.classes_ = np.unique(y)
        else:
            self.classes_ = np.unique(np.asarray(classes))
            missing = np.setdiff1d(np.unique(y), self.classes_)
            if missing.size:
                raise ValueError(
                    f"y contains labels {missing[:5].tolist()} that are not in the classes "
                    f"passed to partial_fit ({self.classes_.tolist()}); `classes` must list "
                    "every label y can take."
                )
        if len(self.classes_) < 2:
            raise ValueError(
                f"Classifier can't train when only one class is present: y contains "
                f"the single class {self.classes_[0]!r}. Provide samples of at least 2 classes."
            )
        self.output_ = OutputSpec(len(self.classes_), "softmax", "sparse_categorical_crossentropy")
        return self

    @staticmethod
    def _column_or_2d(y):
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected. Please "
                "change the shape of y to (n_samples, ), for example using ravel().",
                DataConversionWarning,
                stacklevel=4,
            )
            return y.ravel()
        if y.ndim > 2:
            raise ValueError(f"y must be 1D or 2D; got shape {y.shape}.")
        return y

    def transform(self, y):
        y = self._column_or_2d(_as_array(y))
        if self.target_type_ == "multilabel-indicator":
            if y.ndim != 2 or y.shape[1] != len(self.classes_):
                raise ValueError(f"Expected a multilabel y with {len(self.classes_)} columns; got shape {y.shape}.")
            return y.astype("float32")
        idx = np.searchsorted(self.classes_, y)
        idx = np.clip(idx, 0, len(self.classes_) - 1)
        unknown = self.classes_[idx] != y
        if np.any(unknown):
            raise ValueError(
                f"y contains labels not seen in fit: {np.unique(y[unknown])[:5].tolist()}; "
                f"known classes are {self.classes_.tolist()}."
            )
        return idx.astype("int32")

    def inverse_transform(self, raw, return_proba=False):
        """Network outputs -> labels (or probabilities with ``return_proba=True``)."""
        proba = self.probabilities(raw)
        return proba if return_proba else self.labels(proba)

    def probabilities(self, raw):
        proba = np.asarray(raw, dtype="float64")
        if self.target_type_ == "multilabel-indicator":
            return proba
        proba = np.clip(proba, 0.0, None)
        return proba / proba.sum(axis=1, keepdims=True)

    def labels(self, proba):
        if self.target_type_ == "multilabel-indicator":
            return (proba > 0.5).astype(int)
        return self.classes_[np.argmax(proba, axis=1)]


_FLOAT32_MAX = float(np.finfo("float32").max)


class RegressionTargets(TransformerMixin, BaseEstimator):
    """Single- or multi-output real targets, optionally standardised for training.

    The network computes in float32, so the targets it is trained on must fit in
    float32: standardised targets always do (the statistics are computed in a
    scaled float64 form that cannot overflow, even for y ~ 1e200); raw targets
    beyond float32's range raise a ValueError.
    """

    def __init__(self, standardize=True):
        self.standardize = standardize

    def fit(self, y, sample_weight=None):
        y = self._check(y)
        self.ndim_ = y.ndim
        y2 = y.reshape(len(y), -1)
        if self.standardize:
            # Divide by the largest magnitude first: (y - mean) ** 2 overflows float64
            # for |y| > 1e154, which made y ~ 1e200 predict inf.
            magnitude = np.max(np.abs(y2), axis=0)
            magnitude = np.where(magnitude > 0, magnitude, 1.0)
            scaled = y2 / magnitude
            mean = np.average(scaled, axis=0, weights=sample_weight)
            std = np.sqrt(np.average((scaled - mean) ** 2, axis=0, weights=sample_weight))
            self.mean_ = mean * magnitude
            std = std * magnitude
            self.scale_ = np.where(std > np.finfo("float64").eps * 10 * magnitude, std, 1.0)
        else:
            self.mean_ = np.zeros(y2.shape[1])
            self.scale_ = np.ones(y2.shape[1])
            if np.any(np.abs(y2) > _FLOAT32_MAX):
                raise ValueError(
                    f"y has values up to {np.max(np.abs(y2)):.3g}, beyond float32's range "
                    f"({_FLOAT32_MAX:.3g}) that the network computes in; set standardize_y=True "
                    "or rescale y."
                )
        self.output_ = OutputSpec(y2.shape[1], "linear", "mean_squared_error")
        return self

    @staticmethod
    def _check(y):
        y = _as_array(y)
        try:
            y = y.astype("float64")
        except (TypeError, ValueError) as exc:
            raise ValueError(f"GRURegressor needs numeric targets: {exc}") from exc
        if y.ndim > 2:
            raise ValueError(f"y must be 1D or 2D; got shape {y.shape}.")
        # Element-wise: sklearn's assert_all_finite sums y first, which overflows to
        # inf for finite targets ~1e200 and would reject them.
        if np.isnan(y).any():
            raise ValueError("Input y contains NaN.")
        if np.isinf(y).any():
            raise ValueError("Input y contains infinity or a value too large for dtype('float64').")
        return y

    def transform(self, y):
        y2 = self._check(y).reshape(len(y), -1)
        if y2.shape[1] != self.output_.n_outputs:
            raise ValueError(f"Expected y with {self.output_.n_outputs} outputs; got {y2.shape[1]}.")
        return ((y2 - self.mean_) / self.scale_).astype("float32")

    def inverse_transform(self, raw):
        """Network outputs -> targets in the units (and shape) of the ``y`` seen in fit."""
        return self.inverse(raw)

    def inverse(self, raw):
        out = np.asarray(raw, dtype="float64") * self.scale_ + self.mean_
        return out.ravel() if self.ndim_ == 1 else out
