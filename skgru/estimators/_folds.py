"""Fit one configuration on k cross-validation folds, fused into one computation when exact.

:func:`fit_folds` returns one normal fitted estimator per ``(train, test)`` split,
with the attributes ``clone(estimator).fit(X[train], y[train])`` would give it
(``model_``, ``history_``, ``n_iter_``, ``best_epoch_``, encoders, ...), so scoring
a fold "as if trained alone" is calling its ``predict``.  When :func:`can_fuse`
accepts the configuration the k networks are trained together by
:mod:`skgru._keras.fused` (stacked weights, batched matmuls over a model axis);
otherwise each fold is a separate fit.

What fuses (everything else falls back to k separate fits, with the reason):

* TensorFlow backend, on CPU (with a visible GPU the folds are fitted separately:
  not yet verified there).  The step is NumPy (:mod:`skgru._keras.fused_numpy`,
  no compilation) for tanh/sigmoid/relu/linear GRU activations, else the
  XLA-compiled TensorFlow step (:func:`fused_step`);
* GRUClassifier with single-label targets (binary/multiclass; sparse categorical
  crossentropy, ``class_weight``) and GRURegressor (MSE, ``standardize_y``);
* issue 12's defaults: ``standardize_X`` (each fold standardised with its own
  training rows' statistics, which its network holds), the ``conv_filters``
  stem (Conv1D ``"same"``, relu, as a per-fold im2col product), the
  ``min_updates``/``epochs="auto"`` budget (per fold, from its own size) and the
  regressor's ``shrink_to_mean`` (fitted per fold on its own validation split);
  the regressor's ``linear_skip`` (NumPy step only: each fold starts at its own
  RidgeCV fit, which early stopping scores as "epoch 0"), ``shrink_to_linear``
  and ``refit_all_rows`` (a second fused training on each fold's every row, from
  its start with the ridge refitted on those rows, for the epochs its early
  stopping chose);
  ``patch_size`` (every ``patch_mode``: folded by the stem, or max/mean-pooled over
  each patch after the convolutions) and ``pooling`` "last", "mean" or "max" (so
  the classifier's "auto", which is "max" on patched series), and "attention"
  (NumPy step only);
* the GRU, unidirectional or (NumPy step only) ``bidirectional``, any ``units``/``n_layers``,
  any (elementwise) ``activation``
  and ``recurrent_activation``, ``dense_units``, ``l2``, ``l1``, masking and ragged input,
  the unrolled short-sequence bucket, ``sample_weight``;
* ``dropout`` (NumPy step only: each fold's masks are drawn from its own layers'
  seed states, as its Keras fit draws them, see :mod:`skgru._keras.fused_dropout`)
  and ``recurrent_dropout == 0``;
* ``optimizer`` Adam (not amsgrad) or SGD (momentum, nesterov), a float
  ``learning_rate``, ``clipnorm``; no weight decay, ``clipvalue``,
  ``global_clipnorm``, EMA or gradient accumulation;
* ``lr_schedule``/``lr_decay``/``lr_patience`` (each fold's rate follows its own
  schedule, through the estimator's own epoch callback); ``weight_decay=None``;
* ``early_stopping`` (per-fold validation split, best-weight restore) and the
  ``n_iter_no_change``/``tol`` rule: a fold that stops is no longer updated;
* ``verbose=0``, no ``callbacks``, no ``metrics``, default ``loss``, no
  ``embedding_dim``;
* every fold has the same network (e.g. a classifier fold that misses a class
  has fewer outputs: fallback).

A fold whose loss becomes NaN/inf makes ``fit_folds`` raise the ValueError its
separate fit would raise (the other folds' models are then not usable either:
the block-diagonal products let a NaN reach every fold).

Any constructor parameter this module does not know (added later) must be at its
default value, and the built network must be exactly the plain layer stack the
fused step implements (:func:`skgru._keras.fused.structure_problem`); otherwise
the folds are fitted separately.
"""

from __future__ import annotations

import copy
import inspect
import numbers
import time
import warnings
from collections.abc import Sequence

import keras
import numpy as np
from sklearn.base import clone
from sklearn.utils import _safe_indexing

from skgru._keras import fused, fused_dropout
from skgru._keras.devices import visible_gpus
from skgru._keras.network import set_input_statistics
from skgru._keras.stopping import EpochTracker
from skgru.estimators import _params
from skgru.estimators._base import GRUEstimatorBase, TrainResult
from skgru.estimators._seeding import FitSeeds

# Parameters the fused step implements, with the values it accepts (None: any value
# that fit itself accepts).
_ANY = None
_KNOWN = {
    "units": _ANY, "n_layers": _ANY, "activation": _ANY, "recurrent_activation": _ANY,
    "dense_units": _ANY, "l2": _ANY, "mask_value": _ANY, "n_features": _ANY, "input_layout": _ANY,
    "learning_rate": _ANY, "clipnorm": _ANY, "batch_size": _ANY,
    "epochs": lambda v: v == "auto" or (isinstance(v, numbers.Integral) and not isinstance(v, bool)),
    "early_stopping": _ANY, "validation_fraction": _ANY, "n_iter_no_change": _ANY, "tol": _ANY,
    "random_state": _ANY, "warm_start": _ANY, "class_weight": _ANY, "standardize_y": _ANY,
    "optimizer": _ANY,  # checked through the optimizer it builds
    "vocab_size": _ANY,  # only used with embedding_dim
    # issue 18's knobs: l1 is a penalty like l2; the epoch schedules set each fold's own rate
    "l1": _ANY, "lr_schedule": _ANY, "lr_decay": _ANY, "lr_patience": _ANY,
    "weight_decay": lambda v: v is None or v == 0,
    "dropout": _ANY,  # the NumPy step replays each fold's Keras masks (see can_fuse)
    "recurrent_dropout": lambda v: v == 0,
    "bidirectional": _ANY,  # the NumPy step runs the reversed recurrence (see can_fuse)
    "embedding_dim": lambda v: v is None,
    "verbose": lambda v: not v,
    "callbacks": lambda v: v is None or (isinstance(v, (list, tuple)) and len(v) == 0),
    "metrics": lambda v: v is None,
    # issue 12's architecture: the input standardisation (each fold's own training
    # statistics), patching (folded, or max/mean-pooled after the convolutions) and
    # the Conv1D("same", relu) stem are fused.  The update-counted budget
    # (epochs="auto", min_updates) is computed per fold as fit does, and the
    # regressor's shrinkage is fitted per fold on its validation split.
    "conv_filters": _ANY, "conv_kernel_size": _ANY, "patch_size": _ANY, "patch_mode": _ANY,
    "standardize_X": _ANY,
    "min_updates": _ANY, "shrink_to_mean": _ANY,
    # "auto" resolves to "last" or "max" (patched series); "attention" (its Dense(1)
    # score layer) is fused by the NumPy step only (see can_fuse)
    "pooling": lambda v: v in ("last", "auto", "mean", "max", "attention"),
    # the regressor's defaults: the linear autoregressive skip (each fold started at its
    # own RidgeCV fit, the start scored by early stopping; NumPy step only, see
    # fused.structure_problem), the GRU head's shrinkage toward it, and the second
    # fused training on every row after early stopping
    "linear_skip": _ANY, "shrink_to_linear": _ANY, "refit_all_rows": _ANY,
    "ensemble_size": _ANY,  # fit_folds fuses each member's k folds (_ensemble_folds)
    # the GRU-FCN branch is not implemented by the fused step
    "fcn_branch": lambda v: v is False,
    # round 17: the GRU reading its steps relative to the last one (NumPy step only)
    "gru_input": _ANY,
    # round 18: applied at predict by each fold's own estimator (its input_range_ is
    # recorded by _record from the fold's rows, as fit records it)
    "range_fade": _ANY,
}
_DEFAULT_LOSS = {"classification": {None, "sparse_categorical_crossentropy"},
                 "regression": {None, "mean_squared_error", "mse"}}
# Optimizer config entries the fused update implements; any other entry must be at
# its default value.
_OPT_HANDLED = {
    keras.optimizers.Adam: {"name", "learning_rate", "beta_1", "beta_2", "epsilon", "clipnorm"},
    keras.optimizers.SGD: {"name", "learning_rate", "momentum", "nesterov", "clipnorm"},
}


# The methods whose work the fused path does (fit) or calls (the fit template's steps).
_TRAINING_METHODS = ("fit", "_validate_params", "_params_dict", "_validate_fit_data",
                     "_initialize_network", "_validation_split", "_record")


def _task(estimator):
    from skgru.estimators.classifier import GRUClassifier
    from skgru.estimators.regressor import GRURegressor

    if isinstance(estimator, GRUClassifier):
        return "classification"
    if isinstance(estimator, GRURegressor):
        return "regression"
    return None


# (optimizer class, kwargs) -> (rule, reason).  Deciding builds two Keras optimizers
# (each creates TensorFlow variables, ~3 ms) and a search decides ~15 times per trial
# (can_fuse twice, once per fold): 62 optimizers, 0.19 s of a 5 s digits grid search.
_RULES: dict = {}
_MAX_RULES = 256


def _optimizer_rule(params):
    """The fused update rule for these parameters, or (None, reason)."""
    try:
        cls, kwargs = _params.optimizer_class_and_kwargs(params)
    except Exception as exc:  # noqa: BLE001 - fit reports it; here it only means "do not fuse"
        return None, f"the optimizer could not be built ({exc})"
    key = (cls, tuple(sorted(kwargs.items())))
    try:
        cached = _RULES.get(key)
    except TypeError:  # an unhashable option (e.g. a schedule object): decide every time
        return _rule_for(cls, kwargs)
    if cached is None:
        cached = _rule_for(cls, kwargs)
        if len(_RULES) >= _MAX_RULES:
            _RULES.clear()
        _RULES[key] = cached
    return cached


def _rule_for(cls, kwargs):
    try:
        opt = cls(**kwargs)
    except Exception as exc:  # noqa: BLE001 - fit reports it; here it only means "do not fuse"
        return None, f"the optimizer could not be built ({exc})"
    if cls not in _OPT_HANDLED:
        return None, f"optimizer {cls.__name__} (only Adam and SGD are fused)"
    config = opt.get_config()
    default = cls().get_config()
    for name, value in config.items():
        if name not in _OPT_HANDLED[cls] and value != default.get(name):
            return None, f"optimizer option {name}={value!r} is not implemented by the fused step"
    if not isinstance(config["learning_rate"], (float, int)):
        return None, "a learning-rate schedule"
    rule = fused.OptimizerRule(
        kind="adam" if cls is keras.optimizers.Adam else "sgd",
        learning_rate=float(config["learning_rate"]),
        clipnorm=None if config.get("clipnorm") is None else float(config["clipnorm"]),
        beta_1=float(config.get("beta_1", 0.9)), beta_2=float(config.get("beta_2", 0.999)),
        epsilon=float(config.get("epsilon", 1e-7)), momentum=float(config.get("momentum", 0.0)),
        nesterov=bool(config.get("nesterov", False)),
    )
    return rule, None


def can_fuse(estimator, X=None, y=None) -> tuple[bool, str]:
    """Whether :func:`fit_folds` trains ``estimator``'s folds as one computation.

    Decided from the parameters alone (``X`` and ``y`` are accepted for symmetry
    with ``fit_folds``; data-dependent reasons, e.g. folds whose networks differ,
    are found in ``fit_folds`` itself, which then falls back).

    Parameters
    ----------
    estimator : estimator
        An unfitted (or fitted: only its parameters are read) estimator.
    X, y : ignored

    Returns
    -------
    fusable : bool
    reason : str
        Why not (or ``"fusable"``).
    """
    task = _task(estimator)
    if task is None:
        return False, f"{type(estimator).__name__} is not a GRUClassifier or GRURegressor"
    for name in _TRAINING_METHODS:
        method = getattr(type(estimator), name, None)
        if not getattr(method, "__module__", "").startswith(("skgru.", "sklearn.")):
            # the fused step reproduces skgru's own fit; a subclass's or a patched
            # method must run as written
            return False, f"{type(estimator).__name__}.{name} is not skgru's own (a subclass or a patch)"
    backend = keras.backend.backend()
    if backend != "tensorflow":
        return False, f"the fused step is implemented for the TensorFlow backend only (this is {backend})"
    if visible_gpus() > 0:
        # Separate fits run cuDNN's GRU there (TF32 matmuls on recent GPUs); equality
        # with the fused XLA step has not been measured on a GPU yet.
        return False, "a GPU is visible: fused training is verified on CPU only"
    params = estimator.get_params(deep=False)
    signature = inspect.signature(type(estimator).__init__).parameters
    for name, value in params.items():
        if name.startswith(_params.ROUTED_PREFIXES):
            if name.startswith("fit__") or name.startswith("predict__") or name.startswith("optimizer__"):
                continue  # fit__batch_size / fit__shuffle / predict__*: handled; optimizer__*: below
        if name in _KNOWN:
            accept = _KNOWN[name]
            if accept is not None and not accept(value):
                return False, f"{name}={value!r} is not fused"
            continue
        if name == "loss":
            if not (value is None or (isinstance(value, str) and value in _DEFAULT_LOSS[task])):
                return False, f"loss={value!r} (only the default loss is fused)"
            continue
        default = signature[name].default if name in signature else inspect.Parameter.empty
        if default is inspect.Parameter.empty or not _same(value, default):
            return False, f"parameter {name}={value!r} is unknown to the fused step"
    # decided here, before any fold is built and ridge-started (fused.structure_problem
    # would refuse the built network too)
    skip = params.get("linear_skip") not in (None, False, 0)
    if skip and task == "classification":
        return False, "a linear skip under the classifier's softmax is not fused (the regressor's only)"
    dropout = params.get("dropout", 0)
    feature = fused.numpy_only_feature(skip, params.get("pooling"),
                                       dropout if isinstance(dropout, numbers.Real) else 0,
                                       params.get("bidirectional"), params.get("gru_input", "values"))
    if feature is not None and fused_step(estimator) != "numpy":
        return False, f"{feature} is fused by the NumPy step only"
    _, reason = _optimizer_rule(params)
    if reason is not None:
        return False, reason
    return True, "fusable"


def fused_step(estimator) -> str:
    """The implementation :func:`fit_folds` trains ``estimator``'s folds with when they
    fuse: "numpy" (no trace or compilation, see :mod:`skgru._keras.fused_numpy`) or
    "xla" (the compiled TensorFlow step, for activations the NumPy step does not
    implement; ``SKGRU_FUSED_STEP`` forces either)."""
    params = estimator.get_params(deep=False)
    return fused.choose_step(params.get("activation", "tanh"), params.get("recurrent_activation", "sigmoid"))


def _same(a, b):
    try:
        return bool(a == b) if not isinstance(a, np.ndarray) else False
    except Exception:  # noqa: BLE001
        return False


def _fit_separately(estimator, X, y, splits, sample_weight):
    out = []
    for train, _ in splits:
        est = clone(estimator)
        kw = {} if sample_weight is None else {"sample_weight": _safe_indexing(sample_weight, train)}
        out.append(est.fit(_safe_indexing(X, train), _safe_indexing(y, train), **kw))
    return out


def fit_folds(estimator, X, y, splits, sample_weight=None, *, fuse="auto", optimizer_state=True,
              share_network=False):
    """Fit a clone of ``estimator`` on the training part of every split.

    Parameters
    ----------
    estimator : GRUClassifier or GRURegressor (or any sklearn estimator: fitted separately)
        The configuration; it is not modified.
    X : array-like or list of arrays
        All sequences.
    y : array-like
        All targets.
    splits : iterable of (train_idx, test_idx)
        As from ``cv.split(X, y)``; only the training indices are used.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of all samples (indexed per fold).
    fuse : {"auto", False}, default="auto"
        False: always k separate fits (for comparisons).
    optimizer_state : bool, default=True
        Store each fused fold's optimizer state (Adam's iteration count and
        moments) in its model, so a continued fit (``warm_start``) resumes it.
        False for models that are only scored and then dropped (a search's
        trials): building the optimizer variables and assigning them was 0.6 s
        of a 9 s digits grid search (21 models).  Weights, predictions and
        scores are the same either way; separate fits always keep their state.
    share_network : bool, default=False
        For models that are scored one at a time and then dropped (a search's
        trials): when the folds fuse and ``random_state`` is an int, the k
        estimators share ONE Keras model, built once instead of k times (the
        k builds were 0.83 s of a 5.6 s digits grid search: TensorFlow creates
        each variable in ~1 ms), and the result is a :class:`SharedFoldModels`:
        indexing it loads that fold's weights into the shared model, so only the
        estimator taken last is usable.  Each fold's weights (and, with
        ``optimizer_state``, optimizer state) are kept there as arrays, which
        :func:`continue_folds` continues from.  Ignored otherwise (a list of
        independent estimators is returned).

    Returns
    -------
    estimators : list or SharedFoldModels
        One fitted estimator per split, as ``clone(estimator).fit(X[train], y[train])``.
    """
    splits = [(np.asarray(tr), np.asarray(te)) for tr, te in splits]
    if fuse not in ("auto", False):
        raise ValueError(f"fuse must be 'auto' or False; got {fuse!r}.")
    ok, _ = can_fuse(estimator) if fuse == "auto" else (False, "fuse=False")
    if not ok or not splits:
        return _fit_separately(estimator, X, y, splits, sample_weight)
    if estimator.get_params(deep=False).get("ensemble_size", 1) > 1:
        from skgru.estimators._ensemble_folds import fit_ensemble_folds  # it builds on this module

        return fit_ensemble_folds(estimator, X, y, splits, sample_weight, optimizer_state, share_network)
    prepared = _prepare_folds(estimator, X, y, splits, sample_weight, share_network=share_network)
    if isinstance(prepared, str):  # a data-dependent reason not to fuse
        return _fit_separately(estimator, X, y, splits, sample_weight)
    import tensorflow as tf

    try:
        return _train_fused(prepared, optimizer_state=optimizer_state)
    except tf.errors.OpError as exc:  # e.g. XLA unavailable on this build: separate fits are still exact
        # (the NumPy step raises no OpError: an error there is a bug and propagates)
        warnings.warn(f"fold-fused training failed ({type(exc).__name__}: {str(exc)[:200]}); "
                      "fitting the folds separately.", RuntimeWarning, stacklevel=2)
        return _fit_separately(estimator, X, y, splits, sample_weight)


def fit_trial_folds(estimator, params, X, y, splits, fit_params=None, *, optimizer_state=True,
                    share_network=False):
    """For a search's trial runner: the fitted fold models of one candidate, or None.

    ``clone(estimator).set_params(**params)`` fitted on every split by
    :func:`fit_folds` (fused when it can be).  None when ``fit_params`` holds
    anything but ``sample_weight`` (the caller then fits as before).  Each model's
    ``fit_time_`` is its share of the fused wall time.  ``optimizer_state`` and
    ``share_network``: see :func:`fit_folds` (for models that are only scored).
    """
    fit_params = fit_params or {}
    if set(fit_params) - {"sample_weight"}:
        return None
    est = clone(estimator).set_params(**params)
    return fit_folds(est, X, y, splits, sample_weight=fit_params.get("sample_weight"),
                     optimizer_state=optimizer_state, share_network=share_network)


def fuse_problem(estimator, X, y, splits, sample_weight=None) -> str | None:
    """Why ``fit_folds(estimator, X, y, splits)`` would not fuse (None: it fuses)."""
    ok, reason = can_fuse(estimator)
    if not ok:
        return reason
    prepared = _prepare_folds(estimator, X, y, [(np.asarray(a), np.asarray(b)) for a, b in splits], sample_weight)
    return prepared if isinstance(prepared, str) else None


# ------------------------------------------------------------------ fused path


class _Fold:
    """One fold's estimator, its validated data, its (initial) network and the
    network's input statistics (read at once: a shared model holds the last fold's)."""

    def __init__(self, est, params, data, network, Xt, yt, swt, validation, statistics, start=None):
        self.est, self.params, self.data, self.network = est, params, data, network
        self.Xt, self.yt, self.swt, self.validation = Xt, yt, swt, validation
        self.statistics = statistics
        # a continued fit's starting point: {"weights": [...], "optimizer": {...}} (None:
        # the network's own weights, a fresh optimizer)
        self.start = start
        # a fresh fit's weights before training (read now: a shared network holds the
        # last fold's) and, with refit_all_rows, before the second training
        self.initial = None if start is not None else _model_weights(network.model, network.spec)
        self.refit_start = None
        # the dropout layers' seed states where this fit starts (a continued fit's were kept)
        self.seeds = ((start.get("seeds") or []) if start is not None
                      else fused_dropout.seed_states(network.model, network.spec))


def _fit_steps(est, X, y, train, sample_weight, continuing, reuse=None):
    """Steps 1-2 of ``est.fit(X[train], y[train])`` as ``fit`` does them (a
    ``warm_start`` continuation when ``continuing``): its parameters, validated data,
    network and validation split ``(Xt, yt, swt, validation)``.

    A fresh regression network with a linear skip starts at the ridge regression of
    the split's training part (``_validation_split`` fits it, as in
    ``ArchitectureMixin._train_network``); ``reuse``'s model is first put back to its
    built weights, which the previous fold's start replaced."""
    est._validate_params()
    params = est._params_dict()
    _params.check_routed(params)
    sw = None if sample_weight is None else _safe_indexing(sample_weight, train)
    data = est._validate_fit_data(_safe_indexing(X, train), _safe_indexing(y, train), sw, None, continuing)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the cuDNN notice: fit shows it
        network = est._initialize_network(params, data, continuing, reuse=reuse)
    if network.spec.linear_skip and not continuing:
        if reuse is not None and reuse.model is network.model:
            _assign_weights(network.model, network.spec, reuse.built)
        try:
            network.built = _model_weights(network.model, network.spec)
        except ValueError:  # not the network the fused step knows: fit_folds falls back
            network.built = None
        data.skip_network = network
    seeds = FitSeeds.from_random_state(params["random_state"])
    return params, data, network, est._validation_split(params, data, seeds)


def _prepare_folds(estimator, X, y, splits, sample_weight, share_network=False):
    """Steps 1-2 of each fold's fit, exactly as ``fit`` does them; or a reason not to fuse.

    ``share_network``: folds after the first reuse its model when their spec is the
    same (the spec check below then passes only if every fold's is), provided
    ``random_state`` is an int, so each fold's own build would give the same weights.
    """
    folds = []
    shared = None
    for train, _ in splits:
        est = clone(estimator)
        params, data, network, split = _fit_steps(est, X, y, train, sample_weight, False, reuse=shared)
        problem = fused.structure_problem(network.model, network.spec)
        if problem is not None:
            return problem
        if share_network and shared is None and isinstance(params["random_state"], numbers.Integral):
            shared = network
        statistics = fused.input_statistics(network.model, network.spec)
        fold = _Fold(est, params, data, network, *split, statistics)
        if _refits(fold):
            fold.refit_start = _refit_start(fold)
        folds.append(fold)
    spec0 = folds[0].network.spec
    for f in folds:
        if f.network.spec != spec0:
            return "the folds' networks differ (e.g. a fold misses a class)"
        expected = {"classification": ("sparse_categorical_crossentropy", "softmax"),
                    "regression": ("mean_squared_error", "linear")}[_task(f.est)]
        output = f.data.targets.output_
        if (output.loss, output.activation) != expected:
            return f"targets that need loss {output.loss!r} with a {output.activation} output (not fused)"
    if spec0.mask_value is None and len({f.Xt.shape[1:] for f in folds}) > 1:
        return "folds have different sequence lengths and no mask"
    return folds


def _refit_start(fold):
    """The weights ``refit_all_rows``' second training starts from: the built weights
    (``_persistence.restore_model`` of the snapshot taken before the first), with a
    linear skip started again at the ridge regression of every training row."""
    network = fold.network
    if getattr(fold.data, "skip_network", None) is None or network.spec.output_activation != "linear":
        return [w.copy() for w in fold.initial]
    from skgru.estimators._architecture import init_linear_skip

    _assign_weights(network.model, network.spec, network.built)
    init_linear_skip(network.model, fold.data.X, fold.data.y, fold.data.sample_weight)
    return _model_weights(network.model, network.spec)


def _prepare_continued(models, X, y, splits, sample_weight, epochs):
    """Steps 1-2 of each fold model's ``warm_start`` fit for ``epochs`` more epochs,
    exactly as ``fit`` does them, from the weights and optimizer state the kept
    :class:`SharedFoldModels` hold; or a reason not to fuse."""
    folds = []
    for j, (train, _) in enumerate(splits):
        est = models.estimator(j)
        est.set_params(warm_start=True, epochs=int(epochs))  # what the separate fit is given
        params, data, network, split = _fit_steps(est, X, y, train, sample_weight, True)
        folds.append(_Fold(est, params, data, network, *split, models.statistics(j), start=models.state(j)))
    if len({id(f.network.model) for f in folds}) != 1 or len({f.network.spec for f in folds}) != 1:
        return "the kept fold models do not share one network"
    if fused_dropout.dropout_sites(folds[0].network.spec) and not all(f.seeds for f in folds):
        return "the kept fold models have no dropout seed states to continue from"
    # e.g. SKGRU_FUSED_STEP=xla set since the trial was fitted: the compiled step has no skip
    return fused.structure_problem(folds[0].network.model, folds[0].network.spec) or folds


def _pad_rows(arrays, fill, tail_shape, dtype):
    """Stack per-fold arrays (n_j, ...) into (k, max n_j, *tail_shape), padding with ``fill``.

    Padded rows get weight 0 (never counted); padded time steps equal the mask
    value, so the GRU keeps its state over them.
    """
    n_max = max(len(a) for a in arrays)
    out = np.full((len(arrays), n_max, *tail_shape), fill, dtype=dtype)
    for j, a in enumerate(arrays):
        out[(j, slice(0, len(a)), *(slice(0, s) for s in a.shape[1:]))] = a
    return out


def _stack_data(folds, spec, task, which):
    """(X, Y, W, counts) stacked over folds for the training ("train") or validation
    part, or every training row ("all": refit_all_rows' second training)."""
    if which == "train":
        parts = [(f.Xt, f.yt, f.swt) for f in folds]
    elif which == "all":
        parts = [(f.data.X, f.data.y, f.data.sample_weight) for f in folds]
    else:
        parts = [(v[0], v[1], v[2] if len(v) > 2 else None) for v in (f.validation for f in folds)]
    t_max = max(p[0].shape[1] for p in parts)
    pad = 0.0 if spec.mask_value is None else spec.mask_value
    X = _pad_rows([np.asarray(p[0], dtype="float32") for p in parts], pad, (t_max, spec.n_step_features), "float32")
    if task == "classification":
        Y = _pad_rows([np.asarray(p[1]).astype("int32") for p in parts], 0, (), "int32")
    else:
        Y = _pad_rows([np.asarray(p[1], dtype="float32").reshape(len(p[1]), spec.n_outputs) for p in parts],
                      0.0, (spec.n_outputs,), "float32")
    W = np.zeros(Y.shape[:2], dtype="float32")
    for j, p in enumerate(parts):
        W[j, : len(p[0])] = 1.0 if p[2] is None else p[2]
    counts = np.array([len(p[0]) for p in parts], dtype="float32")
    return X, Y, W, counts


class _FoldOptimizer:
    """The optimizer surface the epoch learning-rate callback uses: fold j's rate."""

    def __init__(self, trainer, j):
        self.trainer, self.j = trainer, j

    @property
    def learning_rate(self):
        return np.float32(self.trainer.fold_learning_rate(self.j))

    @learning_rate.setter
    def learning_rate(self, value):
        self.trainer.set_fold_learning_rate(self.j, value)


class _FoldView:
    """What the epoch callbacks need of a model, for one fold's slice of the stacked state."""

    def __init__(self, trainer, j):
        self.trainer, self.j = trainer, j
        self.stop_training = False
        self.optimizer = _FoldOptimizer(trainer, j)

    def get_weights(self):
        return self.trainer.fold_weights(self.j)

    def set_weights(self, weights):
        self.trainer.set_fold_weights(self.j, weights)


def _train_fused(folds, optimizer_state=True):
    """Train the prepared folds together; fresh fits, or continued ones (``warm_start``:
    each fold starts from ``fold.start`` at its own ``network.n_iter``, as its separate
    fit continues).

    A fresh fit is ``fit``'s sequence: the (early-stopped) training, then the
    regressor's shrinkage on each fold's validation split, then, with
    ``refit_all_rows``, a second fused training on each fold's every row for the
    epochs its early stopping chose (:meth:`ArchitectureMixin._refit_all_rows`).
    """
    f0 = folds[0]
    params, spec = f0.params, f0.network.spec
    task = _task(f0.est)
    rule = _optimizer_rule(params)[0]  # equal for every fold: one configuration
    k = len(folds)
    start = time.perf_counter()
    # fit's budget (ArchitectureMixin._train_network): epochs and patience from each
    # fold's own size (min_updates counts updates), the planned epochs for the schedules
    run_params = [{**f.params, **_params.run_budget(f.params, f.data.X.shape[0])} for f in folds]
    initial = [f.start["weights"] if f.start is not None else f.initial for f in folds]
    statistics = [f.statistics for f in folds] if spec.normalize else None
    trainer = fused.borrow_trainer(spec, k, rule, task, initial, statistics)
    for j, f in enumerate(folds):  # a continued fit resumes its optimizer (engine.load "copy")
        trainer.set_fold_optimizer_state(j, None if f.start is None else f.start["optimizer"])
    first = [f.network.n_iter if f.network.continuing else 0 for f in folds]  # epochs already trained
    histories, trackers, seeds = _fused_epochs(trainer, folds, "train", run_params, first,
                                               [f.seeds for f in folds])
    results = [TrainResult(history=histories[j], n_iter=first[j] + trackers[j].epochs_run,
                           best_epoch=trackers[j].best_epoch, fit_time=0.0) for j in range(k)]
    shared = len({id(f.network.model) for f in folds}) < k
    # the regressor's shrinkage is fitted on each fold's validation split after this
    # training (_train_network's _after_selection hook), predicting with fold j's
    # weights: here, before a second training replaces them; else where they are
    # loaded for _record below (the classifier's hook does nothing)
    refit = _refits(f0)
    shrink_now = task == "regression" and refit
    if shrink_now:
        for j, f in enumerate(folds):
            _assign_weights(f.network.model, spec, trainer.fold_weights(j), f.statistics if shared else None)
            f.est._after_selection(run_params[j], f.data, f.network, results[j])
    if refit:
        # fit's second training (_refit_all_rows): from each fold's start, refitted
        # ridge included, on all its rows, for the epochs early stopping chose
        again = [{**p, "early_stopping": False, "epochs": int(r.best_epoch), "n_iter_no_change": int(r.best_epoch) + 1}
                 for p, r in zip(run_params, results)]
        trainer.reset([f.refit_start for f in folds], rule, statistics)
        # restoring the snapshot (_persistence.restore_model) puts back the dropout
        # layers' seed states too: the second training draws its masks afresh
        refits, trackers, seeds = _fused_epochs(trainer, folds, "all", again, [0] * k,
                                                [f.seeds for f in folds])
        for j, r in enumerate(results):
            history = {**r.history, **{f"refit_{key}": v for key, v in refits[j].items()}}
            shrinkage = getattr(r, "shrinkage", None)
            results[j] = TrainResult(history=history, n_iter=trackers[j].epochs_run,
                                     best_epoch=trackers[j].best_epoch, fit_time=0.0)
            results[j].shrinkage = shrinkage  # fitted on the validation split, before the refit
    elapsed = time.perf_counter() - start
    states = [] if shared else None
    for j, f in enumerate(folds):
        if shared:
            _assign_weights(f.network.model, spec, trainer.fold_weights(j), f.statistics)
        else:
            _store(trainer, j, f.network.model, spec, rule, optimizer_state)
        fused_dropout.set_seed_states(f.network.model, spec, seeds[j])
        if task == "regression" and not shrink_now:
            f.est._after_selection(run_params[j], f.data, f.network, results[j])
        results[j].fit_time = elapsed / k
        # max_epochs_, patience_ (ArchitectureMixin._record)
        results[j].budget = (run_params[j]["epochs"], run_params[j]["n_iter_no_change"])
        f.est._record(f.data, f.network, results[j])
        if shared:
            # the models that share one network keep each fold's state as arrays: its
            # weights as _record left them (shrink_to_linear scales the GRU head), and
            # (optimizer_state) its optimizer's, for a continued fit (continue_folds)
            states.append({"weights": _model_weights(f.network.model, spec),
                           "optimizer": trainer.fold_optimizer_state(j) if optimizer_state else None,
                           "seeds": seeds[j]})
    fused.give_back(trainer)
    if shared:  # the network holds another fold's weights (or none): each is loaded when taken
        return SharedFoldModels([f.est for f in folds], spec, states, [f.statistics for f in folds])
    return [f.est for f in folds]


def _refits(fold) -> bool:
    """Whether ``fit`` trains again on every row (``refit_all_rows``) after this fold's
    early-stopped training (a fresh fit only, as ArchitectureMixin._train_network)."""
    params = fold.params
    return bool(params.get("refit_all_rows") and params["early_stopping"]) and not fold.network.continuing


def _fused_epochs(trainer, folds, which, run_params, first, seeds):
    """One fused training of every fold: ``run_params[j]`` (epochs, patience, early
    stopping) for fold j, resumed at its epoch ``first[j]``, on its training part
    (``which="train"``, validation scored with early stopping) or all its rows
    (``"all"``), its dropout masks drawn from the seed states ``seeds[j]``.  Returns
    each fold's history, ended :class:`EpochTracker` (the trainer then holds each
    fold's kept weights) and dropout seed states (as its separate fit leaves them)."""
    f0 = folds[0]
    spec, task, k = f0.network.spec, _task(f0.est), len(folds)
    early = bool(run_params[0]["early_stopping"])
    fit_kwargs = _params.routed(f0.params, "fit__")
    batch_size = int(fit_kwargs.get("batch_size", f0.params["batch_size"]))
    shuffle = bool(fit_kwargs.get("shuffle", True))
    X, Y, W, n_train = _stack_data(folds, spec, task, which)
    val = _stack_data(folds, spec, task, "val") if early else None
    n_train = n_train.astype(int)
    n_epochs = [int(p["epochs"]) for p in run_params]
    rngs = [FitSeeds.from_random_state(f.params["random_state"]).shuffle for f in folds]
    views = [_FoldView(trainer, j) for j in range(k)]
    trackers, rate_callbacks = [], []
    for f, view, fold_params, done in zip(folds, views, run_params, first):
        tracker = EpochTracker(
            monitor="val_loss" if early else "loss", patience=fold_params["n_iter_no_change"],
            tol=fold_params["tol"], restore_best=early, initial_epoch=done,
        )
        tracker.set_model(view)
        tracker.on_train_begin()
        trackers.append(tracker)
        callback = _learning_rate_callback(f, fold_params)
        if callback is not None:
            callback.set_model(view)
            callback.on_train_begin()
        rate_callbacks.append(callback)
    masks = fused_dropout.FoldMasks(spec, seeds, fused_dropout.site_widths(f0.network.model, spec))
    # a fit's evaluation of its validation split calls the network once per batch
    val_calls = -(-val[3].astype(int) // batch_size) if val is not None else np.zeros(k, int)
    scored = [bool(getattr(f.data, "score_start", False)) for f in folds]
    if val is not None and any(scored):
        # the ridge start is a fitted model: early stopping may keep it ("epoch 0"),
        # as training.train(score_start=True) hands it to observe_start
        start_losses = trainer.evaluate(*val)
        masks.skip_calls(val_calls * np.asarray(scored))
        for j in np.flatnonzero(scored):
            trackers[j].observe_start({"val_loss": float(start_losses[j])})
    histories = [{} for _ in range(k)]
    steps = -(-int(n_train.max()) // batch_size)
    for epoch in range(max(n_epochs)):
        on = np.array([not v.stop_training and epoch < e for v, e in zip(views, n_epochs)], dtype="float32")
        if not on.any():
            break
        for j in range(k):
            if on[j] and rate_callbacks[j] is not None:
                rate_callbacks[j].on_epoch_begin(first[j] + epoch)
        order = np.zeros((k, steps * batch_size), dtype="int32")
        valid = np.zeros((k, steps * batch_size), dtype="float32")
        for j in range(k):
            if on[j]:  # a stopped fold's generator is not advanced (its separate fit has ended)
                perm = rngs[j].permutation(n_train[j]) if shuffle else np.arange(n_train[j])
                order[j, : n_train[j]] = perm
                valid[j, : n_train[j]] = 1.0
        dropout = ()
        if masks:  # each fold's real rows per step (a stopped fold has none)
            rows = valid.reshape(k, steps, batch_size).sum(axis=2)
            dropout = masks.train_masks(rows, batch_size)
            if epoch + 1 < max(n_epochs):  # the next epoch's, drawn while this one trains
                masks.prefetch(rows, batch_size, val_calls * (on > 0))
        losses = trainer.train_epoch(X, Y, W, order, valid, on, batch_size, dropout)
        val_losses = trainer.evaluate(*val) if val is not None else None
        if val is not None:
            masks.skip_calls(val_calls * (on > 0))
        for j in range(k):
            if not on[j]:
                continue
            logs = {"loss": float(losses[j])}
            if val_losses is not None:
                logs["val_loss"] = float(val_losses[j])
            trackers[j].on_epoch_end(first[j] + epoch, dict(logs))  # Keras hands each callback a copy
            if rate_callbacks[j] is not None:
                rate_callbacks[j].on_epoch_end(first[j] + epoch, dict(logs))
            for key, value in logs.items():
                histories[j].setdefault(key, []).append(value)
    for j, tracker in enumerate(trackers):
        if tracker.diverged_at is not None:
            raise ValueError(
                f"Training diverged on fold {j}: the loss became NaN or infinite at epoch {tracker.diverged_at}. "
                "Lower learning_rate, set clipnorm, or scale the inputs (SequenceScaler)."
            )
        tracker.on_train_end()
        if rate_callbacks[j] is not None:
            histories[j]["learning_rate"] = rate_callbacks[j].rates  # as _train_network records it
    return histories, trackers, [masks.states(j) for j in range(k)]


class SharedFoldModels(Sequence):
    """The fitted fold estimators of ``fit_folds(..., share_network=True)``.

    They share one Keras model (``est.model_`` is the same object for all), so
    ``models[j]`` first loads fold j's weights and input statistics into it (a few
    variable assignments): the estimator taken last predicts as fold j's own fit
    would; one taken before it no longer does.  Use them one at a time, as a
    search scores its folds; never hand them out.

    Each fold's weights (and, when fitted with ``optimizer_state=True``, its
    optimizer state) are kept as arrays, so :func:`continue_folds` can train the
    folds on, fused, as their ``warm_start`` fits would.  Plain data and
    estimators only: the object pickles (a search's worker sends it back).
    """

    def __init__(self, estimators, spec, states, statistics):
        self._estimators = list(estimators)
        self._spec = spec
        self._states = list(states)
        self._statistics = list(statistics)
        self._loaded = None

    def __len__(self):
        return len(self._estimators)

    def __getitem__(self, j):
        if not isinstance(j, numbers.Integral):
            raise TypeError(f"fold index must be an int; got {type(j).__name__}.")
        j = range(len(self._estimators))[j]  # negative indices; IndexError past the end
        if j != self._loaded:
            self.load(j)
        return self._estimators[j]

    def __setstate__(self, state):
        # Unpickled estimators may each hold their own copy of the network: share the
        # first again (same spec; every fold's weights are in the kept states), so the
        # folds still continue together and nothing is loaded yet.
        self.__dict__.update(state)
        model = self._estimators[0].model_
        for est in self._estimators[1:]:
            est.model_ = model
        self._loaded = None

    def load(self, j):
        """Fold j's weights and input statistics into its estimator's (shared) model."""
        _assign_weights(self._estimators[j].model_, self._spec, self._states[j]["weights"],
                        self._statistics[j])  # None without input standardisation
        fused_dropout.set_seed_states(self._estimators[j].model_, self._spec, self._states[j].get("seeds"))
        self._loaded = j

    # -- for continue_folds
    def estimator(self, j):
        """Fold j's estimator without loading its weights."""
        return self._estimators[j]

    def state(self, j):
        """``{"weights": [...], "optimizer": dict or None}`` of fold j."""
        return self._states[j]

    def statistics(self, j):
        """Fold j's input statistics ``(mean, std)`` (None: not standardised)."""
        return self._statistics[j]

    @property
    def continuable(self):
        """Whether every fold kept its optimizer state (a continued fit needs it)."""
        return all(st["optimizer"] is not None for st in self._states)

    def detach(self):
        """The fold estimators as independent copies, each with its own Keras model
        holding its fold's weights and optimizer state (what a fold-by-fold
        ``warm_start`` continuation needs when :func:`continue_folds` cannot fuse)."""
        out = []
        for j in range(len(self)):
            est = copy.deepcopy(self[j])  # its own network, fold j's weights loaded
            if self._states[j]["optimizer"] is not None:
                _write_optimizer_state(est.model_, self._spec, self._states[j]["optimizer"])
            out.append(est)
        return out


def continue_folds(models, X, y, splits, epochs, sample_weight=None, *, optimizer_state=True):
    """Train kept fold models on for ``epochs`` more epochs, fused, or return None.

    ``models`` is the :class:`SharedFoldModels` of ``fit_folds(...,
    share_network=True)`` (or of an earlier ``continue_folds``) on the same
    ``X``, ``y`` and ``splits``, with its optimizer state.  Each fold ends as its
    estimator's own ``set_params(warm_start=True, epochs=epochs).fit(X[train],
    y[train])`` would leave it (weights, optimizer state, ``n_iter_``,
    ``history_``, ``best_epoch_``; up to float32 rounding): the same validation
    split, the shuffle stream restarted from ``random_state`` as a separate
    warm start restarts it, early stopping and learning-rate schedules resumed
    from the fold's own history.  The estimators are changed in place (as the
    separate fits change them) and returned as a new :class:`SharedFoldModels`
    (with the optimizer state again when ``optimizer_state``).

    None, with nothing changed, when ``models`` is not such an object, kept no
    optimizer state, or the configuration no longer fuses; the caller then fits
    each fold separately (``models[j]`` loads fold j's weights first).
    """
    from skgru.estimators._ensemble_folds import SharedEnsembleFolds, continue_ensemble_folds

    if isinstance(models, SharedEnsembleFolds):
        return continue_ensemble_folds(models, X, y, splits, epochs, sample_weight, optimizer_state)
    if not isinstance(models, SharedFoldModels) or not models.continuable or len(models) != len(splits):
        return None
    splits = [(np.asarray(tr), np.asarray(te)) for tr, te in splits]
    probe = clone(models.estimator(0)).set_params(warm_start=True, epochs=int(epochs))
    if not can_fuse(probe)[0]:
        return None
    estimators = [models.estimator(j) for j in range(len(models))]
    before = [m.get_params(deep=False) for m in estimators]
    prepared = _prepare_continued(models, X, y, splits, sample_weight, epochs)
    if isinstance(prepared, str):
        for m, params in zip(estimators, before):
            m.set_params(**params)
        return None
    return _train_fused(prepared, optimizer_state=optimizer_state)


def _model_weights(model, spec):
    """``model``'s trainable weights as arrays, in the fused variable order (what
    :func:`_assign_weights` writes back)."""
    return [v.numpy() for v in fused.model_variables(model, spec)]


def _assign_weights(model, spec, weights, statistics=None):
    """One fold's trained weights (and, for a shared model, its input statistics) into ``model``."""
    for var, w in zip(fused.model_variables(model, spec), weights):
        var.assign(w)
    if statistics is not None:
        set_input_statistics(model, *statistics)


def _learning_rate_callback(fold, params):
    """The estimator's per-epoch learning-rate callback for this fit (None before issue 18's knobs)."""
    try:
        from skgru.estimators import _training_knobs
    except ImportError:
        return None
    # the fold's own record of the epochs it trained (empty for a fresh fit), as
    # _train_network passes it: a continued "plateau" schedule resumes from its history
    return _training_knobs.epoch_schedule(params, fold.network.compile_config.optimizer_kwargs,
                                          fold.network.history, fold.network.n_iter)


def _store(trainer, j, model, spec, rule, optimizer_state=True):
    """Fold j's weights and (``optimizer_state``) optimizer state into its own model
    (as ``engine.store`` does)."""
    _assign_weights(model, spec, trainer.fold_weights(j))
    if optimizer_state:
        _write_optimizer_state(model, spec, trainer.fold_optimizer_state(j))


def _write_optimizer_state(model, spec, state):
    """A fused fold's optimizer state (``trainer.fold_optimizer_state``) into ``model.optimizer``."""
    opt = model.optimizer
    trainable = fused.model_variables(model, spec)
    if not opt.built:
        opt.build(model.trainable_variables)
    opt.iterations.assign(state["iterations"])
    opt.learning_rate = state["learning_rate"]
    slots = {"m": state["m"], "v": state["v"]}
    names = {"m": "momentum", "v": "velocity"}
    for key, values in slots.items():
        if values is None:
            continue
        found = [v for v in opt.variables if names[key] in v.name]
        if len(found) != len(model.trainable_variables):
            continue  # unknown slot layout: the optimizer restarts on a continued fit
        by_ref = dict(zip([id(v) for v in model.trainable_variables], found))
        for var, value in zip(trainable, values):
            slot = by_ref.get(id(var))
            if slot is not None and tuple(slot.shape) == value.shape:
                slot.assign(value)
