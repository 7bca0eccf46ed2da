"""``TunedGRU.param_importances_``: how much each searched parameter mattered.

Computed with Optuna's fANOVA evaluator (``FanovaImportanceEvaluator``,
Hutter et al. 2014): a random forest is fitted to (parameters -> mean test
score of the refit metric) over the completed trials, and each parameter's
importance is the share of the forest's variance its main effect explains
(normalised to sum to 1).  It works for every tuner, not only ``"tpe"``: the
completed rows of ``cv_results_`` are added to a throw-away Optuna study.

How values become fANOVA inputs: integers -> an integer range, other numbers ->
a float range (on a log scale when all are positive and span a factor >= 100,
as learning rates do), anything else (strings, None, tuples) -> categories
named by ``repr``.  Parameters with a single tried value are left out, and only
parameters present in every completed trial count (Optuna's rule for
conditional spaces).  Failed trials are ignored.

Multi-fidelity searches (``tuner="asha"`` / ``"hyperband"``) score trials after
different numbers of epochs, and the epochs then explain more of the scores than
any parameter: a planted parameter the score never read got 0.02-0.08 of the
importance over 40 Hyperband trials mixing 1-, 3- and 9-epoch rows (4 seeds),
0.002-0.009 in a random search of the same space.  So only the rows of one
budget count (:func:`rows_at_one_budget`): the one with the most completed
configurations, which for ASHA is its bottom rung, where every configuration
starts.  When every counted trial scored the same there is nothing to explain,
and a ``ValueError`` says so.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

__all__ = ["param_importances", "rows_at_one_budget"]

_LOG_SPAN = 100.0  # a positive range spanning >= this factor is searched on a log scale


def _distribution(values, optuna):
    d = optuna.distributions
    numeric = all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values)
    if numeric:
        lo, hi = float(min(values)), float(max(values))
        if all(isinstance(v, numbers.Integral) for v in values):
            return d.IntDistribution(int(lo), int(hi)), int
        log = lo > 0 and hi / lo >= _LOG_SPAN
        return d.FloatDistribution(lo, hi, log=log), float
    choices = sorted({repr(v) for v in values})
    return d.CategoricalDistribution(choices), repr


def _completed(cv_results, score_key):
    """``(scores, ok)``: the column as floats, and which rows completed with a finite
    score (failed trials are ignored)."""
    scores = np.asarray(cv_results[score_key], dtype=float)
    ok = np.isfinite(scores)
    status = cv_results.get("status")
    if status is not None:
        ok &= np.array([s == "COMPLETED" for s in status])
    return scores, ok


def rows_at_one_budget(cv_results, score_key):
    """``cv_results`` cut to the completed rows of its most common epoch budget.

    Only for multi-fidelity rows (a ``bracket`` column, set by Hyperband's and
    ASHA's schedules): elsewhere ``budget`` is a searched ``epochs`` value, a
    parameter like any other.  Returns ``cv_results`` itself when the completed
    rows share one budget.  Ties between budgets go to the larger one (scores
    closer to the final ones).
    """
    budget, bracket = cv_results.get("budget"), cv_results.get("bracket")
    if budget is None or bracket is None or not np.any(np.asarray(bracket) >= 0):
        return cv_results
    scores, ok = _completed(cv_results, score_key)
    ok &= ~np.ma.getmaskarray(budget)
    values = np.ma.getdata(budget)
    budgets, counts = np.unique(values[ok], return_counts=True)
    if len(budgets) < 2:
        return cv_results
    chosen = budgets[counts == counts.max()].max()
    rows = np.flatnonzero(ok & (values == chosen))
    # only completed rows are kept, so param_importances needs no status column
    return {score_key: scores[rows], "params": [cv_results["params"][i] for i in rows]}


def param_importances(cv_results, score_key, names=None, seed=0):
    """``{param: importance}`` (descending, summing to 1) for a search's results.

    Parameters
    ----------
    cv_results : dict
        ``TunedGRU.cv_results_`` (or any sklearn search's).
    score_key : str
        The column to explain, e.g. ``"mean_test_score"``.
    names : list of str or None
        Parameters to consider (default: every ``param_<name>``).
    seed : int
        Seed of the fANOVA forest.
    """
    from skgru.tuning._tpe import import_optuna, quiet_optuna

    optuna = import_optuna()
    from optuna.importance import FanovaImportanceEvaluator, get_param_importances

    scores, ok = _completed(cv_results, score_key)
    rows = [i for i in np.flatnonzero(ok)]
    params = cv_results["params"]
    if names is None:
        names = [k[len("param_"):] for k in cv_results if k.startswith("param_")]
    if len(rows) < 2:
        raise ValueError(f"param_importances_ needs at least 2 completed trials, "
                         f"got {len(rows)}.")
    dists, encode = {}, {}
    for name in names:
        if not all(name in params[i] for i in rows):
            continue  # conditional: not in every trial
        values = [params[i][name] for i in rows]
        if len({repr(v) for v in values}) < 2:
            continue  # never varied: nothing to attribute
        dists[name], encode[name] = _distribution(values, optuna)
    if not dists:
        raise ValueError("param_importances_ needs at least one parameter that took "
                         "two or more values in the completed trials.")
    if np.ptp(scores[rows]) == 0:  # fANOVA divides by the total variance
        raise ValueError(f"param_importances_ is undefined: all {len(rows)} completed "
                         f"trials scored {scores[rows[0]]:g}, so no parameter explains "
                         "a difference.")
    with quiet_optuna(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = optuna.create_study(direction="maximize")
        study.add_trials([
            optuna.trial.create_trial(
                params={n: encode[n](params[i][n]) for n in dists}, distributions=dists,
                value=float(scores[i]))
            for i in rows])
        imp = get_param_importances(study, evaluator=FanovaImportanceEvaluator(seed=seed),
                                    normalize=True)
    return {k: float(v) for k, v in imp.items()}
