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
    # ---- issue 12: long / real-valued series (see _SequenceStem, _MaskedPooling)
    patch_size: int = 1  # p consecutive steps become one GRU step (see patch_mode)
    # "fold": the p steps' features are concatenated (p * n_step_features), then the
    # conv stem runs on the patches; "max"/"mean": the conv stem runs on every step and
    # its outputs are max-/mean-pooled over each patch (a CNN's pooling layer).
    patch_mode: str = "fold"
    pooling: str = "last"  # "last", "mean", "max" or "attention"
    normalize: bool = False  # per-feature (x - mean) / std, statistics set after build
    conv_filters: tuple = ()  # Conv1D(k, kernel, "same") + BatchNorm-free ReLU blocks before the GRU
    conv_kernel_size: int = 5
    # ---- issue 12, round 2: linear and convolutional paths beside the GRU
    # linear_skip=w: a Dense on the last w (standardised, unpatched) input steps, added
    # to the output's pre-activation (LSTNet's autoregressive "highway"); 0 = none.
    linear_skip: int = 0
    # fcn_filters: a parallel fully-convolutional branch (GRU-FCN / LSTM-FCN) on the
    # standardised, unpatched sequence: Conv1D(k_i, FCN_KERNELS[i]) + BatchNorm + ReLU
    # per entry, masked global average pooling, concatenated with the GRU summary.
    fcn_filters: tuple = ()
    # ---- issue 12, round 17: what the GRU reads at each step (see _RelativeToLast):
    # "values" the steps as the stem/convolutions give them, "relative" each step minus
    # the series' last valid step, "both" the two side by side
    gru_input: str = "values"


# Kernel lengths of the FCN branch's blocks (Wang et al. 2017, "Time series
# classification from scratch with deep neural networks"; Karim et al.'s LSTM-FCN):
# 8, 5, 3, and 3 for any further block.
FCN_KERNELS = (8, 5, 3)


def fcn_kernel(i: int) -> int:
    return FCN_KERNELS[i] if i < len(FCN_KERNELS) else FCN_KERNELS[-1]


def uses_stem(spec: NetworkSpec) -> bool:
    """Whether ``build_network`` puts its ``stem`` layer (mask, standardise, patch) first:
    anything that needs the mask explicitly (Conv1D and the layers after it drop Keras'
    propagated one) or the standardised, patched steps."""
    return (spec.patch_size > 1 or spec.normalize or bool(spec.conv_filters) or spec.pooling != "last"
            or spec.gru_input != "values")


def cudnn_eligible(spec: NetworkSpec) -> bool:
    """Whether Keras can run the recurrent layers on the fused cuDNN kernel."""
    return (
        spec.activation == "tanh"
        and spec.recurrent_activation == "sigmoid"
        and spec.recurrent_dropout == 0
    )


def _patched(x, p, fill):
    """``(batch, t, ...)`` -> ``(batch, ceil(t / p), p, ...)``, the time axis padded at
    the end with ``fill``; the patch count is static when the length is (an unrolled
    GRU needs it), else read at run time, so ragged batches patch like fixed ones."""
    ops = keras.ops
    t = x.shape[1] if x.shape[1] is not None else ops.shape(x)[1]
    steps = -(-x.shape[1] // p) if x.shape[1] is not None else -1
    x = ops.pad(x, [[0, 0], [0, (-t) % p]] + [[0, 0]] * (len(x.shape) - 2), constant_values=fill)
    return ops.reshape(x, (ops.shape(x)[0], steps, p, *x.shape[2:]))


def fold_patches(x, mask, p):
    """Fold ``p`` consecutive steps of ``(batch, t, f)`` into one of ``p * f`` features
    (the last patch zero-padded); a patch is valid when any of its steps is (``mask``
    None: no mask in, None out)."""
    folded = _patched(x, p, 0.0)
    x = keras.ops.reshape(folded, (keras.ops.shape(folded)[0], folded.shape[1] or -1, p * x.shape[-1]))
    return x, (None if mask is None else keras.ops.any(_patched(mask, p, False), axis=-1))


def pool_patches(x, valid, p, mode):
    """``"max"`` or ``"mean"`` of ``(batch, t, f)`` over the valid steps of each patch
    of ``p`` (``valid`` None: every step; the padding at the end never counts); a patch
    with no valid step is zero.  Returns ``(pooled, patch_valid)``."""
    ops = keras.ops
    if valid is None:
        valid = ops.ones(ops.shape(x)[:2], dtype="bool")
    v = _patched(valid, p, False)
    xs = _patched(x, p, 0.0)
    w = ops.cast(v, x.dtype)[..., None]
    patch_valid = ops.any(v, axis=-1)
    if mode == "max":
        pooled = ops.max(ops.where(w > 0, xs, ops.full_like(xs, -1e9)), axis=2)
        pooled = ops.where(patch_valid[..., None], pooled, ops.zeros_like(pooled))
    else:
        pooled = ops.sum(xs * w, axis=2) / ops.maximum(ops.sum(w, axis=2), 1.0)
    return pooled, patch_valid


def pool_steps(x, valid, mode):
    """``"mean"`` or ``"max"`` of ``(batch, t, units)`` over its valid steps (``valid``
    None: every step)."""
    ops = keras.ops
    m = ops.ones_like(x[..., :1]) if valid is None else ops.cast(valid, x.dtype)[..., None]
    if mode == "mean":
        return ops.sum(x * m, axis=1) / ops.maximum(ops.sum(m, axis=1), 1.0)
    return ops.max(ops.where(m > 0, x, ops.full_like(x, -1e9)), axis=1)


class _SequenceStem(keras.layers.Layer):
    """Mask, normalise and patch a ``(batch, t, f)`` sequence; returns ``(x, mask)``.

    * mask: a step is padding when all its features equal ``mask_value`` (None: no padding);
    * normalise: ``(x - mean) / std`` per feature with non-trainable statistics the
      estimator sets from its training data (masked steps excluded there);
    * padded steps are zeroed, so that the sentinel never reaches a weight;
    * patch: the time axis is padded (zeros, masked) to a multiple of ``p`` and folded
      into ``(batch, ceil(t / p), p * f)``; a patch is padding when all its steps are.

    Only ``keras.ops``, with the time length read at run time, so variable-length
    (ragged, padded) batches patch the same way as fixed-length ones.
    """

    def __init__(self, n_features, patch_size=1, normalize=False, mask_value=None, **kwargs):
        super().__init__(**kwargs)
        self.n_features = int(n_features)
        self.patch_size = int(patch_size)
        self.normalize = bool(normalize)
        self.mask_value = mask_value
        if self.normalize:
            self.mean = self.add_weight(shape=(self.n_features,), initializer="zeros", trainable=False, name="mean")
            self.std = self.add_weight(shape=(self.n_features,), initializer="ones", trainable=False, name="std")

    def call(self, x):
        ops = keras.ops
        masked = self.mask_value is not None
        if masked:
            mask = ops.any(ops.not_equal(x, self.mask_value), axis=-1)
        if self.normalize:
            x = (x - self.mean) / self.std
        if masked:
            x = ops.where(mask[..., None], x, ops.zeros_like(x))
        if self.patch_size > 1:
            x, mask = fold_patches(x, mask if masked else None, self.patch_size)
        # Fixed-length unmasked input: every (even a zero-padded partial) patch is valid.
        return (x, mask) if masked else x

    def compute_output_spec(self, x):
        t = x.shape[1]
        if t is not None and self.patch_size > 1:
            t = -(-t // self.patch_size)
        out = keras.KerasTensor((x.shape[0], t, self.patch_size * self.n_features), dtype=x.dtype)
        if self.mask_value is None:
            return out
        return out, keras.KerasTensor((x.shape[0], t), dtype="bool")


class _TokenMask(keras.layers.Layer):
    """Valid-step mask of token-id input (id 0 is padding), for the pooling layer."""

    def call(self, tokens):
        return keras.ops.not_equal(tokens, 0)

    def compute_output_spec(self, tokens):
        return keras.KerasTensor(tokens.shape, dtype="bool")


class _ZeroPadding(keras.layers.Layer):
    """Set the padded steps of ``x`` to zero (before a convolution mixes neighbours)."""

    def call(self, x, valid):
        return keras.ops.where(valid[..., None], x, keras.ops.zeros_like(x))

    def compute_mask(self, inputs, previous_mask=None):
        return None

    def compute_output_shape(self, x_shape, valid_shape):
        return x_shape


class _PatchPooling(keras.layers.Layer):
    """Pool ``(batch, t, f)`` over patches of ``p`` steps: ``(batch, ceil(t / p), f)``.

    ``"max"`` or ``"mean"`` over the valid steps of each patch (the time axis is
    padded to a multiple of ``p`` with invalid steps); a patch with no valid step is
    zero and masked.  With ``valid`` given returns ``(x, patch_valid)``.  The time
    length is read at run time, so ragged batches pool like fixed-length ones.
    """

    def __init__(self, patch_size, mode, **kwargs):
        super().__init__(**kwargs)
        self.patch_size = int(patch_size)
        self.mode = mode

    def call(self, x, valid=None):
        pooled, patch_valid = pool_patches(x, valid, self.patch_size, self.mode)
        return pooled if valid is None else (pooled, patch_valid)

    def compute_output_spec(self, x, valid=None):
        t = x.shape[1]
        if t is not None:
            t = -(-t // self.patch_size)
        out = keras.KerasTensor((x.shape[0], t, x.shape[2]), dtype=x.dtype)
        if valid is None:
            return out
        return out, keras.KerasTensor((x.shape[0], t), dtype="bool")


class _MaskedPooling(keras.layers.Layer):
    """Summarise ``(batch, t, units)`` GRU outputs over the valid (unmasked) steps.

    ``"mean"`` and ``"max"`` pool over valid steps; ``"attention"`` learns one score
    per step (``Dense(1)``), softmax over valid steps, and returns the weighted sum.
    """

    def __init__(self, mode, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True  # the valid-step mask comes in as ``valid``
        self.mode = mode
        if mode == "attention":
            self.score = keras.layers.Dense(
                1, kernel_initializer=keras.initializers.GlorotUniform(seed=seed), name="attention_score"
            )

    def build(self, input_shape):
        if self.mode == "attention":
            self.score.build(input_shape)

    def call(self, x, valid=None):
        ops = keras.ops
        if self.mode != "attention":
            return pool_steps(x, valid, self.mode)
        m = ops.ones_like(x[..., :1]) if valid is None else ops.cast(valid, x.dtype)[..., None]
        scores = ops.where(m > 0, self.score(x), ops.full_like(m, -1e9))
        weights = ops.softmax(scores, axis=1)
        return ops.sum(weights * x, axis=1)

    def compute_output_shape(self, x_shape, valid_shape=None):
        return (x_shape[0], x_shape[2])

    def compute_mask(self, inputs, previous_mask=None):  # the pooled output has no time axis
        return None


def _steps_from_end(valid):
    """``(batch, t)`` 0/1 validity -> each step's count of valid steps from it to the end
    (1 at the last valid step, whatever padding follows or precedes it)."""
    ops = keras.ops
    return ops.flip(ops.cumsum(ops.flip(valid, axis=1), axis=1), axis=1)


def steps_from_end(valid: np.ndarray) -> np.ndarray:
    """NumPy twin of :func:`_steps_from_end` over any leading axes (the time axis last)."""
    return np.cumsum(valid[..., ::-1], axis=-1)[..., ::-1]


class _LastSteps(keras.layers.Layer):
    """The last ``window`` valid steps of ``(batch, t, f)``, flattened to ``(batch, window * f)``.

    Steps are kept in time order; a sequence with fewer valid steps than ``window``
    gets zeros in front (the training mean once standardised).  With a mask the
    valid steps may sit anywhere (post- or pre-padding): each valid step's rank
    from the end picks its slot, so padding never reaches the linear layer.
    """

    def __init__(self, window, n_features, **kwargs):
        super().__init__(**kwargs)
        self.window = int(window)
        self.n_features = int(n_features)

    def call(self, x, valid=None):
        ops = keras.ops
        w = self.window
        if valid is None:
            # w zeros in front, then the last w steps: shorter sequences get the zeros
            last = ops.pad(x, [[0, 0], [w, 0], [0, 0]])[:, -w:, :]
        else:
            v = ops.cast(valid, x.dtype)  # (batch, t)
            from_end = _steps_from_end(v)  # 1 = the last valid step
            slot = ops.cast(w - from_end, "int32")  # slot w-1 for the last valid step
            keep = ops.logical_and(valid, from_end <= w)
            onehot = ops.one_hot(ops.where(keep, slot, ops.zeros_like(slot)), w) * ops.cast(keep, x.dtype)[..., None]
            last = ops.einsum("btw,btf->bwf", onehot, x)
        return ops.reshape(last, (ops.shape(last)[0], w * self.n_features))

    def compute_output_shape(self, x_shape, valid_shape=None):
        return (x_shape[0], self.window * self.n_features)

    def compute_mask(self, inputs, previous_mask=None):
        return None


GRU_INPUTS = ("values", "relative", "both")


class _RelativeToLast(keras.layers.Layer):
    """Each step of ``(batch, t, f)`` minus the sequence's last valid step
    (``mode="relative"``), or the steps and that difference side by side,
    ``(batch, t, 2f)`` (``mode="both"``).

    Why (round 17 of issue 12): a GRU sees the last step of a window once, at its last
    update, yet a forecast leans on it most; read relative to it, every step carries it.
    With a mask the last valid step may sit anywhere (post- or pre-padding); padded
    steps get zeros in the difference.
    """

    def __init__(self, mode, **kwargs):
        super().__init__(**kwargs)
        if mode not in ("relative", "both"):
            raise ValueError(f"mode must be 'relative' or 'both'; got {mode!r}.")
        self.mode = mode

    def call(self, x, valid=None):
        ops = keras.ops
        if valid is None:
            rel = x - x[:, -1:, :]
        else:
            v = ops.cast(valid, x.dtype)  # (batch, t)
            from_end = _steps_from_end(v)  # 1 = the last valid step
            is_last = v * ops.cast(ops.equal(from_end, 1.0), x.dtype)
            last = ops.einsum("bt,btf->bf", is_last, x)[:, None, :]
            rel = (x - last) * v[..., None]
        return rel if self.mode == "relative" else ops.concatenate([x, rel], axis=-1)

    def compute_output_shape(self, x_shape, valid_shape=None):
        f = x_shape[-1]
        return (*x_shape[:-1], f if self.mode == "relative" or f is None else 2 * f)

    def compute_mask(self, inputs, previous_mask=None):
        return None

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


def relative_to_last(x: np.ndarray, valid, mode: str) -> tuple[np.ndarray, np.ndarray | None]:
    """NumPy twin of :class:`_RelativeToLast` over any leading axes: ``(..., t, f)`` ->
    (the layer's output, the one-hot of each row's last valid step ``(..., t)`` or None
    without a mask, which :func:`relative_to_last_backward` needs)."""
    if valid is None:
        is_last = None
        rel = x - x[..., -1:, :]
    else:
        v = valid.astype(x.dtype)
        from_end = steps_from_end(v)
        is_last = v * (from_end == 1)
        rel = (x - np.einsum("...t,...tf->...f", is_last, x)[..., None, :]) * v[..., None]
    return (rel if mode == "relative" else np.concatenate([x, rel], axis=-1)), is_last


def relative_to_last_backward(d: np.ndarray, valid, is_last, mode: str) -> np.ndarray:
    """d loss / d the input of :func:`relative_to_last`, given d loss / d its output."""
    if mode == "both":
        f = d.shape[-1] // 2
        d_values, d = d[..., :f], d[..., f:]
    if valid is None:
        dx = d.copy()
        dx[..., -1, :] -= d.sum(axis=-2)
    else:
        d = d * valid[..., None].astype(d.dtype)
        dx = d - is_last[..., None] * d.sum(axis=-2, keepdims=True)
    return dx + d_values if mode == "both" else dx


def last_steps(x: np.ndarray, valid, window: int) -> np.ndarray:
    """NumPy twin of :class:`_LastSteps` over any leading axes: ``(..., t, f)`` ->
    ``(..., window * f)``, the last ``window`` valid steps (``valid``: ``(..., t)``
    bools, or None) in time order, zeros in front of a shorter sequence.  The steps
    are copied, not summed, so the result equals the layer's bit for bit."""
    *lead, _, f = x.shape
    if valid is None:
        front = np.zeros((*lead, window, f), x.dtype)
        last = np.concatenate([front, x], axis=-2)[..., -window:, :]
    else:
        from_end = steps_from_end(valid)  # 1 = the last valid step
        where = np.nonzero(valid & (from_end <= window))
        last = np.zeros((*lead, window, f), x.dtype)
        last[(*where[:-1], window - from_end[where])] = x[where]
    return np.ascontiguousarray(last).reshape(*lead, window * f)


def skip_inputs(model: keras.Model, X) -> np.ndarray:
    """What a network's linear skip reads for the rows ``X`` (``(n, t, f)``): its
    ``steps`` stem (mask, standardise, zero the padding) then ``last_steps``, in NumPy
    (the same float32 operations as the layers; no Keras call or sub-model)."""
    steps, last = model.get_layer("steps"), model.get_layer("last_steps")
    x = np.asarray(X, dtype=np.float32)
    valid = None if steps.mask_value is None else np.any(x != np.float32(steps.mask_value), axis=-1)
    if steps.normalize:
        x = (x - np.asarray(steps.mean.numpy(), np.float32)) / np.asarray(steps.std.numpy(), np.float32)
    if valid is not None:
        x = np.where(valid[..., None], x, np.float32(0.0))
    return last_steps(x, valid, last.window)


def set_input_statistics(model: keras.Model, mean, std) -> None:
    """Store the per-feature training statistics in the network's normalisation steps
    (the GRU's stem and, with a linear skip or FCN branch, their unpatched view)."""
    names = {layer.name for layer in model.layers}
    for name in ("stem", "steps"):
        if name in names:
            layer = model.get_layer(name)
            layer.mean.assign(np.asarray(mean, dtype="float32"))
            layer.std.assign(np.asarray(std, dtype="float32"))


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

    Layout: ``Input -> [Embedding | Masking | stem: mask, standardise, fold patches]
    -> [Conv1D(relu) x len(conv_filters)] -> [max/mean pooling over patches]
    -> GRU x n_layers (each optionally
    Bidirectional) -> [masked mean/max/attention pooling] -> [Dropout]
    -> [Dense(relu) x len(dense_units)] -> Dense(out)``.  ``fcn_filters`` adds a
    parallel Conv1D + BatchNorm + ReLU branch (GRU-FCN) on the unpatched standardised
    steps, globally average-pooled and concatenated with the GRU summary before the
    head; ``linear_skip`` adds a linear layer on the last w such steps to the
    output's pre-activation (LSTNet's autoregressive highway).  With the stem the mask
    is passed to the GRU explicitly (Conv1D would drop Keras' propagated mask).
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

    mask = None
    # patch_mode "max"/"mean": the stem does not fold; the conv stem sees every step and
    # _PatchPooling reduces each patch after it
    pool_patches = spec.patch_size > 1 and spec.patch_mode != "fold"
    fold = 1 if pool_patches else spec.patch_size
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
        if spec.pooling != "last" or spec.conv_filters:
            # explicit mask: Conv1D drops Keras' propagated one, and pooling needs it
            mask = _TokenMask(name="token_mask")(inputs)
            if spec.conv_filters:
                x = _ZeroPadding(name="zero_padding")(x, mask)  # id-0 embeddings never reach a kernel
    else:
        inputs = keras.Input(shape=(spec.n_timesteps, spec.n_step_features), name="sequences")
        x = inputs
        if spec.linear_skip or spec.fcn_filters:
            # the unpatched, standardised steps for the linear skip and the FCN branch
            out = _SequenceStem(spec.n_step_features, 1, spec.normalize, spec.mask_value, name="steps")(x)
            steps, step_mask = out if spec.mask_value is not None else (out, None)
        if uses_stem(spec):
            out = _SequenceStem(
                spec.n_step_features, fold, spec.normalize, spec.mask_value, name="stem"
            )(x)
            x, mask = out if spec.mask_value is not None else (out, None)
        elif spec.mask_value is not None:
            x = keras.layers.Masking(mask_value=spec.mask_value, name="masking")(x)
            mask = None  # propagated by Keras

    for k, filters in enumerate(spec.conv_filters):
        if pool_patches and mask is not None:
            # a padded step's ReLU(bias) must not leak into a valid neighbour's window
            x = _ZeroPadding(name=f"conv_zero_padding_{k}")(x, mask)
        x = keras.layers.Conv1D(
            filters,
            spec.conv_kernel_size,
            padding="same",
            activation="relu",
            kernel_regularizer=reg,
            kernel_initializer=keras.initializers.GlorotUniform(seed=s()),
            name=f"conv_{k}",
        )(x)

    if pool_patches:
        layer = _PatchPooling(spec.patch_size, spec.patch_mode, name=f"patch_{spec.patch_mode}_pooling")
        if mask is not None:
            x, mask = layer(x, valid=mask)
        else:
            x = layer(x)

    if spec.gru_input != "values":
        x = _RelativeToLast(spec.gru_input, name="relative_to_last")(x, valid=mask)

    n_layers = len(spec.units)
    pooled = spec.pooling != "last"
    for i, units in enumerate(spec.units):
        last = i == n_layers - 1
        seqs = pooled or not last
        if spec.bidirectional:
            layer = keras.layers.Bidirectional(
                gru(units, seqs, False, f"forward_gru_{i}"),
                backward_layer=gru(units, seqs, True, f"backward_gru_{i}"),
                name=f"bidirectional_{i}",
            )
        else:
            layer = gru(units, seqs, False, f"gru_{i}")
        x = layer(x, mask=mask) if mask is not None else layer(x)
    if pooled:
        x = _MaskedPooling(spec.pooling, seed=s(), name=f"{spec.pooling}_pooling")(x, valid=mask)
    if spec.fcn_filters:
        x = keras.layers.Concatenate(name="gru_fcn")([x, _fcn_branch(spec, steps, step_mask, reg, s)])
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
    head = dict(kernel_regularizer=reg, kernel_initializer=keras.initializers.GlorotUniform(seed=s()))
    if not spec.linear_skip:
        outputs = keras.layers.Dense(spec.n_outputs, activation=spec.output_activation, name="output", **head)(x)
        return keras.Model(inputs, outputs, name="skgru_gru")
    # GRU head + linear model of the last w steps, summed before the output activation
    logits = keras.layers.Dense(spec.n_outputs, name="gru_head", **head)(x)
    last = _LastSteps(spec.linear_skip, spec.n_step_features, name="last_steps")(steps, valid=step_mask)
    linear = keras.layers.Dense(
        spec.n_outputs,
        kernel_regularizer=reg,
        kernel_initializer=keras.initializers.Zeros(),  # starts as the GRU alone
        trainable=SKIP_TRAINABLE,
        name="linear_skip",
    )(last)
    summed = keras.layers.Add(name="output" if spec.output_activation == "linear" else "logits")([logits, linear])
    if spec.output_activation == "linear":
        return keras.Model(inputs, summed, name="skgru_gru")
    outputs = keras.layers.Activation(spec.output_activation, name="output")(summed)
    return keras.Model(inputs, outputs, name="skgru_gru")


# Whether training may move the linear skip (a regressor's starts at RidgeCV). False keeps
# it at that start, so only the GRU learns (issue 12 round 9: a benchmark knob, mean CV
# R^2 0.419 vs 0.429 trainable over six seeds, not adopted). Read when a network is
# built: a process must not change it between fits that share pooled engines.
SKIP_TRAINABLE = True


def _fcn_branch(spec: NetworkSpec, x, valid, reg, s):
    """GRU-FCN's convolutional branch: per block Conv1D + BatchNorm + ReLU, then masked
    global average pooling over the valid steps (padding zeroed before every conv)."""
    for k, filters in enumerate(spec.fcn_filters):
        if valid is not None:
            x = _ZeroPadding(name=f"fcn_zero_padding_{k}")(x, valid)
        x = keras.layers.Conv1D(
            filters,
            fcn_kernel(k),
            padding="same",
            kernel_regularizer=reg,
            kernel_initializer=keras.initializers.HeUniform(seed=s()),
            name=f"fcn_conv_{k}",
        )(x)
        x = keras.layers.BatchNormalization(name=f"fcn_batch_norm_{k}")(x, mask=valid)
        x = keras.layers.Activation("relu", name=f"fcn_relu_{k}")(x)
    return _MaskedPooling("mean", name="fcn_pooling")(x, valid=valid)
