"""``tuner="asha"``: :class:`~skgru.tuning._asha.ASHAScheduler` behind KerasTuner's ``Oracle``.

TunedGRU's search loop talks to oracles (ask = ``create_trial``, tell =
``end_trial``); this one asks the scheduler what to do:

* a **new configuration** is trained ``r_0`` epochs.  It is drawn at random
  from the space (KerasTuner's ``_random_values``: lists, ``scipy.stats``
  distributions, ``hp`` callables with conditional scopes, duplicates avoided)
  or, with ``sampler="tpe"`` (BOHB's idea, Falkner et al. 2018, adapted to
  ASHA), proposed by Optuna's TPE once ``min_points`` configurations completed
  their first rung (default: the number of searched hyperparameters + 1, BOHB's
  ``N_min``).  TPE is told **every** completed configuration, ordered by the
  highest rung it completed, then by its score there: in ASHA every
  configuration starts at the bottom and only the top ``1/eta`` go up, so a
  higher rung holds only survivors of the one below, and a model of that rung
  alone (BOHB's "largest budget with enough points", right for Hyperband's
  brackets, which start fresh configurations at every budget) sees no bad
  region and pushes its proposals away from the good one: on a stand-in whose
  score peaks at lr=0.3 in U(0, 0.6), proposals were 0.19-0.22 from the peak
  that way, 0.14 at random, 0.03-0.05 this way.  TPE's "good" share is the
  top ``1/eta`` (what ASHA promotes; Optuna's default 10% gave 0.09-0.10).  A
  fraction ``random_fraction`` of new configurations (default 1/3, BOHB's)
  stays random;
* a **promotion** repeats the parent trial's values with Hyperband's keys
  (``tuner/trial_id`` = the parent trial, ``tuner/epochs``,
  ``tuner/initial_epoch``, ``tuner/bracket`` = the top rung, ``tuner/round`` =
  the rung), which is what makes :class:`~skgru.tuning._session.SearchSession`
  hand the parent's fold models to the trial, to be continued with
  ``warm_start``;
* ``IDLE`` when only running trials can unlock a promotion, ``STOPPED`` when
  nothing more fits in the trial limit or the epoch budget (a promotion whose
  parent's models the search no longer holds, as after a resume from
  ``directory``, is charged its whole rung: :meth:`set_models_available`);
* **what a rung is ranked by** (``promote_by``): the search's score, or the
  mean validation **log loss** of the fold models' ``predict_proba``
  (``"log_loss"``; TunedGRU's default for classifiers).  Accuracy after one
  epoch moves in steps of one validation series and ties often; the log loss
  is a proper scoring rule that sees every probability move.  Replayed on
  128 configurations scored once at 1, 3 and 9 epochs
  (benchmarks/README.md, "ASHA ranking by log loss"), Spearman's rho between
  the 3-epoch and the 9-epoch accuracy rose from 0.77-0.86 to 0.88-0.95 on
  ItalyPowerDemand when the 3-epoch rung was read as log loss, and the
  fold-epochs ASHA needed to reach a 16-trial random search's best fell from
  0.58x to 0.47x (lower on all five classification sets replayed).  Real
  searches, noisier, are level on that measure over 15 seeds (digits 0.75x vs
  0.65x, ItalyPowerDemand 0.58x vs 0.73x).  The search still *reports* its
  score (``cv_results_``, ``best_score_``): only promotions, and TPE's
  proposals, follow the ranking.

The oracle is ``asynchronous``: TunedGRU streams its trials (a new one starts
whenever one ends, on loky and Dask) instead of running batches.
"""

from __future__ import annotations

import math
import numbers
import random

__all__ = ["ASHAOracle", "PROMOTE_BY"]

# What ASHA may rank a rung by (the ``promote_by`` setting).
PROMOTE_BY = ("score", "log_loss")

_TUNER_KEYS = ("tuner/trial_id", "tuner/epochs", "tuner/initial_epoch", "tuner/bracket",
               "tuner/round")


def _make_class():
    from skgru._keras.private import kt_oracle_module, kt_trial_module
    from skgru.tuning._asha import ASHAScheduler

    oracle_module = kt_oracle_module()
    trial_module = kt_trial_module()
    status = trial_module.TrialStatus

    class ASHAOracle(oracle_module.Oracle):
        """Asynchronous successive halving over epochs.

        Parameters
        ----------
        objective, seed, hyperparameters, allow_new_entries, tune_new_entries, \
max_consecutive_failed_trials :
            As for ``keras_tuner.Oracle``.
        max_trials : int or None
            Trials (new configurations and promotions) to start at most.
        min_epochs, max_epochs, reduction_factor, continued :
            See :class:`~skgru.tuning._asha.ASHAScheduler`.
        max_epochs_total : int or None
            The scheduler's ``budget``: epochs per split all trials together
            may train (None: the schedule's default).
        sampler : {"tpe", "random"}, default="tpe"
            How new configurations are drawn (see the module docstring).
            "tpe" needs Optuna (the ``tuner`` and ``optuna`` extras).
        random_fraction : float in [0, 1], default=1/3
            With ``sampler="tpe"``: the share of new configurations still drawn
            at random (exploration; BOHB's rho).
        min_points : int >= 2 or None, default=None
            With ``sampler="tpe"``: configurations that must have completed
            their first rung before TPE proposes (None: number of searched
            hyperparameters + 1).
        promote_by : {"score", "log_loss"}, default="score"
            What each rung is ranked by (see the module docstring).
            ``"log_loss"``: the search hands each completed trial's mean
            validation log loss to :meth:`tell_log_loss` before ending it; a
            trial without one (NaN) is not promoted.
        """

        asynchronous = True  # TunedGRU streams this oracle's trials

        def __init__(self, objective=None, max_trials=None, max_epochs=None, min_epochs=1,
                     reduction_factor=3, max_epochs_total=None, continued=True, seed=None,
                     hyperparameters=None, allow_new_entries=True, tune_new_entries=True,
                     max_retries_per_trial=0, max_consecutive_failed_trials=3,
                     sampler="tpe", random_fraction=1 / 3, min_points=None,
                     promote_by="score"):
            if max_retries_per_trial:
                raise ValueError("tuner='asha' does not retry trials "
                                 "(max_retries_per_trial must be 0).")
            if sampler not in ("tpe", "random"):
                raise ValueError(f"sampler must be 'tpe' or 'random', got {sampler!r}.")
            if (isinstance(random_fraction, bool) or not isinstance(random_fraction, numbers.Real)
                    or not 0 <= random_fraction <= 1):
                raise ValueError(f"random_fraction must be a number in [0, 1], got {random_fraction!r}.")
            if min_points is not None and (isinstance(min_points, bool)
                                           or not isinstance(min_points, numbers.Integral)
                                           or min_points < 2):
                raise ValueError(f"min_points must be an int >= 2 or None, got {min_points!r}.")
            if promote_by not in PROMOTE_BY:
                raise ValueError(f"promote_by must be one of {PROMOTE_BY}, got {promote_by!r}.")
            if sampler == "tpe":
                from skgru.tuning._tpe import import_optuna

                import_optuna()  # the install hint before anything else
            self.sampler = sampler
            self.random_fraction = float(random_fraction)
            self.min_points = None if min_points is None else int(min_points)
            self._n_model_asks = 0
            self.promote_by = promote_by
            self._log_losses = {}  # trial id -> mean validation log loss (promote_by="log_loss")
            # The trial limit is the scheduler's: KerasTuner's own max_trials
            # check would stop the search without telling it.
            super().__init__(
                objective=objective, max_trials=None, hyperparameters=hyperparameters,
                allow_new_entries=allow_new_entries, tune_new_entries=tune_new_entries,
                seed=seed, max_retries_per_trial=0,
                max_consecutive_failed_trials=max_consecutive_failed_trials)
            self._coin = random.Random(self.seed)  # model or random draw: seeded like the oracle
            self.scheduler = ASHAScheduler(
                min_epochs, max_epochs, reduction_factor, max_trials=max_trials,
                budget=max_epochs_total, continued=continued)

        def populate_space(self, trial_id):
            sched = self.scheduler
            while True:
                prop = sched.propose()
                if prop.kind == "promote":
                    parent = sched.job_id(prop.config, prop.rung - 1)
                    values = {k: v for k, v in self.trials[parent].hyperparameters.values.items()
                              if not k.startswith("tuner/")}
                    values["tuner/trial_id"] = parent
                    break
                if prop.kind == "new":
                    values = self._new_values()
                    if values is None:  # the space is exhausted
                        sched.exhaust()
                        continue
                    break
                return {"status": status.IDLE if prop.kind == "wait" else status.STOPPED}
            values.update({
                "tuner/epochs": sched.rungs[prop.rung],
                "tuner/initial_epoch": sched.rungs[prop.rung - 1] if prop.rung else 0,
                "tuner/bracket": sched.n_rungs - 1,
                "tuner/round": prop.rung,
            })
            sched.start(trial_id, prop)
            return {"status": status.RUNNING, "values": values}

        def _new_values(self):
            """A new configuration: TPE's proposal (when due) or a random draw."""
            if self.sampler == "tpe" and self._coin.random() >= self.random_fraction:
                values = self._model_values()
                if values is not None:
                    return values
            return self._random_values()

        def _searched(self):
            from skgru._keras.private import kt_hyperparameters_module

            fixed = kt_hyperparameters_module().Fixed
            return [hp for hp in self.hyperparameters.space if not isinstance(hp, fixed)]

        def _model_values(self):
            """TPE's proposal from every completed configuration, or None.

            A fresh in-memory study per proposal, told each configuration once
            with the value ``k + (n_k - p) / (n_k + 1)`` (``k``: the highest rung it
            completed, ``p``: its rank there, best first, among the ``n_k``
            completed there): TPE only uses the order, which is "went higher,
            then scored higher".  Nothing to keep in step with the scheduler
            (failures, resumed searches); the sampler's seed moves with every
            proposal, so equal histories do not repeat a proposal.
            """
            from skgru._keras.private import kt_is_duplicate
            from skgru.tuning._tpe import completed_trial, quiet_optuna, sample_space

            space = self.hyperparameters.space
            n_min = self.min_points or len(self._searched()) + 1
            sched = self.scheduler
            if len(sched._completed[0]) < n_min:
                return None
            value = {}
            for rung in range(sched.n_rungs):
                ranked = sched._ranked(rung)
                for pos, (_, _, config) in enumerate(ranked):
                    value[config] = rung + (len(ranked) - pos) / (len(ranked) + 1)
            import warnings

            eta = sched.eta
            with quiet_optuna() as optuna, warnings.catch_warnings():
                warnings.simplefilter("ignore")  # multivariate TPE is flagged experimental
                seed = (int(self.seed) * 7919 + self._n_model_asks) % 2**32
                self._n_model_asks += 1
                sampler = optuna.samplers.TPESampler(
                    seed=seed, n_startup_trials=n_min, multivariate=True,
                    gamma=lambda n: max(1, n // eta))
                study = optuna.create_study(sampler=sampler, direction="maximize")
                for config, v in value.items():
                    values = {k: x for k, x in self.trials[config].hyperparameters.values.items()
                              if not k.startswith("tuner/")}
                    study.add_trial(completed_trial(values, space, v))
                for _ in range(10):  # a proposal already tried: ask again, then give up
                    values = sample_space(study.ask(), space)
                    if not kt_is_duplicate(self, values):
                        return values
            return None

        @property
        def promotion_metric(self):
            """What the search must hand over before ending a trial
            (``"log_loss"``: :meth:`tell_log_loss`), or None."""
            return "log_loss" if self.promote_by == "log_loss" else None

        def tell_log_loss(self, trial_id, value):
            """``trial_id``'s mean validation log loss, its rank at its rung."""
            self._log_losses[trial_id] = float(value)

        def end_trial(self, trial):
            # Tell the scheduler first: the base class may raise (failure limits)
            # after recording the end.
            if trial.trial_id in self.scheduler.running:
                score = None
                if trial.status == status.COMPLETED:
                    if self.promote_by == "log_loss":
                        loss = self._log_losses.pop(trial.trial_id, math.nan)
                        value, direction = loss, "min"
                    else:
                        value = trial.metrics.get_best_value(self.objective.name)
                        direction = getattr(self.objective, "direction", "max")
                    if value is not None and math.isfinite(float(value)):
                        score = float(value)
                        if direction == "min":
                            score = -score
                self.scheduler.report(trial.trial_id, score)
            return super().end_trial(trial)

        def set_models_available(self, available):
            """Tell the scheduler which trials' fold models the search still holds.

            A promotion whose parent's models are gone (a resumed search lost
            them with the killed process) retrains from scratch, so it is charged
            the rung's whole epochs against the budget.

            Parameters
            ----------
            available : callable or None
                ``available(trial_id) -> bool``; None: every trial's models are
                held (the charge is always the continued one).
            """
            sched = self.scheduler
            sched.models_held = None if available is None else (
                lambda config, rung: available(sched.job_id(config, rung)))

        def charge_restart(self, trial_id):
            """Charge a running promotion its whole rung: it restarts from scratch.

            For a promotion that was running when a search was killed: the
            resumed search evaluates it again without its parent's models.

            Parameters
            ----------
            trial_id : str
                A trial the scheduler has running (a new configuration costs
                the same either way and is left as it is).
            """
            self.scheduler.charge_restart(trial_id)

        def promotable_trial_ids(self):
            """Trials whose fold models a promotion may still continue."""
            return self.scheduler.keep_ids()

        def summary(self):
            """Plain facts for ``TunedGRU.oracle_summary_``."""
            return dict(self.scheduler.summary(), promote_by=self.promote_by)

        def _compute_values_hash(self, values):
            # A configuration is the same at every rung: ignore the schedule keys,
            # so a new random draw never repeats a configuration already tried.
            return super()._compute_values_hash(
                {k: v for k, v in values.items() if k not in _TUNER_KEYS})

    ASHAOracle.__module__ = __name__
    return ASHAOracle


def __getattr__(name):
    # ASHAOracle subclasses KerasTuner's Oracle (an optional extra): built on first use.
    if name == "ASHAOracle":
        cls = _make_class()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
