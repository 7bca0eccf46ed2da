"""Evaluate one trial (one hyperparameter configuration) with sklearn scoring.

Kept free of any KerasTuner object so that it can run in a joblib (loky) or Dask
worker: everything it needs is passed in, everything it produces is returned.
"""

from __future__ import annotations

import contextlib
import os
import time
import traceback
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import _num_samples

__all__ = ["evaluate_candidate", "failed_result", "final_estimator", "fused_refit",
           "index_fit_params", "run_trial"]


def final_estimator(est):
    """The last step of (nested) pipelines, else ``est`` itself."""
    while hasattr(est, "steps") and est.steps:
        est = est.steps[-1][1]
    return est


def index_fit_params(fit_params, indices, n_samples):
    """Subset sample-aligned fit params (``sample_weight``...) to ``indices``."""
    out = {}
    for key, value in fit_params.items():
        try:
            aligned = value is not None and _num_samples(value) == n_samples
        except TypeError:
            aligned = False
        out[key] = _safe_indexing(value, indices) if aligned else value
    return out


def _check_finite_training(est):
    """Raise if the training loss went NaN/inf (Keras ``history_`` or MLP)."""
    final = final_estimator(est)
    history = getattr(final, "history_", None)
    losses = None
    if isinstance(history, dict) and "loss" in history:
        losses = history["loss"]
    elif getattr(final, "loss_curve_", None) is not None:
        losses = final.loss_curve_
    if losses is not None:
        arr = np.asarray(losses, dtype=float)
        if arr.size and not np.all(np.isfinite(arr)):
            epoch = int(np.argmin(np.isfinite(arr)))
            raise FloatingPointError(f"non-finite training loss at epoch {epoch + 1}")


def _short_error(exc):
    msg = str(exc).strip().splitlines()
    first = msg[0] if msg else ""
    if len(first) > 300:
        first = first[:297] + "..."
    return f"{type(exc).__name__}: {first}"


# The NumPy fused step (the default for tanh/sigmoid/relu/linear GRUs) has no trace or
# compilation, so fusing pays from the first trial: 3 folds of 40 rows x 2 epochs
# take 0.23-0.38 s fused against 0.28-2.9 s separately (2-core VM, load 3.5; the
# separate fits' first call traces an engine).  The compiled (XLA) step, used for
# other activations, is traced and compiled once per network structure (widths
# padded to 32), fold count and update rule: 5-13 s on the shared 2-core VM, against
# ~0.8 s to trace a separate fit's engine.  It saves ~10-15 ms per training step at
# k=5 (digits, Conv1D(64) stem + GRU(16/32)), so a search's first trial pays from
# roughly 400-1000 steps per fold, later trials of the same structure at once:
# "auto" fuses XLA trials from this many updates per fold (epochs x steps per epoch).
MIN_FUSED_STEPS = 400


def fused_trials_mode() -> str:
    """``SKGRU_FUSED_TRIALS``: "0" (off), "auto" (default: fuse every trial the NumPy
    step trains, and XLA-step trials with at least :data:`MIN_FUSED_STEPS` updates per
    fold) or "always"."""
    value = os.environ.get("SKGRU_FUSED_TRIALS", "auto").strip().lower()
    if value in ("0", "false", "no", "off"):
        return "off"
    return "always" if value in ("1", "true", "yes", "on", "always") else "auto"


def _updates_per_fold(est, n_train):
    params = est.get_params(deep=False)
    epochs = params.get("epochs")
    epochs = 100 if epochs == "auto" else int(epochs)
    batch = params.get("fit__batch_size", params.get("batch_size")) or 32
    return epochs * -(-int(n_train) // int(batch))


def _fused_fold_models(estimator, run_params, X, y, splits, fit_params, keep_models=True):
    """A fresh trial's k fitted fold models from one fold-fused fit, or None.

    None (the caller then fits each split on its own) unless fusing is enabled
    (and, in "auto" mode, the trial trains long enough to pay), the configured
    estimator is one :func:`skgru.estimators._folds.can_fuse` accepts and
    ``fit_params`` holds nothing but ``sample_weight``.  Each model
    is what ``clone(estimator).set_params(**run_params).fit(X[train], y[train])``
    gives (up to float32 rounding), so it is scored as if trained alone.
    Returns ``(models, seconds)``: the wall time of the whole fused fit.  With a
    seeded configuration the models share one Keras model
    (:class:`skgru.estimators._folds.SharedFoldModels`: the caller scores
    ``models[k]`` before taking ``models[k + 1]``); models that are kept for a
    promotion (``keep_models``) also keep each fold's optimizer state, as arrays,
    which a promotion continues from (:func:`_continued_fold_models`).  Building
    k Keras models and writing their optimizer variables was ~90% of a fresh
    1-epoch ASHA trial on digits (0.1 s of 0.14 s).
    """
    mode = fused_trials_mode()
    if y is None or not splits or mode == "off":
        return None
    from skgru.estimators._folds import can_fuse, fit_trial_folds, fused_step

    configured = clone(estimator).set_params(**run_params)
    if not can_fuse(configured)[0]:
        return None
    if (mode == "auto" and fused_step(configured) == "xla"
            and _updates_per_fold(configured, min(len(tr) for tr, _ in splits)) < MIN_FUSED_STEPS):
        return None
    return _timed_quietly(lambda: fit_trial_folds(estimator, run_params, X, y, splits, fit_params,
                                                  optimizer_state=keep_models, share_network=True))


def _timed_quietly(fit):
    """``(models, seconds)`` of a fused fit ``fit()`` run without its UserWarnings (the
    separate fits of a trial silence them too), or None when it returned None."""
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        models = fit()
    if models is None:
        return None
    return models, time.perf_counter() - t0


def _continued_fold_models(parent_models, more, X, y, splits, fit_params, keep_models):
    """A promoted trial's k fold models, continued ``more`` epochs by one fused fit, or None.

    ``parent_models`` are the kept fold models of the parent trial.  When a fused
    fit kept them (:class:`skgru.estimators._folds.SharedFoldModels`, with their
    optimizer state) they continue together, each as its own ``warm_start`` fit
    would (:func:`skgru.estimators._folds.continue_folds`); None otherwise (the
    caller continues each fold separately).  Returns ``(models, seconds)``.
    """
    if y is None or not splits or fused_trials_mode() == "off":
        return None
    if set(fit_params or {}) - {"sample_weight"}:
        return None
    from skgru.estimators._folds import continue_folds

    return _timed_quietly(lambda: continue_folds(parent_models, X, y, splits, more,
                                                 sample_weight=(fit_params or {}).get("sample_weight"),
                                                 optimizer_state=keep_models))


def fused_refit(estimator, X, y, fit_params):
    """``estimator`` fitted on all of ``X``, ``y`` by the NumPy fused step, or None.

    A search's refit is one more fit of the best configuration.  A separate fit's
    first call in a process traces its training engine (1.5-4 s on the 2-core VM,
    the largest one-off cost of a fused search once trials need no compilation);
    the NumPy step has none, and :func:`skgru.estimators._folds.fit_folds` with one
    split holding every row gives what ``estimator.fit(X, y)`` gives, up to float32
    rounding (the fold models' guarantee).  None (the caller fits as usual) unless
    fused trials are on, the estimator fuses with the NumPy step (a compiled step
    would pay a compilation for a single fit) and ``fit_params`` holds nothing but
    ``sample_weight``.
    """
    fit_params = fit_params or {}
    if fused_trials_mode() == "off" or y is None or set(fit_params) - {"sample_weight"}:
        return None
    from skgru.estimators._folds import can_fuse, fit_folds, fused_step

    if not can_fuse(estimator)[0] or fused_step(estimator) != "numpy":
        return None
    everything = np.arange(_num_samples(X))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        (fitted,) = fit_folds(estimator, X, y, [(everything, everything[:0])],
                              sample_weight=fit_params.get("sample_weight"))
    return fitted


def evaluate_candidate(
    estimator,
    params,
    X,
    y,
    splits,
    scorer,
    fit_params=None,
    *,
    score_params=None,
    return_train_score=False,
    error_score=np.nan,
    objective=None,
    budget_param=None,
    budget=None,
    warm_start_param=None,
    parents=None,
    keep_models=False,
    tie_break=None,
):
    """Fit and score one configuration on every split.

    Parameters
    ----------
    estimator : unfitted estimator (cloned for each split).
    params : dict applied with ``set_params`` (already includes the seed).
    splits : list of (train_idx, test_idx).
    scorer : callable returning a float or a dict of floats.
    fit_params, score_params : dict
        Routed to the estimator's ``fit`` and to the scorer; sample-aligned
        values are indexed with the split.
    return_train_score : bool
        Also score the training part of every split.
    error_score : "raise" or float
        ``"raise"``: any error propagates.  Otherwise the trial is FAILED (the
        scores of a failed trial are filled with ``error_score`` later).
    objective : str or None
        The metric the oracle maximises (None: the first a dict scorer gives).
    budget_param, budget : the epoch-like parameter and its cumulative value.
    warm_start_param : name of the warm-start switch (``warm_start`` or
        ``step__warm_start``); needed to continue ``parents``.
    parents : None or ``(models, parent_budget)``
        ``models``: the parent trial's fitted estimators, one per split (a list,
        or the :class:`skgru.estimators._folds.SharedFoldModels` a fused trial
        kept): continue training those for ``budget - parent_budget`` more
        epochs instead of training from scratch (Hyperband / ASHA promotion);
        fused when the parent's folds were.
    keep_models : bool, return the fitted estimators (for later promotion).
    tie_break : None or "log_loss"
        ``"log_loss"``: also compute each split's log loss of ``predict_proba``
        (``TunedGRU(tie_break="log_loss")`` ranks trials tied at the best score by
        it, and ASHA with ``promote_by="log_loss"`` its rungs); NaN where the
        estimator has none or it cannot be computed.

    Returns
    -------
    dict with ``scores`` and ``train_scores`` (``{metric: [one per split]}``;
    empty for a failed trial, ``train_scores`` None unless asked),
    ``multimetric``, ``fit_times``, ``score_times`` (one per split), ``error``
    (None or a one-line message), ``traceback``, ``models`` (list or None),
    ``epochs_trained`` (new epochs trained, summed over splits),
    ``continued`` (whether parents were continued) and ``tie_break_losses``
    (one per split, or None without ``tie_break``).

    A fresh trial (no ``parents``) of a fusable GRU estimator trains its k
    fold models as one computation (:func:`skgru.estimators._folds.fit_folds`;
    ``SKGRU_FUSED_TRIALS``: see :func:`fused_trials_mode`); its ``fit_times``
    are then the fused wall time split evenly over the splits (the folds train
    together, so no per-fold time exists); ``score_times`` are measured per
    split as usual.
    """
    from skgru.tuning._scoring import SearchConfigError, score_split

    fit_params = fit_params or {}
    score_params = score_params or {}
    n_samples = _num_samples(X)
    res = {"scores": {}, "train_scores": {} if return_train_score else None,
           "multimetric": False, "fit_times": [], "score_times": [], "error": None,
           "traceback": None, "models": None, "epochs_trained": 0,
           "continued": parents is not None,
           "tie_break_losses": [] if tie_break == "log_loss" else None}
    models = []
    fused = None
    parent_models = more = None
    if parents is not None:
        parent_models, parent_budget = parents
        more = int(budget) - int(parent_budget)
    run_params = dict(params)
    if budget_param is not None and budget is not None:
        run_params[budget_param] = int(budget)
    t0 = time.perf_counter()
    try:
        if parents is None:
            fused = _fused_fold_models(estimator, run_params, X, y, splits, fit_params,
                                       keep_models)
        else:
            fused = _continued_fold_models(parent_models, more, X, y, splits, fit_params,
                                           keep_models)
            if fused is None and hasattr(parent_models, "detach"):  # a SharedFoldModels
                # kept by a fused fit but not continued fused: one network per fold
                parent_models = parent_models.detach()
    except Exception as exc:  # noqa: BLE001 - recorded as the trial's failure, as a split's would be
        if (isinstance(error_score, str) and error_score == "raise") or isinstance(
                exc, SearchConfigError):
            raise
        res["error"] = _short_error(exc)
        res["traceback"] = traceback.format_exc()
        res["fit_times"] = [(time.perf_counter() - t0) / len(splits)] * len(splits)
        res["score_times"] = [0.0] * len(splits)
        return res
    # new epochs each split trains
    trained = more if parents is not None else (int(budget) if budget is not None else 0)
    for k, (train, test) in enumerate(splits):
        X_train, X_test = _safe_indexing(X, train), _safe_indexing(X, test)
        if y is None:
            y_train = y_test = None
        else:
            y_train, y_test = _safe_indexing(y, train), _safe_indexing(y, test)
        fp = index_fit_params(fit_params, train, n_samples)
        t0 = time.perf_counter()
        try:
            if fused is not None:
                est = fused[0][k]
            elif parents is not None:
                est = parent_models[k]
                est.set_params(**{warm_start_param: True, budget_param: more})
            else:
                est = clone(estimator).set_params(**run_params)
            if fused is None:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", category=UserWarning)
                    est.fit(X_train, y_train, **fp)
            _check_finite_training(est)
            fit_time = time.perf_counter() - t0 if fused is None else fused[1] / len(splits)
            t1 = time.perf_counter()
            test_params = index_fit_params(score_params, test, n_samples)
            with _one_forward_pass(est, X_test, res["tie_break_losses"] is not None):
                scores, multi = score_split(scorer, est, X_test, y_test, test_params,
                                            error_score, objective)
                score_time = time.perf_counter() - t1
                if res["tie_break_losses"] is not None:
                    res["tie_break_losses"].append(
                        split_log_loss(est, X_test, y_test, test_params))
            if return_train_score:
                train_scores, _ = score_split(
                    scorer, est, X_train, y_train,
                    index_fit_params(score_params, train, n_samples), error_score, objective)
        except Exception as exc:  # noqa: BLE001 - every failure is recorded
            if (isinstance(error_score, str) and error_score == "raise") or isinstance(
                    exc, SearchConfigError):
                raise
            res["error"] = (f"split {k}: " if len(splits) > 1 else "") + _short_error(exc)
            res["traceback"] = traceback.format_exc()
            res["fit_times"].append(time.perf_counter() - t0)
            res["score_times"].append(0.0)
            res["scores"] = {}
            res["train_scores"] = {} if return_train_score else None
            res["fit_times"] += [0.0] * (len(splits) - len(res["fit_times"]))
            res["score_times"] += [0.0] * (len(splits) - len(res["score_times"]))
            return res
        res["multimetric"] = multi
        for name, value in scores.items():
            res["scores"].setdefault(name, []).append(value)
        if return_train_score:
            for name, value in train_scores.items():
                res["train_scores"].setdefault(name, []).append(value)
        res["fit_times"].append(fit_time)
        res["score_times"].append(score_time)
        res["epochs_trained"] += trained
        if keep_models:
            models.append(est)
    if keep_models:
        # a fused fit's own container: it keeps the folds' state for a fused continuation
        res["models"] = fused[0] if fused is not None else models
    return res


def _one_forward_pass(estimator, X, needed):
    """A GRU estimator's outputs for ``X`` computed once for its score and its log
    loss (when ``needed``); any other estimator predicts as it does."""
    reuse = getattr(estimator, "_outputs_reused_for", None)
    return reuse(X) if needed and reuse is not None else contextlib.nullcontext()


def split_log_loss(estimator, X, y, score_params):
    """The log loss of ``estimator.predict_proba(X)`` on ``y`` (weighted by the
    scorer's ``sample_weight`` when it has one), or NaN where there is none: a
    regressor, multi-output targets, or probabilities that do not fit ``y``.

    A secondary criterion only (``tie_break``, ASHA's ranking), so it never
    fails a trial (a trial without one is not promoted by ASHA).
    """
    from sklearn.metrics import log_loss

    if y is None or not hasattr(estimator, "predict_proba"):
        return float("nan")
    try:
        proba = estimator.predict_proba(X)
        labels = getattr(estimator, "classes_", None)
        if labels is not None:
            proba, labels = _with_unseen_labels(proba, np.asarray(labels), y)
        return float(log_loss(y, proba, labels=labels,
                              sample_weight=score_params.get("sample_weight")))
    except (ValueError, TypeError, AttributeError):
        return float("nan")


def _with_unseen_labels(proba, classes, y):
    """``proba`` with a zero column for each label of ``y`` its model never saw.

    A class with fewer members than folds (or a group split that holds a whole
    class) leaves a validation split with a label its training rows lacked:
    ``log_loss`` refuses such a ``y``, and a NaN loss for every trial would
    stop ASHA promoting anything.  The model gave that label no probability,
    which is its loss: large (sklearn clips the zero) and finite.
    """
    y = np.asarray(y)
    if proba.ndim != 2 or y.ndim != 1 or proba.shape[1] != len(classes):
        return proba, classes
    unseen = np.setdiff1d(np.unique(y), classes)
    if unseen.size == 0:
        return proba, classes
    labels = np.concatenate([classes, unseen])
    return np.hstack([proba, np.zeros((len(proba), unseen.size))]), labels


def failed_result(n_splits, error, tb=None):
    """The result of a trial that could not run (e.g. its worker died)."""
    return {"scores": {}, "train_scores": None, "multimetric": False,
            "fit_times": [0.0] * n_splits,
            "score_times": [0.0] * n_splits, "error": error, "traceback": tb,
            "models": None, "epochs_trained": 0, "continued": False,
            "tie_break_losses": None}


def run_trial(shared, job):
    """Worker-side entry point for a distributed trial.

    ``shared`` holds what every trial of a search uses (``estimator``, ``X``,
    ``y``, ``splits``, ``scorer``, ``fit_params``; sent to the workers once);
    ``job`` what is specific to this trial (``params``, budget, parents).
    """
    return evaluate_candidate(**shared, **job)
