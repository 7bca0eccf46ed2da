"""Reuse compiled Keras models across fits of the same architecture.

Why: every new Keras model on TensorFlow is traced again (~0.8 s for a small GRU)
and keeps its traced graphs alive after it is dropped (~15 MB of RSS per fit that
``clear_session()`` does not return).  A grid search fits the same architecture
again and again, so a fitted estimator's model goes back to a small per-process
pool when the estimator is refitted or garbage collected, and the next fit of an
equal :class:`~skgru._network.NetworkSpec` (same optimizer class and
hyper-parameters baked into the traced step, same loss) takes it from there.

Correctness: a reused model is reset to exactly the state a new model would have.
Its variables (weights *and* dropout seed-generator states) are copied from a
freshly built, never-traced network made under the fit's seed, and every
optimizer variable is zeroed before the learning rate is assigned.  So a fit
gives the same result whether or not it hit the pool.

Set the environment variable ``SKGRU_REUSE_MODELS=0`` to turn reuse off.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict

import keras

from skgru._network import NetworkSpec, build_network

MAX_FREE_MODELS = 8  # free (released) models kept per process, least recently used evicted

_lock = threading.Lock()
_free: "OrderedDict[tuple, list]" = OrderedDict()
_leases: dict = {}  # id(owner) -> (key, model)


def reuse_enabled() -> bool:
    return os.environ.get("SKGRU_REUSE_MODELS", "1").strip().lower() not in ("0", "false", "no", "off")


def _freeze(value):
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


def _key(spec: NetworkSpec, opt_cls, opt_kwargs, loss, metrics):
    baked = {k: v for k, v in opt_kwargs.items() if k != "learning_rate"}
    if not isinstance(loss, str) or metrics is not None and not all(isinstance(m, str) for m in metrics):
        return None  # custom objects: identity is unclear, never share
    return (keras.backend.backend(), spec, opt_cls, _freeze(baked), loss, _freeze(metrics))


def build_compiled(spec: NetworkSpec, opt_cls, opt_kwargs, loss, metrics, seed=None) -> keras.Model:
    """A new network for ``spec``, compiled with a new optimizer."""
    model = build_network(spec, seed)
    model.compile(optimizer=opt_cls(**opt_kwargs), loss=loss, metrics=list(metrics) if metrics else None)
    return model


def _reset(model: keras.Model, spec: NetworkSpec, learning_rate, seed) -> None:
    fresh = build_network(spec, seed)  # never compiled nor traced: cheap; same draws as a first build
    targets, sources = model.variables, fresh.variables
    if len(targets) != len(sources):  # pragma: no cover - same spec, same layout
        raise RuntimeError("model layout changed; cannot reuse")
    for target, source in zip(targets, sources):
        target.assign(source)
    optimizer = model.optimizer
    for var in optimizer.variables:
        var.assign(keras.ops.zeros(var.shape, dtype=var.dtype))
    if learning_rate is not None:
        optimizer.learning_rate = float(learning_rate)
    del fresh


def acquire(owner, spec, opt_cls, opt_kwargs, loss, metrics, seed) -> keras.Model:
    """A compiled model for ``spec``, in the state of a new one built with ``seed``, leased to ``owner``."""
    release(owner)
    key = _key(spec, opt_cls, opt_kwargs, loss, metrics) if reuse_enabled() else None
    model = None
    if key is not None:
        with _lock:
            pool = _free.get(key)
            if pool:
                model = pool.pop()
                if not pool:
                    del _free[key]
    if model is not None:
        _reset(model, spec, opt_kwargs.get("learning_rate"), seed)
    else:
        model = build_compiled(spec, opt_cls, opt_kwargs, loss, metrics, seed)
    if key is not None:
        with _lock:
            _leases[id(owner)] = (key, model)
    return model


def release(owner) -> None:
    """Return ``owner``'s leased model to the pool (its refit or its end)."""
    with _lock:
        lease = _leases.pop(id(owner), None)
        if lease is None:
            return
        key, model = lease
        if owner.__dict__.get("model_") is not model:
            return  # the estimator no longer holds it (e.g. replaced by unpickling)
        _free.setdefault(key, []).append(model)
        _free.move_to_end(key)
        while sum(len(p) for p in _free.values()) > MAX_FREE_MODELS:
            oldest = next(iter(_free))
            _free[oldest].pop(0)
            if not _free[oldest]:
                del _free[oldest]


def clear() -> None:
    """Drop every pooled model (tests and long-running services)."""
    with _lock:
        _free.clear()


def pool_size() -> int:
    with _lock:
        return sum(len(p) for p in _free.values())


