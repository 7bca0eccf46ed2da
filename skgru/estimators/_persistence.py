"""An estimator's fitted state as plain values, and back (pickle, joblib, copy, skops, skgru.io).

The Keras model is not pickled: its variables (weights and dropout seed states)
and its optimizer's variables are stored as NumPy arrays, and the model is rebuilt
from the network spec on load, so a round trip gives identical predictions and a
warm start continues Adam's moments where they were.

Every *private* object of the fitted state (``NetworkSpec``, ``InputSpec``,
``OutputSpec``, ``CompileConfig``, ``ClassTargets``, ``RegressionTargets``,
``SequenceEncoder``, ``QuantileTargets``, ``PinballLoss``, and ``numpy.dtype``, which skops does not trust) is turned into a plain dict ``{"__skgru__": <kind>, ...}`` of
builtins and ndarrays by :func:`get_state` and rebuilt by :func:`set_state`.  The
kinds are resolved against :data:`_KINDS` (a fixed table, never an import path),
so what skops or :mod:`skgru.io` see is only builtins, ndarrays and the public
estimator class: ``skops.io.load(..., trusted=skgru.io.trusted_types())`` needs no
private name, and a Keras optimizer class is stored by its name in
``keras.optimizers``.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np

from skgru._keras.engines import CompileConfig
from skgru._keras.losses import PinballLoss
from skgru._keras.network import NetworkSpec, build_network
from skgru._sequences import InputSpec
from skgru.estimators._features import SequenceEncoder
from skgru.estimators._quantiles import QuantileTargets
from skgru.estimators._targets import ClassTargets, OutputSpec, RegressionTargets

TAG = "__skgru__"  # key that marks a plain dict standing for a private object


def snapshot_model(model):
    """(variables, optimizer variables or None) of ``model``, as NumPy arrays."""
    opt = model.optimizer
    return ([np.asarray(v) for v in model.variables],
            [np.asarray(v) for v in opt.variables] if opt is not None and opt.built else None)


def restore_model(model, snapshot) -> None:
    weights, optimizer_state = snapshot
    if len(weights) != len(model.variables):
        raise ValueError(
            f"The stored weights ({len(weights)} arrays) do not fit the network rebuilt from "
            f"the stored spec ({len(model.variables)} variables): the state is corrupt."
        )
    for var, value in zip(model.variables, weights):
        if tuple(var.shape) != tuple(np.shape(value)):
            raise ValueError(
                f"Stored weight of shape {np.shape(value)} does not fit variable {var.path!r} "
                f"of shape {tuple(var.shape)}: the state is corrupt."
            )
        var.assign(value)
    if optimizer_state is not None:
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        if len(optimizer_state) != len(model.optimizer.variables):
            raise ValueError("The stored optimizer state does not fit the optimizer: the state is corrupt.")
        for var, value in zip(model.optimizer.variables, optimizer_state):
            var.assign(value)


# ----------------------------------------------------- private objects <-> plain


def optimizer_name(cls):
    """Name of a Keras built-in optimizer class (``"Adam"``), or None for other classes."""
    name = getattr(cls, "__name__", None)
    return name if isinstance(name, str) and getattr(keras.optimizers, name, None) is cls else None


def optimizer_class(name: str):
    """``keras.optimizers.<name>``, only for an Optimizer subclass there (no import path)."""
    cls = getattr(keras.optimizers, name, None) if isinstance(name, str) and name.isidentifier() else None
    if not (isinstance(cls, type) and issubclass(cls, keras.optimizers.Optimizer)):
        raise ValueError(f"Unknown Keras optimizer {name!r} in the stored state (not a keras.optimizers class).")
    return cls


def _dataclass_to_plain(obj):
    return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}


def _estimator_to_plain(obj):
    return {"state": to_plain(dict(vars(obj)))}


def _compile_config_to_plain(cfg):
    name = optimizer_name(cfg.optimizer_class)
    return {
        # a custom optimizer class stays an object: pickle keeps it, skops/skgru.io refuse it
        "optimizer": name if name is not None else cfg.optimizer_class,
        "optimizer_kwargs": to_plain(dict(cfg.optimizer_kwargs)),
        "loss": to_plain(cfg.loss),
        "metrics": cfg.metrics,
    }


def _dtype_to_plain(dtype):
    return {"str": dtype.str}


def _dtype_from_plain(plain):
    try:
        return np.dtype(str(plain["str"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"Invalid stored dtype {plain!r}: {exc}") from None


def _dataclass_from_plain(cls):
    def build(plain):
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: from_plain(v) for k, v in plain.items() if k != TAG}
        if set(values) - names:
            raise ValueError(f"Stored {cls.__name__} has unknown fields {sorted(set(values) - names)}.")
        try:
            return cls(**values)
        except TypeError as exc:
            raise ValueError(f"Stored {cls.__name__} is incomplete: {exc}") from None
    return build


def _estimator_from_plain(cls):
    def build(plain):
        obj = cls.__new__(cls)
        state = from_plain(plain.get("state"))
        if not isinstance(state, dict):
            raise ValueError(f"Stored {cls.__name__} has no state dict.")
        obj.__dict__.update(state)
        return obj
    return build


def _pinball_to_plain(loss):
    return {"quantiles": list(loss.quantiles), "name": loss.name}


def _pinball_from_plain(plain):
    quantiles = plain.get("quantiles")
    if not isinstance(quantiles, list) or not all(isinstance(q, float) and 0 < q < 1 for q in quantiles):
        raise ValueError(f"Invalid stored PinballLoss levels {quantiles!r}.")
    return PinballLoss(quantiles, name=str(plain.get("name", "pinball_loss")))


def _compile_config_from_plain(plain):
    opt = plain.get("optimizer")
    cls = optimizer_class(opt) if isinstance(opt, str) else opt
    return CompileConfig(cls, from_plain(plain.get("optimizer_kwargs", {})), from_plain(plain.get("loss")),
                         plain.get("metrics"))


# kind -> (class, to plain, from plain).  The ONLY names set_state resolves.
_KINDS = {
    "NetworkSpec": (NetworkSpec, _dataclass_to_plain, _dataclass_from_plain(NetworkSpec)),
    "InputSpec": (InputSpec, _dataclass_to_plain, _dataclass_from_plain(InputSpec)),
    "OutputSpec": (OutputSpec, _dataclass_to_plain, _dataclass_from_plain(OutputSpec)),
    "CompileConfig": (CompileConfig, _compile_config_to_plain, _compile_config_from_plain),
    "ClassTargets": (ClassTargets, _estimator_to_plain, _estimator_from_plain(ClassTargets)),
    "RegressionTargets": (RegressionTargets, _estimator_to_plain, _estimator_from_plain(RegressionTargets)),
    "SequenceEncoder": (SequenceEncoder, _estimator_to_plain, _estimator_from_plain(SequenceEncoder)),
    "QuantileTargets": (QuantileTargets, _estimator_to_plain, _estimator_from_plain(QuantileTargets)),
    "PinballLoss": (PinballLoss, _pinball_to_plain, _pinball_from_plain),
}
_BY_CLASS = {cls: (kind, dump) for kind, (cls, dump, _) in _KINDS.items()}
# np.dtype too (X_dtype_, y_dtype_): skops lists "numpy.dtype" as an untrusted type.
_KINDS["dtype"] = (np.dtype, _dtype_to_plain, _dtype_from_plain)


def to_plain(value):
    """``value`` with every private skgru object replaced by a tagged plain dict."""
    if isinstance(value, np.dtype) and value.fields is None:
        return {TAG: "dtype", **_dtype_to_plain(value)}
    entry = _BY_CLASS.get(type(value))
    if entry is not None:
        kind, dump = entry
        return {TAG: kind, **dump(value)}
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    if type(value) is tuple:
        return tuple(to_plain(v) for v in value)
    return value


def from_plain(value):
    """Inverse of :func:`to_plain`; unknown kinds are a ValueError."""
    if isinstance(value, dict):
        kind = value.get(TAG)
        if kind is None:
            return {k: from_plain(v) for k, v in value.items()}
        if kind not in _KINDS:
            raise ValueError(f"Unknown skgru object kind {kind!r} in the stored state; known: {sorted(_KINDS)}.")
        return _KINDS[kind][2](value)
    if isinstance(value, list):
        return [from_plain(v) for v in value]
    if type(value) is tuple:
        return tuple(from_plain(v) for v in value)
    return value


# ---------------------------------------------------------------- the hooks


def _is_fitted_name(name: str) -> bool:
    # parameters are stored as given (never converted); fitted state is "x_" or "_x_"
    return name.endswith("_")


# Attributes that live only inside a block of the estimator's own code and are
# never copied or pickled (``GRUEstimatorBase._outputs_reused_for``).
_TRANSIENT = frozenset({"_reused_outputs"})


def get_state(estimator) -> dict:
    """The estimator's ``__dict__`` as plain values (see the module docstring)."""
    state = {}
    for name, value in estimator.__dict__.items():
        if name in _TRANSIENT:
            continue
        state[name] = to_plain(value) if _is_fitted_name(name) else value
    model = state.pop("model_", None)
    if model is not None:
        state["_pickled_weights"], state["_pickled_optimizer"] = snapshot_model(model)
    return state


def set_state(estimator, state: dict) -> None:
    state = dict(state)
    weights = state.pop("_pickled_weights", None)
    optimizer_state = state.pop("_pickled_optimizer", None)
    state = {k: from_plain(v) if _is_fitted_name(k) else v for k, v in state.items()}
    estimator.__dict__.update(state)
    if weights is not None:
        for name, kind in (("network_spec_", NetworkSpec), ("_compile_config_", CompileConfig)):
            if not isinstance(vars(estimator).get(name), kind):
                raise ValueError(f"The stored state has weights but no valid {name}: the state is corrupt.")
        model = estimator._compile_config_.compile(build_network(estimator.network_spec_))
        restore_model(model, (list(weights), None if optimizer_state is None else list(optimizer_state)))
        estimator.model_ = model
