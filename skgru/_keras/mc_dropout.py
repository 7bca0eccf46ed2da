"""Monte Carlo dropout: predictions with dropout kept on (Gal & Ghahramani 2016).

Why a separate network: the fitted model's dropout seed generators advance with
every call, so sampling from it would make two identical ``predict`` calls
differ and would change its state. Instead the same architecture is rebuilt from
its :class:`~skgru._keras.network.NetworkSpec` under the sampling seed (so the
dropout masks depend on that seed alone), given the fitted weights, and wrapped
in a model whose ``call`` always runs in training mode. Only public Keras 3 API is
used (``set_weights``, ``Model.predict``), so it runs on every backend.
"""

from __future__ import annotations

import keras
import numpy as np

# Rows per predict call: the input is repeated n_samples times, one dropout mask
# per row; 65536 rows of a (t, f) window stay far below memory limits.
_MAX_ROWS = 65536


class _AlwaysTraining(keras.Model):
    """Runs the wrapped network with ``training=True`` (dropout on) in ``predict``."""

    def __init__(self, network, **kwargs):
        super().__init__(**kwargs)
        self.network = network

    def call(self, inputs, training=None):
        return self.network(inputs, training=True)


def mc_dropout_predict(spec, weights, X, n_samples, seed, batch_size):
    """Raw network outputs under ``n_samples`` independent dropout masks.

    Parameters
    ----------
    spec : NetworkSpec
        Architecture of the fitted network.
    weights : list of ndarray
        The fitted network's ``get_weights()``.
    X : ndarray
        Network input (already converted), ``(n, ...)``.
    n_samples : int
        Number of dropout masks per input.
    seed : int or None
        Seeds the masks (None: fresh entropy).
    batch_size : int
        Rows per forward pass.

    Returns
    -------
    samples : ndarray of shape (n_samples, n, n_network_outputs)
    """
    from skgru._keras.network import build_network

    network = build_network(spec, seed)
    network.set_weights(weights)
    sampler = _AlwaysTraining(network, name="mc_dropout")
    n = len(X)
    chunk = max(1, _MAX_ROWS // n_samples)
    parts = []
    for start in range(0, n, chunk):
        Xc = X[start : start + chunk]
        tiled = np.concatenate([Xc] * n_samples, axis=0)  # sample-major: row s*m + i
        out = np.asarray(sampler.predict(tiled, batch_size=batch_size, verbose=0))
        parts.append(out.reshape(n_samples, len(Xc), -1))
    return np.concatenate(parts, axis=1)
