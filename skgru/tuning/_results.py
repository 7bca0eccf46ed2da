"""Build sklearn-style ``cv_results_`` from trial records."""

from __future__ import annotations

import numbers

import numpy as np
from scipy.stats import rankdata

__all__ = ["build_cv_results"]


def _param_array(values, present):
    """A masked array like sklearn's ``param_<name>`` columns."""
    n = len(values)
    kept = [v for v, p in zip(values, present) if p]
    dtype = object
    if kept and all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                    for v in kept):
        dtype = np.int64
    elif kept and all(isinstance(v, numbers.Real) and not isinstance(v, bool)
                      for v in kept):
        dtype = np.float64
    if dtype is object:
        data = np.empty(n, dtype=object)
        for i, v in enumerate(values):
            data[i] = v
    else:
        data = np.array([v if p else 0 for v, p in zip(values, present)], dtype=dtype)
    return np.ma.MaskedArray(data, mask=[not p for p in present])


def rank_scores(means):
    means = np.asarray(means, dtype=float)
    if means.size == 0:
        return np.array([], dtype=np.int32)
    if np.all(np.isnan(means)):
        return np.ones(means.size, dtype=np.int32)
    filled = np.where(np.isnan(means), np.nanmin(means) - 1, means)
    return np.asarray(rankdata(-filled, method="min"), dtype=np.int32)


def metric_names(records):
    """The metric names of a search, in the order its scorer returned them."""
    names = []
    for rec in records:
        for name in rec["scores"] or {}:
            if name not in names:
                names.append(name)
    return names


def _score_columns(results, records, names, n_splits, key, error_score, rank):
    """``split<k>_<key>_<name>``, ``mean_<key>_<name>``, ``std_...`` (and ranks)."""
    n = len(records)
    failed = np.array([rec["status"] != "COMPLETED" for rec in records], dtype=bool)
    fill = np.nan if isinstance(error_score, str) else float(error_score)
    for name in names:
        scores = np.full((n, n_splits), np.nan)
        for i, rec in enumerate(records):
            values = (rec.get(key + "_scores_dict") or {}).get(name)
            if failed[i]:
                scores[i, :] = fill
            elif values is not None:
                scores[i, : len(values)] = values
        for k in range(n_splits):
            results[f"split{k}_{key}_{name}"] = scores[:, k]
        with np.errstate(all="ignore"):
            mean = scores.mean(axis=1) if n else np.array([])
            std = scores.std(axis=1) if n else np.array([])
        results[f"mean_{key}_{name}"] = mean
        results[f"std_{key}_{name}"] = std
        if rank:
            # Failed trials rank after every completed one, whatever error_score is:
            # a failed configuration is never the best.
            results[f"rank_{key}_{name}"] = rank_scores(np.where(failed, np.nan, mean))


def build_cv_results(records, n_splits, error_score=np.nan, names=None,
                     return_train_score=False, tie_break=False, promotion_log_loss=False):
    """sklearn's ``cv_results_`` from trial records (see ``SearchSession``).

    Parameters
    ----------
    records : list of dict
    n_splits : int
    error_score : float or "raise"
        The split scores of FAILED trials.
    names : list of str or None
        The metric names (default: those the records hold).
    return_train_score : bool
    tie_break : bool
        Add ``tie_break_log_loss`` (see :func:`tie_break_losses`).
    promotion_log_loss : bool
        Add ``promotion_log_loss``: the same losses, what ASHA ranked its rungs
        by (``promote_by="log_loss"``).
    """
    n = len(records)
    results = {}
    names_p = []
    for rec in records:
        for name in rec["params"]:
            if name not in names_p:
                names_p.append(name)
    for name in names_p:
        present = [name in rec["params"] for rec in records]
        values = [rec["params"].get(name) for rec in records]
        results[f"param_{name}"] = _param_array(values, present)
    results["params"] = [dict(rec["params"]) for rec in records]

    names = list(names) if names is not None else metric_names(records)
    view = [dict(rec, test_scores_dict=rec["scores"], train_scores_dict=rec["train_scores"])
            for rec in records]
    _score_columns(results, view, names, n_splits, "test", error_score, rank=True)
    if return_train_score:
        _score_columns(results, view, names, n_splits, "train", error_score, rank=False)

    def _times(key, fn):
        return np.array([fn(rec[key]) if rec[key] else 0.0 for rec in records], dtype=float)

    results["mean_fit_time"] = _times("fit_times", np.mean)
    results["std_fit_time"] = _times("fit_times", np.std)
    results["mean_score_time"] = _times("score_times", np.mean)
    results["std_score_time"] = _times("score_times", np.std)
    results["status"] = np.array([rec["status"] for rec in records], dtype=object)
    results["error"] = np.array([rec["error"] or "" for rec in records], dtype=object)
    results["budget"] = np.ma.MaskedArray(
        np.array([rec["budget"] if rec["budget"] is not None else 0 for rec in records],
                 dtype=np.int64),
        mask=[rec["budget"] is None for rec in records],
    )
    results["epochs_trained"] = np.array([rec["epochs_trained"] for rec in records],
                                         dtype=np.int64)
    results["trial_id"] = np.array([rec["trial_id"] for rec in records], dtype=object)
    results["parent_trial_id"] = np.array(
        [rec.get("parent_id") for rec in records], dtype=object)
    results["bracket"] = np.array(
        [rec.get("bracket") if rec.get("bracket") is not None else -1 for rec in records],
        dtype=np.int64)
    results["round"] = np.array(
        [rec.get("round") if rec.get("round") is not None else -1 for rec in records],
        dtype=np.int64)
    if tie_break:
        results["tie_break_log_loss"] = tie_break_losses(records)
    if promotion_log_loss:
        results["promotion_log_loss"] = tie_break_losses(records)
    return results


def mean_log_loss(losses):
    """The mean of one trial's per-split log losses; NaN where any is missing
    (not computed, no ``predict_proba``, an older state)."""
    if losses and np.all(np.isfinite(losses)):
        return float(np.mean(losses))
    return float("nan")


def tie_break_losses(records):
    """Each trial's mean log loss over its splits (TunedGRU's ``tie_break``, and
    what ASHA ranks by with ``promote_by="log_loss"``); NaN where it was not
    computed (a failed trial, no ``predict_proba``, an older state)."""
    return np.array([mean_log_loss(rec.get("tie_break_losses")) if rec["status"] == "COMPLETED"
                     else np.nan for rec in records], dtype=float)
