"""Stream trials to local loky worker processes (a new trial as soon as one ends).

``joblib.Parallel`` runs a fixed list of tasks; an asynchronous tuner (ASHA)
decides its next trial from the results so far, so it needs futures: this is
the loky counterpart of :class:`skgru.tuning._dask.DaskTrialExecutor` (same
``submit`` / ``next_completed`` / ``close``), on a loky process pool of its own:
loky's ``get_reusable_executor`` singleton is the one joblib's ``Parallel``
replaces with its memmapping executor (and breaks on: joblib expects its own
type there), so the pool is cached here, one per ``n_jobs``, and kept across
searches like joblib's (idle workers exit after 300 s).  Each task carries what the
trials share (estimator, data, splits, scorer) plus the trial's own job, as a
``joblib.Parallel`` task would; a promoted trial's job carries its parent's
fold models there and back.
"""

from __future__ import annotations

import concurrent.futures
import threading
import traceback

__all__ = ["LokyTrialExecutor"]

# Idle workers stay up this long (seconds; joblib's loky backend uses 300), so that
# the next search finds TensorFlow already imported in them.
_IDLE_TIMEOUT = 300
_POOLS = {}  # n_jobs -> loky ProcessPoolExecutor
_POOLS_LOCK = threading.Lock()


def _pool(n_jobs, fresh=False):
    """This module's loky pool of ``n_jobs`` workers (a new one if ``fresh`` or
    the cached one broke: a worker died)."""
    from joblib.externals.loky import ProcessPoolExecutor

    with _POOLS_LOCK:
        pool = _POOLS.get(n_jobs)
        if fresh or pool is None or getattr(getattr(pool, "_flags", None), "broken", None):
            if pool is not None:
                pool.shutdown(wait=False)
            pool = _POOLS[n_jobs] = ProcessPoolExecutor(max_workers=n_jobs,
                                                        timeout=_IDLE_TIMEOUT)
        return pool


def _evaluate(shared, job):
    from skgru.tuning._trial_runner import evaluate_candidate

    return evaluate_candidate(**shared, **job)


class LokyTrialExecutor:
    """Run search trials in ``n_jobs`` loky worker processes, as they come.

    Parameters
    ----------
    shared : dict
        ``evaluate_candidate``'s arguments common to every trial.
    n_jobs : int
        Worker processes.
    n_splits : int
        Splits per trial (for the result of a trial whose worker died).
    raise_errors : bool
        ``error_score="raise"``: a worker's error propagates.
    """

    def __init__(self, shared, n_jobs, n_splits, raise_errors=False):
        self.shared = shared
        self.n_jobs = int(n_jobs)
        self.n_splits = n_splits
        self.raise_errors = raise_errors
        self._futures = {}  # future -> key

    def submit(self, job, index):
        """Submit one trial; returns its key."""
        key = f"trial-{index}"
        try:
            fut = _pool(self.n_jobs).submit(_evaluate, self.shared, job)
        except concurrent.futures.BrokenExecutor:  # a worker died since the last check
            fut = _pool(self.n_jobs, fresh=True).submit(_evaluate, self.shared, job)
        self._futures[fut] = key
        return key

    def next_completed(self):
        """Block until a submitted trial ends: ``(key, result)``."""
        done, _ = concurrent.futures.wait(
            list(self._futures), return_when=concurrent.futures.FIRST_COMPLETED)
        # Several may have ended: take the earliest submitted (dicts keep order).
        fut = next(f for f in self._futures if f in done)
        key = self._futures.pop(fut)
        try:
            return key, fut.result()
        except Exception as exc:  # noqa: BLE001 - a dead worker, an unpicklable result...
            from skgru.tuning._scoring import SearchConfigError
            from skgru.tuning._trial_runner import failed_result

            if self.raise_errors or isinstance(exc, SearchConfigError):
                raise
            lines = str(exc).strip().splitlines()
            msg = lines[0][:300] if lines else ""
            return key, failed_result(self.n_splits, f"{type(exc).__name__}: {msg}",
                                      traceback.format_exc())

    def close(self):
        """Cancel what has not started (running trials finish in their worker)."""
        for fut in self._futures:
            fut.cancel()
        self._futures.clear()
