"""TunedGRU: a KerasTuner-driven hyperparameter search that is an estimator.

``TunedGRU.fit`` validates its parameters, plans the search, then hands it to
the pieces that run it:

* :mod:`skgru.tuning._oracles`: KerasTuner oracles (created lazily, kept in
  memory);
* :mod:`skgru.tuning._session`: one search's ask/tell loop state, trial
  records and Hyperband parent models;
* :mod:`skgru.tuning._execution`: where trials run (sequential, loky, Dask);
* :mod:`skgru.tuning._state`: the resume state saved in ``directory``;
* :mod:`skgru.tuning._results`: ``cv_results_``.
"""

from __future__ import annotations

import copy
import numbers
import time
import warnings

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import ShuffleSplit, check_cv
from sklearn.utils import Bunch, check_random_state, get_tags
from sklearn.utils import metadata_routing
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _routing_enabled,
    process_routing,
)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import _num_samples, check_is_fitted

from skgru.tuning._execution import plan_execution, run_trials
from skgru.tuning._hold_out import hold_out_split
from skgru.tuning._lock import DirectoryLock, DirectoryLockedError
from skgru.tuning._oracles import TUNERS, free_oracle, import_kt, make_oracle
from skgru.tuning._progress import SearchProgress, print_search_done
from skgru.tuning._results import build_cv_results, metric_names
from skgru.tuning._scoring import (
    SINGLE,
    check_refit_for_multimetric,
    resolve_scoring,
    scorers_accept_sample_weight,
)
from skgru.tuning._search_space import (
    SearchSpace,
    default_search_space,
    gru_step,
    populate_initial_space,
)
from skgru.tuning._session import SearchPlan, SearchSession, trial_params
from skgru.tuning._state import SearchStateFile, check_directory, search_fingerprint
from skgru.tuning._validation import sequence_length, validate_search_data
from skgru.tuning._trial_runner import fused_refit
from skgru._doc_links import DocLinkMixin

# How TunedGRU breaks ties at the best mean score (see the ``tie_break`` parameter).
TIE_BREAKS = ("first", "log_loss")

__all__ = ["TunedGRU"]


def _default_estimator():
    from skgru.estimators import GRUClassifier

    return GRUClassifier()


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


class TunedGRU(DocLinkMixin, MetaEstimatorMixin, BaseEstimator):
    """Hyperparameter search driven by KerasTuner oracles, as an estimator.

    ``TunedGRU`` asks a KerasTuner ``Oracle`` (random search, Bayesian
    optimisation, Hyperband, grid, skgru's :class:`EvolutionOracle`, Optuna's
    TPE or asynchronous successive halving) for
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
        ``None`` (a GRU estimator or a Pipeline ending in one): units
        {32, 64, 128}, n_layers {1, 2}, bidirectional {False, True}, dropout
        U(0, 0.4), learning_rate logU(3e-4, 1e-2), batch_size {16, 32},
        patch_size {"auto", 5, 10} (5 and 10 raised on series longer than 500
        steps so that at most 100 and 50 GRU steps remain), patch_mode
        {"max", "fold"}, pooling ({"auto", "mean", "attention"} for a
        classifier, {"last", "mean", "attention"} for a regressor),
        conv_filters {None, 64}; for a regressor linear_skip {None, True}; for
        a classifier fcn_branch {False, True} on series of at most 500 steps
        (or of unknown length) and crop_size {None, 0.25, 0.125} on series
        longer than 40 steps (of known length).  With ``tuner="grid"`` the space
        shrinks to short lists: units {32, 64}, dropout {0.0, 0.2},
        learning_rate {1e-3, 3e-3}, batch_size {32}.
    tuner : {"random", "bayesian", "hyperband", "grid", "evolution", "tpe", "asha"} \
or keras_tuner.Oracle, default="random"
        The search algorithm.  ``"tpe"`` is Optuna's Tree-structured Parzen
        Estimator (``TPESampler``, multivariate, driven by ask/tell; the
        ``optuna`` extra); its first ``min(10, max_trials // 3)`` trials are
        random (``tuner_params={"n_startup_trials": k}`` to change).
        ``"asha"`` is asynchronous successive halving over epochs: new
        configurations (random at first, then proposed by TPE from the results so
        far, a third of them still random, as in BOHB) train ``min_epochs``; whenever a trial is asked for, the
        best configuration that is in the top ``1 / reduction_factor`` of those
        completed at its rung and not yet promoted goes up one rung (highest
        rung first), else a new configuration starts.  Rungs are
        ``round(max_epochs / reduction_factor**j)`` epochs, from the top
        (``max_epochs``) down to the last one >= ``min_epochs``.  A promotion
        continues each fold's model from its weights (the same splits,
        ``warm_start``; only the missing epochs are trained) and scores it as
        trained; when the trial's folds trained fused, its folds continue fused
        too, from the weights and optimizer state the trial kept.  ``tuner_params``: ``min_epochs`` (default 1),
        ``reduction_factor`` (default 3), ``max_epochs_total`` (the budget:
        epochs per split that all trials together may train; default:
        what synchronous successive halving spends on the largest bracket whose
        trials fit in ``max_trials``), ``max_epochs`` (or the parameter below),
        ``sampler`` (``"tpe"``, default, needs Optuna; ``"random"``),
        ``random_fraction`` (default 1/3: new configurations still drawn at
        random), ``min_points`` (configurations that must complete the
        first rung before TPE proposes; default: searched parameters + 1) and
        ``promote_by`` (what ranks a rung: ``"auto"``, default, is the mean
        validation log loss of ``predict_proba`` for a classifier that has one
        on a single-label target, and the score otherwise; ``"log_loss"``;
        ``"score"``.  After a few epochs accuracy moves in steps of one
        validation series and ties; the log loss sees every probability move.
        The search still reports its score, and
        ``cv_results_["promotion_log_loss"]`` holds the losses).
        No trial starts that would exceed the budget.

        An ``Oracle`` instance is deep-copied before use (the parameter itself
        is never modified); its objective is set to maximise the sklearn score.
    max_trials : int or None, default=10
        Maximum number of trials (configurations evaluated; for Hyperband and
        ASHA every promotion counts as a trial).  ``None`` runs until the
        oracle stops: the whole grid, one complete Hyperband iteration, or
        ASHA's epoch budget (by default that of a bracket of
        ``reduction_factor**(n_rungs - 1)`` configurations); it is not allowed
        for random, bayesian, evolution and tpe.
    cv : None, int, cross-validation generator or iterable, default=None
        ``None``: one hold-out split of ``validation_fraction`` (stratified
        for classifiers, shuffled; when it cannot be, e.g. fewer hold-out
        samples than classes, a ``UserWarning`` and a hold-out that keeps at
        least one training sample of every class); otherwise as in ``GridSearchCV``
        (``groups`` passed to ``fit`` reach the splitter).
    scoring : str, callable, list, tuple, dict or None, default=None
        As in ``GridSearchCV``: a single scorer (a name or a callable
        ``scorer(estimator, X, y)``; ``None`` uses the estimator's ``score``),
        or several: a list/tuple of scorer names, a dict ``{name: scorer}``, or
        a callable returning ``{name: score}``.  The oracle maximises one of
        them, the *objective*: the ``refit`` metric when ``refit`` is a name,
        else the first metric.
    refit : bool, str or callable, default=True
        Refit the best configuration on all the data (``best_estimator_``,
        needed for ``predict`` and friends).  With several metrics, the name
        of the metric that decides the best trial (or ``False``); a callable
        ``refit(cv_results_) -> index`` chooses the best trial itself
        (``best_score_`` is then not set), as in ``GridSearchCV``.
    n_jobs : int or None, default=1
        Trials evaluated in parallel.  Where they run:

        * on a **Dask cluster** inside ``joblib.parallel_config(backend="dask")``
          (any ``n_jobs`` but 1; ``None``/``-1`` = one trial per worker
          thread), or when a ``distributed.Client`` is current (the default
          client, or ``with client.as_current():``) and ``n_jobs`` is > 1 or
          negative.  The data are sent to the workers once; the oracle
          stays in this process.  Random and grid search keep every worker
          busy (a new trial is sent as soon as one ends), and so does ASHA;
          other tuners run in batches of ``n_jobs`` trials;
        * otherwise in ``n_jobs`` local worker processes (joblib ``loky``),
          in batches of ``n_jobs`` trials (random search and ASHA: streamed,
          a new trial as soon as one ends);
        * ``n_jobs=1`` (or ``None`` outside any joblib context): in this process.

        For random and grid search the trials and scores are the same as
        sequentially, wherever they run; for the other tuners they are the
        same for the same ``n_jobs`` (ASHA in parallel: they depend on which
        trial ends first).  See the user guide, "Scaling out" (docs/user_guide/scaling.md).
    random_state : int, RandomState instance or None, default=None
        Seeds the oracle, the hold-out split and, for estimators whose
        ``random_state`` is ``None``, one derived seed per trial (so two fits
        with the same ``random_state`` evaluate the same trials with the same
        scores).
    directory : str or path-like or None, default=None
        If given, the search state (trial history) is saved there after every
        trial, and a later ``fit`` with the same search (same space,
        estimator parameters, settings and data) resumes it exactly, also
        after the process was killed; a different search in the same
        directory raises ``ValueError``.  The saved history carries a
        checksum: a modified or damaged state file is refused.  Only one
        search at a time may use a directory (see ``lock_timeout``).
    verbose : int, default=0
        ``0``: silent.  ``>= 1``: a progress bar on stderr (tqdm: trials done /
        planned, elapsed, ETA, best score so far, failed trials; a widget in
        notebooks), updated as trials finish wherever they run, and a final
        summary line; ``>= 2`` also writes one line per trial with its
        parameters; ``>= 3`` also the traceback of failed trials.
    validation_fraction : float, default=0.2
        Size of the hold-out split when ``cv=None``.
    max_epochs : int or None, default=None
        Hyperband and ASHA: the largest number of epochs a trial trains
        (``None`` uses the estimator's ``epochs``).  Other tuners: if set,
        every trial and the refit train for ``max_epochs`` epochs.
    hyperband_factor : int, default=3
        Hyperband's reduction factor.
    budget_param : str or None, default=None
        The estimator parameter holding the number of epochs (``None``:
        ``"epochs"``, or the unique ``<step>__epochs`` of a pipeline).
        Hyperband and ASHA promotions continue their parent's fitted models
        through the sibling ``warm_start`` parameter when the estimator has
        one (otherwise they retrain from scratch, and ASHA counts their full
        epochs against its budget).
    tuner_params : dict or None, default=None
        Extra keyword arguments for the oracle, e.g.
        ``{"num_initial_points": 5}`` (bayesian), ``{"hyperband_iterations":
        2}``, ``{"population_size": 8, "mutation_rate": 0.3}`` (evolution),
        ``{"min_epochs": 1, "reduction_factor": 3, "max_epochs_total": 100,
        "sampler": "tpe"}`` (asha).
    return_train_score : bool, default=False
        Also score the training part of every split (``split<k>_train_<name>``,
        ``mean_train_<name>``, ``std_train_<name>``).
    error_score : "raise" or float, default=np.nan
        What a failed trial (its fit raised, its training loss or objective
        score was not finite) scores on every split.  ``"raise"`` re-raises the
        error instead.  A failed trial keeps ``status="FAILED"`` and its
        ``error`` message, ranks after every completed trial whatever
        ``error_score`` is, and is never told to the oracle as a result.
        A non-objective metric that fails on a completed trial gets
        ``error_score`` with a warning, as in sklearn.
    lock_timeout : float or None, default=0
        A search holds an exclusive lock on ``directory`` while it runs.  If
        another search holds it: ``0`` raises at once (the error names the
        directory and the holder's pid and host), a number waits up to that
        many seconds, ``None`` waits as long as it takes.
    timeout : float or None, default=None
        Wall-clock seconds after which the search starts no new trial, as
        Optuna's ``study.optimize(timeout=...)``: trials already running
        finish, at least one trial runs, and the refit is not counted
        (``None``: no limit; ``max_trials`` caps the trials either way).  How
        many trials fit depends on the machine, so a seeded search is
        reproducible only when ``max_trials`` (or the oracle) ends it first;
        ``timed_out_`` says which did.  A search resumed from ``directory``
        counts its timeout from the resuming ``fit``.
    tie_break : {"first", "log_loss"}, default="first"
        Which trial is the best when several tie at the best mean score, as
        they often do on small validation splits (a hold-out of 10 series
        scores accuracy in steps of 0.1).  The longest-trained tied trial is
        preferred first (Hyperband, ASHA); then ``"log_loss"`` takes the one
        whose models' ``predict_proba`` had the lowest mean log loss on the
        same validation splits (classifiers; ``cv_results_["tie_break_log_loss"]``),
        and ``"first"`` the first, as ``GridSearchCV`` does.  Only ties are
        broken: ``rank_test_*`` and ``best_score_`` are the scoring's.
        Regressors and a callable ``refit`` are not affected.

    Attributes
    ----------
    cv_results_ : dict of numpy (masked) arrays
        One entry per trial, sklearn keys (``params``, ``param_<name>``,
        ``split<k>_test_score``, ``mean_test_score``, ``std_test_score``,
        ``rank_test_score``; with several metrics ``split<k>_test_<name>``,
        ``mean_test_<name>``, ``std_test_<name>``, ``rank_test_<name>`` for
        each; ``*_train_*`` with ``return_train_score``; ``mean_fit_time``,
        ``std_fit_time``,
        ``mean_score_time``, ``std_score_time``) plus ``status``
        ("COMPLETED"/"FAILED"), ``error``, ``budget`` (epochs of the trained
        model), ``epochs_trained`` (new epochs this trial trained, over all
        splits), ``trial_id``, ``parent_trial_id``, ``bracket``, ``round``.
        ASHA: one row per configuration and rung, as ``HalvingRandomSearchCV``
        (one per candidate and iteration), plus its ``iter`` (the rung) and
        ``n_resources`` (the rung's epochs) columns.
        Loads into ``pandas.DataFrame``.
    best_index_, best_params_, best_score_ :
        The best completed trial (failed trials are never chosen) on the
        refit metric; for ASHA, the best of the highest rung any
        configuration completed (as ``HalvingRandomSearchCV`` picks in its
        last iteration), refit for that rung's epochs.  As in sklearn: not set with several metrics and
        ``refit=False``; no ``best_score_`` with a callable ``refit``.
    best_estimator_ : estimator
        The best configuration refit on all data (``refit=True``).
    refit_time_ : float
    scorer_ : callable or dict
        The scorer, or ``{name: scorer}`` with several metrics.
    multimetric_ : bool
        Whether several metrics were scored.
    n_splits_ : int
    n_trials_ : int
    n_epochs_spent_ : int
        Epochs trained during the search (all trials and splits, excluding
        the refit).
    n_epochs_budget_ : int or None
        ASHA: the most epochs the search may train (its budget per split
        times ``n_splits_``); None for the other tuners.  A search resumed
        from ``directory`` retrains from scratch the promotions whose parent
        models were lost with the killed process and charges them their whole
        rung, so the budget holds; with ``n_jobs > 1`` a promotion that was
        running at the kill restarts too and can go over it by the epochs its
        parent had trained.
    n_resources_, n_candidates_ : list of int
        ASHA: the epochs of each rung, and the trials run at each rung.
    search_time_ : float
    timed_out_ : bool
        Whether ``timeout`` ended the search (fewer trials than planned).
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
    param_importances_ : dict
        ``{parameter: importance}`` (descending, summing to 1): how much each
        searched parameter explains the refit metric over the completed
        trials, by Optuna's fANOVA evaluator (any tuner; needs the ``optuna``
        extra and two completed trials; computed on first access).  ASHA and
        Hyperband count the trials of one epoch budget, the most common (ASHA:
        its bottom rung).  Not available (``AttributeError``) before ``fit``,
        when no parameter varied or when every counted trial scored the same.
        See :func:`skgru.plotting.plot_importances`.

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
    # ``groups`` is routed to the splitter by get_metadata_routing, as GridSearchCV
    # does; without this sklearn would also generate a set_fit_request(groups=...)
    # on TunedGRU itself that routes nothing.
    __metadata_request__fit = {"groups": metadata_routing.UNUSED}

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
        return_train_score=False,
        error_score=np.nan,
        lock_timeout=0,
        timeout=None,
        tie_break="first",
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
        self.return_train_score = return_train_score
        self.error_score = error_score
        self.lock_timeout = lock_timeout
        self.timeout = timeout
        self.tie_break = tie_break

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
        tags.target_tags = copy.deepcopy(sub.target_tags)
        tags.non_deterministic = sub.non_deterministic
        return tags

    # ------------------------------------------------------------ persistence
    def __getstate__(self):
        # scorer_ is sklearn's scorer object (a private sklearn class skops refuses
        # to load without trusting it by name); it is a pure function of `scoring`,
        # so it is dropped here and rebuilt on load.  A callable `scoring` is the
        # user's own object: kept as it is.
        state = super().__getstate__()
        if "scorer_" in state and not callable(self.scoring):
            state = dict(state)
            del state["scorer_"]
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if "cv_results_" in state and "scorer_" not in state:
            from skgru.tuning._scoring import scorer_from_scoring

            fitted = state.get("best_estimator_", self._base_estimator())
            self.scorer_ = scorer_from_scoring(fitted, self.scoring)

    # ------------------------------------------------------------ validation
    def _tie_break_metric(self, base):
        """What the trials compute for ``tie_break`` (None: nothing, ties go to the first)."""
        return "log_loss" if self.tie_break == "log_loss" and is_classifier(base) else None

    def _tuner_name(self):
        kt = import_kt()
        if isinstance(self.tuner, str):
            if self.tuner not in TUNERS:
                raise ValueError(
                    f"tuner must be one of {TUNERS} or a keras_tuner.Oracle, "
                    f"got {self.tuner!r}."
                )
            return self.tuner
        if isinstance(self.tuner, kt.Oracle):
            return type(self.tuner).__name__
        raise TypeError(
            f"tuner must be one of {TUNERS} or a keras_tuner.Oracle instance, "
            f"got {type(self.tuner).__name__}."
        )

    def _validate_params_(self):
        name = self._tuner_name()
        mt = self.max_trials
        if mt is not None and (not isinstance(mt, numbers.Integral)
                               or isinstance(mt, bool) or mt < 1):
            raise ValueError(f"max_trials must be a positive int or None, got {mt!r}.")
        if mt is None and name in ("random", "bayesian", "evolution", "tpe"):
            raise ValueError(f"max_trials=None is only allowed for the grid, "
                             f"hyperband and asha tuners, not {name!r}.")
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
        if not (isinstance(self.refit, (bool, str)) or callable(self.refit)):
            raise TypeError(f"refit must be a bool, a metric name or a callable, "
                            f"got {type(self.refit).__name__}.")
        es = self.error_score
        if not ((isinstance(es, str) and es == "raise")
                or (isinstance(es, numbers.Real) and not isinstance(es, bool))):
            raise ValueError(f"error_score must be 'raise' or a number, got {es!r}.")
        if not isinstance(self.return_train_score, (bool, np.bool_)):
            raise TypeError(f"return_train_score must be a bool, got "
                            f"{self.return_train_score!r}.")
        lt = self.lock_timeout
        if lt is not None and (not isinstance(lt, numbers.Real) or isinstance(lt, bool)
                               or lt < 0):
            raise ValueError(f"lock_timeout must be a number >= 0 or None, got {lt!r}.")
        to = self.timeout
        if to is not None and (not isinstance(to, numbers.Real) or isinstance(to, bool)
                               or not to > 0):
            raise ValueError(f"timeout must be a number of seconds > 0 or None, got {to!r}.")
        if not (isinstance(self.tie_break, str) and self.tie_break in TIE_BREAKS):
            raise ValueError(f"tie_break must be one of {TIE_BREAKS}, got {self.tie_break!r}.")
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

    def _plan_search(self, base, name, X=None, n_timesteps=None, y=None):
        """Check the search against the estimator and resolve its budget.

        ``n_timesteps`` is the padded length ``base`` itself reads in ``X``
        (from :func:`validate_search_data`), reused when ``base`` is the GRU step.
        ``y`` says whether trials can be ranked by log loss (one label per sample).

        Returns
        -------
        plan : SearchPlan
        """
        kt = import_kt()
        is_hyperband = name == "hyperband" or isinstance(
            self.tuner, kt.oracles.HyperbandOracle)
        is_asha = name == "asha"
        budget_param = self._resolve_budget_param(
            base, needed=is_hyperband or is_asha or self.max_epochs is not None)
        max_epochs = self.max_epochs
        if is_asha and "max_epochs" in (self.tuner_params or {}):
            # ASHA's top rung may also be given with its other settings.
            tp_max = self.tuner_params["max_epochs"]
            if max_epochs is not None and tp_max != max_epochs:
                raise ValueError(
                    f"max_epochs={max_epochs!r} and tuner_params['max_epochs']={tp_max!r} "
                    "disagree; give ASHA's top rung once.")
            max_epochs = tp_max
        if (is_hyperband or is_asha) and max_epochs is None:
            max_epochs = base.get_params(deep=True)[budget_param]
            if not isinstance(max_epochs, numbers.Integral) or max_epochs < 1:
                raise ValueError(
                    f"{'Hyperband' if is_hyperband else 'ASHA'} needs max_epochs or an "
                    f"integer {budget_param!r} on the estimator, got {max_epochs!r}.")
        if isinstance(self.tuner, kt.oracles.HyperbandOracle):
            max_epochs = self.tuner.max_epochs

        if self.search_space is not None:
            space = SearchSpace(self.search_space)
        else:  # the default space's patch sizes scale with the series' length
            step = gru_step(base)
            if step is not base:  # a Pipeline: read X as its GRU step does
                n_timesteps = None if step is None or X is None else sequence_length(step, X)
            space = SearchSpace(default_search_space(base, name, n_timesteps=n_timesteps))
        space_names = space.param_names() or []
        if (is_hyperband or is_asha) and budget_param in space_names:
            raise ValueError(
                f"{budget_param!r} cannot be in the search space with "
                f"{'Hyperband' if is_hyperband else 'ASHA'}, which sets it.")
        base_params = base.get_params(deep=True)
        unknown = [p for p in space_names if p not in base_params]
        if unknown:
            raise ValueError(
                f"Search space parameters {unknown} are not parameters of "
                f"{type(base).__name__}; valid ones include "
                f"{sorted(k for k in base_params if '__' not in k)}.")
        warm_start_param = None
        if (is_hyperband or is_asha) and budget_param is not None:
            prefix = budget_param[: -len("epochs")] if budget_param.endswith("epochs") else ""
            if prefix + "warm_start" in base_params:
                warm_start_param = prefix + "warm_start"
        return SearchPlan(
            name=name, is_hyperband=is_hyperband, budget_param=budget_param,
            max_epochs=max_epochs, space=space, space_names=space_names,
            base_params=base_params, warm_start_param=warm_start_param,
            seed_names=self._seed_names(base, exclude=set(space_names)),
            is_asha=is_asha,
            # log loss ranks a single-label classifier's trials (sklearn's log_loss
            # has no multilabel or multi-output form)
            probabilistic=bool(is_classifier(base) and hasattr(base, "predict_proba")
                               and y is not None
                               and type_of_target(y) in ("binary", "multiclass")))

    # ------------------------------------------------------------ the oracle
    def _make_oracle(self, plan, oracle_seed):
        """A new diskless oracle for ``plan`` (see :func:`make_oracle`)."""
        oracle = make_oracle(self.tuner, plan.name, self.tuner_params,
                             self.hyperband_factor, oracle_seed, plan.max_epochs,
                             self.max_trials, continued=plan.warm_start_param is not None,
                             probabilistic=plan.probabilistic)
        if getattr(oracle, "promotion_metric", None) == "log_loss" and not plan.probabilistic:
            # every trial's loss would be NaN, and ASHA would promote nothing
            free_oracle(oracle)
            raise ValueError("promote_by='log_loss' ranks trials by the log loss of "
                             "predict_proba: it needs a classifier that has one and a "
                             "target with one label per sample.")
        return oracle

    # ------------------------------------------------------------ splitting
    def _make_splits(self, estimator, X, y, split_params, split_seed):
        """The (train, test) index pairs of the search.

        ``cv=None``: one shuffled hold-out split of ``validation_fraction``,
        stratified for single-output classification when every class can be
        on both sides, else keeping every class in training (see
        ``_hold_out.py``).  Multilabel and multi-output targets are never
        stratified (a label combination usually has too few members).
        """
        if self.cv is None:
            return hold_out_split(estimator, y, _num_samples(X),
                                  self.validation_fraction, split_seed)
        cv = check_cv(self.cv, y, classifier=is_classifier(estimator))
        return [(np.asarray(a), np.asarray(b))
                for a, b in cv.split(X, y, **split_params)]

    # -------------------------------------------------------------- seeding
    def _draw_seeds(self):
        """``(base_seed, draw_seed)``: the seed given by ``random_state``
        (None if unset), and the seed of the oracle (drawn from NumPy's global
        random state when ``random_state`` is None)."""
        if self.random_state is None:
            base_seed = None
        elif isinstance(self.random_state, numbers.Integral):
            base_seed = int(self.random_state)
        else:
            base_seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        draw_seed = base_seed if base_seed is not None else int(
            np.random.randint(2**31 - 1))
        return base_seed, draw_seed

    @staticmethod
    def _seed_names(estimator, exclude):
        params = estimator.get_params(deep=True)
        return [k for k, v in params.items()
                if (k == "random_state" or k.endswith("__random_state"))
                and v is None and k not in exclude]

    # ------------------------------------------------------------ state I/O
    def _open_state_file(self, base, plan, scoring, X, y, groups, fit_params):
        """The state file of this search in ``directory``, and the state saved
        there (None for a new search)."""
        # The oracle seed must survive a resume even with random_state=None.
        oracle_probe = self._make_oracle(plan, 1)
        populate_initial_space(plan.space, oracle_probe)
        fingerprint, parts = search_fingerprint(
            self, base, plan.space, oracle_probe, X, y, groups, fit_params,
            plan.name, plan.max_epochs, plan.budget_param, scoring.objective,
            tie_break=self._tie_break_metric(base))
        free_oracle(oracle_probe)
        state_file = SearchStateFile(self.directory, fingerprint, parts)
        return state_file, state_file.load()

    # -------------------------------------------------------------- routing
    def _routing_splitter(self):
        # cv=None: TunedGRU's own hold-out split, which takes no metadata.
        return ShuffleSplit() if self.cv is None else self.cv

    def get_metadata_routing(self):
        """Get metadata routing of this object (as ``GridSearchCV``).

        ``fit`` metadata goes to the estimator's ``fit`` (as it requests it),
        to the scorer(s) and to the ``cv`` splitter (``groups``); ``score``
        metadata to the scorer.  Request metadata on the estimator being
        tuned, e.g. ``TunedGRU(GRUClassifier().set_fit_request(
        sample_weight=True))``.

        Returns
        -------
        routing : MetadataRouter
        """
        router = MetadataRouter(owner=self)
        router.add(estimator=self._base_estimator(),
                   method_mapping=MethodMapping().add(caller="fit", callee="fit"))
        scoring = resolve_scoring(self._base_estimator(), self.scoring, self.refit,
                                  self.error_score)
        router.add(scorer=scoring.scorer,
                   method_mapping=MethodMapping().add(caller="score", callee="score")
                   .add(caller="fit", callee="score"))
        router.add(splitter=self._routing_splitter(),
                   method_mapping=MethodMapping().add(caller="fit", callee="split"))
        return router

    def _route_fit_params(self, scoring, groups, fit_params):
        """``Bunch(estimator=.fit, scorer=.score, splitter=.split)`` for ``fit``."""
        params = dict(fit_params)
        if groups is not None:
            params["groups"] = groups
        if _routing_enabled():
            return process_routing(self, "fit", **params)
        groups = params.pop("groups", None)
        score = {}
        if params.get("sample_weight") is not None and scorers_accept_sample_weight(scoring):
            score["sample_weight"] = params["sample_weight"]  # sklearn >= 1.9 does this
        return Bunch(estimator=Bunch(fit=params), scorer=Bunch(score=score),
                     splitter=Bunch(split={"groups": groups}))

    # ------------------------------------------------------------------ fit
    def fit(self, X, y=None, groups=None, **fit_params):
        """Run the search, then refit the best configuration on all the data.

        Parameters
        ----------
        X : array-like, e.g. (n_samples, n_timesteps, n_features)
            Anything the estimator accepts (3D arrays, ragged lists, tokens...).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs) or None
        groups : array-like or None
            Group labels for group-aware ``cv`` splitters.
        **fit_params : dict
            Metadata for the estimator's ``fit``, the scorer(s) and the
            splitter.  Without metadata routing (sklearn's default) they all go
            to the estimator's ``fit`` (``sample_weight`` also to the scorers
            that accept it); with ``sklearn.set_config(enable_metadata_routing=
            True)`` each goes where it is requested.  Sample-aligned values are
            split with the data.

        Returns
        -------
        self : TunedGRU
        """
        name = self._validate_params_()
        base = self._base_estimator()
        if not hasattr(base, "fit"):
            raise TypeError(f"estimator must be an estimator, got {base!r}.")
        if self.directory is not None:
            check_directory(self.directory)  # before any training
        scoring = resolve_scoring(base, self.scoring, self.refit, self.error_score)
        X, y, n_timesteps = validate_search_data(base, X, y, groups)
        routed = self._route_fit_params(scoring, groups, fit_params)
        base_seed, draw_seed = self._draw_seeds()
        plan = self._plan_search(base, name, X, n_timesteps, y=y)
        splits = self._make_splits(base, X, y, routed.splitter.split,
                                   None if base_seed is None else base_seed % (2**31 - 1))

        lock = None
        if self.directory is not None:
            lock = DirectoryLock(self.directory, timeout=self.lock_timeout)
            try:
                lock.acquire()
            except DirectoryLockedError as exc:
                raise DirectoryLockedError(str(exc)) from None
        try:
            self._search(base, name, plan, scoring, routed, splits, X, y, groups,
                         fit_params, base_seed, draw_seed)
        finally:
            if lock is not None:
                lock.release()
        if self.refit:
            self._refit_best(base, self._best_record, plan, X, y, routed.estimator.fit)
        del self._best_record
        if is_classifier(base) and y is not None:
            if self.refit and hasattr(self.best_estimator_, "classes_"):
                self.classes_ = self.best_estimator_.classes_
            elif type_of_target(y) in ("binary", "multiclass"):
                self.classes_ = np.unique(np.asarray(y))
        if self.verbose >= 1:
            n_failed = sum(s != "COMPLETED" for s in self.cv_results_["status"])
            print_search_done(self.n_trials_, n_failed, getattr(self, "best_score_", None),
                              getattr(self, "best_params_", None))
        return self

    def _search(self, base, name, plan, scoring, routed, splits, X, y, groups, fit_params,
                base_seed, draw_seed):
        """Run the trials (the directory, if any, is locked); set the results."""
        t_start = time.perf_counter()
        # A search saved in ``directory`` is resumed: its seed, then its history.
        state_file = state = None
        if self.directory is not None:
            state_file, state = self._open_state_file(base, plan, scoring, X, y, groups,
                                                      fit_params)
            if state is not None:
                draw_seed = int(state["base_seed"])
        oracle = self._make_oracle(plan, draw_seed % (2**31 - 2) + 1)  # 0: "no seed"
        populate_initial_space(plan.space, oracle)
        # Per-trial seeds come from random_state, else from a resumed search.
        trial_seed_base = base_seed if base_seed is not None else (
            draw_seed if state is not None else None)
        # ASHA's oracle enforces the trial limit itself, with its epoch budget.
        max_trials = None if plan.is_asha else self.max_trials
        progress = SearchProgress(self.verbose, self.max_trials,
                                  scoring.objective or "score")
        session = SearchSession(
            oracle, plan, n_splits=len(splits), trial_seed_base=trial_seed_base,
            max_trials=max_trials, verbose=self.verbose, t_start=t_start,
            state_file=state_file, state_seed=draw_seed, objective=scoring.objective,
            progress=progress, timeout=self.timeout)
        tie_break = self._tie_break_metric(base)  # what each trial computes for ties
        # ASHA ranking its rungs by log loss needs the same per-split losses
        promotion = getattr(oracle, "promotion_metric", None)
        try:
            if state is not None:
                session.replay(state)
            # The search loop: ask trials, evaluate them where they run, tell the oracle.
            execution = plan_execution(self.n_jobs, oracle)
            self.parallel_backend_ = execution.backend
            run_trials(session, execution, dict(
                estimator=base, X=X, y=y, splits=splits, scorer=scoring.scorer,
                fit_params=dict(routed.estimator.fit),
                score_params=dict(routed.scorer.score),
                return_train_score=bool(self.return_train_score),
                error_score=self.error_score, objective=scoring.objective,
                tie_break=tie_break or promotion))
        finally:
            progress.close()
        if session.stop_error is not None:
            warnings.warn(f"The oracle stopped the search: {session.stop_error}",
                          RuntimeWarning)
        summary = session.close()
        del oracle
        self._best_record = self._store_search_results(
            session, summary, scoring, len(splits), t_start, tie_break=tie_break is not None,
            promotion_log_loss=promotion == "log_loss")

    # --------------------------------------------------------------- results
    def _store_search_results(self, session, summary, scoring, n_splits, t_start,
                              tie_break=False, promotion_log_loss=False):
        """Set the fitted search attributes; returns the best trial's record
        (None when no best is chosen: several metrics and ``refit=False``).

        Raises ``ValueError`` if there was no trial or every trial failed.
        """
        records = session.records
        if not records:
            raise ValueError("The oracle proposed no trial (empty search space?).")
        n_failed = sum(r["status"] != "COMPLETED" for r in records)
        if n_failed == len(records):
            errors = "\n".join(f"  trial {r['trial_id']}: {r['error']}" for r in records)
            raise ValueError(
                f"All {len(records)} trials failed. You can debug the error by "
                f"setting error_score='raise'.\n{errors}")
        if n_failed:
            warnings.warn(
                f"{n_failed} of {len(records)} trials failed; their scores are set to "
                f"{self.error_score} (status 'FAILED', message in cv_results_['error']). "
                "To debug, set error_score='raise'.", FitFailedWarning, stacklevel=4)

        names = metric_names(records)
        multimetric = scoring.multimetric
        if multimetric is None:  # a callable: what it returned decides
            multimetric = any(r["multimetric"] for r in records if r["status"] == "COMPLETED")
            if multimetric:
                check_refit_for_multimetric(self.refit, names)
        self.multimetric_ = bool(multimetric)
        self.cv_results_ = build_cv_results(
            records, n_splits, error_score=self.error_score, names=names,
            return_train_score=bool(self.return_train_score), tie_break=tie_break,
            promotion_log_loss=promotion_log_loss)
        self.scorer_ = scoring.scorers
        self.n_splits_ = n_splits
        self.n_trials_ = len(records)
        self.n_epochs_spent_ = int(sum(r["epochs_trained"] for r in records))
        self.n_epochs_budget_ = None
        if session.plan.is_asha:
            self._store_asha_results(records, summary, n_splits)
        self.search_time_ = time.perf_counter() - t_start
        self.timed_out_ = bool(session.timed_out)
        self.oracle_summary_ = summary
        self.tuner_name_ = session.plan.name
        self.resumed_trials_ = session.resumed
        self.searched_params_ = self._varied_params(records)

        if not (self.refit or not self.multimetric_):
            return None
        refit_metric = self.refit if self.multimetric_ else SINGLE
        if callable(self.refit):
            best = self.refit(self.cv_results_)
            if not isinstance(best, numbers.Integral) or isinstance(best, bool):
                raise TypeError("best_index_ returned is not an integer")
            if best < 0 or best >= len(records):
                raise IndexError("best_index_ index out of range")
            if records[best]["status"] != "COMPLETED":
                raise ValueError(f"The refit callable chose trial {int(best)}, which "
                                 f"FAILED: {records[best]['error']}")
            self.best_index_ = int(best)
        else:
            means = self.cv_results_[f"mean_test_{refit_metric}"]
            ranks = self.cv_results_[f"rank_test_{refit_metric}"]
            if session.plan.is_asha:
                # As HalvingRandomSearchCV: the best of the highest rung reached
                # (scores after fewer epochs are not comparable).
                ranks = self._asha_top_rung_ranks(records, ranks)
            # Ties: prefer the longest-trained model (Hyperband), then the lowest
            # log loss (tie_break="log_loss"), then the first.
            top = np.flatnonzero(ranks == ranks.min())
            budgets = np.array([records[i]["budget"] or 0 for i in top])
            top = top[budgets == budgets.max()]
            if "tie_break_log_loss" in self.cv_results_:
                losses = self.cv_results_["tie_break_log_loss"][top]
                top = top[np.argsort(np.where(np.isnan(losses), np.inf, losses), kind="stable")]
            self.best_index_ = int(top[0])
            self.best_score_ = float(means[self.best_index_])
        best_rec = records[self.best_index_]
        self.best_params_ = dict(best_rec["params"])
        self.best_budget_ = best_rec["budget"]
        return best_rec

    def _store_asha_results(self, records, summary, n_splits):
        """ASHA's extra ``cv_results_`` columns and fitted attributes."""
        res = self.cv_results_
        rungs = list(summary["rungs"])
        # HalvingRandomSearchCV's names: the rung index and the epochs trained.
        res["iter"] = np.array([r["round"] if r["round"] is not None else 0
                                for r in records], dtype=np.int64)
        res["n_resources"] = np.array([r["budget"] or 0 for r in records], dtype=np.int64)
        self.n_resources_ = rungs
        self.n_candidates_ = [int(np.sum(res["iter"] == k)) for k in range(len(rungs))]
        self.n_epochs_budget_ = int(summary["budget_per_split"]) * n_splits

    @staticmethod
    def _asha_top_rung_ranks(records, ranks):
        """``ranks`` with every row outside the highest completed rung last."""
        rung = [r["round"] if r["round"] is not None else 0 for r in records]
        done = [k for k, r in zip(rung, records) if r["status"] == "COMPLETED"]
        if not done:
            return ranks
        top = max(done)
        out = np.asarray(ranks).copy()
        out[[k != top for k in rung]] = np.iinfo(out.dtype).max
        return out

    def _refit_best(self, base, best_rec, plan, X, y, fit_params):
        """Fit the best configuration on all the data (``best_estimator_``)."""
        params = trial_params(best_rec, plan.seed_names)
        if best_rec["budget"] is not None and plan.budget_param is not None and (
                plan.is_hyperband or plan.max_epochs is not None):
            params[plan.budget_param] = int(best_rec["budget"])
        est = clone(base).set_params(**params)
        t0 = time.perf_counter()
        # a GRU estimator the NumPy fused step trains is refitted by it (one "fold" of
        # every row: the same model up to float32 rounding, without the training
        # engine's trace); anything else by its own fit
        fitted = fused_refit(est, X, y, fit_params)
        if fitted is None:
            est.fit(X, y, **fit_params)
        else:
            est = fitted
        self.refit_time_ = time.perf_counter() - t0
        self.best_estimator_ = est
        for attr in ("n_features_in_", "feature_names_in_"):
            if hasattr(est, attr):
                setattr(self, attr, getattr(est, attr))

    @property
    def param_importances_(self):
        """``{parameter: importance}`` by fANOVA (see the class docstring)."""
        if not hasattr(self, "cv_results_"):
            raise AttributeError("param_importances_ is available after fit.")
        cache = self.__dict__.get("_importances_cache")
        if cache is not None and cache[0] is self.cv_results_:
            return dict(cache[1])
        from skgru.tuning._importance import param_importances, rows_at_one_budget

        if "mean_test_score" in self.cv_results_:
            key = "mean_test_score"
        else:
            metric = self.refit if isinstance(self.refit, str) else next(
                k[len("mean_test_"):] for k in self.cv_results_ if k.startswith("mean_test_"))
            key = f"mean_test_{metric}"
        seed = self.random_state if isinstance(self.random_state, numbers.Integral) else 0
        # ASHA / Hyperband: the rows of one epoch budget (ASHA's bottom rung).
        results = rows_at_one_budget(self.cv_results_, key)
        try:
            imp = param_importances(results, key, self.searched_params_,
                                    seed=int(seed))
        except ValueError as exc:
            raise AttributeError(str(exc)) from None
        self.__dict__["_importances_cache"] = (self.cv_results_, imp)
        return dict(imp)

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
    def score(self, X, y=None, **params):
        """Score ``best_estimator_`` with the search's scorer (``scorer_``).

        With several metrics, the ``refit`` metric.  ``**params`` go to the
        scorer (with metadata routing: as requested).
        """
        check_is_fitted(self, "best_estimator_")
        if _routing_enabled():
            params = process_routing(self, "score", **params).scorer["score"]
        if self.multimetric_ and not isinstance(self.refit, str):
            raise ValueError(
                "score() with several metrics scores the refit metric; refit is a "
                "callable here, so call one of scorer_'s scorers directly.")
        if self.multimetric_ and isinstance(self.scorer_, dict):
            return self.scorer_[self.refit](self.best_estimator_, X, y, **params)
        score = self.scorer_(self.best_estimator_, X, y, **params)
        if self.multimetric_:
            score = score[self.refit]
        return score
