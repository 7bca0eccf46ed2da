"""Estimator parameters: their constraints, closed option sets, and what they derive.

Everything here is a pure function of parameter values (and of what ``fit`` learned
about the data): the sklearn-style ``_parameter_constraints`` of both estimators,
the network architecture (:func:`network_spec`), the optimizer and compile
configuration (:func:`compile_config`) and the SciKeras-style routed parameters
(``optimizer__*``, ``fit__*``, ``predict__*``).
"""

from __future__ import annotations

import numbers

import keras
import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from skgru._keras.engines import CompileConfig
from skgru._keras.network import GRU_INPUTS, NetworkSpec
from skgru._sequences import RAGGED_PAD_VALUE
from skgru.estimators import _training_knobs

# Short fixed-length sequences on CPU are unrolled into a straight-line graph: at 8
# steps x 8 features (digits), GRU(16), an epoch is ~2.4x faster than TensorFlow's
# while loop.  But every unrolled length is its own trace (0.8-1.7 s and ~5-20 MB of
# RSS that TensorFlow never returns), so only ONE bucket is unrolled: sequences of
# at most 8 steps, the shorter ones post-padded to 8 and masked (a masked step keeps
# the GRU state, so the result is the same).  Longer sequences share one engine whose
# time axis is open: no new trace for a new length.
UNROLL_BUCKET = 8

# Rows per predict step. Fixed, so that predictions do not depend on batch composition.
PREDICT_BATCH_SIZE = 256

# Closed option sets: a name outside them is a ValueError that lists the valid values.
ACTIVATIONS = frozenset({
    "tanh", "sigmoid", "hard_sigmoid", "relu", "relu6", "elu", "selu", "celu", "gelu",
    "silu", "swish", "hard_silu", "hard_swish", "mish", "softplus", "softsign",
    "leaky_relu", "linear", "exponential", "log_sigmoid", "squareplus", "sparse_plus",
    "hard_tanh",
})
# name -> class, from keras.optimizers' public classes (keras.optimizers.get cannot
# resolve some of them, e.g. "lamb", so the class is looked up here directly).
OPTIMIZER_CLASSES = {
    name.lower(): getattr(keras.optimizers, name)
    for name in dir(keras.optimizers)
    if isinstance(getattr(keras.optimizers, name), type)
    and issubclass(getattr(keras.optimizers, name), keras.optimizers.Optimizer)
    and name not in ("Optimizer", "LossScaleOptimizer", "MultiOptimizer")
}
OPTIMIZERS = frozenset(OPTIMIZER_CLASSES)
CLASSIFIER_LOSSES = {
    # target kind -> losses that fit how skgru encodes it
    "single": frozenset({"sparse_categorical_crossentropy", "categorical_crossentropy",
                         "categorical_focal_crossentropy"}),
    "multilabel": frozenset({"binary_crossentropy", "binary_focal_crossentropy"}),
}
REGRESSOR_LOSSES = frozenset({"mean_squared_error", "mse", "mean_absolute_error", "mae", "huber", "log_cosh"})

# SciKeras-style routed parameters that skgru honours; others would be silently
# ignored, so they are rejected in fit.  None: any argument name.
ROUTED = {"optimizer__": None, "fit__": {"batch_size", "shuffle"}, "predict__": {"batch_size"}}
ROUTED_PREFIXES = tuple(ROUTED)


class _PositiveInt(Interval):
    """``Interval(Integral, 1, None)`` that also refuses ``True``/``False``."""

    def __init__(self):
        super().__init__(numbers.Integral, 1, None, closed="left")

    def is_satisfied_by(self, val):
        return not isinstance(val, bool) and super().is_satisfied_by(val)

    def __str__(self):
        return "an int in the range [1, inf) (not a bool)"


class _NonNegativeReal(Interval):
    """``Interval(Real, 0, None)`` that also refuses ``True``/``False`` (``range_fade=True``
    would otherwise read as 1.0)."""

    def __init__(self):
        super().__init__(numbers.Real, 0, None, closed="left")

    def is_satisfied_by(self, val):
        return not isinstance(val, (bool, np.bool_)) and super().is_satisfied_by(val)

    def __str__(self):
        return "a float in the range [0, inf) (not a bool)"


class _SizeTuple:
    """Marker for constraint messages: a non-empty tuple/list of positive ints."""


def _sizes_constraint():
    # sklearn validates types; the contents of a tuple are checked by layer_sizes().
    return [tuple, list]


_positive_int = _PositiveInt()
_unit_interval = Interval(numbers.Real, 0, 1, closed="left")

# patch_mode: how a patch of p steps becomes one GRU step (skgru._keras.network).
PATCH_MODES = ("fold", "max", "mean")

COMMON_CONSTRAINTS = {
    **_training_knobs.CONSTRAINTS,  # l1, lr_schedule, lr_decay, lr_patience, weight_decay (issue 18)
    "units": [_positive_int, *_sizes_constraint()],
    "n_layers": [_positive_int],
    "dropout": [_unit_interval],
    "recurrent_dropout": [_unit_interval],
    "bidirectional": ["boolean"],
    "activation": [StrOptions(set(ACTIVATIONS))],
    "recurrent_activation": [StrOptions(set(ACTIVATIONS))],
    "dense_units": [None, _positive_int, *_sizes_constraint()],
    "l2": [Interval(numbers.Real, 0, None, closed="left")],
    "embedding_dim": [None, _positive_int],
    "vocab_size": [None, Interval(numbers.Integral, 2, None, closed="left")],
    "mask_value": [None, Interval(numbers.Real, None, None, closed="neither")],
    "n_features": [None, _positive_int],
    "input_layout": [StrOptions({"ntf", "nft"})],
    "optimizer": [StrOptions(set(OPTIMIZERS)), keras.optimizers.Optimizer, type],
    "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
    "clipnorm": [None, Interval(numbers.Real, 0, None, closed="neither")],
    "batch_size": [_positive_int],
    "epochs": [_positive_int, StrOptions({"auto"})],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
    "n_iter_no_change": [_positive_int],
    "tol": [Interval(numbers.Real, 0, None, closed="left")],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
    "callbacks": [None, list, tuple, keras.callbacks.Callback],
    "warm_start": ["boolean"],
    "metrics": [None, list, tuple],
    # issue 12: long, raw-valued series and tiny training sets (see ARCHITECTURE below)
    "patch_size": [_positive_int, StrOptions({"auto"})],
    "patch_mode": [StrOptions(set(PATCH_MODES))],
    "refit_all_rows": ["boolean"],
    "pooling": [StrOptions({"auto", "last", "mean", "max", "attention"})],
    "standardize_X": ["boolean"],
    "conv_filters": [None, _positive_int, *_sizes_constraint()],
    "conv_kernel_size": [_positive_int],
    "min_updates": [Interval(numbers.Integral, 0, None, closed="left")],
    "linear_skip": [None, "boolean", _positive_int],
    "fcn_branch": ["boolean", *_sizes_constraint()],
    "gru_input": [StrOptions(set(GRU_INPUTS))],
}
CLASSIFIER_CONSTRAINTS = {
    **COMMON_CONSTRAINTS,
    "class_weight": [None, dict, StrOptions({"balanced"})],
    "crop_size": [None, Interval(numbers.Integral, 1, None, closed="left"), Interval(numbers.Real, 0, 1, closed="neither")],
    "loss": [None, StrOptions(set().union(*CLASSIFIER_LOSSES.values())), callable],
}
REGRESSOR_CONSTRAINTS = {
    **COMMON_CONSTRAINTS,
    "standardize_y": ["boolean"],
    "shrink_to_mean": ["boolean"],
    "shrink_to_linear": ["boolean"],
    # uncertainty (issue 16): quantile levels are checked in fit by _quantiles.check_quantiles
    "quantiles": [None, "array-like"],
    "mc_samples": [Interval(numbers.Integral, 2, None, closed="left")],
    "ensemble_size": [Interval(numbers.Integral, 1, None, closed="left")],
    "range_fade": [None, _NonNegativeReal()],
    "loss": [None, StrOptions(set(REGRESSOR_LOSSES)), callable],
}


# --------------------------------------------------------------------- derived


def layer_sizes(units, n_layers) -> tuple:
    """``units``/``n_layers`` -> one size per recurrent layer."""
    if isinstance(units, (tuple, list)):
        sizes = tuple(units)
        if not sizes or not all(_positive_int.is_satisfied_by(u) for u in sizes):
            raise ValueError(f"units must be a positive int or a non-empty tuple of positive ints; got {units!r}.")
        if n_layers not in (1, len(sizes)):
            raise ValueError(
                f"units={units!r} gives one size per layer ({len(sizes)} layers) but "
                f"n_layers={n_layers}; leave n_layers=1 or make them agree."
            )
        return tuple(int(u) for u in sizes)
    return (int(units),) * int(n_layers)


def optional_sizes(name, value) -> tuple:
    """Layer widths from a parameter that is None (no layer), an int or a tuple of ints."""
    if value is None:
        return ()
    if isinstance(value, numbers.Integral):
        return (int(value),)
    sizes = tuple(value)
    if not sizes or not all(_positive_int.is_satisfied_by(u) for u in sizes):
        raise ValueError(f"{name} must be None, a positive int or a tuple of positive ints; got {value!r}.")
    return tuple(int(u) for u in sizes)


# ================================================================ issue 12
# patch_size="auto": sequences (padded length t) longer than AUTO_PATCH_MAX_STEPS are
# folded into patches of p = ceil(t / AUTO_PATCH_TARGET_STEPS) steps, so the GRU runs
# about 25 steps whatever the length (GunPoint, 150 steps: CV 0.94 at 25 steps, 0.90
# at 12, 0.46 unpatched; benchmarks/README.md "Issue 12"). Shorter ones are unchanged.
AUTO_PATCH_MAX_STEPS = 40
AUTO_PATCH_TARGET_STEPS = 25

# min_updates: the patience is at least this fraction of min_updates, in updates.
PATIENCE_FRACTION_OF_MIN_UPDATES = 0.1


def resolve_patch_size(patch_size, n_timesteps, tokens=False) -> int:
    """The patch length ``p`` for sequences of ``n_timesteps`` (padded) steps."""
    if patch_size != "auto":
        if tokens and patch_size != 1:
            raise ValueError("patch_size > 1 is not supported for token input (embedding_dim is set); use patch_size=1.")
        return int(patch_size)
    if tokens or n_timesteps is None or n_timesteps <= AUTO_PATCH_MAX_STEPS:
        return 1
    return int(-(-n_timesteps // AUTO_PATCH_TARGET_STEPS))


# fcn_branch=True: GRU-FCN's published widths (Karim et al. 2017/2019: 128-256-128).
FCN_DEFAULT_FILTERS = (128, 256, 128)


def fcn_sizes(fcn_branch, tokens=False) -> tuple:
    """``fcn_branch`` -> the filters of each block of the FCN branch (() = none)."""
    if fcn_branch is None or (isinstance(fcn_branch, (bool, np.bool_)) and not fcn_branch):
        return ()
    if tokens:
        raise ValueError("fcn_branch is not supported for token input (embedding_dim is set); use fcn_branch=False.")
    if isinstance(fcn_branch, (bool, np.bool_)):
        return FCN_DEFAULT_FILTERS
    sizes = tuple(fcn_branch)
    if not sizes or not all(_positive_int.is_satisfied_by(u) for u in sizes):
        raise ValueError(f"fcn_branch must be a bool or a non-empty tuple of positive ints; got {fcn_branch!r}.")
    return tuple(int(u) for u in sizes)


def linear_skip_window(linear_skip, n_timesteps, tokens=False) -> int:
    """``linear_skip`` -> the window ``w`` of the linear skip (0 = none); True is the
    (padded) training length."""
    if linear_skip is None or (isinstance(linear_skip, (bool, np.bool_)) and not linear_skip):
        return 0
    if tokens:
        raise ValueError("linear_skip is not supported for token input (embedding_dim is set); use linear_skip=None.")
    if isinstance(linear_skip, (bool, np.bool_)):
        if n_timesteps is None:
            raise ValueError("linear_skip=True needs the training length; pass an int window instead.")
        return int(n_timesteps)
    return int(linear_skip)


def feature_statistics(X, mask_value):
    """Per-feature mean and std of ``X`` (n, t, f) over its valid steps (all features
    equal to ``mask_value`` = padding, excluded); a constant feature gets std 1."""
    flat = X.reshape(-1, X.shape[-1]).astype(np.float64)
    if mask_value is not None:
        flat = flat[~np.all(flat == np.float32(mask_value), axis=1)]
    if flat.shape[0] == 0:
        return np.zeros(X.shape[-1]), np.ones(X.shape[-1])
    mean, std = flat.mean(axis=0), flat.std(axis=0)
    std[~(std > 1e-12 * np.maximum(1.0, np.abs(mean)))] = 1.0
    return mean, std


# epochs="auto": at least this many epochs (the former default), more on small data.
AUTO_MIN_EPOCHS = 100


def training_budget(params: dict, n_samples: int) -> tuple:
    """(max epochs, patience in epochs) for a full fit on ``n_samples`` rows.

    Counts optimizer updates rather than epochs: with 36 series and batch 32 an
    epoch is 2 updates, and ``n_iter_no_change=10`` stopped after ~30 updates with
    the loss still at chance (issue 12). ``min_updates`` raises the patience to
    ``ceil(0.1 * min_updates / steps)`` epochs and, with ``epochs="auto"``, the
    epoch budget to ``max(100, ceil(min_updates / steps))``; an int ``epochs`` is
    always the hard maximum.
    """
    auto = params["epochs"] == "auto"
    epochs = AUTO_MIN_EPOCHS if auto else int(params["epochs"])
    patience = int(params["n_iter_no_change"])
    if params["early_stopping"]:
        n_samples -= int(np.ceil(params["validation_fraction"] * n_samples))
    batch_size = int(routed(params, "fit__").get("batch_size", params["batch_size"]))
    steps = max(1, -(-max(n_samples, 1) // batch_size))
    if params["min_updates"]:
        if auto:
            epochs = max(epochs, -(-int(params["min_updates"]) // steps))
        patience = max(patience, int(np.ceil(PATIENCE_FRACTION_OF_MIN_UPDATES * params["min_updates"] / steps)))
    return epochs, patience


def run_budget(params: dict, n_samples: int) -> dict:
    """The parameters a full ``fit`` on ``n_samples`` rows trains with: the epoch budget
    and patience of :func:`training_budget`, and ``lr_patience`` raised in the same
    proportion as the patience.

    Why ``lr_patience`` too: a ``"plateau"`` schedule that still counts epochs lowers the
    rate long before the update-counted stopping rule ends training. On 28 series (one
    update per epoch) the patience is 300 epochs, while ``lr_patience=5`` cut the rate
    tenfold every 5 updates without improvement; ``lr_schedule="plateau"`` then scored
    at or near chance in training-split CV on Coffee (0.48), GunPoint (0.53) and
    sim-long-var (0.27; three seeds) where the defaults scored 0.95-1.00
    (benchmarks/README.md, "Round 12").
    Scaled, ``lr_patience < n_iter_no_change`` still holds in updates as the user set it.
    ``"exponential"``'s per-epoch decay is stretched by the same factor
    (``_lr_epoch_scale``).
    """
    epochs, patience = training_budget(params, n_samples)
    lr_patience, stated = int(params["lr_patience"]), int(params["n_iter_no_change"])
    if patience > stated:
        lr_patience = max(lr_patience, -(-lr_patience * patience // stated))
    # "exponential" decays per epoch: stretched by the same factor (schedules.Schedule)
    return {"epochs": epochs, "n_iter_no_change": patience, "lr_patience": lr_patience,
            "_lr_epoch_scale": max(1.0, patience / stated)}


def input_mask_value(params: dict, input_spec):
    """The value of a padded step in converted (non-token) input: the user's
    ``mask_value``, the ragged padding, or None when nothing is padded."""
    if params["mask_value"] is not None:
        return float(params["mask_value"])
    return RAGGED_PAD_VALUE if input_spec.ragged else None


def network_spec(params: dict, input_spec, output, vocab_size, *, on_gpu: bool) -> NetworkSpec:
    """The architecture for these parameters and this data (hashable, see NetworkSpec)."""
    tokens = input_spec.tokens
    mask_value = None if tokens else input_mask_value(params, input_spec)
    n_timesteps = None
    arch = architecture(params, input_spec)
    # the length the network trains on: the input's, or crop_size's windows (shorter)
    t = params.get("_padded_timesteps", input_spec.n_timesteps)
    units = layer_sizes(params["units"], params["n_layers"])
    # Keras 3.15's unrolled loop zeroes a backward layer's masked outputs with the mask in
    # input order while the outputs are in reversed order, so valid steps read 0 (6 of 8
    # steps valid: the first two). A bidirectional GRU whose outputs are read per step
    # (pooling other than "last", or a second layer) on masked input takes the loop form.
    masked = tokens or mask_value is not None or (t is not None and t < UNROLL_BUCKET)
    backward_per_step = bool(params["bidirectional"]) and (arch["pooling"] != "last" or len(units) > 1)
    unroll = (
        not on_gpu  # cuDNN needs the loop form
        and arch["patch_size"] == 1  # patching makes the step count dynamic: the loop form takes it
        and not input_spec.ragged
        and t is not None
        and t <= UNROLL_BUCKET
        and not (masked and backward_per_step)
    )
    if unroll:
        n_timesteps = UNROLL_BUCKET
        if t < UNROLL_BUCKET and mask_value is None and not tokens:
            mask_value = RAGGED_PAD_VALUE  # the padded tail of the bucket is masked
    return NetworkSpec(
        n_timesteps=n_timesteps,
        unroll=unroll,
        n_step_features=input_spec.n_step_features,
        n_outputs=output.n_outputs,
        output_activation=output.activation,
        units=units,
        dropout=float(params["dropout"]),
        recurrent_dropout=float(params["recurrent_dropout"]),
        bidirectional=bool(params["bidirectional"]),
        activation=params["activation"],
        recurrent_activation=params["recurrent_activation"],
        dense_units=optional_sizes("dense_units", params["dense_units"]),
        l2=float(params["l2"]),
        l1=float(params["l1"]),
        embedding_dim=params["embedding_dim"],
        vocab_size=vocab_size if tokens else None,
        mask_value=mask_value,
        **arch,
    )


def architecture(params: dict, input_spec) -> dict:
    """The issue-12 fields of NetworkSpec (patching, pooling, standardisation, stem,
    linear skip, FCN branch).

    ``params["_padded_timesteps"]`` is the padded training length (set by the
    estimators' ArchitectureMixin), which decides ``patch_size="auto"`` for ragged input.
    """
    tokens = input_spec.tokens
    t = params.get("_padded_timesteps", input_spec.n_timesteps)
    patch_size = resolve_patch_size(params["patch_size"], t, tokens)
    return dict(
        patch_size=patch_size,
        patch_mode=params["patch_mode"],
        pooling=resolve_pooling(params["pooling"], patch_size),
        normalize=bool(params["standardize_X"]) and not tokens,
        conv_filters=optional_sizes("conv_filters", params["conv_filters"]),
        conv_kernel_size=int(params["conv_kernel_size"]),
        linear_skip=linear_skip_window(params["linear_skip"], t, tokens),
        fcn_filters=fcn_sizes(params["fcn_branch"], tokens),
        gru_input=gru_input(params.get("gru_input", "values"), tokens),
    )


def gru_input(value, tokens=False) -> str:
    """``gru_input`` checked against the input: token ids have no value to subtract."""
    if value != "values" and tokens:
        raise ValueError(f"gru_input={value!r} is not supported for token input (embedding_dim is set); "
                         "use gru_input='values'.")
    return value


def resolve_pooling(pooling, patch_size: int) -> str:
    """``pooling="auto"``: the max over the GRU's outputs where the series is read as
    patches (a long series, where a pattern may fall anywhere: round 6 of issue 12,
    benchmarks/README.md), its last state otherwise."""
    if pooling != "auto":
        return pooling
    return "max" if patch_size > 1 else "last"


def routed(params: dict, prefix: str) -> dict:
    return {k[len(prefix):]: v for k, v in params.items() if k.startswith(prefix)}


def check_routed(params: dict) -> None:
    for name in params:
        if "__" not in name:
            continue
        prefix, _, arg = name.partition("__")
        allowed = ROUTED.get(prefix + "__", set())
        if allowed is not None and arg not in allowed:
            raise ValueError(
                f"Unsupported routed parameter {name!r}: skgru builds and compiles the network "
                "itself and routes optimizer__<arg>, fit__batch_size, fit__shuffle and "
                "predict__batch_size only. Use the estimator's own parameters instead."
            )


def split_constructor_kwargs(cls_name: str, kwargs: dict) -> dict:
    """Routed ``**kwargs`` of ``__init__``; any other unknown keyword is a TypeError."""
    unknown = [k for k in kwargs if not k.startswith(ROUTED_PREFIXES)]
    if unknown:
        raise TypeError(
            f"{cls_name}.__init__() got an unexpected keyword argument {unknown[0]!r}. "
            f"Routed parameters must start with one of {', '.join(ROUTED_PREFIXES)}."
        )
    return kwargs


def optimizer_class_and_kwargs(params: dict):
    """(optimizer class, constructor kwargs), honouring ``optimizer__*`` routing."""
    extra = routed(params, "optimizer__")
    opt = params["optimizer"]
    if isinstance(opt, keras.optimizers.Optimizer):
        return type(opt), {**opt.get_config(), **extra}
    if isinstance(opt, str):
        opt = OPTIMIZER_CLASSES.get(opt.lower(), opt)
    if not (isinstance(opt, type) and issubclass(opt, keras.optimizers.Optimizer)):
        raise ValueError(
            f"optimizer must be one of {sorted(OPTIMIZERS)}, a keras Optimizer class or instance; "
            f"got {params['optimizer']!r}."
        )
    kwargs = {"learning_rate": float(params["learning_rate"])}
    if params["clipnorm"] is not None:
        kwargs["clipnorm"] = float(params["clipnorm"])
    kwargs.update(extra)
    return opt, kwargs


def compile_config(params: dict, loss) -> CompileConfig:
    opt_cls, opt_kwargs = optimizer_class_and_kwargs(params)
    opt_kwargs = _training_knobs.with_weight_decay(opt_cls, opt_kwargs, params)
    return CompileConfig(opt_cls, opt_kwargs, loss, params["metrics"])


def callbacks_list(callbacks) -> list:
    if callbacks is None:
        return []
    if isinstance(callbacks, keras.callbacks.Callback):
        return [callbacks]
    out = []
    for cb in callbacks:
        if isinstance(cb, type) and issubclass(cb, keras.callbacks.Callback):
            cb = cb()
        if not isinstance(cb, keras.callbacks.Callback):
            raise TypeError(f"callbacks must be Keras Callback instances or classes; got {cb!r}.")
        out.append(cb)
    return out
