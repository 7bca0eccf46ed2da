"""TunedGRU: a KerasTuner-driven hyperparameter search that is an estimator."""

from __future__ import annotations

import copy
import hashlib
import json
import numbers
import os
import sys
import tempfile
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.metrics import check_scoring
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit, check_cv
from sklearn.utils import check_random_state, get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _num_samples, check_is_fitted

from skgru.tuning._results import build_cv_results
from skgru.tuning._search_space import (
    SearchSpace,
    _describe,
    default_search_space,
    populate_initial_space,
)
from skgru.tuning._trial_runner import evaluate_candidate

__all__ = ["TunedGRU"]

_TUNERS = ("random", "bayesian", "hyperband", "grid", "evolution")
_STATE_FILE = "skgru_search_state.json"
_STATE_VERSION = 1
_OBJECTIVE = "score"
_MAX_FAILS = 2**31 - 1  # never let KerasTuner stop the search on failures


def _import_kt():
    try:
        import keras_tuner
    except ImportError as exc:  # pragma: no cover - depends on the env
        raise ImportError(
            "TunedGRU needs keras-tuner: pip install 'skgru[tuner]'"
        ) from exc
    return keras_tuner


def _default_estimator():
    from skgru.estimators import GRUClassifier

    return GRUClassifier()


def _json_values(values):
    """Trial values in a canonical JSON form (for state files and replay)."""
    return json.loads(json.dumps(values, sort_keys=True, default=str))


def _data_hash(obj):
    import joblib

    if obj is None:
        return None
    return joblib.hash(obj)


def _shape(obj):
    if obj is None:
        return None
    shape = getattr(obj, "shape", None)
    if shape is not None:
        return list(shape)
    try:
        return [len(obj)]
    except TypeError:
        return None


def _search_estimator_has(attr):
    """``available_if`` check: refit is on and the estimator has ``attr``."""

    def check(self):
        if not self.refit:
            raise AttributeError(
                f"This {type(self).__name__} was initialized with refit=False; "
                f"{attr} is available only after refitting on the best "
                "parameters."
            )
        if hasattr(self, "best_estimator_"):
            getattr(self.best_estimator_, attr)
            return True
        getattr(self._base_estimator(), attr)
        return True

    return check


def _free_oracle(oracle):
    """KerasTuner keeps a global Lock per Oracle in a dict keyed by the oracle,
    which keeps every Oracle (and its trials) alive forever: drop ours."""
    try:
        from keras_tuner.src.engine import oracle as oracle_module

        oracle_module.LOCKS.pop(oracle, None)
        oracle_module.THREADS.pop(oracle, None)
    except Exception:  # pragma: no cover - private API moved
        pass


def _diskless(oracle):
    """Make an Oracle keep its state in memory only.

    ``Oracle.create_trial``/``end_trial``/``update_trial`` call ``save()`` and
    ``_save_trial()``, which write JSON under ``<directory>/<project_name>``
    (``"None/None"`` in the cwd when no project dir was set).  We own state
    persistence ourselves (see ``TunedGRU._save_state``).
    """
    oracle.save = _noop
    oracle._save_trial = _noop
    oracle.verbose = 0  # KerasTuner's Display prints and clears the output
    return oracle


def _noop(*args, **kwargs):
    return None


def _promotable_ids(oracle):
    """Trial ids Hyperband may still promote, or None if unknown."""
    brackets = getattr(oracle, "_brackets", None)
    get_size = getattr(oracle, "_get_size", None)
    if brackets is None or get_size is None:
        return None
    keep = set()
    for bracket in brackets:
        rounds, num = bracket["rounds"], bracket["bracket_num"]
        for r in range(len(rounds) - 1):
            if len(rounds[r + 1]) >= get_size(num, r + 1):
                continue
            selected = {info["past_id"] for info in rounds[r + 1]}
            keep |= {info["id"] for info in rounds[r] if info["id"] not in selected}
    return keep


class TunedGRU(MetaEstimatorMixin, BaseEstimator):
    """Hyperparameter search driven by KerasTuner oracles, as an estimator.

    ``TunedGRU`` asks a KerasTuner ``Oracle`` (random search, Bayesian
    optimisation, Hyperband, grid, or skgru's :class:`EvolutionOracle`) for
    configurations, evaluates each one itself with scikit-learn scoring on a
    hold-out split or cross-validation, tells the oracle the score, and
    finally refits the best configuration on all the data.  KerasTuner's
    ``Tuner`` classes are not used (they score trials on their best epoch,
    keep state on disk and silently reload it, and can return failed trials as
    best); nothing is written to disk unless ``directory`` is given.

    Parameters
    ----------
    estimator : estimator, default=None
        The estimator to tune (a ``GRUClassifier``, ``GRURegressor``, a
        ``Pipeline`` ending in one, or any sklearn estimator).  ``None`` means
        ``GRUClassifier()``; pass ``GRURegressor()`` for regression.
    search_space : dict, callable or None, default=None
        ``{param: list | scipy.stats distribution | fixed value}`` or a
        callable ``hp -> dict`` (KerasTuner ``HyperParameters``, for
        conditional spaces).  Nested names (``gruclassifier__units``) work.
        ``None``: units {16, 32, 64}, n_layers {1, 2}, dropout U(0, 0.4),
        recurrent_dropout {0, 0.2}, learning_rate logU(1e-4, 1e-2),
        batch_size {16, 32, 64} (lists only for ``tuner="grid"``).
    tuner : {"random", "bayesian", "hyperband", "grid", "evolution"} or \
keras_tuner.Oracle, default="random"
        The search algorithm.  An ``Oracle`` instance is deep-copied before
        use (the parameter itself is never modified); its objective is set to
        maximise the sklearn score.
    max_trials : int or None, default=10
        Maximum number of trials (configurations evaluated; for Hyperband
        every promotion counts as a trial).  ``None`` runs until the oracle
        stops: the whole grid, or one complete Hyperband iteration; it is not
        allowed for random, bayesian and evolution.
    cv : None, int, cross-validation generator or iterable, default=None
        ``None``: one hold-out split of ``validation_fraction`` (stratified
        for classifiers, shuffled); otherwise as in ``GridSearchCV``
        (``groups`` passed to ``fit`` reach the splitter).
    scoring : str, callable or None, default=None
        A single sklearn scorer; ``None`` uses the estimator's ``score``.
    refit : bool, default=True
        Refit the best configuration on all the data (``best_estimator_``);
        needed for ``predict`` and friends.
    n_jobs : int or None, default=1
        Trials evaluated in parallel.  Where they run:

        * on a **Dask cluster** inside ``joblib.parallel_config(backend="dask")``
          (any ``n_jobs`` but 1; ``None``/``-1`` = one trial per worker
          thread), or when a ``distributed.Client`` is current (the default
          client, or ``with client.as_current():``) and ``n_jobs`` is > 1 or
          negative.  The data are scattered to the workers once; the oracle
          stays in this process.  Random and grid search keep every worker
          busy (a new trial is sent as soon as one ends); other tuners run
          in batches of ``n_jobs`` trials;
        * otherwise in ``n_jobs`` local worker processes (joblib ``loky``),
          in batches of ``n_jobs`` trials;
        * ``n_jobs=1`` (or ``None`` outside any joblib context): in this process.

        For random and grid search the trials and scores are the same as
        sequentially, wherever they run; for the other tuners they are the
        same for the same ``n_jobs``.  See the README, "Scaling out".
    random_state : int, RandomState instance or None, default=None
        Seeds the oracle, the hold-out split and, for estimators whose
        ``random_state`` is ``None``, one derived seed per trial (so two fits
        with the same ``random_state`` evaluate the same trials with the same
        scores).
    directory : str or path-like or None, default=None
        If given, the search state (trial history) is saved there after every
        trial, and a later ``fit`` with the same search (same space,
        estimator parameters, settings and data) resumes it; a different
        search in the same directory raises ``ValueError``.
    verbose : int, default=0
        ``>= 1``: one progress line per trial on stderr; ``>= 2`` also prints
        the trial's parameters.
    validation_fraction : float, default=0.2
        Size of the hold-out split when ``cv=None``.
    max_epochs : int or None, default=None
        Hyperband: the largest number of epochs a trial trains (``None`` uses
        the estimator's ``epochs``).  Other tuners: if set, every trial and
        the refit train for ``max_epochs`` epochs.
    hyperband_factor : int, default=3
        Hyperband's reduction factor.
    budget_param : str or None, default=None
        The estimator parameter holding the number of epochs (``None``:
        ``"epochs"``, or the unique ``<step>__epochs`` of a pipeline).
        Hyperband promotions continue their parent's fitted model through
        the sibling ``warm_start`` parameter when the estimator has one.
    tuner_params : dict or None, default=None
        Extra keyword arguments for the oracle, e.g.
        ``{"num_initial_points": 5}`` (bayesian), ``{"hyperband_iterations":
        2}``, ``{"population_size": 8, "mutation_rate": 0.3}`` (evolution).

    Attributes
    ----------
    cv_results_ : dict of numpy (masked) arrays
        One entry per trial, sklearn keys (``params``, ``param_<name>``,
        ``split<k>_test_score``, ``mean_test_score``, ``std_test_score``,
        ``rank_test_score``, ``mean_fit_time``, ``std_fit_time``,
        ``mean_score_time``, ``std_score_time``) plus ``status``
        ("COMPLETED"/"FAILED"), ``error``, ``budget`` (epochs of the trained
        model), ``epochs_trained`` (new epochs this trial trained, over all
        splits), ``trial_id``, ``parent_trial_id``, ``bracket``, ``round``.
        Loads into ``pandas.DataFrame``.
    best_index_, best_params_, best_score_ :
        The best completed trial (failed trials are never chosen).
    best_estimator_ : estimator
        The best configuration refit on all data (``refit=True``).
    refit_time_ : float
    scorer_ : callable
    n_splits_ : int
    n_trials_ : int
    n_epochs_spent_ : int
        Epochs trained during the search (all trials and splits, excluding
        the refit).
    search_time_ : float
    parallel_backend_ : {"sequential", "loky", "dask"}
        Where the trials ran.
    oracle_summary_ : dict
        Plain summary of the oracle (the oracle itself is not kept, so a
        fitted ``TunedGRU`` pickles).
    searched_params_ : list of str
        Names of the parameters that varied (for plots).
    resumed_trials_ : int
        Trials restored from ``directory`` rather than evaluated.
    classes_ : ndarray
        Classifiers only.

    Examples
    --------
    >>> import numpy as np
    >>> from skgru import GRUClassifier, TunedGRU
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(60, 6, 2))
    >>> y = (X[:, :, 0].sum(axis=1) > 0).astype(int)
    >>> tuned = TunedGRU(GRUClassifier(epochs=2), {"units": [4, 8]}, tuner="grid",
    ...                  max_trials=2, random_state=0).fit(X, y)
    >>> sorted(tuned.best_params_)
    ['units']
    >>> len(tuned.cv_results_["params"])
    2
    >>> tuned.predict(X[:3]).shape
    (3,)
    """

    _required_parameters = []

    def __init__(
        self,
        estimator=None,
        search_space=None,
        tuner="random",
        max_trials=10,
        cv=None,
        scoring=None,
        refit=True,
        n_jobs=1,
        random_state=None,
        directory=None,
        verbose=0,
        validation_fraction=0.2,
        max_epochs=None,
        hyperband_factor=3,
        budget_param=None,
        tuner_params=None,
    ):
        self.estimator = estimator
        self.search_space = search_space
        self.tuner = tuner
        self.max_trials = max_trials
        self.cv = cv
        self.scoring = scoring
        self.refit = refit
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.directory = directory
        self.verbose = verbose
        self.validation_fraction = validation_fraction
        self.max_epochs = max_epochs
        self.hyperband_factor = hyperband_factor
        self.budget_param = budget_param
        self.tuner_params = tuner_params

    # ------------------------------------------------------------------ tags
    def _base_estimator(self):
        return self.estimator if self.estimator is not None else _default_estimator()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        try:
            sub = get_tags(self._base_estimator())
        except Exception:  # noqa: BLE001 - tags must never break
            return tags
        tags.estimator_type = sub.estimator_type
        tags.classifier_tags = copy.deepcopy(sub.classifier_tags)
        tags.regressor_tags = copy.deepcopy(sub.regressor_tags)
        tags.input_tags = copy.deepcopy(sub.input_tags)
        tags.target_tags.required = sub.target_tags.required
        return tags

    # ------------------------------------------------------------ validation
    def _tuner_name(self):
        kt = _import_kt()
        if isinstance(self.tuner, str):
            if self.tuner not in _TUNERS:
                raise ValueError(
                    f"tuner must be one of {_TUNERS} or a keras_tuner.Oracle, "
                    f"got {self.tuner!r}."
                )
            return self.tuner
        if isinstance(self.tuner, kt.Oracle):
            return type(self.tuner).__name__
        raise TypeError(
            f"tuner must be one of {_TUNERS} or a keras_tuner.Oracle instance, "
            f"got {type(self.tuner).__name__}."
        )

    def _validate_params_(self):
        name = self._tuner_name()
        mt = self.max_trials
        if mt is not None and (not isinstance(mt, numbers.Integral)
                               or isinstance(mt, bool) or mt < 1):
            raise ValueError(f"max_trials must be a positive int or None, got {mt!r}.")
        if mt is None and name in ("random", "bayesian", "evolution"):
            raise ValueError(f"max_trials=None is only allowed for grid and "
                             f"hyperband tuners, not {name!r}.")
        vf = self.validation_fraction
        if not isinstance(vf, numbers.Real) or not 0.0 < vf < 1.0:
            raise ValueError(f"validation_fraction must be in (0, 1), got {vf!r}.")
        me = self.max_epochs
        if me is not None and (not isinstance(me, numbers.Integral)
                               or isinstance(me, bool) or me < 1):
            raise ValueError(f"max_epochs must be a positive int or None, got {me!r}.")
        hf = self.hyperband_factor
        if not isinstance(hf, numbers.Integral) or isinstance(hf, bool) or hf < 2:
            raise ValueError(f"hyperband_factor must be an int >= 2, got {hf!r}.")
        if self.n_jobs is not None and (not isinstance(self.n_jobs, numbers.Integral)
                                        or self.n_jobs == 0):
            raise ValueError(f"n_jobs must be a non-zero int or None, got {self.n_jobs!r}.")
        if not isinstance(self.verbose, numbers.Integral):
            raise ValueError(f"verbose must be an int, got {self.verbose!r}.")
        if self.tuner_params is not None and not isinstance(self.tuner_params, dict):
            raise ValueError("tuner_params must be a dict or None.")
        if isinstance(self.scoring, (list, tuple, set, dict)):
            raise ValueError("TunedGRU supports a single scoring metric (str or "
                             "callable); multi-metric scoring is not supported.")
        return name

    def _resolve_budget_param(self, estimator, needed):
        params = estimator.get_params(deep=True)
        if self.budget_param is not None:
            if self.budget_param not in params:
                raise ValueError(
                    f"budget_param={self.budget_param!r} is not a parameter of "
                    f"{type(estimator).__name__}."
                )
            return self.budget_param
        if "epochs" in params:
            return "epochs"
        cands = [k for k in params if k.endswith("__epochs")]
        if len(cands) == 1:
            return cands[0]
        if needed:
            raise ValueError(
                f"Cannot find the epochs parameter of {type(estimator).__name__} "
                f"(candidates: {cands}); set budget_param."
            )
        return None

    # ------------------------------------------------------------ the oracle
    def _make_oracle(self, name, oracle_seed, max_epochs, max_trials):
        kt = _import_kt()
        objective = kt.Objective(_OBJECTIVE, direction="max")
        tp = dict(self.tuner_params or {})
        if not isinstance(self.tuner, str):
            oracle = copy.deepcopy(self.tuner)
            if tp:
                raise ValueError("tuner_params cannot be used with an Oracle instance.")
            oracle.objective = objective
            return _diskless(oracle)
        common = dict(objective=objective, seed=oracle_seed,
                      max_consecutive_failed_trials=_MAX_FAILS)
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
                    max_epochs=max_epochs, factor=self.hyperband_factor, **common, **tp)
                oracle.max_trials = max_trials
            else:
                from skgru.tuning._evolution import EvolutionOracle

                tp.setdefault("population_size", max(2, min(10, max_trials // 2)))
                tp.setdefault("elitism", min(1, tp["population_size"] - 1))
                oracle = EvolutionOracle(max_trials=max_trials, **common, **tp)
        except TypeError as exc:
            raise ValueError(f"Invalid tuner_params for tuner={name!r}: {exc}") from exc
        return _diskless(oracle)

    # ------------------------------------------------------------ splitting
    def _make_splits(self, estimator, X, y, groups, split_seed):
        n = _num_samples(X)
        if self.cv is None:
            test_size = self.validation_fraction
            splitter = ShuffleSplit(n_splits=1, test_size=test_size,
                                    random_state=split_seed)
            if is_classifier(estimator) and y is not None:
                _, counts = np.unique(np.asarray(y), return_counts=True)
                n_test = int(np.ceil(test_size * n))
                if counts.min() >= 2 and n_test >= len(counts) and n - n_test >= len(counts):
                    splitter = StratifiedShuffleSplit(
                        n_splits=1, test_size=test_size, random_state=split_seed)
            return [(np.asarray(a), np.asarray(b))
                    for a, b in splitter.split(np.zeros(n), y)]
        cv = check_cv(self.cv, y, classifier=is_classifier(estimator))
        return [(np.asarray(a), np.asarray(b)) for a, b in cv.split(X, y, groups)]

    # -------------------------------------------------------------- seeding
    @staticmethod
    def _trial_seed(base_seed, index):
        ss = np.random.SeedSequence([int(base_seed), int(index)])
        return int(ss.generate_state(1)[0] % (2**31 - 1))

    @staticmethod
    def _seed_names(estimator, exclude):
        params = estimator.get_params(deep=True)
        return [k for k, v in params.items()
                if (k == "random_state" or k.endswith("__random_state"))
                and v is None and k not in exclude]

    # ------------------------------------------------------------ state I/O
    def _state_path(self):
        return os.path.join(os.fspath(self.directory), _STATE_FILE)

    def _load_state(self, fingerprint, parts):
        path = self._state_path()
        if not os.path.exists(path):
            return None
        with open(path, encoding="utf-8") as fh:
            try:
                state = json.load(fh)
            except json.JSONDecodeError as exc:
                raise ValueError(f"Corrupt search state file {path}: {exc}") from exc
        if state.get("version") != _STATE_VERSION or state.get("fingerprint") != fingerprint:
            old = state.get("fingerprint_parts", {})
            differing = sorted(k for k in set(old) | set(parts) if old.get(k) != parts.get(k))
            raise ValueError(
                f"The directory {os.fspath(self.directory)!r} holds the state of a "
                f"different search (differs in: {', '.join(differing) or 'version'}). "
                "A search resumes only with the same search space, estimator "
                "parameters, settings and data. Use another directory or delete "
                f"{path}."
            )
        return state

    def _save_state(self, fingerprint, parts, base_seed, events, records):
        os.makedirs(os.fspath(self.directory), exist_ok=True)
        keys = ("trial_id", "tuner_id", "created_values", "status", "error", "scores",
                "fit_times", "score_times", "budget", "epochs_trained", "parent_id",
                "bracket", "round", "seed", "continued")
        state = {
            "version": _STATE_VERSION,
            "fingerprint": fingerprint,
            "fingerprint_parts": parts,
            "base_seed": base_seed,
            "events": events,
            "trials": {
                rec["trial_id"]: dict(
                    {k: rec[k] for k in keys},
                    scores=[None if not np.isfinite(s) else s for s in rec["scores"]],
                    params_repr=repr(rec["params"]),
                )
                for rec in records if rec["status"] is not None
            },
        }
        path = self._state_path()
        fd, tmp = tempfile.mkstemp(dir=os.fspath(self.directory), prefix=".state-",
                                   suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(state, fh, indent=1, default=str)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def _fingerprint(self, estimator, space, oracle, X, y, groups, fit_params,
                     name, max_epochs, budget_param):
        parts = {
            "search_space": space.describe(),
            "hyperparameters": oracle.get_space().get_config(),
            "estimator": _describe(estimator),
            "tuner": name if isinstance(self.tuner, str) else _describe(
                {k: v for k, v in vars(self.tuner).items()
                 if isinstance(v, (int, float, str, bool, type(None)))}),
            "settings": _describe({
                "max_trials": self.max_trials, "cv": self.cv, "scoring": self.scoring,
                "random_state": self.random_state if isinstance(
                    self.random_state, (numbers.Integral, type(None))) else "RandomState",
                "validation_fraction": self.validation_fraction,
                "max_epochs": max_epochs, "hyperband_factor": self.hyperband_factor,
                "budget_param": budget_param, "tuner_params": self.tuner_params,
            }),
            "data": {
                "X": [_data_hash(X), _shape(X)],
                "y": [_data_hash(y), _shape(y)],
                "groups": _data_hash(groups),
                "fit_params": _data_hash(fit_params) if fit_params else None,
            },
        }
        parts = json.loads(json.dumps(parts, sort_keys=True, default=str))
        digest = {k: hashlib.sha256(json.dumps(v, sort_keys=True).encode()).hexdigest()[:16]
                  for k, v in parts.items()}
        fingerprint = hashlib.sha256(
            json.dumps(digest, sort_keys=True).encode()).hexdigest()
        return fingerprint, digest

    # ------------------------------------------------------------- progress
    def _progress(self, rec, n_done, total, best, t_start):
        if self.verbose < 1:
            return
        width = 20
        if total:
            filled = int(round(width * min(n_done, total) / total))
            bar = "[" + "#" * filled + "-" * (width - filled) + "]"
            count = f"{n_done}/{total}"
        else:
            bar, count = "", f"{n_done}"
        score = rec["mean"]
        score_s = "FAILED" if rec["status"] != "COMPLETED" else f"{score:.4f}"
        best_s = "n/a" if best is None else f"{best:.4f}"
        budget = f" {rec['budget']} ep" if rec["budget"] is not None else ""
        cont = " (continued)" if rec.get("continued") else ""
        msg = (f"[TunedGRU] {bar} trial {count}{budget}{cont}: score={score_s} "
               f"best={best_s} elapsed={time.perf_counter() - t_start:.1f}s")
        if rec["status"] != "COMPLETED":
            msg += f" ({rec['error']})"
        print(msg, file=sys.stderr, flush=True)
        if self.verbose >= 2:
            print(f"           params={rec['params']}", file=sys.stderr, flush=True)

    # ------------------------------------------------------------------ fit
    def fit(self, X, y=None, groups=None, **fit_params):
        """Run the search, then refit the best configuration on all the data.

        Parameters
        ----------
        X : array-like, e.g. (n_samples, n_timesteps, n_features)
        y : array-like of shape (n_samples,) or None
        groups : array-like or None
            Group labels for group-aware ``cv`` splitters.
        **fit_params : passed to the estimator's ``fit`` (sample-aligned
            ones such as ``sample_weight`` are split with the data).
        """
        kt = _import_kt()
        name = self._validate_params_()
        base = self._base_estimator()
        if not hasattr(base, "fit"):
            raise TypeError(f"estimator must be an estimator, got {base!r}.")
        scorer = check_scoring(base, scoring=self.scoring)

        # Seeds.
        if self.random_state is None:
            base_seed = None
        elif isinstance(self.random_state, numbers.Integral):
            base_seed = int(self.random_state)
        else:
            base_seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        draw_seed = base_seed if base_seed is not None else int(
            np.random.randint(2**31 - 1))

        is_hyperband = name == "hyperband" or isinstance(
            self.tuner, kt.oracles.HyperbandOracle)
        budget_param = self._resolve_budget_param(
            base, needed=is_hyperband or self.max_epochs is not None)
        max_epochs = self.max_epochs
        if is_hyperband and max_epochs is None:
            max_epochs = base.get_params(deep=True)[budget_param]
            if not isinstance(max_epochs, numbers.Integral) or max_epochs < 1:
                raise ValueError(
                    f"Hyperband needs max_epochs or an integer {budget_param!r} on "
                    f"the estimator, got {max_epochs!r}.")
        if isinstance(self.tuner, kt.oracles.HyperbandOracle):
            max_epochs = self.tuner.max_epochs

        space = SearchSpace(
            self.search_space if self.search_space is not None
            else default_search_space(base, name))
        space_names = space.param_names() or []
        if is_hyperband and budget_param in space_names:
            raise ValueError(
                f"{budget_param!r} cannot be in the search space with Hyperband, "
                "which sets it.")
        base_params = base.get_params(deep=True)
        unknown = [p for p in space_names if p not in base_params]
        if unknown:
            raise ValueError(
                f"Search space parameters {unknown} are not parameters of "
                f"{type(base).__name__}; valid ones include "
                f"{sorted(k for k in base_params if '__' not in k)}.")
        warm_start_param = None
        if is_hyperband and budget_param is not None:
            prefix = budget_param[: -len("epochs")] if budget_param.endswith("epochs") else ""
            if prefix + "warm_start" in base_params:
                warm_start_param = prefix + "warm_start"

        splits = self._make_splits(base, X, y, groups,
                                   None if base_seed is None else base_seed % (2**31 - 1))
        n_splits = len(splits)

        t_start = time.perf_counter()
        fingerprint = parts = None
        state = None
        if self.directory is not None:
            # The oracle seed must survive a resume even with random_state=None.
            oracle_probe = self._make_oracle(name, 1, max_epochs, self.max_trials)
            populate_initial_space(space, oracle_probe)
            fingerprint, parts = self._fingerprint(
                base, space, oracle_probe, X, y, groups, fit_params, name,
                max_epochs, budget_param)
            _free_oracle(oracle_probe)
            state = self._load_state(fingerprint, parts)
            if state is not None:
                draw_seed = int(state["base_seed"])
        oracle_seed = draw_seed % (2**31 - 2) + 1  # KerasTuner treats 0 as "no seed"
        oracle = self._make_oracle(name, oracle_seed, max_epochs, self.max_trials)
        populate_initial_space(space, oracle)
        seed_names = self._seed_names(base, exclude=set(space_names))
        trial_seed_base = base_seed if base_seed is not None else (
            draw_seed if state is not None else None)

        records, events = [], []
        by_id = {}
        models = {}  # trial_id -> (list of fitted estimators per split, budget)
        fit_params = dict(fit_params)

        def new_record(trial, tuner_id):
            values = dict(trial.hyperparameters.values)
            created = _json_values(values)
            index = len(records)
            rec = {"trial_id": trial.trial_id, "tuner_id": tuner_id, "index": index,
                   "created_values": created, "params": None, "status": None,
                   "error": None, "scores": [np.nan] * n_splits,
                   "fit_times": [0.0] * n_splits, "score_times": [0.0] * n_splits,
                   "budget": None, "epochs_trained": 0,
                   "parent_id": values.get("tuner/trial_id"),
                   "bracket": values.get("tuner/bracket"),
                   "round": values.get("tuner/round"),
                   "seed": None, "continued": False, "mean": np.nan}
            try:
                rec["params"] = space.declare(trial.hyperparameters)
                bad = [p for p in rec["params"] if p not in base_params]
                if bad:
                    raise ValueError(f"unknown parameters {bad}")
            except Exception as exc:  # noqa: BLE001
                rec["params"] = rec["params"] or {}
                rec["status"], rec["error"] = "FAILED", (
                    f"search space: {type(exc).__name__}: {exc}")
            if "tuner/epochs" in values and budget_param is not None:
                rec["budget"] = int(values["tuner/epochs"])
            elif max_epochs is not None and budget_param is not None:
                rec["budget"] = int(max_epochs)
            elif budget_param is not None:
                b = rec["params"].get(budget_param, base_params.get(budget_param))
                rec["budget"] = int(b) if isinstance(b, numbers.Integral) else None
            if trial_seed_base is not None and seed_names:
                rec["seed"] = self._trial_seed(trial_seed_base, index)
            records.append(rec)
            by_id[trial.trial_id] = rec
            events.append(["create", tuner_id, trial.trial_id])
            return rec

        def report(trial, rec):
            if rec["status"] == "COMPLETED":
                oracle.update_trial(trial.trial_id, {_OBJECTIVE: rec["mean"]})
                trial.status = "COMPLETED"
            else:
                trial.status = "FAILED"
                trial.message = rec["error"]
            events.append(["end", trial.trial_id])
            try:
                oracle.end_trial(trial)
            except RuntimeError as exc:  # a user oracle's failure limit
                return exc
            return None

        # ---- resume: replay the recorded history through a fresh oracle.
        resumed = 0
        if state is not None:
            pending = {}
            saved = state["trials"]
            for event in state["events"]:
                if event[0] == "create":
                    _, tuner_id, trial_id = event
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", ConvergenceWarning)
                        trial = oracle.create_trial(tuner_id)
                    got = _json_values(dict(trial.hyperparameters.values))
                    if (trial.status != "RUNNING" or trial.trial_id != trial_id
                            or got != saved[trial_id]["created_values"]):
                        raise ValueError(
                            f"Cannot resume the search in {os.fspath(self.directory)!r}: "
                            f"the oracle proposed {got} for trial {trial.trial_id}, the "
                            f"saved history has {saved[trial_id]['created_values']}. "
                            "Use another directory or delete the state file.")
                    rec = new_record(trial, tuner_id)
                    s = saved[trial_id]
                    rec.update(
                        status=s["status"], error=s["error"],
                        scores=[np.nan if v is None else float(v) for v in s["scores"]],
                        fit_times=s["fit_times"], score_times=s["score_times"],
                        budget=s["budget"], epochs_trained=s["epochs_trained"],
                        seed=s["seed"], continued=s["continued"])
                    rec["mean"] = (float(np.mean(rec["scores"]))
                                   if rec["status"] == "COMPLETED" else np.nan)
                    pending[trial_id] = trial
                else:
                    trial = pending.pop(event[1])
                    report(trial, by_id[trial.trial_id])
                    resumed += 1
            events = [list(e) for e in state["events"]]

        # ---- the search loop: ask trials, evaluate them, tell the oracle.
        # Where trials run (rule in skgru._parallel.active_dask_client):
        # a Dask cluster when a dask joblib backend or a default Client is
        # active, else loky processes (n_jobs > 1), else this process.
        from joblib import Parallel, delayed, effective_n_jobs

        from skgru._parallel import DaskTrialExecutor, active_dask_client, dask_worker_slots

        client = active_dask_client(self.n_jobs)
        if client is not None:
            slots = dask_worker_slots(client)
            if self.n_jobs is None or self.n_jobs < 0:
                batch_size = max(1, slots + 1 + self.n_jobs) if self.n_jobs else slots
            else:
                batch_size = int(self.n_jobs)
        else:
            batch_size = max(1, effective_n_jobs(self.n_jobs))
        # Trials go out as soon as a slot frees up (Dask only) when the
        # oracle's proposals cannot depend on which trials have finished
        # (random and grid search); other oracles get synchronous batches, so
        # a search is reproducible for a given n_jobs wherever it runs.
        streaming = client is not None and batch_size > 1 and type(oracle) in (
            kt.oracles.RandomSearchOracle, kt.oracles.GridSearchOracle)
        self.parallel_backend_ = ("dask" if client is not None
                                  else "loky" if batch_size > 1 else "sequential")
        tuner_ids = [f"skgru-{i}" for i in range(batch_size)]
        best = max((r["mean"] for r in records if r["status"] == "COMPLETED"),
                   default=None)
        stop_error = None
        stopped = False

        def make_job(trial, rec):
            if rec["status"] == "FAILED":  # the search space rejected it
                return None
            params = dict(rec["params"])
            if rec["seed"] is not None:
                params.update({n: rec["seed"] for n in seed_names})
            parents = None
            parent_id = rec["parent_id"]
            if parent_id is not None and parent_id in models and warm_start_param:
                parent_models, parent_budget = models.pop(parent_id)
                parents = [(m, parent_budget) for m in parent_models]
            keep = bool(is_hyperband and warm_start_param
                        and rec["round"] is not None and rec["bracket"] is not None
                        and rec["round"] < rec["bracket"])
            return dict(
                params=params,
                budget_param=budget_param if rec["budget"] is not None else None,
                budget=rec["budget"], warm_start_param=warm_start_param,
                parents=parents, keep_models=keep)

        shared = dict(estimator=base, X=X, y=y, splits=splits, scorer=scorer,
                      fit_params=fit_params)

        def finish(trial, rec, out):
            nonlocal best, stop_error, stopped
            if out is not None:
                rec.update(scores=out["scores"], fit_times=out["fit_times"],
                           score_times=out["score_times"],
                           epochs_trained=out["epochs_trained"],
                           continued=out["continued"])
                if out["error"] is None:
                    rec["status"] = "COMPLETED"
                    rec["mean"] = float(np.mean(out["scores"]))
                    if out["models"] is not None:
                        models[trial.trial_id] = (out["models"], rec["budget"])
                else:
                    rec["status"], rec["error"] = "FAILED", out["error"]
                    if self.verbose >= 3 and out["traceback"]:
                        print(out["traceback"], file=sys.stderr)
            err = report(trial, rec)
            if rec["status"] == "COMPLETED":
                best = rec["mean"] if best is None else max(best, rec["mean"])
            self._progress(rec, rec["index"] + 1, self.max_trials, best, t_start)
            if err is not None:
                stop_error, stopped = err, True

        def after_results():
            if models:
                keep_ids = _promotable_ids(oracle)
                if keep_ids is not None:
                    for tid in list(models):
                        if tid not in keep_ids:
                            del models[tid]
            if self.directory is not None:
                self._save_state(fingerprint, parts, draw_seed, events, records)

        def ask(tuner_id):
            """A new RUNNING trial and its record, or None (sets ``stopped``)."""
            nonlocal stopped
            if self.max_trials is not None and len(records) >= self.max_trials:
                stopped = True
                return None
            with warnings.catch_warnings():
                # The Bayesian oracle's GP fit warns about length scales.
                warnings.simplefilter("ignore", ConvergenceWarning)
                trial = oracle.create_trial(tuner_id)
            if trial.status == "STOPPED":
                stopped = True
                return None
            if trial.status != "RUNNING":  # IDLE: waits for running trials
                return None
            return trial, new_record(trial, tuner_id)

        executor = None
        try:
            if client is not None:
                executor = DaskTrialExecutor(client, shared, n_splits=n_splits)
            if streaming:
                free = list(tuner_ids)
                running = {}  # future key -> (trial, rec, tuner_id)
                while True:
                    while free and not stopped:
                        got = ask(free[0])
                        if got is None:
                            break
                        tuner_id = free.pop(0)
                        trial, rec = got
                        job = make_job(trial, rec)
                        if job is None:
                            finish(trial, rec, None)
                            free.append(tuner_id)
                            after_results()
                            continue
                        key = executor.submit(job, rec["index"])
                        running[key] = (trial, rec, tuner_id)
                    if not running:
                        break
                    key, out = executor.next_completed()
                    trial, rec, tuner_id = running.pop(key)
                    finish(trial, rec, out)
                    free.append(tuner_id)
                    after_results()
            else:
                while not stopped:
                    batch = []
                    for tuner_id in tuner_ids:
                        got = ask(tuner_id)
                        if got is None:
                            break
                        batch.append(got)
                    if not batch:
                        break
                    jobs = [make_job(trial, rec) for trial, rec in batch]
                    todo = [j for j in jobs if j is not None]
                    if executor is not None:
                        outs = iter(executor.run_batch(todo))
                    elif batch_size > 1 and len(todo) > 1:
                        outs = iter(Parallel(n_jobs=batch_size, backend="loky")(
                            delayed(evaluate_candidate)(**shared, **j) for j in todo))
                    else:
                        outs = iter([evaluate_candidate(**shared, **j) for j in todo])
                    for (trial, rec), job in zip(batch, jobs):
                        finish(trial, rec, None if job is None else next(outs))
                    after_results()
        finally:
            if executor is not None:
                executor.close()
        models.clear()
        if stop_error is not None:
            warnings.warn(f"The oracle stopped the search: {stop_error}", RuntimeWarning)

        # ---- results
        summary = {
            "class": type(oracle).__module__ + "." + type(oracle).__name__,
            "seed": getattr(oracle, "seed", None),
            "n_trials": len(oracle.trials),
            "max_trials": getattr(oracle, "max_trials", None),
        }
        if is_hyperband:
            summary.update(max_epochs=getattr(oracle, "max_epochs", None),
                           factor=getattr(oracle, "factor", None))
        _free_oracle(oracle)
        del oracle

        if not records:
            raise ValueError("The oracle proposed no trial (empty search space?).")
        completed = [r for r in records if r["status"] == "COMPLETED"]
        if not completed:
            errors = "\n".join(f"  trial {r['trial_id']}: {r['error']}" for r in records)
            raise ValueError(f"All {len(records)} trials failed:\n{errors}")

        self.cv_results_ = build_cv_results(records, n_splits)
        means = self.cv_results_["mean_test_score"]
        # Ties: prefer the longest-trained model (Hyperband), then the first.
        top = np.flatnonzero(means == np.nanmax(means))
        budgets = [records[i]["budget"] or 0 for i in top]
        self.best_index_ = int(top[int(np.argmax(budgets))])
        best_rec = records[self.best_index_]
        self.best_params_ = dict(best_rec["params"])
        self.best_score_ = float(means[self.best_index_])
        self.scorer_ = scorer
        self.n_splits_ = n_splits
        self.n_trials_ = len(records)
        self.n_epochs_spent_ = int(sum(r["epochs_trained"] for r in records))
        self.search_time_ = time.perf_counter() - t_start
        self.oracle_summary_ = summary
        self.tuner_name_ = name
        self.resumed_trials_ = resumed
        self.searched_params_ = self._varied_params(records)
        self.best_budget_ = best_rec["budget"]
        self.multimetric_ = False

        if self.refit:
            params = dict(best_rec["params"])
            if best_rec["seed"] is not None:
                params.update({n: best_rec["seed"] for n in seed_names})
            if best_rec["budget"] is not None and budget_param is not None and (
                    is_hyperband or max_epochs is not None):
                params[budget_param] = int(best_rec["budget"])
            est = clone(base).set_params(**params)
            t0 = time.perf_counter()
            est.fit(X, y, **fit_params)
            self.refit_time_ = time.perf_counter() - t0
            self.best_estimator_ = est
            for attr in ("n_features_in_", "feature_names_in_"):
                if hasattr(est, attr):
                    setattr(self, attr, getattr(est, attr))
        if is_classifier(base) and y is not None:
            if self.refit and hasattr(self.best_estimator_, "classes_"):
                self.classes_ = self.best_estimator_.classes_
            else:
                self.classes_ = np.unique(np.asarray(y))
        if self.verbose >= 1:
            print(f"[TunedGRU] done: {len(records)} trials "
                  f"({len(records) - len(completed)} failed), best score "
                  f"{self.best_score_:.4f} with {self.best_params_}",
                  file=sys.stderr, flush=True)
        return self

    @staticmethod
    def _varied_params(records):
        names = []
        for rec in records:
            for k in rec["params"]:
                if k not in names:
                    names.append(k)
        varied = []
        for k in names:
            vals = {repr(r["params"].get(k, "<absent>")) for r in records}
            if len(vals) > 1:
                varied.append(k)
        return varied

    # ---------------------------------------------------------- delegation
    @available_if(_search_estimator_has("predict"))
    def predict(self, X):
        """Predict with ``best_estimator_``."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict(X)

    @available_if(_search_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities from ``best_estimator_``."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict_proba(X)

    @available_if(_search_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """Log class probabilities from ``best_estimator_``."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict_log_proba(X)

    @available_if(_search_estimator_has("decision_function"))
    def decision_function(self, X):
        """Decision function of ``best_estimator_``."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.decision_function(X)

    @available_if(_search_estimator_has("transform"))
    def transform(self, X):
        """Transform with ``best_estimator_``."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.transform(X)

    @available_if(_search_estimator_has("score"))
    def score(self, X, y=None):
        """Score ``best_estimator_`` with the search's scorer (``scorer_``)."""
        check_is_fitted(self, "best_estimator_")
        return self.scorer_(self.best_estimator_, X, y)
