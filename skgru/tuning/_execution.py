"""Where TunedGRU's trials run: in this process, in loky processes, or on Dask.

The rule (``skgru.tuning._dask.active_dask_client``): a Dask cluster when a dask
joblib backend or a current ``distributed.Client`` is active, else loky
processes when ``n_jobs > 1``, else this process.  Two loops drive a
:class:`~skgru.tuning._session.SearchSession`:

* **batches** (every backend): ask up to ``batch_size`` trials, evaluate them
  all, tell the oracle, repeat.  A search is reproducible for a given
  ``n_jobs`` wherever it runs;
* **streaming**: a new trial goes out as soon as one ends.  For random search,
  whose draws cannot depend on which trials have finished, on Dask and on loky
  processes (:class:`~skgru.tuning._loky.LokyTrialExecutor`); for grid search
  on Dask; and for *asynchronous* oracles (ASHA, ``oracle.asynchronous``),
  which decide each trial from the results so far, on Dask and on loky.
  Sequentially (``n_jobs=1``) a batch of one is the same loop.

``dask``/``distributed`` are never imported here unless a client exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from skgru.tuning._oracles import import_kt
from skgru.tuning._trial_runner import evaluate_candidate

__all__ = ["ExecutionPlan", "plan_execution", "run_trials"]


@dataclass
class ExecutionPlan:
    """How a search runs its trials.

    Attributes
    ----------
    client : distributed.Client or None
        The Dask client trials are submitted to.
    batch_size : int
        Trials evaluated at once.
    streaming : bool
        Submit a new trial as soon as one ends (Dask only).
    backend : {"sequential", "loky", "dask"}
        ``TunedGRU.parallel_backend_``.
    """

    client: object
    batch_size: int
    streaming: bool
    backend: str

    @property
    def tuner_ids(self):
        """One oracle "tuner" id per concurrent trial."""
        return [f"skgru-{i}" for i in range(self.batch_size)]


def plan_execution(n_jobs, oracle):
    """Choose where and how many trials run at once for ``n_jobs``."""
    from joblib import effective_n_jobs

    from skgru.tuning._dask import active_dask_client, dask_worker_slots

    kt = import_kt()
    client = active_dask_client(n_jobs)
    if client is not None:
        slots = dask_worker_slots(client)
        if n_jobs is None or n_jobs < 0:
            batch_size = max(1, slots + 1 + n_jobs) if n_jobs else slots
        else:
            batch_size = int(n_jobs)
    else:
        batch_size = max(1, effective_n_jobs(n_jobs))
    # Random draws depend on nothing but the oracle's seed, so random search streams on
    # loky too: the same trials as batches, without a worker idling until the slowest
    # trial of its batch ends (PigCVP's default space: 2.5 min vs 20+ min trials).  A
    # grid's next point depends on which trials have ended (KerasTuner's
    # GridSearchOracle), so on loky it keeps batches, reproducible for a given n_jobs.
    streaming = batch_size > 1 and (
        bool(getattr(oracle, "asynchronous", False))
        or type(oracle) is kt.oracles.RandomSearchOracle
        or (client is not None and type(oracle) is kt.oracles.GridSearchOracle))
    backend = ("dask" if client is not None
               else "loky" if batch_size > 1 else "sequential")
    return ExecutionPlan(client, batch_size, streaming, backend)


def run_trials(session, plan, shared):
    """Run the search loop of ``session`` until it stops.

    Parameters
    ----------
    session : SearchSession
    plan : ExecutionPlan
    shared : dict
        What every trial uses: ``estimator``, ``X``, ``y``, ``splits``,
        ``scorer``, ``fit_params``, ``score_params``, ``return_train_score``,
        ``error_score``, ``objective``.
    """
    from skgru.tuning._dask import DaskTrialExecutor

    executor = None
    raise_errors = isinstance(shared.get("error_score"), str)  # "raise"
    try:
        if plan.client is not None:
            executor = DaskTrialExecutor(plan.client, shared, n_splits=session.n_splits,
                                         raise_errors=raise_errors)
        elif plan.streaming:
            from skgru.tuning._loky import LokyTrialExecutor

            executor = LokyTrialExecutor(shared, plan.batch_size, n_splits=session.n_splits,
                                         raise_errors=raise_errors)
        if plan.streaming:
            _run_streaming(session, executor, plan.tuner_ids)
        else:
            if plan.client is not None:
                evaluate = executor.run_batch
            elif plan.batch_size > 1:
                evaluate = _loky_evaluator(shared, plan.batch_size)
            else:
                evaluate = _in_process_evaluator(shared)
            _run_batches(session, plan.tuner_ids, evaluate)
    finally:
        if executor is not None:
            executor.close()


def _in_process_evaluator(shared):
    def evaluate(jobs, arrived):
        out = []
        for pos, job in enumerate(jobs):
            out.append(evaluate_candidate(**shared, **job))
            arrived(pos)
        return out

    return evaluate


def _evaluate_at(pos, shared, job):
    return pos, evaluate_candidate(**shared, **job)


def _loky_evaluator(shared, n_jobs):
    """Evaluate in ``n_jobs`` loky processes (a single job: in this process).

    Results are collected as they finish (so the progress bar moves per
    trial) and returned in submission order (so the oracle is told them in
    the same order as in any other run with this ``n_jobs``).
    """
    from joblib import Parallel, delayed

    in_process = _in_process_evaluator(shared)

    def evaluate(jobs, arrived):
        if len(jobs) <= 1:
            return in_process(jobs, arrived)
        out = [None] * len(jobs)
        results = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator_unordered")(
            delayed(_evaluate_at)(pos, shared, job) for pos, job in enumerate(jobs))
        for pos, res in results:
            out[pos] = res
            arrived(pos)
        return out

    return evaluate


def _run_batches(session, tuner_ids, evaluate):
    """Ask a batch of trials, evaluate them together, tell the oracle; repeat."""
    while not session.stopped:
        batch = []
        for tuner_id in tuner_ids:
            got = session.ask(tuner_id)
            if got is None:
                break
            batch.append(got)
        if not batch:
            break
        jobs = [session.job(rec) for _, rec in batch]
        run = [(rec["index"], j) for (_, rec), j in zip(batch, jobs) if j is not None]
        outs = iter(evaluate([j for _, j in run], lambda pos: _arrived(session, run[pos][0])))
        for (trial, rec), job in zip(batch, jobs):
            session.finish(trial, rec, None if job is None else next(outs))
        session.checkpoint()


def _arrived(session, index):
    if session.progress is not None:
        session.progress.arrived(index)


def _run_streaming(session, executor, tuner_ids):
    """Keep every worker busy: submit a new trial as soon as one ends."""
    free = list(tuner_ids)
    running = {}  # future key -> (trial, rec, tuner_id)
    while True:
        while free and not session.stopped:
            got = session.ask(free[0])
            if got is None:
                break
            tuner_id = free.pop(0)
            trial, rec = got
            job = session.job(rec)
            if job is None:
                session.finish(trial, rec, None)
                free.append(tuner_id)
                session.checkpoint()
                continue
            key = executor.submit(job, rec["index"])
            running[key] = (trial, rec, tuner_id)
        if not running:
            break
        key, out = executor.next_completed()
        trial, rec, tuner_id = running.pop(key)
        session.finish(trial, rec, out)
        free.append(tuner_id)
        session.checkpoint()
