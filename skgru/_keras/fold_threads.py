"""Groups of folds on threads: the NumPy fused step on more than one core.

The NumPy step (:mod:`skgru._keras.fused_numpy`) runs its BLAS on one thread:
its GEMMs are small, and OpenBLAS' own threads cost more to wake than they save
(see :func:`skgru._keras.fused_numpy.one_blas_thread`).  So a fused fit used one
core while a TensorFlow fit uses every core for its ops.  The folds of a fused fit
are independent computations, so the step can be split along its model axis
instead: each thread trains a contiguous group of folds, with the same per-fold
arithmetic (every product and reduction is per fold, so the results are
bit-identical to one group; tested).

NumPy releases the GIL inside its GEMMs and in element-wise loops over more than a
few hundred elements, but not between calls; the step's Python-level overhead is
serialised, and a thread waiting for the GIL after a short call costs a context
switch.  So threads pay only where the calls are large.  Measured on the 2-core
VM (quiet, 2026-12-03): two threads of (5, 256, 64) @ (5, 64, 96) products run at
1.74x the speed of one, of small element-wise calls at 1.38x.  A 5-fold, 2-epoch
fused fit of ``GRUClassifier(patch_size=1)`` (Conv1D(64) stem, batch 32, 1120
training rows per fold), seconds with one group / two groups
(``python benchmarks/bench_fold_threads.py``; digits-sized 10-epoch fits were
slower on two threads, 3.8-4.4 s against 2.5-3.1 s):

====================  =====  ============  ========
steps x features      units  1 / 2 (s)     speed-up
====================  =====  ============  ========
64 x 3                32     2.69 / 2.39   1.13
32 x 3                64     2.29 / 1.74   1.31
128 x 3               32     5.82 / 4.42   1.32
32 x 3                128    7.25 / 4.77   1.52
128 x 3               64     14.92 / 8.33  1.79
====================  =====  ============  ========

The recurrence's work per batch, ``batch x steps x units**2`` (times 2 for a
bidirectional GRU, whose directions the step stacks on the fold axis), separates the
two.  Re-measured on 2026-12-06 with two threads forced (4-epoch fits, fastest of 3):
every network at or above ``2**20`` (32 x 32 x 32**2) gained, 1.18-1.23x between
``2**20`` and ``2**21`` (32 x 3 x 32, 16 x 8 x 48, 8 x 8 x 64, 24 x 8 x 40 with one
direction; 16 x 8 x 32, 8 x 8 x 48 with two) and 1.5-2.3x above; below it the results
are mixed, 0.91-1.24x (8 steps x 8 features x 16 or 32 units, two directions: 0.91,
0.98).  So threads are used from :data:`MIN_WORK` = ``2**20`` up (it was ``2**21``,
32 x 64 x 32**2, the first row above, until then).

How many groups: ``SKGRU_FUSED_THREADS`` when set (1 turns this off), else 1
below :data:`MIN_WORK` and otherwise the cores this process may use, capped by
``OMP_NUM_THREADS`` when that is set (joblib's loky workers set it to their share of
the cores, so parallel trials do not oversubscribe), by :data:`MAX_GROUPS` and by
the number of folds.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

# batch x steps x units**2 x directions from which the folds are split over threads (see above)
MIN_WORK = 32 * 32 * 32**2

# Measured on 2 cores only (the VM the project is developed on); more groups than
# that are untested, so the default stops at 2 and SKGRU_FUSED_THREADS goes further.
MAX_GROUPS = 2

_executor = None
_executor_size = 0
_executor_lock = threading.Lock()


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _forced_groups():
    """``SKGRU_FUSED_THREADS`` as a positive int (None when unset)."""
    value = os.environ.get("SKGRU_FUSED_THREADS", "").strip()
    if not value:
        return None
    number = int(value) if value.isdigit() else 0
    if number < 1:
        raise ValueError(f"SKGRU_FUSED_THREADS must be a positive integer; got {value!r}.")
    return number


def _omp_threads():
    """The outermost level of ``OMP_NUM_THREADS`` (None when unset or unreadable).

    OpenMP accepts a list of levels ("4,2"); the setting belongs to other libraries,
    so a value this cap cannot read is ignored rather than refused.
    """
    first = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    return int(first) if first.isdigit() and int(first) > 0 else None


def n_groups(k: int, work: int) -> int:
    """How many threads share the ``k`` folds of one fused step (1: no threads).

    ``work``: the recurrence's work per batch and fold, ``batch x steps x units**2``;
    below :data:`MIN_WORK` the threads' GIL hand-offs cost more than they save.
    ``SKGRU_FUSED_THREADS`` overrides both this and the core count.
    """
    forced = _forced_groups()
    if forced is not None:
        return max(1, min(forced, k))
    if work < MIN_WORK:
        return 1
    cores = _usable_cores()
    omp = _omp_threads()
    if omp is not None:
        cores = min(cores, omp)
    return max(1, min(cores, MAX_GROUPS, k))


def fold_groups(k: int, work: int) -> list[slice]:
    """Contiguous fold ranges, as even as possible (5 folds on 2 threads: 2 + 3)."""
    g = n_groups(k, work)
    bounds = [round(i * k / g) for i in range(g + 1)]
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]


def _forget_executor():
    # a forked child inherits the pool but not its threads: tasks submitted there would
    # never run, so the child starts its own
    global _executor, _executor_size, _executor_lock
    _executor, _executor_size, _executor_lock = None, 0, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_executor)


def run(tasks):
    """Call each task (no arguments) on the shared pool; results in order.

    The calling thread runs the first task itself (one thread fewer to wake).
    """
    if len(tasks) == 1:
        return [tasks[0]()]
    global _executor, _executor_size
    with _executor_lock:
        if _executor is None or _executor_size < len(tasks) - 1:
            # not shut down: another thread may be submitting to it (its idle workers
            # exit once it is collected)
            _executor_size = len(tasks) - 1
            _executor = ThreadPoolExecutor(_executor_size, thread_name_prefix="skgru-folds")
        executor = _executor
    futures = [executor.submit(task) for task in tasks[1:]]
    first = tasks[0]()
    return [first] + [f.result() for f in futures]
