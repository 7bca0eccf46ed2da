"""Losses skgru compiles into its networks (Keras 3 ops only: TF, JAX and torch).

``PinballLoss`` trains one network on several quantile levels of several outputs
at once: the output layer has ``n_outputs * n_levels`` linear units, laid out
output-major (unit ``j * n_levels + l`` is level ``l`` of output ``j``).
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="skgru")
class PinballLoss(keras.losses.Loss):
    """Mean pinball (quantile) loss over every output and level.

    For a level ``tau`` and residual ``e = y - q``, the loss is
    ``max(tau * e, (tau - 1) * e)``; its minimiser is the ``tau``-quantile of ``y``.
    Each sample's loss is the mean over outputs and levels, so sample weights and
    Keras' reduction work as for any per-sample loss.

    Parameters
    ----------
    quantiles : sequence of float in (0, 1)
        The levels, in the order of the output units.
    name : str, default="pinball_loss"
        Keras name of the loss.
    """

    def __init__(self, quantiles, name="pinball_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.quantiles = tuple(float(q) for q in quantiles)

    def call(self, y_true, y_pred):
        n_levels = len(self.quantiles)
        y_pred = ops.convert_to_tensor(y_pred)
        y_true = ops.cast(ops.convert_to_tensor(y_true), y_pred.dtype)
        # (batch, n_outputs * n_levels) -> (batch, n_outputs, n_levels); y -> (batch, n_outputs, 1)
        q = ops.reshape(y_pred, (-1, ops.shape(y_pred)[-1] // n_levels, n_levels))
        y = ops.reshape(y_true, (ops.shape(q)[0], ops.shape(q)[1], 1))
        tau = ops.cast(ops.convert_to_tensor(self.quantiles), y_pred.dtype)
        e = y - q
        loss = ops.maximum(tau * e, (tau - 1.0) * e)
        return ops.mean(ops.reshape(loss, (ops.shape(loss)[0], -1)), axis=-1)

    # Equal levels, equal loss: lets a compiled-engine cache keyed on the loss reuse
    # a network across fits instead of treating every fit's new instance as unknown.
    def __eq__(self, other):
        return type(other) is type(self) and other.get_config() == self.get_config()

    def __hash__(self):
        return hash((type(self).__name__, self.quantiles, self.name))

    def get_config(self):
        return {**super().get_config(), "quantiles": list(self.quantiles)}
