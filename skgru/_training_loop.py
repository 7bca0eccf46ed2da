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

Epoch logs follow ``fit``: the loss (and each metric) is the sample-weighted mean
over the epoch's batches; validation logs get the ``val_`` prefix.  For metrics that
are not batch means (AUC, say) the epoch value is the mean of batch values.
"""

from __future__ import annotations

import numpy as np
import keras


def _batches(n, batch_size, order):
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


def _take(a, idx):
    return None if a is None else a[idx]


def _weighted_logs(batch_logs, weights):
    total = float(np.sum(weights))
    out = {}
    for key in batch_logs[0]:
        values = np.array([float(logs[key]) for logs in batch_logs])
        out[key] = float(np.dot(values, weights) / total)
    return out


def evaluate(model, X, y, sample_weight, batch_size):
    """Sample-weighted mean of ``test_on_batch`` logs over ``X`` (no shuffling)."""
    logs, weights = [], []
    order = np.arange(len(X))
    for idx in _batches(len(X), batch_size, order):
        sw = _take(sample_weight, idx)
        logs.append(model.test_on_batch(X[idx], y[idx], sample_weight=sw, return_dict=True))
        weights.append(len(idx) if sw is None else float(np.sum(sw)))
    return _weighted_logs(logs, np.asarray(weights))


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
    model.stop_training = False
    cbs.on_train_begin()
    for epoch in range(initial_epoch, epochs):
        cbs.on_epoch_begin(epoch)
        order = rng.permutation(n) if shuffle else np.arange(n)
        batch_logs, weights = [], []
        for step, idx in enumerate(_batches(n, batch_size, order)):
            cbs.on_train_batch_begin(step)
            sw = _take(sample_weight, idx)
            logs = model.train_on_batch(X[idx], y[idx], sample_weight=sw, return_dict=True)
            batch_logs.append(logs)
            weights.append(len(idx) if sw is None else float(np.sum(sw)))
            cbs.on_train_batch_end(step, logs)
        epoch_logs = _weighted_logs(batch_logs, np.asarray(weights))
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
