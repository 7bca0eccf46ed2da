"""One search of TunedGRU: the oracle's ask/tell protocol and the trial records.

A :class:`SearchSession` asks the oracle for trials, turns each into a record
(the row it becomes in ``cv_results_``) and a job for
:func:`~skgru.tuning._trial_runner.evaluate_candidate`, tells the oracle the
result, keeps Hyperband's parent models for promotion, and saves the state
after every trial.  It does not decide where the jobs run (see
:mod:`skgru.tuning._execution`).
"""

from __future__ import annotations

import numbers
import os
import sys
import time
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from skgru.tuning._oracles import OBJECTIVE, free_oracle, oracle_summary, promotable_ids
from skgru.tuning._results import mean_log_loss
from skgru.tuning._state import json_values

__all__ = ["SearchPlan", "SearchSession", "trial_params", "trial_seed"]


@dataclass
class SearchPlan:
    """What a search needs to know about its estimator and space.

    Attributes
    ----------
    name : str
        The tuner name (``"random"``..., or the Oracle's class name).
    is_hyperband : bool
    budget_param : str or None
        The estimator parameter holding the number of epochs.
    max_epochs : int or None
        Hyperband's largest budget, or the fixed budget of every trial.
    space : SearchSpace
    space_names : list of str
        Parameters the space sets (empty for a callable space).
    base_params : dict
        ``estimator.get_params(deep=True)``.
    warm_start_param : str or None
        The warm-start switch Hyperband promotions continue their parent with.
    seed_names : list of str
        Unseeded ``random_state`` parameters that get one seed per trial.
    is_asha : bool
        ``tuner="asha"``: promotions keep their configuration's seed and
        continue its fold models like Hyperband's.
    probabilistic : bool
        The estimator is a classifier with ``predict_proba`` and the target has
        one label per sample: its trials can be ranked by validation log loss
        (ASHA's ``promote_by="auto"``).
    """

    name: str
    is_hyperband: bool
    budget_param: str | None
    max_epochs: int | None
    space: object
    space_names: list
    base_params: dict
    warm_start_param: str | None
    seed_names: list
    is_asha: bool = False
    probabilistic: bool = False


def trial_seed(base_seed, index):
    """The seed of trial ``index`` of a search seeded with ``base_seed``."""
    ss = np.random.SeedSequence([int(base_seed), int(index)])
    return int(ss.generate_state(1)[0] % (2**31 - 1))


def trial_params(rec, seed_names):
    """The estimator parameters of a trial record, its seed included."""
    params = dict(rec["params"])
    if rec["seed"] is not None:
        params.update({n: rec["seed"] for n in seed_names})
    return params


class SearchSession:
    """The state of one running search.

    Parameters
    ----------
    oracle : keras_tuner.Oracle
        A diskless oracle with its space populated; the session owns it and
        frees it in :meth:`close`.
    plan : SearchPlan
    n_splits : int
    trial_seed_base : int or None
        Base of the per-trial seeds (None: trials are not seeded).
    max_trials : int or None
    verbose : int
    t_start : float
        ``time.perf_counter()`` when the search started (progress lines).
    state_file : SearchStateFile or None
        Where the state is saved after every trial.
    state_seed : int or None
        The seed saved in the state (restored on resume).
    objective : str or None
        The metric told to the oracle (None: the first a dict scorer returns).
    progress : SearchProgress or None
        Told about every finished trial.
    timeout : float or None
        Seconds after ``t_start`` from which no new trial is asked (the search
        has at least one trial; trials already running finish).

    Attributes
    ----------
    records : list of dict
        One record per trial, in creation order.
    events : list
        ``["create", tuner_id, trial_id]`` and ``["end", trial_id]``, the
        order in which the oracle was called (replayed on resume).
    best : float or None
        The best mean score so far.
    stopped : bool
        The search ended (``max_trials`` reached, the oracle stopped or the
        timeout passed).
    timed_out : bool
        The timeout ended the search.
    stop_error : Exception or None
        The error that made the oracle stop, if any.
    resumed : int
        Trials restored from the saved state.
    """

    def __init__(self, oracle, plan, *, n_splits, trial_seed_base, max_trials, verbose,
                 t_start, state_file=None, state_seed=None, objective="score",
                 progress=None, timeout=None):
        self.oracle = oracle
        self.objective = objective
        self.progress = progress
        self.plan = plan
        self.n_splits = n_splits
        self.trial_seed_base = trial_seed_base
        self.max_trials = max_trials
        self.verbose = verbose
        self.t_start = t_start
        self.timeout = timeout
        self.timed_out = False
        self.state_file = state_file
        self.state_seed = state_seed
        self.records = []
        self.events = []
        self._by_id = {}
        self._models = {}  # trial_id -> (list of fitted estimators per split, budget)
        self._replaying = False
        self._lost = set()  # trials whose models an earlier resume lost (replay only)
        if hasattr(oracle, "set_models_available"):  # ASHA: its budget counts lost models
            oracle.set_models_available(self._holds_models)
        self.best = None
        self.stopped = False
        self.stop_error = None
        self.resumed = 0

    def _holds_models(self, trial_id):
        """Whether a promotion of ``trial_id`` can continue its fold models.

        While a saved history is replayed the oracle must propose what it
        proposed then: the models were held unless the trial had ended before one
        of the history's ``["resume"]`` events.  After the replay, only the models
        this process trained are held."""
        if self._replaying:
            return trial_id not in self._lost
        return trial_id in self._models

    def _resumed_here(self, ended, running):
        """A resume point: the trials in ``ended`` lost their models with the killed
        process, and the promotions in ``running`` (record dicts) restart from
        scratch, which ASHA charges as a whole rung."""
        self._lost |= ended
        if hasattr(self.oracle, "charge_restart"):
            for rec in running:
                if rec["parent_id"] is not None:
                    self.oracle.charge_restart(rec["trial_id"])

    # ------------------------------------------------------------- records
    def objective_mean(self, scores):
        """The mean objective score of a completed trial's ``{metric: [...]}``."""
        name = self.objective if self.objective is not None else next(iter(scores))
        return float(np.mean(scores[name]))

    def _new_record(self, trial, tuner_id):
        plan, n_splits = self.plan, self.n_splits
        values = dict(trial.hyperparameters.values)
        created = json_values(values)
        index = len(self.records)
        rec = {"trial_id": trial.trial_id, "tuner_id": tuner_id, "index": index,
               "created_values": created, "params": None, "status": None,
               "error": None, "scores": {}, "train_scores": None,
               "multimetric": False,
               "fit_times": [0.0] * n_splits, "score_times": [0.0] * n_splits,
               "budget": None, "epochs_trained": 0,
               "parent_id": values.get("tuner/trial_id"),
               "bracket": values.get("tuner/bracket"),
               "round": values.get("tuner/round"),
               "seed": None, "continued": False, "mean": np.nan, "asked": True,
               "tie_break_losses": None}
        try:
            rec["params"] = plan.space.declare(trial.hyperparameters)
            bad = [p for p in rec["params"] if p not in plan.base_params]
            if bad:
                raise ValueError(f"unknown parameters {bad}")
        except Exception as exc:  # noqa: BLE001
            rec["params"] = rec["params"] or {}
            rec["status"], rec["error"] = "FAILED", (
                f"search space: {type(exc).__name__}: {exc}")
        budget_param = plan.budget_param
        if "tuner/epochs" in values and budget_param is not None:
            rec["budget"] = int(values["tuner/epochs"])
        elif plan.max_epochs is not None and budget_param is not None:
            rec["budget"] = int(plan.max_epochs)
        elif budget_param is not None:
            b = rec["params"].get(budget_param, plan.base_params.get(budget_param))
            rec["budget"] = int(b) if isinstance(b, numbers.Integral) else None
        if self.trial_seed_base is not None and plan.seed_names:
            rec["seed"] = trial_seed(self.trial_seed_base, index)
            if plan.is_asha and rec["parent_id"] in self._by_id:
                # One configuration, one seed at every rung: the refit of the best
                # rung uses the seed its fold models started from.
                rec["seed"] = self._by_id[rec["parent_id"]]["seed"]
        self.records.append(rec)
        self._by_id[trial.trial_id] = rec
        self.events.append(["create", tuner_id, trial.trial_id])
        return rec

    def _create_trial(self, tuner_id):
        with warnings.catch_warnings():
            # The Bayesian oracle's GP fit warns about length scales.
            warnings.simplefilter("ignore", ConvergenceWarning)
            return self.oracle.create_trial(tuner_id)

    def _tell(self, trial, rec):
        """Tell the oracle how ``trial`` ended; the error if it stops the search."""
        if rec["status"] == "COMPLETED":
            self.oracle.update_trial(trial.trial_id, {OBJECTIVE: rec["mean"]})
            if getattr(self.oracle, "promotion_metric", None) == "log_loss":
                # ASHA ranking its rungs by log loss (computed with tie_break's losses)
                self.oracle.tell_log_loss(trial.trial_id, mean_log_loss(rec["tie_break_losses"]))
            trial.status = "COMPLETED"
        else:
            trial.status = "FAILED"
            trial.message = rec["error"]
        self.events.append(["end", trial.trial_id])
        try:
            self.oracle.end_trial(trial)
        except RuntimeError as exc:  # a user oracle's failure limit
            return exc
        return None

    # -------------------------------------------------------------- resume
    def replay(self, state):
        """Replay a saved history through the (fresh) oracle.

        The oracle must propose exactly the saved trials again; their saved
        results are told to it instead of being evaluated.
        """
        self._replaying = True
        try:
            ended = self._replay(state)
        finally:
            self._replaying = False
        # This process resumes here: every model of the history is gone, and the
        # trials left running (n_jobs > 1) are evaluated again from scratch.  The
        # event lets a later replay price the promotions after it the same way.
        self._resumed_here(ended, self._unfinished())
        self.events.append(["resume"])

    def _unfinished(self):
        """Records of trials restored as running when the state was saved."""
        return [r for r in self.records if r["status"] is None]

    def _replay(self, state):
        """Replay the events; returns the ids of the trials that ended."""
        pending = {}
        ended = set()
        saved = state["trials"]
        for event in state["events"]:
            if event[0] == "resume":
                self._resumed_here(set(ended), [self._by_id[t] for t in pending]
                                   + self._unfinished())
                continue
            if event[0] == "create":
                _, tuner_id, trial_id = event
                trial = self._create_trial(tuner_id)
                got = json_values(dict(trial.hyperparameters.values))
                if trial_id not in saved:
                    # Running when the state was saved: evaluated again (see ask()).
                    if trial.status != "RUNNING" or trial.trial_id != trial_id:
                        raise ValueError(
                            "Cannot resume the search in "
                            f"{os.fspath(self.state_file.directory)!r}: the oracle did "
                            f"not propose the unfinished trial {trial_id} again. Use "
                            "another directory or delete the state file.")
                    self._new_record(trial, tuner_id)["asked"] = False
                    continue
                if (trial.status != "RUNNING" or trial.trial_id != trial_id
                        or got != saved[trial_id]["created_values"]):
                    raise ValueError(
                        "Cannot resume the search in "
                        f"{os.fspath(self.state_file.directory)!r}: "
                        f"the oracle proposed {got} for trial {trial.trial_id}, the "
                        f"saved history has {saved[trial_id]['created_values']}. "
                        "Use another directory or delete the state file.")
                rec = self._new_record(trial, tuner_id)
                s = saved[trial_id]
                rec.update(
                    status=s["status"], error=s["error"],
                    scores=_load_scores(s["scores"]),
                    train_scores=(None if s["train_scores"] is None
                                  else _load_scores(s["train_scores"])),
                    multimetric=s["multimetric"],
                    fit_times=s["fit_times"], score_times=s["score_times"],
                    budget=s["budget"], epochs_trained=s["epochs_trained"],
                    seed=s["seed"], continued=s["continued"],
                    # absent from state files written before tie_break existed
                    tie_break_losses=_load_losses(s.get("tie_break_losses")))
                rec["mean"] = (self.objective_mean(rec["scores"])
                               if rec["status"] == "COMPLETED" else np.nan)
                pending[trial_id] = trial
            else:
                trial = pending.pop(event[1])
                self._tell(trial, self._by_id[trial.trial_id])
                ended.add(trial.trial_id)
                self.resumed += 1
        self.events = [list(e) for e in state["events"]]
        self.best = max((r["mean"] for r in self.records if r["status"] == "COMPLETED"),
                        default=None)
        if self.progress is not None:
            self.progress.resumed(self.resumed, self.best, self.n_failed)
        return ended

    # ------------------------------------------------------------ the loop
    def ask(self, tuner_id):
        """A new RUNNING trial and its record, or None (sets ``stopped``)."""
        for rec in self.records:  # an unfinished trial restored by replay()
            if rec["status"] is None and rec["tuner_id"] == tuner_id and not rec["asked"]:
                rec["asked"] = True
                return self.oracle.trials[rec["trial_id"]], rec
        if self.max_trials is not None and len(self.records) >= self.max_trials:
            self.stopped = True
            return None
        if self._past_timeout():
            self.stopped = self.timed_out = True
            if self.progress is not None:
                self.progress.timed_out(len(self.records))
            return None
        trial = self._create_trial(tuner_id)
        if trial.status == "STOPPED":
            self.stopped = True
            return None
        if trial.status != "RUNNING":  # IDLE: waits for running trials
            return None
        return trial, self._new_record(trial, tuner_id)

    def _past_timeout(self):
        # Checked only once a trial exists, so that every search has a result to refit.
        return (self.timeout is not None and bool(self.records)
                and time.perf_counter() - self.t_start >= self.timeout)

    def job(self, rec):
        """Keyword arguments of ``evaluate_candidate`` for a trial, or None
        when there is nothing to evaluate (the search space rejected it)."""
        if rec["status"] == "FAILED":
            return None
        plan = self.plan
        warm_start_param = plan.warm_start_param
        parents = None
        parent_id = rec["parent_id"]
        if parent_id is not None and parent_id in self._models and warm_start_param:
            parents = self._models.pop(parent_id)  # (fold models, their budget)
        keep = bool((plan.is_hyperband or plan.is_asha) and warm_start_param
                    and rec["round"] is not None and rec["bracket"] is not None
                    and rec["round"] < rec["bracket"])
        return dict(
            params=trial_params(rec, plan.seed_names),
            budget_param=plan.budget_param if rec["budget"] is not None else None,
            budget=rec["budget"], warm_start_param=warm_start_param,
            parents=parents, keep_models=keep)

    def finish(self, trial, rec, out):
        """Record a trial's result (None: not evaluated) and tell the oracle."""
        if out is not None:
            rec.update(scores=out["scores"], train_scores=out["train_scores"],
                       multimetric=out["multimetric"], fit_times=out["fit_times"],
                       score_times=out["score_times"],
                       epochs_trained=out["epochs_trained"],
                       continued=out["continued"],
                       tie_break_losses=out.get("tie_break_losses"))
            if out["error"] is None:
                rec["status"] = "COMPLETED"
                rec["mean"] = self.objective_mean(out["scores"])
                if out["models"] is not None:
                    self._models[trial.trial_id] = (out["models"], rec["budget"])
            else:
                rec["status"], rec["error"] = "FAILED", out["error"]
                if self.verbose >= 3 and out["traceback"]:
                    print(out["traceback"], file=sys.stderr)
        err = self._tell(trial, rec)
        if rec["status"] == "COMPLETED":
            self.best = rec["mean"] if self.best is None else max(self.best, rec["mean"])
        if self.progress is not None:
            self.progress.trial_done(rec, self.best, self.n_failed)
        if err is not None:
            self.stop_error, self.stopped = err, True

    @property
    def n_failed(self):
        """Trials that ended FAILED so far."""
        return sum(r["status"] == "FAILED" for r in self.records)

    def checkpoint(self):
        """After results: drop models no promotion can use, save the state."""
        if self._models:
            keep_ids = promotable_ids(self.oracle)
            if keep_ids is not None:
                for tid in list(self._models):
                    if tid not in keep_ids:
                        del self._models[tid]
        if self.state_file is not None:
            self.state_file.save(self.state_seed, self.events, self.records)

    def close(self):
        """End the search: free the models and the oracle.  Returns the
        oracle's summary (``TunedGRU.oracle_summary_``)."""
        self._models.clear()
        summary = oracle_summary(self.oracle, self.plan.is_hyperband)
        free_oracle(self.oracle)
        self.oracle = None
        return summary


def _load_losses(saved):
    """``[float or None]`` from a state file -> floats (None: NaN); None where not saved
    (TunedGRU's tie-break losses in files written before it existed)."""
    return None if saved is None else [np.nan if v is None else float(v) for v in saved]


def _load_scores(saved):
    """``{metric: [float or None]}`` from a state file -> floats (None: NaN)."""
    return {name: _load_losses(values) for name, values in saved.items()}
