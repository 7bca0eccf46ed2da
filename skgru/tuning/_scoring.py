"""TunedGRU's scoring, with GridSearchCV's semantics.

``scoring`` may be a str, a callable, a list/tuple of names, a dict
``{name: scorer}`` or a callable returning a dict; ``refit`` may be ``True``,
``False``, a metric name or a callable, exactly as in
:class:`sklearn.model_selection.GridSearchCV`.  The one addition: the oracle
needs one number per trial, the *objective*:

* a single metric: that metric (``"score"``);
* several metrics and ``refit="<name>"``: that metric;
* several metrics and ``refit`` False or a callable: the first metric listed
  (for a callable returning a dict: the first key it returns).

A trial whose objective cannot be computed (the scorer raises, or returns NaN
or inf) is FAILED; another metric that fails gets ``error_score`` (with a
warning), as in sklearn.

scikit-learn's multi-metric helpers are private (``sklearn.metrics._scorer``):
they are imported here only, so a change in sklearn shows up in one place.
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import check_scoring

__all__ = ["Scoring", "SearchConfigError", "resolve_scoring",
           "check_refit_for_multimetric", "score_split", "SINGLE"]


class SearchConfigError(ValueError):
    """A mistake in the search's settings found while a trial ran (e.g. ``refit``
    names a metric the scoring callable does not return): it stops the search
    instead of failing every trial."""

SINGLE = "score"  # the metric name of a single-metric search (sklearn's)


@dataclass
class Scoring:
    """The scorer of a search and how its results are named.

    Attributes
    ----------
    scorer : callable
        ``scorer(estimator, X, y, **score_params)`` -> float or dict.
    names : tuple of str or None
        Metric names; None for a callable whose return type is only known
        once it has run.
    multimetric : bool or None
        None: as ``names``.
    objective : str or None
        The metric the oracle maximises; None: the first key a callable
        returns.
    scorers : dict or callable
        What ``TunedGRU.scorer_`` holds (sklearn: a dict of scorers for
        multi-metric scoring, else the scorer).
    """

    scorer: object
    names: tuple | None
    multimetric: bool | None
    objective: str | None
    scorers: object


def check_refit_for_multimetric(refit, names):
    """sklearn's rule: with several metrics, refit is False, a callable or a name."""
    valid = isinstance(refit, str) and refit in names
    if refit is not False and not valid and not callable(refit):
        raise ValueError(
            "For multi-metric scoring, the parameter refit must be set to a "
            "scorer key or a callable to refit an estimator with the best "
            "parameter setting on the whole data and make the best_* "
            "attributes available for that metric. If this is not needed, "
            f"refit should be set to False explicitly. {refit!r} was passed "
            f"(metrics: {list(names)}).")


def resolve_scoring(estimator, scoring, refit, error_score):
    """Build the scorer of a search (raises on an invalid ``scoring``/``refit``)."""
    from sklearn.metrics._scorer import _check_multimetric_scoring, _MultimetricScorer

    if callable(scoring):
        return Scoring(scoring, None, None,
                       refit if isinstance(refit, str) else None, scoring)
    if scoring is None or isinstance(scoring, str):
        scorer = check_scoring(estimator, scoring)
        return Scoring(scorer, (SINGLE,), False, SINGLE, scorer)
    if not isinstance(scoring, (list, tuple, set, dict)):
        raise TypeError(
            "scoring must be a str, a callable, a list/tuple of metric names, a "
            f"dict of scorers or None; got {type(scoring).__name__}.")
    scorers = _check_multimetric_scoring(estimator, scoring)
    check_refit_for_multimetric(refit, scorers)
    objective = refit if isinstance(refit, str) else next(iter(scorers))
    multi = _MultimetricScorer(scorers=scorers, raise_exc=(error_score == "raise"))
    return Scoring(multi, tuple(scorers), True, objective, scorers)


def scorer_from_scoring(estimator, scoring):
    """``TunedGRU.scorer_`` rebuilt from its ``scoring`` parameter (as GridSearchCV holds it).

    A scorer for ``None`` or a metric name, a dict of scorers for a list/tuple/set of
    names or a dict.  Used where the scorer object is not stored (skgru.io files,
    pickles/skops files of a TunedGRU: sklearn's scorer classes are private types
    that skops cannot trust).  A callable ``scoring`` is the user's own object and is
    stored as it is, so it never reaches here.
    """
    if scoring is None or isinstance(scoring, str):
        return check_scoring(estimator, scoring=scoring)
    if isinstance(scoring, dict):
        return {name: check_scoring(estimator, scoring=s) for name, s in scoring.items()}
    if isinstance(scoring, (list, tuple, set)):
        return {name: check_scoring(estimator, scoring=name) for name in scoring}
    raise ValueError(f"Invalid TunedGRU scoring {scoring!r}.")


def scorers_accept_sample_weight(scoring):
    """Whether ``sample_weight`` should reach the scorer without routing (sklearn's rule)."""
    scorer = scoring.scorer
    accept = getattr(scorer, "_accept_sample_weight", None)
    if accept is None:
        return False
    try:
        return bool(accept())
    except Exception:  # noqa: BLE001 - a scorer sklearn does not know
        return False


def _as_float(value):
    return float(np.asarray(value, dtype=float))


def score_split(scorer, estimator, X, y, score_params, error_score, objective):
    """Score one fitted split.

    Returns
    -------
    scores : dict
        ``{name: float}``; a non-objective metric that failed holds
        ``error_score``.
    multimetric : bool
        Whether the scorer returned several metrics.

    Raises
    ------
    Exception
        When the objective cannot be computed (the trial fails), or any
        scorer error with ``error_score="raise"``.
    """
    raw = scorer(estimator, X, y, **score_params)
    if not isinstance(raw, dict):
        value = _as_float(raw)
        if not np.isfinite(value):
            raise FloatingPointError(f"non-finite score {value}")
        return {SINGLE: value}, False
    if not raw:
        raise ValueError("the scoring callable returned an empty dict")
    names = list(raw)
    obj = objective if objective is not None else names[0]
    if obj not in raw:
        try:
            check_refit_for_multimetric(obj, names)
        except ValueError as exc:
            raise SearchConfigError(str(exc)) from None
    scores = {}
    for name, value in raw.items():
        if isinstance(value, str):  # _MultimetricScorer's traceback of a failed scorer
            if name == obj:
                raise ValueError(f"scoring {name!r} failed: "
                                 f"{value.strip().splitlines()[-1]}")
            warnings.warn(
                f"Scoring failed for {name!r}; its score is set to {error_score}. "
                f"Details:\n{value}", UserWarning, stacklevel=2)
            value = error_score
        elif not isinstance(value, numbers.Number):
            value = _as_float(value)
        scores[str(name)] = float(value)
    if not np.isfinite(scores[obj]):
        raise FloatingPointError(f"non-finite {obj} score {scores[obj]}")
    return scores, True
