"""Compiled training engines, pooled per architecture and lent for one call at a time.

Who owns what
-------------
* An **estimator owns its network**: ``est.model_`` is a Keras model built for that
  estimator alone (``build_network`` under the fit's seed).  It holds the
  estimator's weights and, in ``model_.optimizer``, its optimizer state.  No other
  estimator ever receives it, and no fit of another estimator ever writes to it.
  A model a user takes out of an estimator stays theirs: a later *fresh* fit of
  that estimator builds a new ``model_`` and leaves the old object alone (only
  ``warm_start``/``partial_fit`` continue ``model_`` in place, as in SciKeras).
* An **engine** is a compiled Keras model of the same architecture plus its traced
  epoch, evaluation and predict functions.  Engines are the expensive part: on
  TensorFlow the first epoch of a new model costs ~0.8 s of tracing and every new
  model keeps its traced graphs (~15 MB of RSS that ``clear_session`` does not
  return).  Engines live in this module's pool and nowhere else.  :func:`borrow`
  lends one for the duration of a single ``fit`` or ``predict`` call: the caller
  copies its own weights in, runs, and copies the result out.  An engine is never
  reachable from an estimator's attributes, so no user can hold or observe one.

Bounds: at most :data:`MAX_FREE_ENGINES` idle engines are kept; an engine whose
call raised is dropped rather than returned (its traced state is not trusted).
The number of *distinct* engines a process creates is bounded by the number of
distinct architectures, because the time axis of every engine is left open (see
``skgru.estimators._params.network_spec``: lengths do not enter the key except
for the single unrolled bucket of short sequences).

Set ``SKGRU_REUSE_MODELS=0`` to build a new engine for every call (for debugging;
results are identical either way, which the test suite checks).  Keras' GRU draws a
dropout mask on every call, predictions included; with reuse off the estimator's own
model serves them, so ``training.predict`` puts its seed states back afterwards (as a
pooled engine, never copied back after a prediction, leaves the owner's alone).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import OrderedDict

import keras

from skgru._keras.losses import PinballLoss
from skgru._keras.network import NetworkSpec, build_network

# skgru's own loss classes, equal (and hashing alike) when their configs are: an
# engine traced with one computes exactly what an equal one would, so it may be shared.
VALUE_LOSSES = (PinballLoss,)

MAX_FREE_ENGINES = 8  # idle engines kept per process, least recently used dropped first

_lock = threading.Lock()
_free: "OrderedDict[tuple, list]" = OrderedDict()


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


class CompileConfig:
    """What ``Model.compile`` receives: optimizer class + kwargs, loss, metrics."""

    __slots__ = ("optimizer_class", "optimizer_kwargs", "loss", "metrics")

    def __init__(self, optimizer_class, optimizer_kwargs, loss, metrics):
        self.optimizer_class = optimizer_class
        self.optimizer_kwargs = dict(optimizer_kwargs)
        self.loss = loss
        self.metrics = None if metrics is None else list(metrics)

    def new_optimizer(self):
        # from_config deserialises what get_config serialised (a learning-rate
        # schedule, for instance) and takes plain values as they are.
        return self.optimizer_class.from_config(dict(self.optimizer_kwargs))

    def compile(self, model) -> keras.Model:
        model.compile(optimizer=self.new_optimizer(), loss=self.loss, metrics=self.metrics)
        return model

    def key(self):
        """Hashable identity of everything baked into a traced step (None: never pool).

        The learning rate is a variable in Keras 3 (assigned, not traced), so it is
        left out: candidates of a learning-rate grid share one engine.
        """
        if not isinstance(self.loss, str) and not isinstance(self.loss, VALUE_LOSSES):
            return None  # a custom loss object: identity is unclear, never share
        if self.metrics is not None and not all(isinstance(m, str) for m in self.metrics):
            return None
        baked = {k: v for k, v in self.optimizer_kwargs.items() if k != "learning_rate"}
        return (self.optimizer_class, _freeze(baked), self.loss, _freeze(self.metrics))


class Engine:
    """A compiled model plus the traced functions ``skgru._keras.training`` attaches."""

    def __init__(self, spec: NetworkSpec, compile_config: CompileConfig, model=None):
        self.spec = spec
        self.model = model if model is not None else compile_config.compile(build_network(spec))
        self.functions: dict = {}  # traced epoch / eval / predict functions, by name

    # -- moving state between an estimator's own model and the engine
    def load(self, source: keras.Model, *, optimizer="skip", learning_rate=None) -> None:
        """Make the engine's model an exact copy of ``source`` (weights and seed states).

        optimizer : {"skip", "reset", "copy"}
            "copy" also copies ``source.optimizer``'s variables (a continued fit),
            "reset" zeroes them as a new optimizer starts (a fresh fit), "skip"
            leaves them (predict needs no optimizer).  For "copy"/"reset" the
            engine must have been prepared (``training.prepare``) first.
        """
        optimizer_obj = self.model.optimizer
        other = source is not self.model
        if other:
            _copy_variables(source.variables, self.model.variables)
        source_opt = getattr(source, "optimizer", None)
        if optimizer == "copy" and other and source_opt is not None and source_opt.built:
            _copy_variables(source_opt.variables, optimizer_obj.variables)
        # "reset" zeroes the state also when the owner's own model is the engine (reuse
        # off, or not shareable): a second training of the same model -- the regressor's
        # refit on all rows -- must start its Adam moments and step count afresh, exactly
        # as it does on a pooled engine.  "copy" from the engine's own model keeps it.
        elif (optimizer == "reset" or (optimizer == "copy" and other)) and optimizer_obj.built:
            for var in optimizer_obj.variables:
                var.assign(keras.ops.zeros(var.shape, dtype=var.dtype))
        if isinstance(learning_rate, (int, float)) and optimizer != "skip":
            # a schedule (not a number) lives inside the optimizer and is not assigned
            optimizer_obj.learning_rate = float(learning_rate)

    def store(self, target: keras.Model) -> None:
        """Copy the engine's weights and optimizer state into ``target`` (the owner's model)."""
        if target is self.model:
            return
        _copy_variables(self.model.variables, target.variables)
        optimizer = self.model.optimizer
        if optimizer.built:
            target_opt = target.optimizer
            if not target_opt.built:
                target_opt.build(target.trainable_variables)
            _copy_variables(optimizer.variables, target_opt.variables)


def _copy_variables(sources, targets) -> None:
    if len(sources) != len(targets):  # same spec and optimizer: same layout
        raise RuntimeError(
            f"internal error: variable layouts differ ({len(sources)} vs {len(targets)}); "
            "the network and its engine were built from different specs."
        )
    for source, target in zip(sources, targets):
        target.assign(source)


def _pool_key(spec: NetworkSpec, compile_config: CompileConfig):
    if not reuse_enabled():
        return None
    key = compile_config.key()
    return None if key is None else (keras.backend.backend(), spec, key)


@contextlib.contextmanager
def borrow(spec: NetworkSpec, compile_config: CompileConfig, owner_model: keras.Model | None = None,
           shareable: bool = True):
    """Lend an engine for ``spec`` for the duration of the ``with`` block.

    When the configuration cannot be pooled (custom loss or metric objects, user
    callbacks that would see the engine as ``callback.model``, ``shareable=False``,
    or reuse turned off), ``owner_model`` itself serves as the engine, so nothing is
    shared and the estimator's own traced functions are kept on its own model.
    """
    key = _pool_key(spec, compile_config) if shareable else None
    if key is None:
        if owner_model is not None:
            if getattr(owner_model, "optimizer", None) is None:
                compile_config.compile(owner_model)
            engine = getattr(owner_model, "_skgru_engine", None)
            if engine is None:
                engine = Engine(spec, compile_config, model=owner_model)
                owner_model._skgru_engine = engine  # the owner's own traced functions
            yield engine
        else:
            yield Engine(spec, compile_config)
        return
    engine = None
    with _lock:
        pool = _free.get(key)
        if pool:
            engine = pool.pop()
            if not pool:
                del _free[key]
    if engine is None:
        engine = Engine(spec, compile_config)
    try:
        yield engine
    except BaseException:
        raise  # the engine is dropped: its traced state after an error is not trusted
    else:
        _give_back(key, engine)


def _give_back(key, engine: Engine) -> None:
    with _lock:
        _free.setdefault(key, []).append(engine)
        _free.move_to_end(key)
        while sum(len(p) for p in _free.values()) > MAX_FREE_ENGINES:
            oldest = next(iter(_free))
            _free[oldest].pop(0)
            if not _free[oldest]:
                del _free[oldest]


def clear() -> None:
    """Drop every idle engine (tests and long-running services)."""
    with _lock:
        _free.clear()


def pool_size() -> int:
    with _lock:
        return sum(len(p) for p in _free.values())
