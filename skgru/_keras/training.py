"""A lean epoch loop on a borrowed engine (see ``skgru._keras.engines``).

Why not ``Model.fit``: on TensorFlow every ``fit``, ``evaluate`` and ``predict`` call
builds a new ``tf.data`` pipeline (~0.1 s each), and its shuffling draws from
TensorFlow's global seed, which can only be set by clearing TensorFlow's kernel
caches.  For the sklearn-sized data this package is used on, that fixed cost
dominates a fit.  This loop feeds NumPy data straight into the model's
``train_step`` (the step ``fit`` itself uses), shuffles with a NumPy ``Generator``
seeded from ``random_state`` (thread-safe, no global state), and calls the usual
Keras callbacks, so ``callbacks=`` and ``verbose`` behave as with ``fit``.

On TensorFlow three functions are traced once per engine and kept on it: a whole
epoch of ``train_step``s (minibatches gathered by index inside the graph, which
removes ~0.4 ms of Python dispatch per step), an evaluation pass and a predict
step.  Their input signatures leave the sample axis open, and the time axis too
unless the recurrence is unrolled, so folds, refits and new sequence lengths reuse
the trace instead of retracing (a retrace costs 0.8-3 s and ~15 MB that TensorFlow
never returns).  On the other backends the loop goes through the public
``*_on_batch`` methods, and an epoch's value is the sample-weighted mean of its
batch values (exact for the loss and mean metrics such as accuracy).  Validation
logs get the ``val_`` prefix.
"""

from __future__ import annotations

import keras
import numpy as np

from skgru._keras import private


def _batches(n, batch_size, order):
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


def _take(a, idx):
    return None if a is None else a[idx]


def _on_tensorflow() -> bool:
    return keras.backend.backend() == "tensorflow"


def _wants_batch_hooks(callbacks) -> bool:
    base = keras.callbacks.Callback
    hooks = ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end")
    return any(getattr(type(cb), h) is not getattr(base, h) for cb in callbacks for h in hooks)


# ------------------------------------------------------------ traced functions


def _open_spec(array, open_time: bool):
    """A TensorSpec with the sample axis (and, unless unrolled, the time axis) open."""
    import tensorflow as tf

    if array is None:
        return None
    shape = [None, *array.shape[1:]]
    if open_time and len(shape) >= 2:
        shape[1] = None
    return tf.TensorSpec(shape, tf.as_dtype(array.dtype))


def _traced(engine, name, make, *example, open_time):
    """The engine's traced function ``name``, traced on first use with open shapes."""
    fn = engine.functions.get(name)
    if fn is None:
        import tensorflow as tf

        fn = make(engine.model, tf)
        specs = [_open_spec(a, open_time and i == 0) if isinstance(a, np.ndarray) or a is None else a
                 for i, a in enumerate(example)]
        fn.get_concrete_function(*specs)
        engine.functions[name] = fn
    return fn


def _make_epoch(model, tf):
    @tf.function
    def run_epoch(X, y, sw, order, batch_size):
        n_batches = (tf.shape(order)[0] + batch_size - 1) // batch_size
        for i in tf.range(n_batches):
            idx = order[i * batch_size : (i + 1) * batch_size]
            if sw is None:
                model.train_step((tf.gather(X, idx), tf.gather(y, idx)))
            else:
                model.train_step((tf.gather(X, idx), tf.gather(y, idx), tf.gather(sw, idx)))

    return run_epoch


def _make_eval(model, tf):
    @tf.function
    def run_eval(X, y, sw, batch_size):
        n = tf.shape(X)[0]
        for i in tf.range((n + batch_size - 1) // batch_size):
            sl = slice(i * batch_size, (i + 1) * batch_size)
            if sw is None:
                model.test_step((X[sl], y[sl]))
            else:
                model.test_step((X[sl], y[sl], sw[sl]))

    return run_eval


def _make_predict(model, tf):
    @tf.function
    def run_predict(X):
        return model(X, training=False)

    return run_predict


def _tensors(*arrays):
    import tensorflow as tf

    return [None if a is None else tf.convert_to_tensor(a) for a in arrays]


def _int_spec():
    import tensorflow as tf

    return tf.TensorSpec([None], tf.int32)


def _scalar(value):
    import tensorflow as tf

    return tf.constant(int(value), dtype=tf.int32)


def _scalar_spec():
    import tensorflow as tf

    return tf.TensorSpec([], tf.int32)


def prepare(engine, X, y, sample_weight, batch_size) -> None:
    """Create the engine's optimizer and metric variables outside any graph (as ``fit`` does).

    Called before optimizer state is loaded into the engine, and before tracing:
    variables may not be created inside a traced epoch.
    """
    _ensure_built(engine.model, X, y, sample_weight, batch_size)


def _ensure_built(model, X, y, sample_weight, batch_size) -> None:
    if not model.optimizer.built and private.has_symbolic_build(model):
        first = slice(0, batch_size)
        private.symbolic_build(model, (X[first], y[first], _take(sample_weight, first)))


# --------------------------------------------------------------- step fallback


class _Stepper:
    """Per-step train/test calls through the public ``*_on_batch`` methods."""

    def __init__(self, model, train: bool):
        self.model = model
        self.train = train
        self.logs, self.weights = [], []

    def start(self):
        self.model.reset_metrics()
        self.logs, self.weights = [], []

    def step(self, x, y, sw):
        on_batch = self.model.train_on_batch if self.train else self.model.test_on_batch
        logs = on_batch(x, y, sample_weight=sw, return_dict=True)
        self.logs.append(logs)
        self.weights.append(len(x) if sw is None else float(np.sum(sw)))
        return logs

    def result(self):
        return _weighted_logs(self.logs, np.asarray(self.weights))


def _weighted_logs(batch_logs, weights):
    total = float(np.sum(weights))
    out = {}
    for key in batch_logs[0]:
        values = np.array([float(logs[key]) for logs in batch_logs])
        out[key] = float(np.dot(values, weights) / total)
    return out


def _metrics_result(model):
    return {k: float(np.asarray(v)) for k, v in model.get_metrics_result().items()}


# ------------------------------------------------------------------ public API


def evaluate(engine, X, y, sample_weight, batch_size):
    """Loss and metrics of the engine's model over ``X`` (as ``Model.evaluate``, without tf.data)."""
    model = engine.model
    if _on_tensorflow() and model.optimizer.built:
        run_eval = _traced(engine, "eval", _make_eval, X, y, sample_weight, _scalar_spec(),
                           open_time=engine.spec.n_timesteps is None)
        model.reset_metrics()
        run_eval(*_tensors(X, y, sample_weight), _scalar(batch_size))
        return _metrics_result(model)
    stepper = _Stepper(model, train=False)
    stepper.start()
    for idx in _batches(len(X), batch_size, np.arange(len(X))):
        stepper.step(X[idx], y[idx], _take(sample_weight, idx))
    return stepper.result()


def predict(engine, X, batch_size):
    """The network's outputs over chunks of exactly ``batch_size`` rows.

    The last chunk is padded (with copies of its first row) to the full size, so
    a row's prediction does not depend on which other rows share its batch: the
    same sequence gets bit-identical outputs alone, in a subset or shuffled.

    The model's seed states are left as they were: Keras' GRU draws (and drops) a
    dropout mask on every call, inference included, which would move them when the
    engine is the estimator's own model (``SKGRU_REUSE_MODELS=0``), and never does
    with a pooled engine, whose state is not copied back after a prediction.
    """
    model = engine.model
    seeds = [(v, v.numpy()) for v in model.variables if v.name == "seed_generator_state"]
    try:
        return _predict_chunks(model, engine, X, batch_size)
    finally:
        for var, value in seeds:
            var.assign(value)


def _predict_chunks(model, engine, X, batch_size):
    if _on_tensorflow():
        run_predict = _traced(engine, "predict", _make_predict, X, open_time=engine.spec.n_timesteps is None)
        call = lambda chunk: run_predict(*_tensors(chunk))  # noqa: E731
    else:
        call = model.predict_on_batch
    n = len(X)
    outs = []
    for start in range(0, n, batch_size):
        chunk = X[start : start + batch_size]
        missing = batch_size - len(chunk)
        if missing:
            chunk = np.concatenate([chunk, np.repeat(chunk[:1], missing, axis=0)], axis=0)
        outs.append(np.asarray(call(chunk))[: batch_size - missing])
    return np.concatenate(outs, axis=0)


def train(
    engine,
    X,
    y,
    sample_weight,
    *,
    batch_size,
    epochs,
    initial_epoch,
    rng,
    validation_data=None,
    callbacks=(),
    verbose=0,
    shuffle=True,
    score_start=False,
):
    """Train the engine's model in place from ``initial_epoch`` to ``epochs``.

    Parameters
    ----------
    engine : skgru._keras.engines.Engine
        Holds the compiled model and its traced functions.
    X, y, sample_weight : ndarray
        Training data (``sample_weight`` may be None).
    batch_size, epochs, initial_epoch : int
        As for ``Model.fit``.
    rng : numpy.random.Generator
        Shuffles the samples each epoch.
    validation_data : tuple or None
        ``(X_val, y_val)`` or ``(X_val, y_val, w_val)``, evaluated after each epoch.
    callbacks : sequence of keras.callbacks.Callback
        Called as by ``Model.fit``; ``model.stop_training = True`` stops training.
    verbose : int
        0 silent, 1 progress bar, 2 one line per epoch.
    shuffle : bool
        Shuffle the training samples each epoch.
    score_start : bool
        Evaluate ``validation_data`` on the starting weights and hand the losses
        to every callback with an ``observe_start`` method (the stopping rule then
        keeps the start if no epoch beats it).

    Returns
    -------
    history : dict of list of float
    """
    model = engine.model
    n = len(X)
    steps = -(-n // batch_size)
    cbs = keras.callbacks.CallbackList(
        list(callbacks), add_history=False, add_progbar=verbose != 0, model=model,
        verbose=verbose, epochs=epochs, steps=steps,
    )
    history: dict = {}
    whole_epochs = (
        _on_tensorflow()
        and verbose != 1
        and not _wants_batch_hooks(callbacks)
        and private.has_symbolic_build(model)
    )
    if whole_epochs:
        _ensure_built(model, X, y, sample_weight, batch_size)
        run_epoch = _traced(engine, "epoch", _make_epoch, X, y, sample_weight, _int_spec(), _scalar_spec(),
                            open_time=engine.spec.n_timesteps is None)
        X_t, y_t, sw_t = _tensors(X, y, sample_weight)
        batch_t = _scalar(batch_size)
    stepper = _Stepper(model, train=True)
    try:
        model.stop_training = False
        cbs.on_train_begin()
        if score_start and validation_data is not None:
            Xv, yv, *rest = validation_data
            start = {f"val_{k}": v for k, v in evaluate(engine, Xv, yv, rest[0] if rest else None, batch_size).items()}
            for callback in callbacks:
                if hasattr(callback, "observe_start"):
                    callback.observe_start(start)
        for epoch in range(initial_epoch, epochs):
            cbs.on_epoch_begin(epoch)
            order = rng.permutation(n) if shuffle else np.arange(n)
            if whole_epochs:
                model.reset_metrics()
                run_epoch(X_t, y_t, sw_t, *_tensors(order.astype("int32")), batch_t)
                epoch_logs = _metrics_result(model)
            else:
                stepper.start()
                for step, idx in enumerate(_batches(n, batch_size, order)):
                    cbs.on_train_batch_begin(step)
                    logs = stepper.step(X[idx], y[idx], _take(sample_weight, idx))
                    cbs.on_train_batch_end(step, logs)
                epoch_logs = stepper.result()
            if validation_data is not None:
                Xv, yv, *rest = validation_data
                val = evaluate(engine, Xv, yv, rest[0] if rest else None, batch_size)
                epoch_logs.update({f"val_{k}": v for k, v in val.items()})
            cbs.on_epoch_end(epoch, epoch_logs)
            for key, value in epoch_logs.items():
                history.setdefault(key, []).append(value)
            if model.stop_training:
                break
        cbs.on_train_end()
    finally:
        # Keras hands each callback the model (set_model) and leaves it there: a
        # user's callback, held in the estimator's params, then carried the network
        # into pickle, clone and deepcopy, where Keras could not rebuild its custom
        # layers (TypeError on load). The callbacks are the user's: give them back
        # as they came. (The attribute, not set_model: an overridden set_model may read
        # the model, as TensorBoard's does, or open writers.)
        for callback in callbacks:
            if getattr(callback, "_model", None) is model:
                callback._model = None
    return history
