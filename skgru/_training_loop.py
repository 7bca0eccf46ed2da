"""A lean epoch loop over ``train_on_batch`` / ``test_on_batch`` / ``predict_on_batch``.

Why not ``Model.fit``: on TensorFlow every ``fit``, ``evaluate`` and ``predict`` call
builds a new ``tf.data`` pipeline (~0.1 s each), and its shuffling draws from
TensorFlow's global seed, which can only be set by clearing TensorFlow's kernel
caches.  For the sklearn-sized data this package is used on, that fixed cost
dominates a fit.  This loop feeds NumPy minibatches straight into the model's
traced step (the same ``train_function`` Keras' ``fit`` uses), shuffles with a
NumPy ``Generator`` seeded from ``random_state`` (thread-safe, no global state),
and calls the usual Keras callbacks, so ``callbacks=`` and ``verbose`` behave as
with ``fit``.  The public ``*_on_batch`` methods exist on every Keras backend.

On TensorFlow the loop calls the model's traced ``train_function`` /
``test_function`` directly, as ``fit`` does, so the metrics accumulate over the
epoch exactly as in ``fit`` and no per-step host sync or metric reset is paid.  On
the other backends it goes through ``train_on_batch`` (which resets the metrics
every call), and an epoch's value is the sample-weighted mean of its batch values
(exact for the loss and mean metrics such as accuracy).  Validation logs get the
``val_`` prefix.
"""

from __future__ import annotations

import weakref

import keras
import numpy as np


def _batches(n, batch_size, order):
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


def _take(a, idx):
    return None if a is None else a[idx]


_EPOCH_FUNCTIONS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _wants_batch_hooks(callbacks) -> bool:
    base = keras.callbacks.Callback
    hooks = ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end")
    return any(getattr(type(cb), h) is not getattr(base, h) for cb in callbacks for h in hooks)


def _tf_epoch_function(model):
    """One traced TensorFlow function that runs a whole epoch of ``train_step``s.

    Gathering each minibatch by index inside the graph removes the per-step Python
    dispatch (~0.4 ms a step on CPU), like ``steps_per_execution`` does for ``fit``,
    without building a ``tf.data`` pipeline. Kept per model (weakly): a pooled model
    keeps its traced epoch.
    """
    fn = _EPOCH_FUNCTIONS.get(model)
    if fn is None:
        import tensorflow as tf

        @tf.function(reduce_retracing=True)
        def run_epoch(X, y, sw, order, batch_size):
            n_batches = (tf.shape(order)[0] + batch_size - 1) // batch_size
            for i in tf.range(n_batches):
                idx = order[i * batch_size : (i + 1) * batch_size]
                if sw is None:
                    model.train_step((tf.gather(X, idx), tf.gather(y, idx)))
                else:
                    model.train_step((tf.gather(X, idx), tf.gather(y, idx), tf.gather(sw, idx)))

        fn = _EPOCH_FUNCTIONS[model] = run_epoch
    return fn


class _Stepper:
    """Runs train or test steps on one model, by the fastest route the backend allows."""

    def __init__(self, model, train: bool):
        self.model = model
        self.train = train
        self.direct = keras.backend.backend() == "tensorflow"
        self.logs, self.weights = [], []

    def start(self):
        self.model.reset_metrics()
        self.logs, self.weights = [], []

    def step(self, x, y, sw):
        model = self.model
        function = model.train_function if self.train else model.test_function
        if self.direct and function is not None and model.optimizer.built:
            return function(iter([(x, y, sw)]))
        on_batch = model.train_on_batch if self.train else model.test_on_batch
        logs = on_batch(x, y, sample_weight=sw, return_dict=True)  # builds the model on first use
        if self.direct:  # the step's metric updates stay accumulated: start() resets
            return logs
        self.logs.append(logs)
        self.weights.append(len(x) if sw is None else float(np.sum(sw)))
        return logs

    def result(self):
        if self.direct:
            return {k: float(np.asarray(v)) for k, v in self.model.get_metrics_result().items()}
        return _weighted_logs(self.logs, np.asarray(self.weights))


def _weighted_logs(batch_logs, weights):
    total = float(np.sum(weights))
    out = {}
    for key in batch_logs[0]:
        values = np.array([float(logs[key]) for logs in batch_logs])
        out[key] = float(np.dot(values, weights) / total)
    return out


def evaluate(model, X, y, sample_weight, batch_size):
    """Loss and metrics of ``model`` over ``X`` (as ``Model.evaluate``, without tf.data)."""
    stepper = _Stepper(model, train=False)
    stepper.start()
    for idx in _batches(len(X), batch_size, np.arange(len(X))):
        stepper.step(X[idx], y[idx], _take(sample_weight, idx))
    return stepper.result()


def predict(model, X, batch_size):
    """``predict_on_batch`` over chunks of exactly ``batch_size`` rows.

    The last chunk is padded (with copies of its first row) to the full size, so
    the traced predict step sees one input shape only (no retracing) and a row's
    prediction does not depend on which other rows share its batch: the same
    sequence gets bit-identical outputs alone, in a subset or in a shuffled set.
    """
    n = len(X)
    outs = []
    for start in range(0, n, batch_size):
        chunk = X[start : start + batch_size]
        missing = batch_size - len(chunk)
        if missing:
            chunk = np.concatenate([chunk, np.repeat(chunk[:1], missing, axis=0)], axis=0)
        outs.append(np.asarray(model.predict_on_batch(chunk))[: batch_size - missing])
    return np.concatenate(outs, axis=0)


def train(
    model,
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
):
    """Train ``model`` in place from ``initial_epoch`` to ``epochs``; returns per-epoch logs.

    Parameters
    ----------
    model : keras.Model
        Compiled model.
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

    Returns
    -------
    history : dict of list of float
    """
    n = len(X)
    steps = -(-n // batch_size)
    cbs = keras.callbacks.CallbackList(
        list(callbacks), add_history=False, add_progbar=verbose != 0, model=model,
        verbose=verbose, epochs=epochs, steps=steps,
    )
    history: dict = {}
    stepper = _Stepper(model, train=True)
    whole_epochs = (
        stepper.direct
        and verbose != 1
        and not _wants_batch_hooks(callbacks)
        and hasattr(model, "_symbolic_build")  # Keras 3 private API; else the per-step loop
    )
    if whole_epochs:
        import tensorflow as tf

        if not model.optimizer.built:  # a new model: create its variables outside the graph
            first = slice(0, batch_size)
            model._symbolic_build(data_batch=(X[first], y[first], _take(sample_weight, first)))
        run_epoch = _tf_epoch_function(model)
        X_t, y_t = tf.convert_to_tensor(X), tf.convert_to_tensor(y)
        sw_t = None if sample_weight is None else tf.convert_to_tensor(sample_weight)

        def open_batch(t):
            return None if t is None else tf.TensorSpec([None, *t.shape[1:]], t.dtype)

        # Trace once with the sample dimension left open, so that data sets of other
        # sizes (CV folds, refits) reuse the trace instead of retracing.
        run_epoch.get_concrete_function(
            open_batch(X_t), open_batch(y_t), open_batch(sw_t), tf.TensorSpec([None], tf.int32), batch_size
        )
    model.stop_training = False
    cbs.on_train_begin()
    for epoch in range(initial_epoch, epochs):
        cbs.on_epoch_begin(epoch)
        stepper.start()
        order = rng.permutation(n) if shuffle else np.arange(n)
        if whole_epochs:
            run_epoch(X_t, y_t, sw_t, tf.constant(order, dtype="int32"), batch_size)
        else:
            for step, idx in enumerate(_batches(n, batch_size, order)):
                cbs.on_train_batch_begin(step)
                logs = stepper.step(X[idx], y[idx], _take(sample_weight, idx))
                cbs.on_train_batch_end(step, logs)
        epoch_logs = stepper.result()
        if validation_data is not None:
            Xv, yv, *rest = validation_data
            val = evaluate(model, Xv, yv, rest[0] if rest else None, batch_size)
            epoch_logs.update({f"val_{k}": v for k, v in val.items()})
        cbs.on_epoch_end(epoch, epoch_logs)
        for key, value in epoch_logs.items():
            history.setdefault(key, []).append(value)
        if model.stop_training:
            break
    cbs.on_train_end()
    return history
