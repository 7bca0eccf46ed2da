"""KerasTuner oracles for TunedGRU: creation, in-memory use and clean-up.

``keras_tuner`` is imported only inside these functions, never at module
import time (it is an optional extra).
"""

from __future__ import annotations

import copy

from skgru._keras.private import (
    kt_disable_trial_saving,
    kt_hyperband_brackets,
    kt_release_oracle,
)

__all__ = [
    "MAX_FAILS",
    "OBJECTIVE",
    "TUNERS",
    "free_oracle",
    "import_kt",
    "make_oracle",
    "oracle_summary",
    "promotable_ids",
]

TUNERS = ("random", "bayesian", "hyperband", "grid", "evolution", "tpe", "asha")
OBJECTIVE = "score"
MAX_FAILS = 2**31 - 1  # never let KerasTuner stop the search on failures


def import_kt():
    """Import ``keras_tuner``, with an install hint if it is missing."""
    try:
        import keras_tuner
    except ImportError as exc:  # pragma: no cover - depends on the env
        raise ImportError(
            "TunedGRU needs keras-tuner: pip install 'skgru[tuner]'"
        ) from exc
    return keras_tuner


def _noop(*args, **kwargs):
    return None


def _diskless(oracle):
    """Make an Oracle keep its state in memory only.

    ``Oracle.create_trial``/``end_trial``/``update_trial`` call ``save()`` and
    ``_save_trial()``, which write JSON under ``<directory>/<project_name>``
    (``"None/None"`` in the cwd when no project dir was set).  We own state
    persistence ourselves (see :class:`skgru.tuning._state.SearchStateFile`).
    """
    kt_disable_trial_saving(oracle, _noop)
    oracle.verbose = 0  # KerasTuner's Display prints and clears the output
    return oracle


def make_oracle(tuner, name, tuner_params, hyperband_factor, seed, max_epochs,
                max_trials, continued=True, probabilistic=False):
    """A new diskless oracle that maximises the sklearn score.

    Parameters
    ----------
    tuner : str or keras_tuner.Oracle
        ``TunedGRU.tuner``; an ``Oracle`` instance is deep-copied.
    name : str
        The validated tuner name (see ``TunedGRU._tuner_name``).
    tuner_params : dict or None
        Extra keyword arguments for the oracle.
    hyperband_factor : int
        Hyperband's reduction factor.
    seed : int
        The oracle's seed (KerasTuner treats 0 as "no seed").
    max_epochs : int or None
        Hyperband's largest budget.
    max_trials : int or None
        The oracle's trial limit.
    continued : bool
        ASHA: promotions continue their parent's models (``warm_start``).
    probabilistic : bool
        ASHA: the estimator is a classifier with ``predict_proba`` and the
        target single-label, so ``promote_by="auto"`` (the default) ranks its
        rungs by log loss.

    Returns
    -------
    oracle : keras_tuner.Oracle
    """
    kt = import_kt()
    objective = kt.Objective(OBJECTIVE, direction="max")
    tp = dict(tuner_params or {})
    if not isinstance(tuner, str):
        oracle = copy.deepcopy(tuner)
        if tp:
            raise ValueError("tuner_params cannot be used with an Oracle instance.")
        oracle.objective = objective
        return _diskless(oracle)
    common = dict(objective=objective, seed=seed,
                  max_consecutive_failed_trials=MAX_FAILS)
    common.update({k: v for k, v in tp.items() if k in ("max_retries_per_trial",)})
    tp.pop("max_retries_per_trial", None)
    try:
        if name == "random":
            oracle = kt.oracles.RandomSearchOracle(max_trials=max_trials, **common, **tp)
        elif name == "bayesian":
            oracle = kt.oracles.BayesianOptimizationOracle(
                max_trials=max_trials, **common, **tp)
        elif name == "grid":
            oracle = kt.oracles.GridSearchOracle(max_trials=max_trials, **common, **tp)
        elif name == "hyperband":
            tp.setdefault("hyperband_iterations", 1)
            oracle = kt.oracles.HyperbandOracle(
                max_epochs=max_epochs, factor=hyperband_factor, **common, **tp)
            oracle.max_trials = max_trials
        elif name == "asha":
            from skgru.tuning._asha_oracle import PROMOTE_BY, ASHAOracle

            tp.pop("max_epochs", None)  # resolved into max_epochs by TunedGRU
            unknown = sorted(set(tp) - {"min_epochs", "reduction_factor", "max_epochs_total",
                                     "sampler", "random_fraction", "min_points", "promote_by"})
            if unknown:
                raise TypeError(f"unexpected keyword arguments {unknown} (tuner='asha' takes "
                                "min_epochs, max_epochs, reduction_factor, max_epochs_total, "
                                "sampler, random_fraction, min_points, promote_by)")
            promote_by = tp.get("promote_by", "auto")
            if not isinstance(promote_by, str) or promote_by not in ("auto", *PROMOTE_BY):
                raise ValueError("promote_by must be 'auto', 'log_loss' or 'score', "
                                 f"got {promote_by!r}.")
            if promote_by == "auto":
                tp["promote_by"] = "log_loss" if probabilistic else "score"
            oracle = ASHAOracle(max_trials=max_trials, max_epochs=max_epochs,
                                continued=continued, **common, **tp)
        elif name == "tpe":
            from skgru.tuning._tpe import TPEOracle, import_optuna

            import_optuna()  # the install hint before anything else
            tp.setdefault("n_startup_trials", max(1, min(10, max_trials // 3)))
            oracle = TPEOracle(max_trials=max_trials, **common, **tp)
        else:
            from skgru.tuning._evolution import EvolutionOracle

            tp.setdefault("population_size", max(2, min(10, max_trials // 2)))
            tp.setdefault("elitism", min(1, tp["population_size"] - 1))
            oracle = EvolutionOracle(max_trials=max_trials, **common, **tp)
    except TypeError as exc:
        raise ValueError(f"Invalid tuner_params for tuner={name!r}: {exc}") from exc
    return _diskless(oracle)


def free_oracle(oracle):
    """KerasTuner keeps a global Lock per Oracle in a dict keyed by the oracle,
    which keeps every Oracle (and its trials) alive forever: drop ours."""
    kt_release_oracle(oracle)


def oracle_summary(oracle, is_hyperband):
    """A plain dict describing ``oracle`` (``TunedGRU.oracle_summary_``)."""
    summary = {
        "class": type(oracle).__module__ + "." + type(oracle).__name__,
        "seed": getattr(oracle, "seed", None),
        "n_trials": len(oracle.trials),
        "max_trials": getattr(oracle, "max_trials", None),
    }
    if is_hyperband:
        summary.update(max_epochs=getattr(oracle, "max_epochs", None),
                       factor=getattr(oracle, "factor", None))
    if callable(getattr(oracle, "summary", None)):  # ASHA: rungs, budget, jobs per rung
        summary.update(oracle.summary())
    return summary


def promotable_ids(oracle):
    """Trial ids Hyperband (or ASHA) may still promote, or None if unknown."""
    if callable(getattr(oracle, "promotable_trial_ids", None)):
        return oracle.promotable_trial_ids()
    found = kt_hyperband_brackets(oracle)
    if found is None:
        return None
    brackets, get_size = found
    keep = set()
    for bracket in brackets:
        rounds, num = bracket["rounds"], bracket["bracket_num"]
        for r in range(len(rounds) - 1):
            if len(rounds[r + 1]) >= get_size(num, r + 1):
                continue
            selected = {info["past_id"] for info in rounds[r + 1]}
            keep |= {info["id"] for info in rounds[r] if info["id"] not in selected}
    return keep
