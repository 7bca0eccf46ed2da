"""Train k networks of one architecture as ONE computation (fold-fused training).

Cross-validation trains the same configuration on k folds.  For the small GRUs
this package fits, one fold's step is a few tiny matmuls whose cost is mostly
dispatch; stacking the k models' weights along a leading *model axis* and
running batched matmuls (``einsum`` over that axis) does the k steps for about
the dispatch cost of one.

What this module reproduces exactly (up to float32 summation order), per fold:

* the network of :func:`skgru._keras.network.build_network` for a GRU stack:
  ``[Masking] -> GRU x n_layers -> [Dropout] -> [Dense(relu) x m] -> Dense(out)``,
  Keras' GRU cell with ``reset_after=True`` (kernel ``(F, 3U)``, recurrent kernel
  ``(U, 3U)``, bias ``(2, 3U)``, gate order z, r, h, ``h = z*h_prev + (1-z)*hh``;
  a masked step keeps the previous state);
* the loss of ``Model.train_step``: ``sum_over_batch_size`` of the fold's real
  batch (padding rows of shorter folds have weight 0 and are not counted), times
  the sample weights, plus the L2 penalties of the fold's own kernels;
* ``clipnorm`` (Keras clips each variable's gradient by its own norm: done per
  fold slice) and Adam / SGD(momentum, nesterov) with a per-fold step count; a
  fold without a batch at a step (it is shorter, or it has stopped) is not
  updated at all, and its optimizer state does not move;
* the epoch's logged ``loss`` (mean of the batch losses weighted by batch rows,
  as Keras' loss tracker) and ``val_loss`` (the same over the validation rows);
* issue 12's input stem: each fold's own standardisation statistics, padded steps
  zeroed, ``patch_size`` p > 1 with ``patch_mode="fold"`` (p steps folded into one of
  p * F features, the last patch zero-padded, a patch valid when any of its steps
  is), then ``Conv1D(padding="same", relu)`` blocks as an im2col product per fold;
  ``patch_mode="max"``/``"mean"`` (padded steps zeroed before every convolution, then
  each patch of the last block's outputs pooled over its valid steps);
* the summary of the GRU's outputs: the last state, or ``pooling="mean"``/``"max"``
  over the valid (patch) steps, or (NumPy step only) ``"attention"``: a Dense(1)
  score per step, softmax over the valid steps, the weighted sum.  The GRU-FCN
  branch is not fused;
* (NumPy step only) the bidirectional GRU: a second recurrence over the
  time-reversed rows and mask, its outputs flipped back and concatenated (the
  loop form: ``_params.network_spec`` never unrolls a bidirectional GRU on masked
  input when its outputs are read per step, where Keras' unrolled backward layer
  zeroes valid steps); and ``dropout``: the GRU layers' input masks
  and the head's Dropout mask, replayed from each fold's seed states as its Keras
  fit draws them (:mod:`skgru._keras.fused_dropout`);
* the regressor's linear skip (NumPy step only): a Dense on the last ``w`` valid,
  standardised (unpatched) steps, added to the GRU head's output.  Its inputs are
  data (nothing trainable before it), so the step computes them once per fit.

Two implementations of that step: :mod:`skgru._keras.fused_numpy` (NumPy, backward
pass written out, nothing traced or compiled: the default wherever it implements
the activations, see :func:`choose_step`) and :class:`FusedTrainer` below, the
compiled TensorFlow one.

:class:`FusedTrainer`: the epoch is one ``tf.function`` (traced once per trainer, open
sample axis) whose step is one XLA cluster (``jit_compile``; ``SKGRU_FUSED_XLA=0``
turns it off) with ``tf.GradientTape``; inside it the per-model products are k plain
GEMMs (``SKGRU_FUSED_MATMUL``: ``split``; ``block``, one GEMM against block-diagonal
weights, is the graph executor's default).  A trainer is pooled per structure with
its widths padded to multiples of :data:`UNITS_BUCKET` (exact, see there), and every
hyperparameter of the update rule is a variable, so a units x learning-rate grid
compiles once.  Measured on digits (5 folds, Conv1D(64) stem + GRU(16/32), 2-core VM
under load 6-8): 0.16-0.20 s per fused epoch, one compilation of 7-13 s.  Other
backends fall back to separate fits (see ``skgru.estimators._folds.can_fuse``).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import keras
import numpy as np

from skgru._keras.network import (
    NetworkSpec,
    _MaskedPooling,
    _PatchPooling,
    _RelativeToLast,
    _ZeroPadding,
    fold_patches,
    pool_patches,
    pool_steps,
    uses_stem,
)


# Largest block-diagonal matrix (entries) the per-model products are fused into:
# 2**20 floats = 4 MiB, e.g. k=5 folds x GRU(64) (320 x 960) but not k=5 x GRU(256).
# Beyond it the k products run as one batched matmul (XLA's CPU batched dot is
# ~5x slower than one GEMM of the blocks at k=5, units=16: 0.46 vs 0.08 s/epoch).
BLOCK_MAX_ENTRIES = 2**20


# Layer widths (GRU units, dense units) are padded up to a multiple of this inside a
# trainer, so a search over units 16 and 32 compiles one trainer, not two (an XLA
# compilation costs 5-10 s on the 2-core VM; the padded width costs a 16-unit trial
# ~0.1 s per 5-fold epoch there).  Exact: a padded unit has zero weights in and out,
# so its state stays 0 (z = r = 0.5, candidate tanh(0) = 0), every gradient reaching
# its weights is exactly 0, and Adam/SGD leave them at 0 (see FusedTrainer.reset).
UNITS_BUCKET = 32


def padded_width(n: int) -> int:
    return -(-int(n) // UNITS_BUCKET) * UNITS_BUCKET


def padded_spec(spec: NetworkSpec) -> NetworkSpec:
    """The spec a trainer for ``spec`` is built for (widths padded, see UNITS_BUCKET)."""
    import dataclasses

    return dataclasses.replace(spec, units=tuple(padded_width(u) for u in spec.units),
                               dense_units=tuple(padded_width(u) for u in spec.dense_units))


@dataclass(frozen=True)
class OptimizerRule:
    """The update rule the fused step applies (only what it implements)."""

    kind: str  # "adam" or "sgd"
    learning_rate: float
    clipnorm: float | None = None
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-7
    momentum: float = 0.0
    nesterov: bool = False


# ------------------------------------------------------------------ layout


def variable_layout(spec: NetworkSpec) -> list[tuple[str, str, bool]]:
    """(layer name, attribute, L2-regularised) for every trainable variable, in model order."""
    out = []
    for c in range(len(spec.conv_filters)):
        out += [(f"conv_{c}", "kernel", True), (f"conv_{c}", "bias", False)]
    for directions in gru_names(spec):
        for name in directions:
            out += [(name, "kernel", True), (name, "recurrent_kernel", True), (name, "bias", False)]
    if spec.pooling == "attention":  # its score layer (no penalty: built without a regularizer)
        out += [("attention_pooling", "kernel", False), ("attention_pooling", "bias", False)]
    for j in range(len(spec.dense_units)):
        out += [(f"dense_{j}", "kernel", True), (f"dense_{j}", "bias", False)]
    if spec.linear_skip:  # the GRU's head, then the linear skip beside it (model order)
        return out + [("gru_head", "kernel", True), ("gru_head", "bias", False),
                      ("linear_skip", "kernel", True), ("linear_skip", "bias", False)]
    out += [("output", "kernel", True), ("output", "bias", False)]
    return out


def gru_names(spec: NetworkSpec) -> list[list[str]]:
    """Per GRU layer, the names of its recurrences in model (variable) order: ``gru_i``,
    or with ``bidirectional`` the wrapper's ``bidirectional_i/forward`` and
    ``bidirectional_i/backward`` (see :func:`resolve_layer`)."""
    if spec.bidirectional:
        return [[f"bidirectional_{i}/forward", f"bidirectional_{i}/backward"] for i in range(len(spec.units))]
    return [[f"gru_{i}"] for i in range(len(spec.units))]


def resolve_layer(model: keras.Model, name: str):
    """The layer ``name`` (a :func:`gru_names` entry or a plain layer name) of ``model``."""
    outer, _, direction = name.partition("/")
    layer = model.get_layer(outer)
    if direction:
        layer = layer.forward_layer if direction == "forward" else layer.backward_layer
    return layer


# The layers build_network adds for a linear skip (the sum of the two heads is "output").
SKIP_LAYERS = ("steps", "last_steps", "gru_head", "linear_skip")


def expected_layer_names(spec: NetworkSpec) -> list[str]:
    names = ["sequences"]
    if uses_stem(spec):
        names.append("stem")
    elif spec.mask_value is not None:
        names.append("masking")
    zero_padding = pools_patches(spec) and spec.mask_value is not None
    for c in range(len(spec.conv_filters)):
        names += [f"conv_zero_padding_{c}", f"conv_{c}"] if zero_padding else [f"conv_{c}"]
    if pools_patches(spec):
        names.append(f"patch_{spec.patch_mode}_pooling")
    if spec.gru_input != "values":
        names.append("relative_to_last")
    names += [directions[0].partition("/")[0] for directions in gru_names(spec)]
    if spec.pooling != "last":
        names.append(f"{spec.pooling}_pooling")
    if spec.dropout > 0:
        names.append("head_dropout")
    names += [f"dense_{j}" for j in range(len(spec.dense_units))]
    return names + ["output"]  # with a linear skip, the Add of the GRU head and the skip


def numpy_only_feature(linear_skip, pooling, dropout, bidirectional, gru_input="values") -> str | None:
    """The first of a network's features that only the NumPy step implements (None:
    none): the compiled step falls back on them.  ``can_fuse`` asks it of an
    estimator's parameters, :func:`structure_problem` of a built network's spec."""
    if linear_skip:
        return "the linear skip"
    if pooling == "attention":
        return "pooling='attention'"
    if dropout > 0:
        return "dropout"
    if bidirectional:
        return "the bidirectional GRU"
    if gru_input != "values":
        return f"gru_input={gru_input!r}"
    return None


def structure_problem(model: keras.Model, spec: NetworkSpec) -> str | None:
    """Why ``model`` is not the network this module implements (None: it is).

    A guard against architecture features added after this module was written:
    any extra layer, flag or variable makes the caller fall back to separate fits.
    """
    if spec.embedding_dim is not None:
        return "token input (embedding_dim) is not fused"
    if spec.pooling not in FUSED_POOLING:
        return f"pooling={spec.pooling!r} is not fused (only {', '.join(map(repr, FUSED_POOLING))})"
    if spec.patch_size > 1 and spec.patch_mode not in FUSED_PATCH_MODES:
        return f"patch_mode={spec.patch_mode!r} is not fused"
    if spec.fcn_filters:
        return "the GRU-FCN branch is not fused"
    feature = numpy_only_feature(spec.linear_skip, spec.pooling, spec.dropout, spec.bidirectional,
                                 spec.gru_input)
    if feature is not None and choose_step(spec.activation, spec.recurrent_activation) != "numpy":
        return f"{feature} is fused by the NumPy step only"
    names = [layer.name for layer in model.layers]
    if spec.linear_skip:
        problem = _skip_problem(model, spec)
        if problem is not None:
            return problem
        names = [n for n in names if n not in SKIP_LAYERS]  # Keras orders the branches by depth
    if names != expected_layer_names(spec):
        return f"network layers {names} are not the plain GRU stack the fused step implements"
    if spec.bidirectional:
        for i in range(len(spec.units)):
            wrapper = model.get_layer(f"bidirectional_{i}")
            if not isinstance(wrapper, keras.layers.Bidirectional) or wrapper.merge_mode != "concat":
                return f"layer bidirectional_{i} is not a Bidirectional wrapper that concatenates"
    for directions in gru_names(spec):
        for name in directions:
            layer = resolve_layer(model, name)
            cell = getattr(layer, "cell", None)
            if not isinstance(layer, keras.layers.GRU) or cell is None:
                return f"layer {name} is not a keras GRU"
            backwards = name.endswith("/backward")  # Bidirectional flips its outputs back in time
            if not (cell.reset_after and cell.use_bias) or layer.go_backwards != backwards or layer.stateful:
                return f"layer {name} uses options the fused step does not implement"
            if cell.recurrent_dropout:
                return "recurrent_dropout is not fused"
            if cell.dropout != spec.dropout:
                return f"layer {name}'s dropout is not the network's"
    if spec.dropout > 0:
        from skgru._keras import fused_dropout  # it builds on this module's layout

        problem = fused_dropout.structure_problem(model, spec)
        if problem is not None:
            return problem
    if uses_stem(spec):
        stem = model.get_layer("stem")
        if (stem.patch_size, stem.normalize, stem.mask_value) != (stem_fold(spec), spec.normalize, spec.mask_value):
            return "the input stem uses options the fused step does not implement"
    if pools_patches(spec):
        layer = model.get_layer(f"patch_{spec.patch_mode}_pooling")
        if not isinstance(layer, _PatchPooling) or (layer.patch_size, layer.mode) != (spec.patch_size, spec.patch_mode):
            return "the patch pooling layer is not the one the fused step implements"
        if spec.mask_value is not None and not all(
                isinstance(model.get_layer(f"conv_zero_padding_{c}"), _ZeroPadding)
                for c in range(len(spec.conv_filters))):
            return "the convolutions' padding layers are not the ones the fused step implements"
    if spec.gru_input != "values":
        layer = model.get_layer("relative_to_last")
        if not isinstance(layer, _RelativeToLast) or layer.mode != spec.gru_input:
            return "the layer relative_to_last is not the one the fused step implements"
    if spec.pooling != "last":
        layer = model.get_layer(f"{spec.pooling}_pooling")
        if not isinstance(layer, _MaskedPooling) or layer.mode != spec.pooling:
            return f"the {spec.pooling} pooling layer is not the one the fused step implements"
        if spec.pooling == "attention":
            score = layer.score
            if not (isinstance(score, keras.layers.Dense) and score.use_bias and score.units == 1
                    and score.activation is keras.activations.linear and not score.losses):
                return "the attention score layer is not the one the fused step implements"
    for c in range(len(spec.conv_filters)):
        layer = model.get_layer(f"conv_{c}")
        plain = (isinstance(layer, keras.layers.Conv1D) and layer.padding == "same" and layer.use_bias
                 and tuple(layer.strides) == (1,) and tuple(layer.dilation_rate) == (1,) and layer.groups == 1
                 and layer.data_format == "channels_last" and layer.activation is keras.activations.relu
                 and tuple(layer.kernel_size) == (spec.conv_kernel_size,))
        if not plain:
            return f"layer conv_{c} is not a Conv1D(same, relu) the fused step implements"
    heads = ["gru_head", "linear_skip"] if spec.linear_skip else ["output"]
    for name in [f"dense_{j}" for j in range(len(spec.dense_units))] + heads:
        layer = model.get_layer(name)
        if not isinstance(layer, keras.layers.Dense) or not layer.use_bias:
            return f"layer {name} is not a Dense layer with bias"
    if len(model.trainable_variables) != len(variable_layout(spec)):
        return "the network has trainable variables the fused step does not know"
    if model.losses and spec.l2 == 0 and getattr(spec, "l1", 0.0) == 0:
        return "the network has extra losses"
    return None


def _skip_problem(model: keras.Model, spec: NetworkSpec) -> str | None:
    """Why ``model``'s linear skip is not the one the NumPy step implements (None: it is):
    a trainable Dense on :class:`~skgru._keras.network._LastSteps` of the unpatched,
    standardised steps, added to the GRU head's output (linear output only)."""
    from skgru._keras.network import _LastSteps, _SequenceStem

    if spec.output_activation != "linear":
        return "a linear skip under a non-linear output is not fused"
    names = {layer.name for layer in model.layers}
    if not set(SKIP_LAYERS) <= names:
        return "the linear skip's layers are not the ones the fused step implements"
    steps, last = model.get_layer("steps"), model.get_layer("last_steps")
    if not isinstance(steps, _SequenceStem) or (steps.patch_size, steps.normalize, steps.mask_value) != (
            1, spec.normalize, spec.mask_value):
        return "the linear skip's input stem uses options the fused step does not implement"
    if not isinstance(last, _LastSteps) or (last.window, last.n_features) != (spec.linear_skip,
                                                                             spec.n_step_features):
        return "the linear skip's window is not the one the fused step implements"
    if not model.get_layer("linear_skip").trainable:
        return "a frozen linear skip is not fused"
    if not isinstance(model.get_layer("output"), keras.layers.Add):
        return "the linear skip is not added to the GRU head"
    return None


# The summaries of the GRU's outputs the fused steps implement (no trainable variable of
# their own; "attention" has a Dense score layer and falls back to separate fits).
FUSED_POOLING = ("last", "mean", "max", "attention")  # attention: the NumPy step only
FUSED_PATCH_MODES = ("fold", "max", "mean")


def pools_patches(spec: NetworkSpec) -> bool:
    """Whether patches are pooled after the convolutions (``patch_mode`` "max"/"mean")
    rather than folded by the stem (network.build_network's ``pool_patches``)."""
    return spec.patch_size > 1 and spec.patch_mode != "fold"


def stem_fold(spec: NetworkSpec) -> int:
    """The patch size the stem folds the input by (1 when patches are pooled later)."""
    return 1 if pools_patches(spec) else spec.patch_size


def input_statistics(model: keras.Model, spec: NetworkSpec):
    """The network's per-feature (mean, std) standardisation, or None without one."""
    if not spec.normalize:
        return None
    stem = model.get_layer("stem")
    return np.asarray(stem.mean.numpy(), "float32"), np.asarray(stem.std.numpy(), "float32")


def model_variables(model: keras.Model, spec: NetworkSpec) -> list:
    out = []
    for layer_name, attr, _ in variable_layout(spec):
        layer = resolve_layer(model, layer_name)
        owner = layer.cell if isinstance(layer, keras.layers.GRU) else layer
        if isinstance(layer, _MaskedPooling):  # attention: the Dense(1) score inside it
            owner = layer.score
        out.append(getattr(owner, attr))
    return out


# ---------------------------------------------------------------- the trainer


class FusedTrainer:
    """k models of one ``spec`` as stacked ``tf.Variable``s with per-fold optimizer state."""

    def __init__(self, spec: NetworkSpec, k: int, rule: OptimizerRule, task: str):
        import tensorflow as tf

        feature = numpy_only_feature(spec.linear_skip, spec.pooling, spec.dropout, spec.bidirectional,
                                 spec.gru_input)
        if feature is not None:  # refused by structure_problem: a guard
            raise ValueError(f"the compiled fused step does not implement {feature}")
        self.tf = tf
        self.spec = spec
        self.task = task  # "classification" (sparse CE on softmax) or "regression" (MSE)
        self.k = k
        self.layout = variable_layout(spec)
        self.kind = rule.kind
        self.clip = rule.clipnorm is not None
        self.nesterov = rule.nesterov
        self.vars = self.m = self.v = None
        # each fold's own input standardisation (its training rows' mean and std)
        self.stats = None
        if spec.normalize:
            self.stats = (tf.Variable(tf.zeros([k, spec.n_step_features]), trainable=False),
                          tf.Variable(tf.ones([k, spec.n_step_features]), trainable=False))
        # Hyperparameters are variables (assigned, not traced): a learning-rate grid
        # reuses one trace (a trace costs 1-3 s on this 2-core VM).
        self.hyper = {name: tf.Variable(0.0, trainable=False)
                      for name in ("clipnorm", "beta_1", "beta_2", "epsilon", "momentum")}
        # one rate per fold: an epoch schedule (lr_schedule) moves each fold's rate on its own
        self.hyper["learning_rate"] = tf.Variable(tf.zeros([k], tf.float32), trainable=False)
        self.iterations = tf.Variable(tf.zeros([k], tf.float32), trainable=False)
        self.has_momentum = rule.kind == "adam" or rule.momentum != 0
        self._epoch_fn = None
        self._eval_fn = None
        self.jit = os.environ.get("SKGRU_FUSED_XLA", "1").strip().lower() not in ("0", "false", "no", "off")
        # "split" (default under XLA): k plain 2-D GEMMs per product inside the XLA
        # cluster; "block": one GEMM against block-diagonal weights (k times the
        # multiply-adds; the default of the graph executor, which pays per op);
        # "einsum": XLA's batched dot.  Digits, 5 folds, Conv1D(64) stem + GRU(32),
        # seconds per epoch on the 2-core VM: split 0.16-0.20, block 0.45, einsum 0.95.
        self.matmul_mode = os.environ.get("SKGRU_FUSED_MATMUL", "split" if self.jit else "block")
        self.block = self.matmul_mode == "block"

    def reset(self, initial: list[list[np.ndarray]], rule: OptimizerRule, statistics=None) -> None:
        """Load the k initial weight sets and zero the optimizer state (a fresh fit).

        ``statistics``: one ``(mean, std)`` per fold for a network that standardises
        its input (``spec.normalize``), as :func:`input_statistics` reads them.
        """
        tf = self.tf
        if self.stats is not None:
            if statistics is None or len(statistics) != self.k:
                raise ValueError("a standardising network needs one (mean, std) per fold")
            self.stats[0].assign(np.stack([np.asarray(m, "float32") for m, _ in statistics]))
            self.stats[1].assign(np.stack([np.asarray(sd, "float32") for _, sd in statistics]))
        self.true_shapes = [tuple(np.shape(w)) for w in initial[0]]
        stacked = [self._embed(np.stack([np.asarray(w[i], dtype="float32") for w in initial]), i)
                   for i in range(len(self.layout))]
        if self.vars is None:
            self.vars = [tf.Variable(a, name=f"fused_{i}") for i, a in enumerate(stacked)]
            zeros = lambda v: tf.Variable(tf.zeros_like(v), trainable=False)  # noqa: E731
            self.m = [zeros(v) for v in self.vars] if self.has_momentum else None
            self.v = [zeros(v) for v in self.vars] if self.kind == "adam" else None
        else:
            for var, a in zip(self.vars, stacked):
                var.assign(a)
            for slots in (self.m or []) + (self.v or []):
                slots.assign(tf.zeros_like(slots))
        self.iterations.assign(tf.zeros([self.k], tf.float32))
        for name, var in self.hyper.items():
            value = getattr(rule, name)
            value = 0.0 if value is None else float(value)
            var.assign(np.full(var.shape, value, dtype="float32") if var.shape.rank else value)

    # -- padded widths: the true (k, *shape) arrays inside the padded variables
    def _target_shape(self, i, true_shape):
        """The padded shape of variable ``i`` (true shape with padded widths)."""
        layer, attr, _ = self.layout[i]
        spec = self.spec
        widths = {f"gru_{n}": u for n, u in enumerate(spec.units)}
        widths.update({f"dense_{n}": u for n, u in enumerate(spec.dense_units)})
        shape = list(true_shape)
        # rows: the previous layer's (padded) width for every kernel after the first GRU/dense
        order = [f"gru_{n}" for n in range(len(spec.units))] + [f"dense_{n}" for n in range(len(spec.dense_units))]
        order.append("output")
        if attr in ("kernel", "recurrent_kernel") and layer in order:
            pos = order.index(layer)
            if attr == "recurrent_kernel":
                shape[0] = widths[layer]
            elif pos > 0:
                shape[0] = widths[order[pos - 1]]
        if layer in widths:
            shape[-1] = 3 * widths[layer] if layer.startswith("gru_") else widths[layer]
        return tuple(shape)

    def _slots(self, i, true_shape):
        """Index tuples (true block, padded block) that map the true entries of variable ``i``."""
        target = self._target_shape(i, true_shape)
        lead = tuple(slice(0, n) for n in true_shape[:-1])
        if self.layout[i][0].startswith("gru_"):  # gate blocks z, r, h along the last axis
            u, up = true_shape[-1] // 3, target[-1] // 3
            return target, [(lead + (slice(g * u, (g + 1) * u),), lead + (slice(g * up, g * up + u),))
                            for g in range(3)]
        full = lead + (slice(0, true_shape[-1]),)
        return target, [(full, full)]

    def _embed(self, stacked, i):
        """(k, *true shape) -> (k, *padded shape), zeros outside the true entries."""
        target, blocks = self._slots(i, stacked.shape[1:])
        if target == stacked.shape[1:]:
            return stacked
        out = np.zeros((stacked.shape[0], *target), dtype=stacked.dtype)
        for src, dst in blocks:
            out[(slice(None), *dst)] = stacked[(slice(None), *src)]
        return out

    def _extract(self, padded, i):
        """One fold's padded array of variable ``i`` -> its true shape."""
        true_shape = self.true_shapes[i]
        target, blocks = self._slots(i, true_shape)
        if target == true_shape:
            return padded
        out = np.empty(true_shape, dtype=padded.dtype)
        for src, dst in blocks:
            out[src] = padded[dst]
        return out

    # -- state in and out (per fold, in the fold's true shapes)
    def fold_weights(self, j: int) -> list[np.ndarray]:
        return [self._extract(v[j].numpy(), i) for i, v in enumerate(self.vars)]

    def set_fold_weights(self, j: int, weights) -> None:
        for i, (var, w) in enumerate(zip(self.vars, weights)):
            var[j].assign(self._embed(np.asarray(w, dtype="float32")[None], i)[0])

    def fold_learning_rate(self, j: int) -> float:
        return float(self.hyper["learning_rate"][j].numpy())

    def set_fold_learning_rate(self, j: int, value) -> None:
        self.hyper["learning_rate"][j].assign(float(value))

    def fold_optimizer_state(self, j: int) -> dict:
        return {
            "learning_rate": self.fold_learning_rate(j),
            "iterations": int(self.iterations[j].numpy()),
            "m": None if self.m is None else [self._extract(s[j].numpy(), i) for i, s in enumerate(self.m)],
            "v": None if self.v is None else [self._extract(s[j].numpy(), i) for i, s in enumerate(self.v)],
        }

    def set_fold_optimizer_state(self, j: int, state) -> None:
        """Fold j's optimizer state as :meth:`fold_optimizer_state` gives it (see
        :meth:`skgru._keras.fused_numpy.NumpyFusedTrainer.set_fold_optimizer_state`)."""
        if state is None:
            return
        self.iterations[j].assign(float(state["iterations"]))
        for key, slots in (("m", self.m), ("v", self.v)):
            values = state.get(key)
            if slots is None or values is None:
                continue
            for i, (slot, value) in enumerate(zip(slots, values)):
                slot[j].assign(self._embed(np.asarray(value, dtype="float32")[None], i)[0])

    # -- the math (keras.ops on stacked tensors; model axis first)
    def _forward(self, params, x):
        ops = keras.ops
        spec = self.spec
        act = keras.activations.get(spec.activation)
        ract = keras.activations.get(spec.recurrent_activation)
        mask = None
        if spec.mask_value is not None:
            mask = ops.any(ops.not_equal(x, spec.mask_value), axis=-1)  # (k, B, T), as keras.layers.Masking
        if uses_stem(spec):  # network._SequenceStem: standardise, zero the padding, fold patches
            if spec.normalize:
                x = (x - self.stats[0][:, None, None, :]) / self.stats[1][:, None, None, :]
            if mask is not None:
                x = ops.where(mask[..., None], x, ops.zeros_like(x))
            if stem_fold(spec) > 1:
                x, mask = self._fold_patches(x, mask, spec.patch_size)
        elif mask is not None:
            x = x * ops.cast(mask, x.dtype)[..., None]
        p = 0
        zero_padding = pools_patches(spec) and mask is not None
        for _ in spec.conv_filters:
            if zero_padding:  # network._ZeroPadding before each convolution
                x = ops.where(mask[..., None], x, ops.zeros_like(x))
            x = ops.relu(self._matmul(self._im2col(x), self._conv_kernel(params[p])) + params[p + 1][:, None, None, :])
            p += 2
        if pools_patches(spec):
            x, mask = self._pool_patches(x, mask, spec.patch_size, spec.patch_mode)
        h_seq = x
        n_layers = len(spec.units)
        pooled = spec.pooling != "last"
        for i, units in enumerate(spec.units):
            kernel, rkernel, bias = params[p], params[p + 1], params[p + 2]
            p += 3
            xp = self._matmul(h_seq, kernel) + bias[:, None, None, 0, :]
            h_seq = self._recur(xp, rkernel, bias[:, None, 1, :], mask, units, act, ract,
                                return_sequences=pooled or i < n_layers - 1)
        h = self._pool_steps(h_seq, mask, spec.pooling) if pooled else h_seq
        for _ in spec.dense_units:
            h = ops.relu(self._matmul(h, params[p]) + params[p + 1][:, None, :])
            p += 2
        return self._matmul(h, params[p]) + params[p + 1][:, None, :]  # pre-activation

    # Patching and pooling are network.py's own functions, applied to the k folds' rows
    # at once: the model axis is folded into the batch axis and back.
    def _on_rows(self, fn, x, *masks):
        """``fn(x, *masks)`` on (k * B, ...) rows; its tensor results back to (k, B, ...)."""
        ops = keras.ops
        b = ops.shape(x)[1]

        def rows(t):
            return None if t is None else ops.reshape(t, (self.k * b, *ops.shape(t)[2:]))

        def back(t):
            return None if t is None else ops.reshape(t, (self.k, b, *ops.shape(t)[1:]))

        out = fn(rows(x), *map(rows, masks))
        return tuple(map(back, out)) if isinstance(out, tuple) else back(out)

    def _fold_patches(self, x, mask, p):
        """network.fold_patches: (k, B, T, F) -> (k, B, ceil(T / p), p * F)."""
        return self._on_rows(lambda t, m: fold_patches(t, m, p), x, mask)

    def _pool_patches(self, x, mask, p, mode):
        """network.pool_patches: each patch's max or mean over its valid steps."""
        pooled, patch_valid = self._on_rows(lambda t, m: pool_patches(t, m, p, mode), x, mask)
        return pooled, (patch_valid if mask is not None else None)

    def _pool_steps(self, x, mask, mode):
        """network.pool_steps ("mean" / "max") over the valid steps of (k, B, S, U)."""
        return self._on_rows(lambda t, m: pool_steps(t, m, mode), x, mask)

    def _im2col(self, x):
        """(k, B, T, F) -> (k, B, T, K*F): each step's window of Conv1D(padding="same").

        TensorFlow's "same" pads ``K - 1`` zeros, ``(K - 1) // 2`` of them in front;
        window slot ``i`` holds step ``t + i - (K - 1) // 2`` (zero outside), in the
        order of the kernel's ``(K, F, filters)`` reshaped to ``(K*F, filters)``.
        """
        ops = keras.ops
        size = self.spec.conv_kernel_size
        front = (size - 1) // 2
        padded = ops.pad(x, [[0, 0], [0, 0], [front, size - 1 - front], [0, 0]])
        t = x.shape[2] if x.shape[2] is not None else ops.shape(x)[2]
        return ops.concatenate([padded[:, :, i : i + t] for i in range(size)], axis=-1)

    @staticmethod
    def _conv_kernel(kernel):
        """(k, K, F, filters) -> (k, K*F, filters)."""
        k, size, f, filters = kernel.shape
        return keras.ops.reshape(kernel, (k, size * f, filters))

    def _block_diagonal(self, w):
        """(k, n, m) -> the (k*n, k*m) block-diagonal matrix of the k blocks."""
        k, n, m = w.shape
        eye = keras.ops.eye(k, dtype=w.dtype)
        return keras.ops.reshape(eye[:, None, :, None] * w[:, :, None, :], (k * n, k * m))

    def _use_block(self, w):
        k, n, m = w.shape
        return self.block and (k * n) * (k * m) <= BLOCK_MAX_ENTRIES

    def _matmul(self, a, w, prebuilt=False):
        """Per-model product: a (k, ..., n) @ w (k, n, m) -> (k, ..., m).

        ``block``: one GEMM of the models side by side, ``(rows, k*n) @ blockdiag(w)``
        (k times the multiply-adds, all with exact zeros, so the result is the same):
        at these sizes (n, m <= a few hundred) one large GEMM is several times faster
        on CPU than k tiny ones in a batched matmul.  Otherwise a batched matmul.
        """
        ops = keras.ops
        if not prebuilt and self.matmul_mode == "split":
            k, n = self.k, a.shape[-1]
            lead = ops.shape(a)[1:-1]
            rows = ops.reshape(a, (k, -1, n))
            out = ops.stack([ops.matmul(rows[j], w[j]) for j in range(k)])
            return ops.reshape(out, (k, *lead, w.shape[-1]))
        if not prebuilt and not self._use_block(w):
            return ops.einsum("k...n,knm->k...m", a, w)
        k = self.k
        n = a.shape[-1]
        wb = w if prebuilt else self._block_diagonal(w)
        m = wb.shape[-1] // k
        lead = ops.shape(a)[1:-1]
        rows = ops.reshape(a, (k, -1, n))  # (k, R, n)
        flat = ops.reshape(ops.transpose(rows, (1, 0, 2)), (-1, k * n))  # (R, k*n)
        out = ops.transpose(ops.reshape(ops.matmul(flat, wb), (-1, k, m)), (1, 0, 2))  # (k, R, m)
        return ops.reshape(out, (k, *lead, m))

    def _recur(self, xp, rkernel, rbias, mask, units, act, ract, return_sequences):
        tf = self.tf
        ops = keras.ops
        k, b = tf.shape(xp)[0], tf.shape(xp)[1]
        big = self._use_block(rkernel)
        rkernel_big = self._block_diagonal(rkernel) if big else rkernel
        h0 = tf.zeros(tf.stack([k, b, units]), xp.dtype)

        def cell(h, xt, mt):
            inner = (self._matmul(h, rkernel_big, prebuilt=True) if big else self._matmul(h, rkernel)) + rbias
            xz, xr, xh = ops.split(xt, 3, axis=-1)
            rz, rr, rh = ops.split(inner, 3, axis=-1)
            z = ract(xz + rz)
            r = ract(xr + rr)
            hh = act(xh + r * rh)
            new = z * h + (1.0 - z) * hh
            if mt is not None:
                new = ops.where(mt[..., None], new, h)  # a masked step keeps the state
            return new

        n_steps = xp.shape[2]
        # Static length (the unrolled bucket): a straight-line graph in the graph
        # executor; under XLA a loop instead, which compiles in about half the time
        # (digits, 8 steps: 5.7 vs 10.7 s) and runs as fast.
        if n_steps is not None and not self.jit:
            h, outs = h0, []
            for t in range(n_steps):
                h = cell(h, xp[:, :, t], None if mask is None else mask[:, :, t])
                outs.append(h)
            return ops.stack(outs, axis=2) if return_sequences else h
        xs = tf.transpose(xp, [2, 0, 1, 3])
        if mask is None:
            states = tf.scan(lambda h, xt: cell(h, xt, None), xs, initializer=h0)
        else:
            ms = tf.transpose(mask, [2, 0, 1])
            states = tf.scan(lambda h, e: cell(h, e[0], e[1]), (xs, ms), initializer=h0)
        if return_sequences:
            return tf.transpose(states, [1, 2, 0, 3])
        return states[-1]

    def _per_row_loss(self, logits, y):
        ops = keras.ops
        if self.task == "classification":
            logp = ops.log_softmax(logits, axis=-1)
            return -ops.take_along_axis(logp, ops.cast(y, "int32")[..., None], axis=-1)[..., 0]
        return ops.mean(ops.square(y - logits), axis=-1)

    def _penalty(self, params):
        """Each fold's kernel penalties, as keras.regularizers L2 / L1 / L1L2 compute them."""
        ops = keras.ops
        l2, l1 = self.spec.l2, getattr(self.spec, "l1", 0.0)
        total = 0.0
        for var, (_, _, reg) in zip(params, self.layout):
            if reg:
                axes = tuple(range(1, len(var.shape)))
                if l1 > 0:
                    total = total + l1 * ops.sum(ops.abs(var), axis=axes)
                if l2 > 0:
                    total = total + l2 * ops.sum(ops.square(var), axis=axes)
        return total

    def _fold_losses(self, params, x, y, w, count):
        """(k,) losses: sum_over_batch_size of each fold's real rows + its L2 penalty."""
        ops = keras.ops
        rows = self._per_row_loss(self._forward(params, x), y)
        return ops.sum(rows * w, axis=1) / ops.maximum(count, 1.0) + self._penalty(params)

    def _apply(self, grads, active):
        ops = keras.ops
        hp = self.hyper
        step = self.iterations + 1.0  # (k,)
        for i, (var, g) in enumerate(zip(self.vars, grads)):
            axes = tuple(range(1, len(var.shape)))
            bshape = (-1,) + (1,) * len(axes)
            if self.clip:  # Keras' _clip_by_norm, per variable and per fold
                l2sum = ops.sum(ops.square(g), axes, keepdims=True)
                pred = l2sum > 0
                l2norm = ops.where(pred, ops.sqrt(ops.where(pred, l2sum, ops.ones_like(l2sum))), l2sum)
                g = g * hp["clipnorm"] / ops.maximum(l2norm, hp["clipnorm"])
            on = ops.reshape(active, bshape) > 0
            lr = ops.reshape(hp["learning_rate"], bshape)
            if self.kind == "adam":
                t = ops.reshape(step, bshape)
                b1, b2 = hp["beta_1"], hp["beta_2"]
                alpha = lr * ops.sqrt(1.0 - ops.power(b2, t)) / (1.0 - ops.power(b1, t))
                m_new = self.m[i] + (g - self.m[i]) * (1.0 - b1)
                v_new = self.v[i] + (ops.square(g) - self.v[i]) * (1.0 - b2)
                new = var - (m_new * alpha) / (ops.sqrt(v_new) + hp["epsilon"])
                self.m[i].assign(ops.where(on, m_new, self.m[i]))
                self.v[i].assign(ops.where(on, v_new, self.v[i]))
            elif self.m is not None:
                mom = hp["momentum"]
                m_new = -g * lr + self.m[i] * mom
                new = var + (-g * lr + m_new * mom if self.nesterov else m_new)
                self.m[i].assign(ops.where(on, m_new, self.m[i]))
            else:
                new = var - g * lr
            var.assign(ops.where(on, new, var))
        self.iterations.assign(self.iterations + active)

    # -- traced functions
    def _make_epoch(self):
        tf = self.tf

        def step(xb, yb, wb, count, active):
            with tf.GradientTape() as tape:
                losses = self._fold_losses(self.vars, xb, yb, wb, count)
                objective = tf.reduce_sum(losses * active)
            grads = tape.gradient(objective, self.vars)
            self._apply(grads, active)
            return losses

        if self.jit:
            # One XLA cluster per step: the batch shape (k, batch_size, T, F) is fixed
            # within a call, so it compiles once; XLA fuses the many tiny elementwise
            # ops of k small GRUs that otherwise each pay the executor's per-op cost.
            step = tf.function(step, jit_compile=True)

        def run_epoch(X, Y, W, order, valid, fold_on, n_steps, batch_size):
            total = tf.zeros([self.k], tf.float32)
            rows = tf.zeros([self.k], tf.float32)
            for s in tf.range(n_steps):
                idx = order[:, s * batch_size : (s + 1) * batch_size]
                real = valid[:, s * batch_size : (s + 1) * batch_size]
                xb = tf.gather(X, idx, batch_dims=1)
                yb = tf.gather(Y, idx, batch_dims=1)
                wb = tf.gather(W, idx, batch_dims=1) * real
                count = tf.reduce_sum(real, axis=1)
                active = fold_on * tf.cast(count > 0, tf.float32)
                losses = step(xb, yb, wb, count, active)
                total += active * count * losses
                rows += active * count
            return total, rows

        return tf.function(run_epoch, input_signature=[
            self._x_spec(), self._y_spec(), tf.TensorSpec([self.k, None], tf.float32),
            tf.TensorSpec([self.k, None], tf.int32), tf.TensorSpec([self.k, None], tf.float32),
            tf.TensorSpec([self.k], tf.float32), tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.int32),
        ])

    def _x_spec(self):
        tf = self.tf
        return tf.TensorSpec([self.k, None, self.spec.n_timesteps, self.spec.n_step_features], tf.float32)

    def _y_spec(self):
        tf = self.tf
        if self.task == "classification":
            return tf.TensorSpec([self.k, None], tf.int32)
        return tf.TensorSpec([self.k, None, self.spec.n_outputs], tf.float32)

    def train_epoch(self, X, Y, W, order, valid, fold_on, batch_size, dropout=()):
        """One epoch; returns the (k,) logged losses (NaN for folds without a batch).
        ``dropout``: always empty here (the constructor refuses a network with dropout)."""
        tf = self.tf
        if self._epoch_fn is None:
            self._epoch_fn = self._make_epoch()
        n_steps = order.shape[1] // batch_size
        total, rows = self._epoch_fn(
            tf.constant(X), tf.constant(Y), tf.constant(W), tf.constant(order, tf.int32),
            tf.constant(valid, tf.float32), tf.constant(fold_on, tf.float32),
            tf.constant(n_steps, tf.int32), tf.constant(batch_size, tf.int32),
        )
        rows = rows.numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(rows > 0, total.numpy() / np.maximum(rows, 1), np.nan)

    def evaluate(self, X, Y, W, count):
        """(k,) validation losses: mean over the fold's real rows (W=0 on padding) + penalty."""
        tf = self.tf
        if self._eval_fn is None:
            self._eval_fn = tf.function(
                lambda X, Y, W, c: self._fold_losses(self.vars, X, Y, W, c),
                input_signature=[self._x_spec(), self._y_spec(), tf.TensorSpec([self.k, None], tf.float32),
                                 tf.TensorSpec([self.k], tf.float32)],
            )
        return self._eval_fn(tf.constant(X), tf.constant(Y), tf.constant(W), tf.constant(count, tf.float32)).numpy()


# --------------------------------------------------------------------- pool
# One trainer (and its traces) per (spec, k, update-rule structure, task), so the
# trials of a search that differ only in learning rate, clipnorm value, betas or
# seeds reuse the trace.  Bounded like the engine pool.
MAX_TRAINERS = 4
_pool_lock = threading.Lock()
_trainers: dict = {}


def trainer_key(spec, k, rule: OptimizerRule, task):
    return (keras.backend.backend(), spec, k, rule.kind, rule.clipnorm is not None,
            rule.kind == "adam" or rule.momentum != 0, rule.nesterov, task)


def step_mode() -> str:
    """``SKGRU_FUSED_STEP``: "auto" (default), "numpy" or "xla" (see :func:`choose_step`)."""
    value = os.environ.get("SKGRU_FUSED_STEP", "auto").strip().lower()
    if value not in ("auto", "numpy", "xla"):
        raise ValueError(f"SKGRU_FUSED_STEP must be 'auto', 'numpy' or 'xla'; got {value!r}.")
    return value


def choose_step(activation: str, recurrent_activation: str) -> str:
    """Which implementation trains a GRU with these activations: "numpy" or "xla".

    "auto" picks the NumPy step (:mod:`skgru._keras.fused_numpy`) whenever it
    implements the activations: it needs no trace or compilation, and measured per
    epoch it is also faster than the compiled step on every network tried (2-core VM,
    load 3.5, 5 folds, batch 32, seconds per epoch NumPy / XLA: digits' Conv1D(64) +
    GRU(32), 8 steps 0.07 / 0.12; GRU(32), 32 steps 0.23 / 0.29, 128 steps 1.06 / 1.80;
    GRU(128), 32 steps 0.87 / 2.47; 128 steps 3.7 / 13.0), while XLA's first epoch
    costs 12-26 s there.  The XLA step remains for the other activations.
    """
    from skgru._keras.fused_numpy import activation_problem

    if step_mode() == "xla" or activation_problem(activation, recurrent_activation) is not None:
        return "xla"
    return "numpy"


def borrow_trainer(spec, k, rule: OptimizerRule, task, initial, statistics=None):
    """A trainer for this structure (from the pool or new), reset to ``initial``
    (and to each fold's input ``statistics`` when the network standardises)."""
    if choose_step(spec.activation, spec.recurrent_activation) == "numpy":
        from skgru._keras.fused_numpy import NumpyFusedTrainer

        # nothing traced or compiled: a new trainer costs nothing, so none is pooled
        trainer = NumpyFusedTrainer(spec, k, rule, task)
        trainer.key = None
        trainer.reset(initial, rule, statistics)
        return trainer
    spec = padded_spec(spec)
    key = trainer_key(spec, k, rule, task)
    with _pool_lock:
        trainer = _trainers.pop(key, None)
    if trainer is None:
        trainer = FusedTrainer(spec, k, rule, task)
        trainer.key = key
    trainer.reset(initial, rule, statistics)
    return trainer


def give_back(trainer: FusedTrainer) -> None:
    """Return a trainer after a call that did not raise (its traces are kept)."""
    if trainer.key is None:
        return
    with _pool_lock:
        _trainers[trainer.key] = trainer
        while len(_trainers) > MAX_TRAINERS:
            _trainers.pop(next(iter(_trainers)))


def clear() -> None:
    with _pool_lock:
        _trainers.clear()
