"""Stream trials to local loky worker processes (a new trial as soon as one ends).

``joblib.Parallel`` runs a fixed list of tasks; an asynchronous tuner (ASHA)
decides its next trial from the results so far, so it needs futures: this is
the loky counterpart of :class:`skgru.tuning._dask.DaskTrialExecutor` (same
``submit`` / ``next_completed`` / ``close``), on loky's reusable process pool
(the executor joblib's loky backend is built on).  Each task carries what the
trials share (estimator, data, splits, scorer) plus the trial's own job, as a
``joblib.Parallel`` task would; a promoted trial's job carries its parent's
fold models there and back.
"""

from __future__ import annotations

import concurrent.futures
import traceback

__all__ = ["LokyTrialExecutor"]

# Idle workers stay up this long (seconds; joblib's loky backend uses 300), so that
# the next search finds TensorFlow already imported in them.
_IDLE_TIMEOUT = 300


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
        from joblib.externals.loky import get_reusable_executor

        self.shared = shared
        self.n_splits = n_splits
        self.raise_errors = raise_errors
        self._pool = get_reusable_executor(max_workers=int(n_jobs), timeout=_IDLE_TIMEOUT)
        self._futures = {}  # future -> key

    def submit(self, job, index):
        """Submit one trial; returns its key."""
        key = f"trial-{index}"
        self._futures[self._pool.submit(_evaluate, self.shared, job)] = key
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
