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
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

__all__ = ["param_importances"]

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

    scores = np.asarray(cv_results[score_key], dtype=float)
    status = cv_results.get("status")
    ok = np.isfinite(scores)
    if status is not None:
        ok &= np.array([s == "COMPLETED" for s in status])
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
