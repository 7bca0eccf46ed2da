"""An estimator's fitted state as plain values, and back (pickle, joblib, copy).

The Keras model is not pickled: its variables (weights and dropout seed states)
and its optimizer's variables are stored as NumPy arrays, and the model is rebuilt
from the network spec on load, so a round trip gives identical predictions and a
warm start continues Adam's moments where they were.
"""

from __future__ import annotations

import numpy as np

from skgru._keras.network import build_network


def snapshot_model(model):
    """(variables, optimizer variables or None) of ``model``, as NumPy arrays."""
    opt = model.optimizer
    return ([np.asarray(v) for v in model.variables],
            [np.asarray(v) for v in opt.variables] if opt is not None and opt.built else None)


def restore_model(model, snapshot) -> None:
    weights, optimizer_state = snapshot
    for var, value in zip(model.variables, weights):
        var.assign(value)
    if optimizer_state is not None:
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        for var, value in zip(model.optimizer.variables, optimizer_state):
            var.assign(value)


def get_state(estimator) -> dict:
    state = estimator.__dict__.copy()
    model = state.pop("model_", None)
    if model is not None:
        state["_pickled_weights"], state["_pickled_optimizer"] = snapshot_model(model)
    return state


def set_state(estimator, state: dict) -> None:
    state = dict(state)
    weights = state.pop("_pickled_weights", None)
    optimizer_state = state.pop("_pickled_optimizer", None)
    estimator.__dict__.update(state)
    if weights is not None:
        model = estimator._compile_config_.compile(build_network(estimator.network_spec_))
        restore_model(model, (weights, optimizer_state))
        estimator.model_ = model
