"""Build the Keras GRU network from estimator parameters and data metadata.

``build_network`` is a pure function of a hashable :class:`NetworkSpec`, so that
equal specs give networks of the same architecture (the basis for reusing a
compiled engine across fits, see ``skgru._keras.engines``).  Only Keras 3 APIs are
used: the network runs on the TensorFlow, JAX and PyTorch backends.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np


@dataclass(frozen=True)
class NetworkSpec:
    """Everything that decides the network's architecture (hashable)."""

    n_step_features: int
    n_outputs: int
    output_activation: str  # "softmax", "sigmoid" or "linear"
    units: tuple  # one int per recurrent layer
    dropout: float = 0.0
    recurrent_dropout: float = 0.0
    bidirectional: bool = False
    activation: str = "tanh"
    recurrent_activation: str = "sigmoid"
    dense_units: tuple = ()
    l2: float = 0.0
    l1: float = 0.0  # with l2: elastic net (keras.regularizers.L1L2)
    embedding_dim: int | None = None
    vocab_size: int | None = None
    mask_value: float | None = None
    # Fixed-length input of few timesteps on CPU: the recurrence is unrolled into a
    # straight-line graph (no while loop), ~30% faster per step. Never on GPU (cuDNN).
    n_timesteps: int | None = None
    unroll: bool = False


def cudnn_eligible(spec: NetworkSpec) -> bool:
    """Whether Keras can run the recurrent layers on the fused cuDNN kernel."""
    return (
        spec.activation == "tanh"
        and spec.recurrent_activation == "sigmoid"
        and spec.recurrent_dropout == 0
    )


def _regularizer(l2: float, l1: float = 0.0):
    """The kernel penalty: L2, L1, or both (elastic net); None when both are 0."""
    if l1 > 0:
        return keras.regularizers.L1L2(l1=l1, l2=l2) if l2 > 0 else keras.regularizers.L1(l1)
    return keras.regularizers.L2(l2) if l2 > 0 else None


def build_network(spec: NetworkSpec, seed: int | None = None) -> keras.Model:
    """Return a new (uncompiled) Keras model for ``spec``.

    Every initializer and dropout layer gets its own seed drawn from ``seed``, so
    the same ``(spec, seed)`` always gives the same initial weights and dropout
    masks, without touching any global random state (None: fresh entropy).

    Layout: ``Input -> [Embedding | Masking] -> GRU x n_layers (each optionally
    Bidirectional) -> [Dropout] -> [Dense(relu) x len(dense_units)] -> Dense(out)``.
    Variable-length input is padded at the end and masked, which keeps the cuDNN
    path eligible on GPU.
    """
    reg = _regularizer(spec.l2, spec.l1)
    rng = np.random.default_rng(seed)

    def s():
        return int(rng.integers(0, 2**31 - 1))

    def gru(units, return_sequences, go_backwards, name):
        return keras.layers.GRU(
            units,
            activation=spec.activation,
            recurrent_activation=spec.recurrent_activation,
            dropout=spec.dropout,
            recurrent_dropout=spec.recurrent_dropout,
            kernel_regularizer=reg,
            recurrent_regularizer=reg,
            kernel_initializer=keras.initializers.GlorotUniform(seed=s()),
            recurrent_initializer=keras.initializers.Orthogonal(seed=s()),
            return_sequences=return_sequences,
            go_backwards=go_backwards,
            unroll=spec.unroll,
            seed=s(),
            name=name,
        )

    if spec.embedding_dim is not None:
        inputs = keras.Input(shape=(spec.n_timesteps,), dtype="int32", name="tokens")
        x = keras.layers.Embedding(
            spec.vocab_size,
            spec.embedding_dim,
            mask_zero=True,
            embeddings_initializer=keras.initializers.RandomUniform(-0.05, 0.05, seed=s()),
            embeddings_regularizer=reg,
            name="embedding",
        )(inputs)
    else:
        inputs = keras.Input(shape=(spec.n_timesteps, spec.n_step_features), name="sequences")
        x = inputs
        if spec.mask_value is not None:
            x = keras.layers.Masking(mask_value=spec.mask_value, name="masking")(x)

    n_layers = len(spec.units)
    for i, units in enumerate(spec.units):
        last = i == n_layers - 1
        if spec.bidirectional:
            layer = keras.layers.Bidirectional(
                gru(units, not last, False, f"forward_gru_{i}"),
                backward_layer=gru(units, not last, True, f"backward_gru_{i}"),
                name=f"bidirectional_{i}",
            )
        else:
            layer = gru(units, not last, False, f"gru_{i}")
        x = layer(x)
    if spec.dropout > 0:
        x = keras.layers.Dropout(spec.dropout, seed=s(), name="head_dropout")(x)
    for j, units in enumerate(spec.dense_units):
        x = keras.layers.Dense(
            units,
            activation="relu",
            kernel_regularizer=reg,
            kernel_initializer=keras.initializers.GlorotUniform(seed=s()),
            name=f"dense_{j}",
        )(x)
    outputs = keras.layers.Dense(
        spec.n_outputs,
        activation=spec.output_activation,
        kernel_regularizer=reg,
        kernel_initializer=keras.initializers.GlorotUniform(seed=s()),
        name="output",
    )(x)
    return keras.Model(inputs, outputs, name="skgru_gru")
