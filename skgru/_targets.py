"""Targets: sklearn ``y`` <-> what the network's output layer is trained on."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
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


class ClassTargets:
    """Label encoding for binary, multiclass (any label type) and multilabel targets."""

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
        self.classes_ = np.unique(y) if classes is None else np.asarray(classes)
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


class RegressionTargets:
    """Single- or multi-output real targets, optionally standardised for training."""

    def __init__(self, standardize=True):
        self.standardize = standardize

    def fit(self, y, sample_weight=None):
        y = self._check(y)
        self.ndim_ = y.ndim
        y2 = y.reshape(len(y), -1)
        if self.standardize:
            self.mean_ = np.average(y2, axis=0, weights=sample_weight)
            std = np.sqrt(np.average((y2 - self.mean_) ** 2, axis=0, weights=sample_weight))
            self.scale_ = np.where(std > np.finfo("float64").eps * 10, std, 1.0)
        else:
            self.mean_ = np.zeros(y2.shape[1])
            self.scale_ = np.ones(y2.shape[1])
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
        assert_all_finite(y, input_name="y")
        return y

    def transform(self, y):
        y2 = self._check(y).reshape(len(y), -1)
        if y2.shape[1] != self.output_.n_outputs:
            raise ValueError(f"Expected y with {self.output_.n_outputs} outputs; got {y2.shape[1]}.")
        return ((y2 - self.mean_) / self.scale_).astype("float32")

    def inverse(self, raw):
        out = np.asarray(raw, dtype="float64") * self.scale_ + self.mean_
        return out.ravel() if self.ndim_ == 1 else out
