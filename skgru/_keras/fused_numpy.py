"""The fold-fused step without a compiler: NumPy forward and backward passes.

:class:`skgru._keras.fused.FusedTrainer` traces its epoch into a TensorFlow graph
and compiles the step with XLA.  That is the fastest step per epoch once
compiled, but the first search of a process pays for it: on the 2-core VM the
trace and the XLA compilation of the digits network (Conv1D(64) stem + GRU) cost
4-6 s quiet, 14-16 s under load, about what GridSearchCV spends on a whole
candidate.  This module computes the same step directly with NumPy: the
network's forward pass, its backward pass written out by hand (the GRU's
backpropagation through time with the recurrence unrolled in Python), the loss,
the penalties, per-fold ``clipnorm`` and Adam / SGD.  Nothing is traced or
compiled, so its first epoch costs what every other epoch does.

Every array carries the model axis first, so each product of the k models is
one ``np.matmul`` over a ``(k, rows, n) @ (k, n, m)`` stack (one BLAS GEMM per
fold inside NumPy's loop) and each elementwise operation is one NumPy call for
all k models: the number of Python-level operations per step does not grow with
k.  Weights keep their true widths (no padding to a compile bucket).

It implements exactly what :class:`~skgru._keras.fused.FusedTrainer` implements
(same interface, same float32 arithmetic up to summation order), for the
activations in :data:`ACTIVATIONS` (their derivatives are written out);
:func:`numpy_problem` says why a network is left to the XLA trainer.
"""

from __future__ import annotations

import copy
import threading

import numpy as np

from skgru._keras import fold_threads
from skgru._keras.fused import OptimizerRule, pools_patches, stem_fold, uses_stem, variable_layout
from skgru._keras.network import last_steps, relative_to_last, relative_to_last_backward


def _sigmoid(x):
    # exp(-x) overflows to inf for x < -88 (float32): 1 / inf = 0, the right limit (the
    # callers silence the overflow warning once per epoch, not per call: ~1 us each)
    return 1.0 / (1.0 + np.exp(-x))


def _relu(x):
    return np.maximum(x, 0.0)


def _sigmoid_(x):
    """Sigmoid in place, as 0.5 * tanh(0.5 * x) + 0.5 (4 NumPy calls, no allocation).

    The same function as 1 / (1 + exp(-x)) up to float32 rounding, and cheaper: NumPy's
    float32 tanh is one vectorised pass where the quotient form needs exp and a
    division (the GRU's two gates on digits, (10, 32, 64) floats: 6 us vs 11 us).
    """
    np.multiply(x, 0.5, out=x)
    np.tanh(x, out=x)
    np.multiply(x, 0.5, out=x)
    return np.add(x, 0.5, out=x)


# name -> (function, derivative written in terms of the function's OUTPUT y, the
# function applied in place to its argument)
ACTIVATIONS = {
    "tanh": (np.tanh, lambda y: 1.0 - y * y, lambda x: np.tanh(x, out=x)),
    "sigmoid": (_sigmoid, lambda y: y * (1.0 - y), _sigmoid_),
    "relu": (_relu, lambda y: (y > 0).astype(y.dtype), lambda x: np.maximum(x, 0.0, out=x)),
    "linear": (lambda x: x, lambda y: np.ones_like(y), lambda x: x),
}


# The first convolution's input windows (kernel_size times the input) are built once
# per fit when they take at most this much memory (digits, 5 folds: 9 MB), else per batch.
PRECOMPUTE_BYTES = 256 * 2**20

_controller = None
_controller_lock = threading.Lock()


def one_blas_thread():
    """A context in which NumPy's BLAS uses one thread (restored on exit).

    The step's GEMMs are small ((5 x 256 x 64) @ (5 x 64 x 96) on digits): OpenBLAS'
    threads cost more to wake and join than they save.  Measured on the 2-core VM
    under load 3 (two other processes): (5, 256, 40) @ (5, 40, 64) takes 135 us on
    one thread and 40 ms (!) on OpenBLAS' default two, whose spinning threads fight
    the other processes for the cores; an epoch of the digits network 0.3 s vs 6.7 s.
    """
    global _controller
    with _controller_lock:
        if _controller is None:
            from threadpoolctl import ThreadpoolController  # a scikit-learn dependency

            # scanning the loaded libraries costs ~1 ms: once, not per epoch
            _controller = ThreadpoolController()
    return _controller.limit(limits=1, user_api="blas")


def activation_problem(activation, recurrent_activation) -> str | None:
    """Why the NumPy step does not implement these GRU activations (None: it does)."""
    for name in (activation, recurrent_activation):
        if not isinstance(name, str) or name not in ACTIVATIONS:
            return f"activation {name!r} (the NumPy step writes out {', '.join(ACTIVATIONS)})"
    return None


def numpy_problem(spec) -> str | None:
    """Why the NumPy step does not implement ``spec`` (None: it does)."""
    return activation_problem(spec.activation, spec.recurrent_activation)


def _stack_directions(arrays):
    """One array per GRU direction, each (k, ...), as one (n_dir * k, ...) array (a single
    direction is passed through, not copied)."""
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays, axis=0)


def _mm(a, w):
    """Per-model product: a (k, ..., n) @ w (k, n, m) -> (k, ..., m)."""
    k = a.shape[0]
    out = np.matmul(a.reshape(k, -1, a.shape[-1]), w)
    return out.reshape(*a.shape[:-1], w.shape[-1])


def _mm_t(a, d):
    """Weight gradient: sum over rows of a^T d, a (k, ..., n), d (k, ..., m) -> (k, n, m)."""
    k = a.shape[0]
    return np.matmul(a.reshape(k, -1, a.shape[-1]).transpose(0, 2, 1), d.reshape(k, -1, d.shape[-1]))


def _sum_rows(a):
    """Bias gradient: sum over every axis but the first and last, a (k, ..., m) -> (k, m).

    As one product with a row of ones per model (a BLAS call): on a (10, 256, 96) gradient
    9 us, where ``sum(axis=...)`` over the middle axes took 36-40 us (measured, one thread).
    """
    k = a.shape[0]
    rows = a.reshape(k, -1, a.shape[-1])
    return np.matmul(np.ones((k, 1, rows.shape[1]), a.dtype), rows)[:, 0]


def _patched(x, p, fill):
    """(k, B, T, ...) -> (k, B, ceil(T / p), p, ...): the time axis padded with ``fill``."""
    pad = (-x.shape[2]) % p
    if pad:
        widths = [(0, 0), (0, 0), (0, pad)] + [(0, 0)] * (x.ndim - 3)
        x = np.pad(x, widths, constant_values=fill)
    return x.reshape(*x.shape[:2], x.shape[2] // p, p, *x.shape[3:])


def _fold_patches(x, mask, p):
    """network._SequenceStem's folding: (k, B, T, F) -> (k, B, ceil(T / p), p * F);
    a patch is valid when any of its steps is."""
    folded = _patched(x, p, 0.0)
    x = folded.reshape(*folded.shape[:3], -1)
    return x, (None if mask is None else _patched(mask, p, False).any(axis=-1))


def _max_indicator(xs, pooled, valid):
    """Where each max was taken (ties share it equally, as TensorFlow's reduce_max
    gradient does): the weights d pooled / d xs along axis -2 of ``xs``."""
    hit = (xs == pooled[..., None, :]) & valid
    return hit / np.maximum(hit.sum(axis=-2, keepdims=True), 1).astype(xs.dtype)


def _pool_patches(x, mask, p, mode):
    """network._PatchPooling over (k, B, T, C): each patch's max or mean over its valid
    steps (the end padded with invalid steps).  Returns (pooled, patch mask or None,
    the weights the backward pass spreads d pooled with)."""
    t = x.shape[2]
    valid = np.ones(x.shape[:3], bool) if mask is None else mask
    v = _patched(valid, p, False)[..., None]  # (k, B, S, p, 1)
    xs = _patched(x, p, 0.0)  # (k, B, S, p, C)
    patch_valid = v.any(axis=-2)  # (k, B, S, 1)
    if mode == "max":
        pooled = np.where(v, xs, np.float32(-1e9)).max(axis=-2)
        pooled = np.where(patch_valid, pooled, np.float32(0.0))
        weights = _max_indicator(xs, pooled, v & patch_valid[..., None, :])
    else:
        weights = v / np.maximum(v.sum(axis=-2, keepdims=True), 1).astype(np.float32)
        pooled = (xs * weights).sum(axis=-2)
    return pooled, (None if mask is None else patch_valid[..., 0]), (weights, t)


def _unpool_patches(d, record):
    """Adjoint of :func:`_pool_patches`: d pooled (k, B, S, C) -> d x (k, B, T, C)."""
    weights, t = record
    dx = d[..., None, :] * weights  # (k, B, S, p, C)
    return dx.reshape(*dx.shape[:2], -1, dx.shape[-1])[:, :, :t]


def _pool_steps(h, mask, mode):
    """network._MaskedPooling ("mean" / "max") over the valid steps of (k, B, S, U);
    returns (pooled, the weights d pooled / d h along the step axis)."""
    m = np.ones(h.shape[:3] + (1,), bool) if mask is None else mask[..., None]
    if mode == "mean":
        weights = m / np.maximum(m.sum(axis=2, keepdims=True), 1).astype(np.float32)
        return (h * weights).sum(axis=2), weights
    pooled = np.where(m, h, np.float32(-1e9)).max(axis=2)
    return pooled, _max_indicator(h, pooled, m)


def _attend(h, mask, kernel, bias):
    """network._MaskedPooling("attention") over (k, B, S, U): one score per step
    (``h @ kernel + bias``, kernel (k, U, 1)), -1e9 on padded steps, softmax over the
    steps, the weighted sum; returns (pooled, the softmax weights (k, B, S))."""
    scores = (_mm(h, kernel) + bias[:, None, None, :])[..., 0]
    if mask is not None:
        scores = np.where(mask, scores, np.float32(-1e9))
    e = np.exp(scores - scores.max(axis=2, keepdims=True))
    weights = e / e.sum(axis=2, keepdims=True)
    return (weights[..., None] * h).sum(axis=2), weights


def _attend_backward(h, weights, mask, kernel, d):
    """Gradients of :func:`_attend` for d pooled (k, B, U): (d kernel, d bias, d h).
    A padded step's score is the constant -1e9 (Keras' ``where`` sends no gradient to
    the Dense there); its weight is 0, unless every step of the row is padding, when
    the softmax is uniform and its outputs still get their share."""
    dweights = (d[:, :, None, :] * h).sum(axis=-1)  # (k, B, S)
    dscores = weights * (dweights - (weights * dweights).sum(axis=2, keepdims=True))
    if mask is not None:
        dscores = np.where(mask, dscores, np.float32(0.0))
    g_kernel = _mm_t(h, dscores[..., None])  # (k, U, 1)
    g_bias = dscores.sum(axis=(1, 2))[:, None]  # (k, 1)
    dh = weights[..., None] * d[:, :, None, :] + dscores[..., None] * kernel.transpose(0, 2, 1)[:, None]
    return g_kernel, g_bias, dh


class NumpyFusedTrainer:
    """k models of one ``spec`` as stacked NumPy arrays with per-fold optimizer state.

    The interface of :class:`skgru._keras.fused.FusedTrainer` (``reset``,
    ``train_epoch``, ``evaluate``, per-fold weights, learning rate and optimizer
    state), with the same arithmetic.
    """

    backend = "numpy"

    def __init__(self, spec, k: int, rule: OptimizerRule, task: str):
        problem = numpy_problem(spec)
        if problem is not None:
            raise ValueError(problem)
        self.spec = spec
        self.k = k
        self.task = task
        self.layout = variable_layout(spec)
        self.kind = rule.kind
        self.clip = rule.clipnorm is not None
        self.nesterov = rule.nesterov
        self.has_momentum = rule.kind == "adam" or rule.momentum != 0
        # patches pooled after the convolutions, inside the step (with its backward pass);
        # without convolutions they are pooled from the input once, in _prepare
        self.pools_after_conv = pools_patches(spec) and bool(spec.conv_filters)
        # gru_input "relative"/"both" (network._RelativeToLast) after the convolutions, inside
        # the step; without convolutions it reads the input, so it runs once, in _prepare
        self.relative_after_conv = spec.gru_input != "values" and bool(spec.conv_filters)
        # each GRU layer's recurrences: forward, and with bidirectional the reversed one
        self.directions = (False, True) if spec.bidirectional else (False,)
        self.act, self.dact, self.act_ = ACTIVATIONS[spec.activation]
        self.ract, self.dract, self.ract_ = ACTIVATIONS[spec.recurrent_activation]
        self.params = self.m = self.v = None
        self.stats = None
        self._inputs = {}  # slot -> (source array, its prepared inputs): see _prepare

    # ------------------------------------------------------------ state
    def reset(self, initial, rule: OptimizerRule, statistics=None) -> None:
        """Load the k initial weight sets and zero the optimizer state (a fresh fit)."""
        f32 = np.float32
        if self.spec.normalize:
            if statistics is None or len(statistics) != self.k:
                raise ValueError("a standardising network needs one (mean, std) per fold")
            self.stats = (np.stack([np.asarray(m, f32) for m, _ in statistics]),
                          np.stack([np.asarray(s, f32) for _, s in statistics]))
        # Every variable is a view into one (k, n_weights) buffer, as are the optimizer
        # slots and the gradients: the update rule is ~15 NumPy calls over the buffer
        # instead of ~15 per variable (digits: 7 variables; 37 -> 8 ms per epoch).
        shapes = [np.shape(w) for w in initial[0]]
        sizes = [int(np.prod(sh)) for sh in shapes]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        self.shapes = shapes
        self.flat = np.empty((self.k, int(self.offsets[-1])), f32)
        for j, weights in enumerate(initial):
            for i, w in enumerate(weights):
                self.flat[j, self.offsets[i] : self.offsets[i + 1]] = np.asarray(w, dtype=f32).ravel()
        self.params = self._views(self.flat)
        self.m = np.zeros_like(self.flat) if self.has_momentum else None
        self.v = np.zeros_like(self.flat) if self.kind == "adam" else None
        self.iterations = np.zeros(self.k, f32)
        self.learning_rate = np.full(self.k, rule.learning_rate, f32)
        self.clipnorm = f32(0.0 if rule.clipnorm is None else rule.clipnorm)
        self.beta_1, self.beta_2 = f32(rule.beta_1), f32(rule.beta_2)
        self.epsilon, self.momentum = f32(rule.epsilon), f32(rule.momentum)
        self._inputs = {}

    def _views(self, flat):
        """The per-variable (k, *shape) views of a (k, n_weights) buffer."""
        return [flat[:, a:b].reshape(self.k, *shape)
                for a, b, shape in zip(self.offsets[:-1], self.offsets[1:], self.shapes)]

    def fold_weights(self, j: int) -> list[np.ndarray]:
        return [p[j].copy() for p in self.params]

    def set_fold_weights(self, j: int, weights) -> None:
        for p, w in zip(self.params, weights):
            p[j] = np.asarray(w, dtype=np.float32)

    def fold_learning_rate(self, j: int) -> float:
        return float(self.learning_rate[j])

    def set_fold_learning_rate(self, j: int, value) -> None:
        self.learning_rate[j] = np.float32(value)

    def fold_optimizer_state(self, j: int) -> dict:
        return {
            "learning_rate": self.fold_learning_rate(j),
            "iterations": int(self.iterations[j]),
            "m": None if self.m is None else [s[j].copy() for s in self._views(self.m)],
            "v": None if self.v is None else [s[j].copy() for s in self._views(self.v)],
        }

    def set_fold_optimizer_state(self, j: int, state) -> None:
        """Fold j's optimizer state as :meth:`fold_optimizer_state` gives it (a
        continued fit resumes its Adam step count and moments); ``None`` slots and
        a ``None`` state leave the zeros :meth:`reset` put there."""
        if state is None:
            return
        self.iterations[j] = np.float32(state["iterations"])
        for key, slots in (("m", self.m), ("v", self.v)):
            values = state.get(key)
            if slots is None or values is None:
                continue
            for view, value in zip(self._views(slots), values):
                view[j] = np.asarray(value, dtype=np.float32)

    # ------------------------------------------------------------ inputs
    def _prepare(self, X, slot):
        """(k, n, T, F) raw rows -> (standardised, masked and patched rows, step mask
        or None, the first convolution's windows or None, the linear skip's inputs
        (k, n, w * F) or None).

        The stem's work does not depend on the weights, so it is done once per
        stacked array (``slot``: "train" or "val"; the epochs of one fit pass the
        same arrays) instead of once per batch.
        """
        cached = self._inputs.get(slot)
        if cached is not None and cached[0] is X:
            return cached[1]
        spec = self.spec
        x = np.asarray(X, dtype=np.float32)
        mask = None
        if spec.mask_value is not None:
            mask = np.any(x != np.float32(spec.mask_value), axis=-1)  # (k, n, T), as keras Masking
        skip = None
        if uses_stem(spec) or spec.linear_skip:  # network._SequenceStem: standardise, zero the padding
            if spec.normalize:
                x = (x - self.stats[0][:, None, None, :]) / self.stats[1][:, None, None, :]
            if mask is not None:
                x = np.where(mask[..., None], x, np.float32(0.0))
            if spec.linear_skip:  # the unpatched steps ("steps" stem), before any patching
                skip = last_steps(x, mask, spec.linear_skip)
        if uses_stem(spec):  # then fold patches
            if stem_fold(spec) > 1:
                x, mask = _fold_patches(x, mask, spec.patch_size)
        elif mask is not None:
            x = x * mask[..., None].astype(np.float32)
        if pools_patches(spec) and not self.pools_after_conv:
            # pooled straight from the input: no weight before it, so once here
            x, mask, _ = _pool_patches(x, mask, spec.patch_size, spec.patch_mode)
        if spec.gru_input != "values" and not self.relative_after_conv:
            # round 17: no weight before it either, so once here
            x, _ = relative_to_last(x, mask, spec.gru_input)
        cols = None
        if spec.conv_filters and x.size * spec.conv_kernel_size * 4 <= PRECOMPUTE_BYTES:
            cols = self._im2col(x)  # the first convolution's windows, once (else per batch)
        prepared = (x, mask, cols, skip)
        self._inputs[slot] = (X, prepared)
        return prepared

    def _im2col(self, x):
        """(k, B, T, F) -> (k, B, T, K*F): each step's window of Conv1D(padding="same")."""
        size = self.spec.conv_kernel_size
        front = (size - 1) // 2
        t = x.shape[2]
        padded = np.pad(x, [(0, 0), (0, 0), (front, size - 1 - front), (0, 0)])
        return np.concatenate([padded[:, :, i : i + t] for i in range(size)], axis=-1)

    def _col2im(self, dcols, n_features):
        """Adjoint of :meth:`_im2col`: (k, B, T, K*F) -> (k, B, T, F)."""
        size = self.spec.conv_kernel_size
        front = (size - 1) // 2
        t = dcols.shape[2]
        padded = np.zeros((*dcols.shape[:2], t + size - 1, n_features), dtype=dcols.dtype)
        for i in range(size):
            padded[:, :, i : i + t] += dcols[..., i * n_features : (i + 1) * n_features]
        return padded[:, :, front : front + t]

    # ------------------------------------------------------------ forward / backward
    def _forward(self, P, x, mask, cols0, skip, keep, drop=None):
        """Pre-activation outputs (k, B, n_out); ``keep``: also return what backward needs.

        ``skip``: the linear skip's inputs (k, B, w * F), whose Dense (the last two
        variables) is added to the GRU head's output; None without a linear skip.
        ``drop``: a training step's dropout masks (:mod:`skgru._keras.fused_dropout`):
        one (k, B, F) per GRU layer, multiplying its input at every step, then one
        (k, B, U) for the GRU's summary (the head's Dropout); None: no dropout.

        The tape holds one entry per layer with weights, plus ``("patches", ...)``
        after the convolutions when they are pooled over patches and ``("steps", ...)``
        (or ``("attention", ...)``) after the GRU when its outputs are pooled.
        """
        spec = self.spec
        tape = []
        p = 0
        h = x
        zero_padding = pools_patches(spec) and mask is not None
        for c, filters in enumerate(spec.conv_filters):
            if c > 0 and zero_padding:  # network._ZeroPadding (the stem zeroed the input)
                h = np.where(mask[..., None], h, np.float32(0.0))
            cols = cols0 if c == 0 and cols0 is not None else self._im2col(h)
            kernel = P[p].reshape(self.k, -1, filters)
            h = _relu(_mm(cols, kernel) + P[p + 1][:, None, None, :])
            tape.append((cols, h))
            p += 2
        if self.pools_after_conv:
            step_mask = mask
            h, mask, record = _pool_patches(h, mask, spec.patch_size, spec.patch_mode)
            tape.append(("patches", (record, step_mask)))
        if self.relative_after_conv:  # network._RelativeToLast
            h, is_last = relative_to_last(h, mask, spec.gru_input)
            tape.append(("relative", (mask, is_last)))
        n_layers = len(spec.units)
        pooled = spec.pooling != "last"
        directions = self.directions
        n_dir = len(directions)
        for i, units in enumerate(spec.units):
            seq = pooled or i < n_layers - 1
            inputs, masks = [], []
            for r, backwards in enumerate(directions):
                # Keras: inputs * dp_mask, one mask per direction's cell
                h_in = h if drop is None else h * drop[i * n_dir + r][:, :, None, :]
                m = mask
                if backwards:  # go_backwards: the reversed sequence (padding first: the state stays 0)
                    h_in, m = h_in[:, :, ::-1], None if mask is None else mask[:, :, ::-1]
                inputs.append(h_in)
                masks.append(m)
            # the two directions are independent recurrences of one shape: stacked on the
            # model axis (2k models), one Python loop over the steps runs both (each step's
            # NumPy calls cost ~3-5 us whatever their size: a units x learning-rate grid on
            # digits, 5 folds, took 5.4 s instead of 5.8 s, bit-identical)
            x_dirs, m_dirs = _stack_directions(inputs), None if mask is None else _stack_directions(masks)
            weights = [_stack_directions(P[p + j :: 3][:n_dir]) for j in range(3)]
            out, record = self._gru_forward(x_dirs, *weights, m_dirs, units, seq, keep)
            tape.append((x_dirs, (record, weights)))
            p += 3 * n_dir
            outputs = np.split(out, n_dir, axis=0)
            if n_dir == 2 and seq:  # Bidirectional flips the backward outputs back in time
                outputs[1] = outputs[1][:, :, ::-1]
            # a masked step's output is the carried state here and zero in Keras' bidirectional
            # layer (zero_output_for_mask): nothing reads it (pooling and the next GRU mask it)
            h = outputs[0] if n_dir == 1 else np.concatenate(outputs, axis=-1)
        if spec.pooling == "attention":  # network._MaskedPooling's Dense(1) score per step
            h_steps = h
            h, weights = _attend(h_steps, mask, P[p], P[p + 1])
            tape.append(("attention", (h_steps, weights, mask)))
            p += 2
        elif pooled:
            h, weights = _pool_steps(h, mask, spec.pooling)
            tape.append(("steps", weights))
        if drop is not None:  # network.build_network's head_dropout
            h = h * drop[-1]
        for _ in spec.dense_units:
            h_in = h
            h = _relu(_mm(h_in, P[p]) + P[p + 1][:, None, :])
            tape.append((h_in, h))
            p += 2
        out = _mm(h, P[p]) + P[p + 1][:, None, :]
        tape.append((h, None))
        if skip is not None:  # network.build_network: Add()([gru_head, linear_skip])
            out += _mm(skip, P[p + 2]) + P[p + 3][:, None, :]
        return out, tape

    def _gru_forward(self, x, kernel, rkernel, bias, mask, units, return_sequences, keep):
        """Keras' GRU (reset_after=True, gates z, r, h); a masked step keeps the state.

        The per-step arrays live in time-major buffers ``(T, k, B, .)``, written in
        place: the Python loop over steps is what costs (each NumPy call ~3-5 us on
        arrays of a few thousand floats), so every step is 11 calls (+1 with a mask)
        and what does not depend on the recurrence is done for all steps at once.
        """
        k, b, t_steps = x.shape[:3]
        u = units
        f32 = np.float32
        xp = _mm(x, kernel) + bias[:, None, None, 0, :]  # (k, B, T, 3U)
        # both biases of the z and r gates are added outside the recurrence (the
        # candidate's recurrent bias is multiplied by r, so it stays inside)
        xp[..., : 2 * u] += bias[:, None, None, 1, : 2 * u]
        xp = np.ascontiguousarray(xp.transpose(2, 0, 1, 3))  # (T, k, B, 3U)
        rbias_h = bias[:, None, 1, 2 * u :]
        states = np.empty((t_steps + 1, k, b, u), f32)  # states[t]: before step t
        states[0] = 0.0
        zr = np.empty((t_steps, k, b, 2 * u), f32)
        hh = np.empty((t_steps, k, b, u), f32)
        rh = np.empty((t_steps, k, b, u), f32)
        keep_state = None
        if mask is not None:
            keep_state = ~np.ascontiguousarray(mask.transpose(2, 0, 1))[..., None]  # (T, k, B, 1)
        for t in range(t_steps):
            h = states[t]
            inner = np.matmul(h, rkernel)  # (k, B, 3U)
            self.ract_(np.add(xp[t, ..., : 2 * u], inner[..., : 2 * u], out=zr[t]))
            np.add(inner[..., 2 * u :], rbias_h, out=rh[t])
            cand = np.multiply(zr[t, ..., u:], rh[t], out=hh[t])
            cand += xp[t, ..., 2 * u :]
            self.act_(cand)
            new = np.subtract(h, cand, out=states[t + 1])  # z*h + (1-z)*hh = hh + z*(h - hh)
            new *= zr[t, ..., :u]
            new += cand
            if keep_state is not None:
                np.copyto(new, h, where=keep_state[t])
        out = np.ascontiguousarray(states[1:].transpose(1, 2, 0, 3)) if return_sequences else states[-1]
        record = (states, zr, hh, rh, keep_state) if keep else None
        return out, record

    def _gru_backward(self, x, record, kernel, rkernel, dout, units, return_sequences, need_dx):
        """Gradients (kernel, recurrent kernel, bias) and, if ``need_dx``, d input.

        Everything that does not depend on the incoming gradient (the gates'
        derivatives) is computed for all steps at once; a step is then 7 NumPy
        calls (+2 with a mask).
        """
        u = units
        states, zr, hh, rh, keep_state = record
        t_steps, k, b = zr.shape[:3]
        f32 = np.float32
        z, r = zr[..., :u], zr[..., u:]
        dzr = self.dract(zr)
        a_z = (states[:-1] - hh) * dzr[..., :u]  # d new / d z-pre, per unit of d new
        c_h = (1.0 - z) * self.dact(hh)  # d new / d candidate-pre
        d_r = rh * dzr[..., u:]  # d candidate-pre / d r-pre, per unit of it
        dinner = np.empty((t_steps, k, b, 3 * u), f32)  # d (h @ recurrent kernel + bias)
        dcand = np.empty((t_steps, k, b, u), f32)
        dout_t = np.ascontiguousarray(dout.transpose(2, 0, 1, 3)) if return_sequences else None
        rkernel_t = rkernel.transpose(0, 2, 1)
        # d loss / d state after the last step (the sequence's last output, or the layer's)
        dh = (dout_t[-1] if return_sequences else dout).astype(f32, copy=True)
        for t in range(t_steps - 1, -1, -1):
            if return_sequences and t < t_steps - 1:
                dh += dout_t[t]
            dpass = None
            if keep_state is not None:
                dpass = np.where(keep_state[t], dh, f32(0.0))
                dh -= dpass  # the cell's share: zero where the step was masked
            np.multiply(dh, a_z[t], out=dinner[t, ..., :u])
            dc = np.multiply(dh, c_h[t], out=dcand[t])
            np.multiply(dc, d_r[t], out=dinner[t, ..., u : 2 * u])
            np.multiply(dc, r[t], out=dinner[t, ..., 2 * u :])
            dh *= z[t]
            dh += np.matmul(dinner[t], rkernel_t)
            if dpass is not None:
                dh += dpass
        dxp = np.concatenate([dinner[..., : 2 * u], dcand], axis=-1)  # (T, k, B, 3U)
        dxp_b = np.ascontiguousarray(dxp.transpose(1, 2, 0, 3))  # (k, B, T, 3U), x's row order
        g_kernel = _mm_t(x, dxp_b)
        dinner_b = np.ascontiguousarray(dinner.transpose(1, 0, 2, 3))  # (k, T, B, 3U)
        g_rkernel = _mm_t(np.ascontiguousarray(states[:-1].transpose(1, 0, 2, 3)), dinner_b)
        g_bias = np.stack([_sum_rows(dxp_b), _sum_rows(dinner_b)], axis=1)
        dx = _mm(dxp_b, kernel.transpose(0, 2, 1)) if need_dx else None
        return (g_kernel, g_rkernel, g_bias), dx

    def _backward(self, P, tape, dlogits, skip=None, drop=None):
        """Gradients of every variable (model order) for the loss whose d/d logits is
        given (``drop``: the forward pass's dropout masks)."""
        spec = self.spec
        grads = [None] * len(P)
        p = len(P) - 2
        if skip is not None:  # the linear skip's Dense: its input is data, nothing flows back
            grads[p], grads[p + 1] = _mm_t(skip, dlogits), dlogits.sum(axis=1)
            p -= 2
        h, _ = tape[-1]
        grads[p], grads[p + 1] = _mm_t(h, dlogits), dlogits.sum(axis=1)
        d = _mm(dlogits, P[p].transpose(0, 2, 1))
        pos = len(tape) - 2
        for _ in spec.dense_units:
            p -= 2
            h_in, h_out = tape[pos]
            d = d * (h_out > 0)
            grads[p], grads[p + 1] = _mm_t(h_in, d), d.sum(axis=1)
            d = _mm(d, P[p].transpose(0, 2, 1))
            pos -= 1
        if drop is not None:
            d = d * drop[-1]
        n_layers = len(spec.units)
        pooled = spec.pooling != "last"
        if spec.pooling == "attention":  # d pooled -> d the scores' Dense and every GRU output
            p -= 2
            h_steps, weights, step_mask = tape[pos][1]
            grads[p], grads[p + 1], d = _attend_backward(h_steps, weights, step_mask, P[p], d)
            pos -= 1
        elif pooled:  # d pooled -> d every GRU output
            d = d[:, :, None, :] * tape[pos][1]
            pos -= 1
        n_dir = len(self.directions)
        for i in range(n_layers - 1, -1, -1):
            seq = pooled or i < n_layers - 1
            need_dx = i > 0 or bool(spec.conv_filters)
            p -= 3 * n_dir
            parts = np.split(d, n_dir, axis=-1)  # the directions' outputs were concatenated
            if n_dir == 2 and seq:
                parts[1] = parts[1][:, :, ::-1]
            # both directions, and their kernels, stacked on the model axis by _forward
            x_dirs, (record, (kernel, rkernel, _)) = tape[pos]
            g, dx = self._gru_backward(x_dirs, record, kernel, rkernel, _stack_directions(parts), spec.units[i], seq,
                                       need_dx)
            for r in range(n_dir):
                for j in range(3):
                    grads[p + 3 * r + j] = g[j][r * self.k : (r + 1) * self.k]
            pos -= 1
            if not need_dx:
                continue
            dxs = np.split(dx, n_dir, axis=0)
            if n_dir == 2:
                dxs[1] = dxs[1][:, :, ::-1]
            if drop is not None:  # d the layer's input before its mask
                dxs = [dx_r * drop[i * n_dir + r][:, :, None, :] for r, dx_r in enumerate(dxs)]
            d = dxs[0] if n_dir == 1 else dxs[1] + dxs[0]
        if self.relative_after_conv:
            valid, is_last = tape[pos][1]
            d = relative_to_last_backward(d, valid, is_last, spec.gru_input)
            pos -= 1
        step_mask = None
        if self.pools_after_conv:
            record, step_mask = tape[pos][1]
            d = _unpool_patches(d, record)
            pos -= 1
        for c in range(len(spec.conv_filters) - 1, -1, -1):
            p -= 2
            cols, h_out = tape[pos]
            d = d * (h_out > 0)
            kernel = P[p]
            grads[p] = _mm_t(cols, d).reshape(kernel.shape)
            grads[p + 1] = _sum_rows(d)
            if c > 0:
                dcols = _mm(d, kernel.reshape(self.k, -1, kernel.shape[-1]).transpose(0, 2, 1))
                d = self._col2im(dcols, kernel.shape[2])
                if step_mask is not None:  # the padding zeroed before this convolution
                    d = d * step_mask[..., None]
            pos -= 1
        return grads

    def _row_losses(self, logits, y):
        """Per-row losses and d loss / d logits (row-wise)."""
        if self.task == "classification":
            shifted = logits - logits.max(axis=-1, keepdims=True)
            exp = np.exp(shifted)
            total = exp.sum(axis=-1, keepdims=True)
            logp = shifted - np.log(total)
            yi = y.astype(np.intp)[..., None]
            rows = -np.take_along_axis(logp, yi, axis=-1)[..., 0]
            grad = exp / total
            np.put_along_axis(grad, yi, np.take_along_axis(grad, yi, axis=-1) - 1.0, axis=-1)
            return rows, grad
        diff = logits - y
        n_out = logits.shape[-1]
        return np.mean(np.square(diff), axis=-1), diff * np.float32(2.0 / n_out)

    def _penalty(self, P):
        l2, l1 = self.spec.l2, getattr(self.spec, "l1", 0.0)
        total = np.zeros(self.k, np.float32)
        for var, (_, _, reg) in zip(P, self.layout):
            if reg:
                axes = tuple(range(1, var.ndim))
                if l1 > 0:
                    total = total + np.float32(l1) * np.abs(var).sum(axis=axes)
                if l2 > 0:
                    total = total + np.float32(l2) * np.square(var).sum(axis=axes)
        return total

    def _penalty_grads(self, grads, P, scale):
        l2, l1 = self.spec.l2, getattr(self.spec, "l1", 0.0)
        if not (l1 > 0 or l2 > 0):
            return
        for i, (var, (_, _, reg)) in enumerate(zip(P, self.layout)):
            if reg:
                s = scale.reshape((-1,) + (1,) * (var.ndim - 1))
                if l2 > 0:
                    grads[i] = grads[i] + s * np.float32(2.0 * l2) * var
                if l1 > 0:
                    grads[i] = grads[i] + s * np.float32(l1) * np.sign(var)

    def _apply(self, grads, active):
        """One update of the active folds (inactive ones: nothing moves).

        ``grads``: the (k, n_weights) gradient buffer (see :meth:`reset`).
        """
        f32 = np.float32
        g = grads
        step = self.iterations + f32(1.0)
        if self.clip:  # Keras' _clip_by_norm, per variable and per fold
            starts = self.offsets[:-1]
            norms = np.sqrt(np.add.reduceat(np.square(g), starts, axis=1))  # (k, n_variables)
            factor = self.clipnorm / np.maximum(norms, self.clipnorm)
            g = g * np.repeat(factor, np.diff(self.offsets), axis=1)
        lr = self.learning_rate[:, None]
        everyone = bool(active.all())
        on = None if everyone else active[:, None] > 0
        if self.kind == "adam":
            t = step[:, None]
            b1, b2 = self.beta_1, self.beta_2
            alpha = lr * np.sqrt(f32(1.0) - np.power(b2, t)) / (f32(1.0) - np.power(b1, t))
            if everyone:  # the common case, in place: the same operations in the same order
                self._adam_in_place(g, alpha)
                self.iterations += active
                return
            m_new = self.m + (g - self.m) * (f32(1.0) - b1)
            v_new = self.v + (np.square(g) - self.v) * (f32(1.0) - b2)
            new = self.flat - (m_new * alpha) / (np.sqrt(v_new) + self.epsilon)
            self.m[...] = np.where(on, m_new, self.m)  # some folds inactive: theirs stay
            self.v[...] = np.where(on, v_new, self.v)
        elif self.m is not None:
            mom = self.momentum
            m_new = -g * lr + self.m * mom
            new = self.flat + (-g * lr + m_new * mom if self.nesterov else m_new)
            self.m[...] = m_new if everyone else np.where(on, m_new, self.m)
        else:
            new = self.flat - g * lr
        self.flat[...] = new if everyone else np.where(on, new, self.flat)
        self.iterations += active  # in place: a fold group's array is a view of the whole

    def _adam_in_place(self, g, alpha):
        """Adam's update of every fold, written into the moments and weights.

        What :meth:`_apply` computes for all folds, without its temporaries: they are
        (k, n_weights) arrays (5 x 21k floats on digits) that each step allocated anew,
        six of them, 0.1 ms of a 2 ms step.  ``g`` is a scratch array (overwritten).
        """
        f32 = np.float32
        m, v = self.m, self.v
        sq = np.square(g)
        g -= m
        g *= f32(1.0) - self.beta_1
        m += g  # m + (g - m) * (1 - b1)
        sq -= v
        sq *= f32(1.0) - self.beta_2
        v += sq  # v + (g**2 - v) * (1 - b2)
        np.sqrt(v, out=sq)
        sq += self.epsilon
        np.multiply(m, alpha, out=g)
        g /= sq
        self.flat -= g  # flat - (m * alpha) / (sqrt(v) + eps)

    def _losses_and_grads(self, x, mask, cols, skip, yb, wb, count, active, want_grads, drop=None):
        logits, tape = self._forward(self.params, x, mask, cols, skip, keep=want_grads, drop=drop)
        rows, drows = self._row_losses(logits, yb)
        denom = np.maximum(count, np.float32(1.0))
        losses = (rows * wb).sum(axis=1) / denom + self._penalty(self.params)
        if not want_grads:
            return losses, None
        dlogits = drows * (wb * (active / denom)[:, None])[..., None]
        grads = self._backward(self.params, tape, dlogits.astype(np.float32, copy=False), skip, drop)
        self._penalty_grads(grads, self.params, active)
        flat = np.empty_like(self.flat)
        for view, grad in zip(self._views(flat), grads):
            view[...] = grad
        return losses, flat

    # ------------------------------------------------------------ epochs
    def _group(self, rows: slice) -> "NumpyFusedTrainer":
        """A trainer of folds ``rows`` whose state is a view of this one's.

        Its updates write into this trainer's weights, optimizer slots and
        iteration counts (every array is sliced along the fold axis, never copied).
        """
        part = copy.copy(self)
        part.k = rows.stop - rows.start
        part.flat = self.flat[rows]
        part.params = part._views(part.flat)
        part.m = None if self.m is None else self.m[rows]
        part.v = None if self.v is None else self.v[rows]
        part.iterations = self.iterations[rows]
        part.learning_rate = self.learning_rate[rows]
        part.stats = None if self.stats is None else (self.stats[0][rows], self.stats[1][rows])
        part._inputs = {}
        return part

    def _on_groups(self, fn, arrays, rows_per_call, steps):
        """``fn(trainer, *arrays)`` per fold group (threads), the (k,) results joined.

        ``arrays`` have the fold axis first; each group gets its rows of them.
        ``rows_per_call`` and ``steps`` size the recurrence's work (which decides
        whether threads pay: :func:`skgru._keras.fold_threads.n_groups`).
        """
        recurrence = int(rows_per_call) * int(steps) * max(self.spec.units) ** 2 * len(self.directions)
        groups = fold_threads.fold_groups(self.k, recurrence)

        def task(part, rows):
            def call():
                with np.errstate(over="ignore"):  # errstate is per thread
                    return fn(part, *[None if a is None else a[rows] for a in arrays])
            return call

        if len(groups) == 1:
            return task(self, slice(None))()
        # the callers hold one_blas_thread(): OpenBLAS' thread count is process-wide
        results = fold_threads.run([task(self._group(rows), rows) for rows in groups])
        return np.concatenate(results)

    def _gru_steps(self, x):
        """The GRU's steps for prepared rows ``x`` (patches pooled after the convolutions
        are not pooled yet there)."""
        t = x.shape[2]
        return -(-t // self.spec.patch_size) if self.pools_after_conv else t

    def train_epoch(self, X, Y, W, order, valid, fold_on, batch_size, dropout=()):
        """One epoch; returns the (k,) logged losses (NaN for folds without a batch).

        ``dropout``: the epoch's masks, one (k, steps * batch_size, width) array per
        dropout layer, aligned with ``order`` (:meth:`FoldMasks.train_masks`).

        The folds are split into groups trained on threads (see
        :mod:`skgru._keras.fold_threads`); every fold's arithmetic is the same.
        """
        with one_blas_thread():
            x_all, mask_all, cols_all, skip_all = self._prepare(X, "train")
            return self._on_groups(
                lambda part, *a: part._train_epoch(*a[:9], batch_size, a[9:]),
                (x_all, mask_all, cols_all, skip_all, Y, W, order, valid, np.asarray(fold_on, np.float32),
                 *dropout),
                batch_size, self._gru_steps(x_all))

    def _train_epoch(self, x_all, mask_all, cols_all, skip_all, Y, W, order, valid, fold_on, batch_size,
                     dropout=()):
        k = self.k
        n_steps = order.shape[1] // batch_size
        total = np.zeros(k, np.float32)
        rows = np.zeros(k, np.float32)
        lead = np.arange(k)[:, None]
        for s in range(n_steps):
            idx = order[:, s * batch_size : (s + 1) * batch_size]
            real = valid[:, s * batch_size : (s + 1) * batch_size].astype(np.float32)
            count = real.sum(axis=1)
            active = fold_on * (count > 0).astype(np.float32)
            if not active.any():
                continue
            xb = x_all[lead, idx]
            mb = None if mask_all is None else mask_all[lead, idx]
            cb = None if cols_all is None else cols_all[lead, idx]
            zb = None if skip_all is None else skip_all[lead, idx]
            yb = Y[lead, idx]
            wb = W[lead, idx] * real
            drop = [m[:, s * batch_size : (s + 1) * batch_size] for m in dropout] or None
            losses, grads = self._losses_and_grads(xb, mb, cb, zb, yb, wb, count, active, True, drop)
            self._apply(grads, active)
            total += active * count * losses
            rows += active * count
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(rows > 0, total / np.maximum(rows, 1), np.nan)

    def evaluate(self, X, Y, W, count):
        """(k,) validation losses: mean over the fold's real rows (W=0 on padding) + penalty."""
        with one_blas_thread():
            xs, mask, cols, skip = self._prepare(X, "val")
            return self._on_groups(
                lambda part, *a: part._losses_and_grads(*a, np.ones(part.k, np.float32), False)[0],
                (xs, mask, cols, skip, Y, np.asarray(W, np.float32), np.asarray(count, np.float32)),
                xs.shape[1], self._gru_steps(xs))
