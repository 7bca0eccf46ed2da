"""The training-loop callback behind sklearn-style stopping (``n_iter_no_change``)."""

from __future__ import annotations

import math

import keras


class EpochTracker(keras.callbacks.Callback):
    """Stop when ``monitor`` has not improved by ``tol`` for ``patience`` epochs.

    This is scikit-learn's MLP rule: with ``early_stopping=False`` the training
    loss is watched and the last weights are kept; with ``early_stopping=True``
    the validation loss is watched and the best weights are restored at the end.
    Also stops at once when the loss becomes NaN/inf, recording that it diverged.

    Attributes (after training)
    ---------------------------
    best_epoch : int
        1-based epoch whose weights the model holds at the end.
    epochs_run : int
        Epochs completed in this call.
    diverged_at : int or None
        Epoch at which the loss stopped being finite.
    """

    def __init__(self, monitor: str, patience: int, tol: float, restore_best: bool, initial_epoch: int = 0):
        super().__init__()
        self.monitor = monitor
        self.patience = patience
        self.tol = tol
        self.restore_best = restore_best
        self.initial_epoch = initial_epoch

    def on_train_begin(self, logs=None):
        self.best = math.inf
        self.best_epoch = self.initial_epoch
        self.epochs_run = 0
        self.wait = 0
        self.best_weights = None
        self.diverged_at = None

    def observe_start(self, logs):
        """Count the weights *before* the first epoch as a candidate ("epoch 0").

        Called by ``skgru._keras.training.train`` with the monitored losses of the
        starting weights, for a network whose start is already a fitted model (the
        regressor's ridge start): if no epoch improves on it, those weights are kept.
        """
        current = logs.get(self.monitor)
        if current is None or not math.isfinite(float(current)) or not self.restore_best:
            return
        self.best = float(current)
        self.best_epoch = self.initial_epoch
        self.best_weights = self.model.get_weights()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.epochs_run += 1
        current = logs.get(self.monitor, logs.get("loss"))
        loss = logs.get("loss")
        if current is None or not math.isfinite(float(current)) or (
            loss is not None and not math.isfinite(float(loss))
        ):
            self.diverged_at = epoch + 1
            self.model.stop_training = True
            return
        current = float(current)
        if current < self.best - self.tol:
            self.best = current
            self.best_epoch = epoch + 1
            self.wait = 0
            if self.restore_best:
                self.best_weights = self.model.get_weights()
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.model.stop_training = True
        if not self.restore_best:
            self.best_epoch = epoch + 1

    def on_train_end(self, logs=None):
        if self.restore_best and self.best_weights is not None and self.diverged_at is None:
            self.model.set_weights(self.best_weights)
        self.best_weights = None  # do not keep a copy of the weights alive
