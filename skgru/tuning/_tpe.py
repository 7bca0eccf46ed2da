"""``tuner="tpe"``: Optuna's Tree-structured Parzen Estimator as a KerasTuner ``Oracle``.

TunedGRU's search loop talks to KerasTuner oracles (ask = ``create_trial``, tell
= ``end_trial``); this oracle forwards both to an in-memory Optuna study through
Optuna's ask-and-tell interface, so TPE proposes the values and KerasTuner's
``HyperParameters`` keep describing the space (conditional scopes included:
the space is sampled define-by-run, one active hyperparameter at a time).

Mapping of KerasTuner hyperparameters to Optuna suggestions:

* ``Choice`` / ``Boolean`` -> ``suggest_categorical`` (the listed values);
* ``Int`` -> ``suggest_int`` (``step``, ``log`` for ``sampling="log"``);
* ``Float`` -> ``suggest_float`` (``step`` if given, ``log``);
* ``Fixed`` -> its value.

The search is reproducible: Optuna's ``TPESampler(seed=...)`` gives the same
proposals for the same seed and the same history, which is also what lets a
search saved in ``directory`` be replayed on resume.  Failed trials are told
as ``TrialState.FAIL`` (TPE ignores them).  Needs the ``optuna`` extra.
"""

from __future__ import annotations

import contextlib

__all__ = ["TPEOracle", "completed_trial", "import_optuna", "quiet_optuna", "sample_space",
           "suggest_value"]


def import_optuna():
    """Import ``optuna`` with an install hint."""
    try:
        import optuna
    except ImportError as exc:  # pragma: no cover - depends on the env
        raise ImportError(
            "tuner='tpe' and param_importances_ need optuna: "
            "pip install 'skgru[optuna]'") from exc
    return optuna


@contextlib.contextmanager
def quiet_optuna():
    """Optuna's INFO lines off while skgru talks to one of its own studies.

    An in-memory study logs "A new study created in memory" and "Trial N
    finished with value ..." at INFO, one line per trial, which TunedGRU reports
    its own way (``verbose``).  Optuna's verbosity is process-wide, so the
    user's setting is restored on the way out: their own studies log as before.
    """
    optuna = import_optuna()
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(max(before, optuna.logging.WARNING))
    try:
        yield optuna
    finally:
        optuna.logging.set_verbosity(before)


def suggest_value(ot, hp):
    """One KerasTuner hyperparameter's value from an Optuna trial (see the module docstring)."""
    from skgru._keras.private import kt_hyperparameters_module

    hp_module = kt_hyperparameters_module()
    if isinstance(hp, hp_module.Fixed):
        return hp.value
    if isinstance(hp, hp_module.Boolean):
        return ot.suggest_categorical(hp.name, [False, True])
    if isinstance(hp, hp_module.Choice):
        return ot.suggest_categorical(hp.name, list(hp.values))
    log = getattr(hp, "sampling", "linear") == "log"
    if isinstance(hp, hp_module.Int):
        step = hp.step or 1
        return ot.suggest_int(hp.name, hp.min_value, hp.max_value,
                              step=1 if log else step, log=log)
    if isinstance(hp, hp_module.Float):
        step = None if log else hp.step
        return ot.suggest_float(hp.name, hp.min_value, hp.max_value,
                                step=step, log=log)
    raise TypeError(f"tuner='tpe' cannot sample {type(hp).__name__} "
                    f"hyperparameter {hp.name!r}.")


def sample_space(ot, space):
    """Values for a KerasTuner ``space`` (list of hyperparameters) from an Optuna
    trial, define-by-run: only the hyperparameters active under the values drawn
    so far are suggested (conditional scopes)."""
    from skgru._keras.private import kt_hyperparameters_module

    hps = kt_hyperparameters_module().HyperParameters()
    for hp in space:
        hps.merge([hp])
        if hps.is_active(hp):
            hps.values[hp.name] = suggest_value(ot, hp)
    hps.ensure_active_values()
    return hps.values


class _Recorder:
    """An Optuna-trial look-alike that answers with given values and records the
    distribution of each suggestion (to tell a study a configuration it did not ask)."""

    def __init__(self, values):
        self.values, self.distributions = values, {}

    def suggest_categorical(self, name, choices):
        optuna = import_optuna()
        self.distributions[name] = optuna.distributions.CategoricalDistribution(choices)
        return self.values[name]

    def suggest_int(self, name, low, high, step=1, log=False):
        optuna = import_optuna()
        self.distributions[name] = optuna.distributions.IntDistribution(low, high, log=log, step=step)
        return self.values[name]

    def suggest_float(self, name, low, high, step=None, log=False):
        optuna = import_optuna()
        self.distributions[name] = optuna.distributions.FloatDistribution(low, high, log=log, step=step)
        return self.values[name]


def completed_trial(values, space, score):
    """An Optuna ``FrozenTrial`` of a configuration (KerasTuner values) and its score."""
    optuna = import_optuna()
    recorder = _Recorder(values)
    sample_space(recorder, space)
    params = {name: values[name] for name in recorder.distributions}
    return optuna.trial.create_trial(params=params, distributions=recorder.distributions, value=score)


def _make_class():
    from skgru._keras.private import kt_oracle_module, kt_trial_module

    oracle_module = kt_oracle_module()
    trial_module = kt_trial_module()
    running = trial_module.TrialStatus.RUNNING
    completed = trial_module.TrialStatus.COMPLETED

    class TPEOracle(oracle_module.Oracle):
        """Optuna's TPE sampler behind KerasTuner's ``Oracle`` interface.

        Parameters
        ----------
        objective, max_trials, seed, hyperparameters, allow_new_entries, \
tune_new_entries, max_retries_per_trial, max_consecutive_failed_trials :
            As for ``keras_tuner.Oracle``.
        n_startup_trials : int, default=10
            Random trials before TPE models the history (Optuna's default).
        multivariate : bool, default=True
            Model the hyperparameters jointly (Optuna's multivariate TPE,
            better on correlated parameters such as units and learning rate).
        sampler_params : dict or None
            Other ``optuna.samplers.TPESampler`` keyword arguments.
            ``constant_liar`` is True unless given: with ``n_jobs > 1`` a batch
            of trials is asked before any of them is told, and the liar lets
            TPE treat the running ones as poor results, so one batch does not
            propose the same region ``n_jobs`` times (Optuna's default since
            version 5; 3.x and 4.x, which the ``optuna`` extra allows, default
            to False).
        """

        def __init__(self, objective=None, max_trials=10, n_startup_trials=10,
                     multivariate=True, sampler_params=None, seed=None,
                     hyperparameters=None, allow_new_entries=True,
                     tune_new_entries=True, max_retries_per_trial=0,
                     max_consecutive_failed_trials=3):
            super().__init__(
                objective=objective, max_trials=max_trials,
                hyperparameters=hyperparameters, allow_new_entries=allow_new_entries,
                tune_new_entries=tune_new_entries, seed=seed,
                max_retries_per_trial=max_retries_per_trial,
                max_consecutive_failed_trials=max_consecutive_failed_trials)
            if int(n_startup_trials) < 1:
                raise ValueError(f"n_startup_trials must be >= 1, got {n_startup_trials}.")
            self.n_startup_trials = int(n_startup_trials)
            self.multivariate = bool(multivariate)
            self.sampler_params = dict(sampler_params or {})
            self._study = None
            self._asked = {}  # KerasTuner trial_id -> optuna Trial

        @property
        def study(self):
            """The in-memory Optuna study (created on first use)."""
            if self._study is None:
                import warnings

                with quiet_optuna() as optuna, warnings.catch_warnings():
                    # multivariate TPE is flagged experimental by Optuna.
                    warnings.simplefilter("ignore")
                    params = {"constant_liar": True, **self.sampler_params}
                    sampler = optuna.samplers.TPESampler(
                        seed=self.seed, n_startup_trials=self.n_startup_trials,
                        multivariate=self.multivariate, **params)
                    direction = ("maximize" if getattr(self.objective, "direction", "max")
                                 == "max" else "minimize")
                    self._study = optuna.create_study(sampler=sampler, direction=direction)
            return self._study

        def populate_space(self, trial_id):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ot = self.study.ask()
                values = sample_space(ot, self.hyperparameters.space)
            self._asked[trial_id] = ot
            return {"status": running, "values": values}

        def end_trial(self, trial):
            # The base class may raise (failure limits) after recording the end:
            # tell Optuna first, so that its history never lags the oracle's.
            ot = self._asked.pop(trial.trial_id, None)
            if ot is not None:
                score = None
                if trial.status == completed:
                    metrics = trial.metrics.get_best_value(self.objective.name)
                    score = None if metrics is None else float(metrics)
                with quiet_optuna() as optuna:  # "Trial N finished ..." per trial
                    if score is None:
                        self.study.tell(ot, state=optuna.trial.TrialState.FAIL)
                    else:
                        self.study.tell(ot, score)
            return super().end_trial(trial)

        def get_state(self):
            state = super().get_state()
            state.update(n_startup_trials=self.n_startup_trials,
                         multivariate=self.multivariate)
            return state

        def set_state(self, state):
            super().set_state(state)
            self.n_startup_trials = state["n_startup_trials"]
            self.multivariate = state["multivariate"]

        def __deepcopy__(self, memo):
            # A user's instance is deep-copied before use; the copy starts afresh
            # (no study yet), as every search must.
            import copy

            new = type(self).__new__(type(self))
            memo[id(self)] = new
            for k, v in vars(self).items():
                setattr(new, k, None if k == "_study" else
                        {} if k == "_asked" else copy.deepcopy(v, memo))
            return new

    TPEOracle.__module__ = __name__
    return TPEOracle


def __getattr__(name):
    # TPEOracle subclasses KerasTuner's Oracle (an optional extra): built on first use.
    if name == "TPEOracle":
        cls = _make_class()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
