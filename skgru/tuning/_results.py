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


def build_cv_results(records, n_splits):
    """``records``: list of trial dicts (see ``SearchSession`` in ``_session.py``)."""
    n = len(records)
    results = {}
    names = []
    for rec in records:
        for name in rec["params"]:
            if name not in names:
                names.append(name)
    for name in names:
        present = [name in rec["params"] for rec in records]
        values = [rec["params"].get(name) for rec in records]
        results[f"param_{name}"] = _param_array(values, present)
    results["params"] = [dict(rec["params"]) for rec in records]

    scores = np.full((n, n_splits), np.nan)
    for i, rec in enumerate(records):
        scores[i, : len(rec["scores"])] = rec["scores"]
    for k in range(n_splits):
        results[f"split{k}_test_score"] = scores[:, k]
    with np.errstate(all="ignore"):
        failed = np.array([rec["status"] != "COMPLETED" for rec in records], dtype=bool)
        mean = np.where(failed, np.nan, scores.mean(axis=1)) if n else np.array([])
        std = np.where(failed, np.nan, scores.std(axis=1)) if n else np.array([])
    results["mean_test_score"] = mean
    results["std_test_score"] = std
    results["rank_test_score"] = rank_scores(mean)

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
    return results
