"""Dask and GPU execution for TunedGRU's trials (Dask is optional).

Moved here from ``skgru/_parallel.py`` so that the tuning layer owns its executor
(nothing below ``skgru.tuning`` imports it); :mod:`skgru.parallel` re-exports the
public helpers under their old names.

Nothing here imports ``dask``/``distributed`` at module import time: a Dask
client can only exist if the user imported ``distributed`` already, so the
detection helpers look in ``sys.modules`` first and never trigger the import.

Public helpers
--------------
active_dask_client(n_jobs)
    The Dask client TunedGRU should submit trials to, or None (the rule is
    documented in the function and in the user guide, docs/user_guide/scaling.md).
configure_worker_gpu(worker_index=None, devices=None, memory_growth=True)
    Pin a worker process to one GPU (``CUDA_VISIBLE_DEVICES``) and switch on
    TensorFlow memory growth, so that several workers can share a machine.
SkgruWorkerPlugin
    A ``distributed.WorkerPlugin`` that calls ``configure_worker_gpu`` on every
    worker (``client.register_plugin(SkgruWorkerPlugin(...))``).
"""

from __future__ import annotations

import os
import sys
import traceback
import uuid
import warnings

__all__ = [
    "active_dask_client",
    "joblib_dask_backend_client",
    "configure_worker_gpu",
    "SkgruWorkerPlugin",
    "dask_worker_slots",
    "DaskTrialExecutor",
]


# --------------------------------------------------------------------------
# detecting Dask
# --------------------------------------------------------------------------
def joblib_dask_backend_client():
    """The client of joblib's active ``"dask"`` backend, or None.

    True inside ``with joblib.parallel_config(backend="dask"):`` (or the older
    ``joblib.parallel_backend("dask")``); such a backend always holds a client.
    """
    if "distributed" not in sys.modules:  # the dask backend imports it
        return None
    try:
        from joblib.parallel import get_active_backend

        backend, _ = get_active_backend()
    except Exception:  # noqa: BLE001 - joblib internals changed
        return None
    if type(backend).__name__ != "DaskDistributedBackend":
        return None
    return getattr(backend, "client", None)


def _default_dask_client():
    """The current ``distributed.Client`` (``with client.as_current():``, else
    the latest one created with ``set_as_default=True``, the default), or
    None; never imports dask."""
    if "distributed" not in sys.modules:
        return None
    try:
        from distributed import Client

        # The client of ``with client.as_current():``, else the default one.
        client = Client.current(allow_global=True)
    except Exception:  # noqa: BLE001 - ValueError: no client
        return None
    if getattr(client, "status", "running") in ("closed", "closing"):
        return None
    return client


def _inside_dask_task():
    if "distributed" not in sys.modules:
        return False
    try:
        from distributed import get_worker

        get_worker()
        return True
    except Exception:  # noqa: BLE001 - ValueError: not in a worker
        return False


def active_dask_client(n_jobs):
    """The Dask client that a search with ``n_jobs`` should use, or None.

    The rule (documented in the user guide, docs/user_guide/scaling.md):

    1. ``n_jobs == 1`` never uses Dask (explicitly sequential).
    2. Inside ``joblib.parallel_config(backend="dask")`` (or
       ``parallel_backend("dask")``) the backend's client is used, whatever
       the other ``n_jobs`` value (``None`` included) -- as sklearn's
       ``GridSearchCV`` does in that context.
    3. Otherwise, with ``n_jobs`` > 1 or negative, the current
       ``distributed.Client`` is used (``with client.as_current():``, else the
       process's default client: ``Client(...)`` makes itself the default) -- except inside a Dask task, where nested searches
       stay local.
    4. Otherwise: None (loky processes for ``n_jobs`` > 1, else sequential).
    """
    if n_jobs == 1:
        return None
    client = joblib_dask_backend_client()
    if client is not None:
        return client
    if n_jobs is None or _inside_dask_task():
        return None
    return _default_dask_client()


def dask_worker_slots(client):
    """Total worker threads of the cluster (at least 1)."""
    try:
        return max(1, int(sum(client.nthreads().values())))
    except Exception:  # noqa: BLE001
        return 1


def _shared_data(value):
    return value


class DaskTrialExecutor:
    """Run search trials on a Dask cluster.

    The data and everything the trials share (estimator, ``X``, ``y``, CV
    splits, scorer, fit params) are sent once and replicated to every worker
    (a task, so Dask can recompute it if the workers holding it die); each
    trial is then a small
    ``client.submit`` holding the trial's parameters and a reference to that
    data.  The oracle never leaves the driver.  A trial whose worker dies is
    rescheduled by the Dask scheduler on another worker (up to
    ``distributed.scheduler.allowed-failures`` times, default 3); a trial
    that keeps killing workers, or raises outside skgru's own error handling,
    comes back as a failed trial (``KilledWorker: ...``) and the search goes
    on.  ``dask.annotate(resources={"GPU": 1})`` around ``fit`` applies to
    every trial (``client.submit`` merges the active annotations).
    """

    def __init__(self, client, shared, n_splits, retries=1, raise_errors=False):
        from distributed import as_completed

        self.client = client
        self.raise_errors = raise_errors  # error_score="raise": errors propagate
        self.n_splits = n_splits
        self.retries = retries
        self.prefix = f"skgru-trial-{uuid.uuid4().hex[:10]}"
        self._futures = {}
        self._done = as_completed(loop=client.loop)
        # Sent once as a task, not with client.scatter: the scheduler keeps the task,
        # so when every worker holding the data dies (a trial that kills its workers),
        # Dask recomputes it on a new worker instead of cancelling the waiting trials.
        self._shared = client.submit(_shared_data, shared, key=f"{self.prefix}-data", pure=False)
        client.replicate([self._shared])  # one copy per worker, like broadcast=True

    def submit(self, job, index, _stream=True):
        """Submit one trial; returns its key."""
        from skgru.tuning._trial_runner import run_trial

        key = f"{self.prefix}-{index}"
        fut = self.client.submit(run_trial, self._shared, job, key=key,
                                 pure=False, retries=self.retries)
        self._futures[key] = fut
        if _stream:
            self._done.add(fut)
        return key

    def _result(self, fut):
        from skgru.tuning._trial_runner import failed_result

        try:
            return fut.result()
        except Exception as exc:  # noqa: BLE001 - KilledWorker, lost data...
            from skgru.tuning._scoring import SearchConfigError

            if self.raise_errors or isinstance(exc, SearchConfigError):
                raise
            lines = str(exc).strip().splitlines()
            msg = lines[0] if lines else ""
            if len(msg) > 300:
                msg = msg[:297] + "..."
            return failed_result(self.n_splits, f"{type(exc).__name__}: {msg}",
                                 traceback.format_exc())
        finally:
            self._futures.pop(fut.key, None)
            fut.release()

    def next_completed(self):
        """Block until a submitted trial ends: ``(key, result)``."""
        fut = next(self._done)
        key = fut.key
        return key, self._result(fut)

    def run_batch(self, jobs, arrived=None):
        """Run trials and return their results in order; ``arrived(pos)`` is
        called as each one finishes (progress display)."""
        from distributed import as_completed

        keys = [self.submit(job, f"b{i}-{uuid.uuid4().hex[:6]}", _stream=False)
                for i, job in enumerate(jobs)]
        futs = [self._futures[k] for k in keys]
        pos_of = {f.key: i for i, f in enumerate(futs)}
        out = [None] * len(futs)
        for fut in as_completed(futs, loop=self.client.loop):
            pos = pos_of[fut.key]
            out[pos] = self._result(fut)
            if arrived is not None:
                arrived(pos)
        return out

    def close(self):
        """Cancel what is still running and drop the scattered data."""
        pending = list(self._futures.values())
        self._futures.clear()
        try:
            self._done.clear()
        except Exception:  # noqa: BLE001
            pass
        try:
            if pending:
                self.client.cancel(pending)
            self.client.cancel([self._shared])
        except Exception:  # noqa: BLE001 - the cluster may be gone already
            pass
        self._shared = None


# --------------------------------------------------------------------------
# GPUs: one device per worker process, memory growth on
# --------------------------------------------------------------------------
def _parse_devices(devices):
    if devices is None:
        return None
    if isinstance(devices, str):
        items = [d.strip() for d in devices.split(",") if d.strip()]
    elif isinstance(devices, int):
        items = [str(i) for i in range(devices)]
    else:
        items = [str(d).strip() for d in devices]
    return items or None


def _tf_module():
    """TensorFlow if it is already imported (never imports it), else None."""
    return sys.modules.get("tensorflow")


def _tf_context_initialized(tf):
    """Whether TensorFlow's devices are already fixed in this process (see
    :func:`skgru._keras.private.tf_context_initialized`)."""
    from skgru._keras.private import tf_context_initialized

    return tf_context_initialized()


def configure_worker_gpu(worker_index=None, devices=None, memory_growth=True,
                         tf_module=None):
    """Prepare this process to train on (at most) one GPU.

    Call it in each worker process before the first model is built (the
    :class:`SkgruWorkerPlugin` does it on Dask workers; with joblib/loky,
    from an initializer).  It is harmless on a machine without a GPU.

    Parameters
    ----------
    worker_index : int or None
        Index of this worker.  With ``devices`` (or an inherited
        ``CUDA_VISIBLE_DEVICES`` listing several devices), the worker is
        pinned to ``devices[worker_index % len(devices)]`` by setting
        ``CUDA_VISIBLE_DEVICES``.  None: no pinning (e.g. under dask-cuda's
        ``LocalCUDACluster``, which pins each worker itself).
    devices : None, int, str or list
        The GPUs to share among workers: a count (``4`` -> 0..3), a
        ``"0,1"`` string or a list of ids/UUIDs.  None: the devices listed in
        ``CUDA_VISIBLE_DEVICES`` if it lists more than one, else no pinning.
    memory_growth : bool
        Let TensorFlow allocate GPU memory as needed instead of grabbing all
        of it (``TF_FORCE_GPU_ALLOW_GROWTH=true`` for TF not yet initialised,
        plus ``tf.config.experimental.set_memory_growth`` on every visible GPU
        when TensorFlow is already imported).
    tf_module : module or None
        TensorFlow to configure (for tests); default: the imported one, if any.

    Returns
    -------
    dict with ``cuda_visible_devices`` (value set or None), ``memory_growth``
    (list of GPU names set to grow) and ``warnings`` (list of str).
    """
    report = {"cuda_visible_devices": None, "memory_growth": [], "warnings": []}
    tf = tf_module if tf_module is not None else _tf_module()
    tf_started = tf is not None and _tf_context_initialized(tf)

    if worker_index is not None:
        listed = _parse_devices(devices)
        if listed is None:
            listed = _parse_devices(os.environ.get("CUDA_VISIBLE_DEVICES"))
            if listed is not None and len(listed) < 2:
                listed = None
        if listed is not None:
            chosen = listed[int(worker_index) % len(listed)]
            if tf_started and os.environ.get("CUDA_VISIBLE_DEVICES") != chosen:
                report["warnings"].append(
                    "TensorFlow is already initialised in this process: "
                    f"CUDA_VISIBLE_DEVICES={chosen} has no effect until the "
                    "process restarts.")
            os.environ["CUDA_VISIBLE_DEVICES"] = chosen
            report["cuda_visible_devices"] = chosen

    if memory_growth:
        os.environ["TF_FORCE_GPU_ALLOW_GROWTH"] = "true"
        if tf is not None:
            try:
                gpus = tf.config.list_physical_devices("GPU")
            except Exception as exc:  # noqa: BLE001
                gpus = []
                report["warnings"].append(f"cannot list GPUs: {exc}")
            for gpu in gpus:
                try:
                    tf.config.experimental.set_memory_growth(gpu, True)
                    report["memory_growth"].append(getattr(gpu, "name", str(gpu)))
                except (RuntimeError, ValueError) as exc:
                    # RuntimeError: the GPU is already initialised.
                    report["warnings"].append(
                        f"memory growth not set on {getattr(gpu, 'name', gpu)}: {exc}")
    for msg in report["warnings"]:
        warnings.warn(msg, RuntimeWarning, stacklevel=2)
    return report


def _worker_index(worker):
    """Index of a Dask worker: its name when that is an int (LocalCluster,
    ``dask worker --name 3``), else None."""
    name = getattr(worker, "name", None)
    if isinstance(name, bool):
        return None
    if isinstance(name, int):
        return name
    if isinstance(name, str):
        tail = name.rsplit("-", 1)[-1]  # "gpu-node-3" -> 3
        if tail.isdigit():
            return int(tail)
    return None


def _make_plugin_class():
    from distributed.diagnostics.plugin import WorkerPlugin

    class SkgruWorkerPlugin(WorkerPlugin):
        """Dask worker plugin: GPU pinning, memory growth, TF threads.

        ``client.register_plugin(SkgruWorkerPlugin(devices=2))`` on a machine
        with 2 GPUs and 2 workers pins worker 0 to GPU 0 and worker 1 to GPU 1
        (the worker index is the worker's integer name, as ``LocalCluster`` and
        ``dask worker --name 3`` give).  With ``pin=False`` (dask-cuda, which
        pins each worker itself) only memory growth is set.  ``tf_threads``
        caps TensorFlow's threads per worker (``TF_NUM_INTRAOP_THREADS``;
        effective only before TensorFlow starts in the worker).  ``setup``
        runs in every worker, current and future (restarted workers too);
        its result is kept in ``worker.plugins[name].report_``.
        """

        name = "skgru-worker-setup"
        idempotent = True

        def __init__(self, devices=None, pin=True, memory_growth=True, tf_threads=None):
            self.devices = devices
            self.pin = pin
            self.memory_growth = memory_growth
            self.tf_threads = tf_threads
            self.report_ = None

        def setup(self, worker):
            if self.tf_threads is not None:
                os.environ["TF_NUM_INTRAOP_THREADS"] = str(int(self.tf_threads))
                os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
            index = _worker_index(worker) if self.pin else None
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                self.report_ = configure_worker_gpu(
                    worker_index=index, devices=self.devices,
                    memory_growth=self.memory_growth)

    SkgruWorkerPlugin.__module__ = __name__
    SkgruWorkerPlugin.__qualname__ = "SkgruWorkerPlugin"
    return SkgruWorkerPlugin


def __getattr__(name):
    # The plugin subclasses distributed's WorkerPlugin (register_plugin
    # dispatches on it), so it is created on first use: importing skgru never
    # imports dask.
    if name == "SkgruWorkerPlugin":
        cls = _make_plugin_class()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
