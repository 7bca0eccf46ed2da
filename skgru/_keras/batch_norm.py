"""Moving statistics of BatchNormalization set from the training data ("precise BN").

Why: during training a BatchNormalization layer normalises with each minibatch's
own moments and keeps an exponential moving average (momentum 0.99) for inference.
On the few dozen series this package is often fitted on, that average can end far
from what the final weights produce: late in training the weights still move, and
an epoch of 40 series is one batch of 32 and one of 8. The GRU-FCN branch
(``fcn_branch=True``, three Conv1D + BatchNorm blocks) then predicted its own
training series no better than half right while the same network in training mode, over all of
them at once, got every one right (sim-warp's 40 training series, 4 classes:
accuracy 0.50 vs 1.00; moving mean of the last block 1.55 against 2.34 in the
data). Recomputing the moments once over the training rows after training, as
Wu & Johnson's "precise BN" does, makes inference use the statistics of the
network it actually holds.
"""

from __future__ import annotations

import math
import warnings

import keras
import numpy as np

__all__ = ["batch_norm_layers", "recalibrate_batch_norm"]

# Rows per forward pass: at most about this many values per activation (64 MB in
# float32 for a 256-filter block), never fewer than a training batch of 32 rows.
CHUNK_VALUES = 2**24
MIN_CHUNK_ROWS = 32
WIDEST_BLOCK = 256  # the FCN branch's widest block (128, 256, 128 filters)


def batch_norm_layers(model) -> list:
    """The model's BatchNormalization layers, in the order they are called."""
    return [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]


def recalibrate_batch_norm(model, X) -> None:
    """Set every BatchNormalization layer's moving mean and variance to the moments of
    its inputs over ``X`` (the training rows), padding excluded.

    One training-mode forward pass per chunk of rows, with each layer's momentum set
    so its moving statistics become the running mean of the chunks' (masked) moments;
    with one chunk (up to 65 536 rows of 1 step, 256 of 256 steps) they are exact.
    Later layers see inputs normalised with the chunk's own moments, as in training.
    Nothing else changes: the head's dropout comes after every BatchNorm, and no
    other layer keeps state. A model without BatchNorm is left untouched.
    """
    layers = batch_norm_layers(model)
    n = len(X)
    if not layers or n == 0:
        return
    steps = int(np.prod(X.shape[1:-1])) if X.ndim > 2 else 1
    rows = max(MIN_CHUNK_ROWS, CHUNK_VALUES // max(1, steps * WIDEST_BLOCK))
    chunks = np.array_split(np.arange(n), math.ceil(n / rows))
    momenta = [layer.momentum for layer in layers]
    try:
        for k, index in enumerate(chunks):
            for layer in layers:
                layer.momentum = k / (k + 1)  # the k-th chunk weighs 1/(k+1): a plain mean
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Keras' note on the input structure
                model(keras.ops.convert_to_tensor(X[index]), training=True)
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum
