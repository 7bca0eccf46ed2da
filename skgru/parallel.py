"""Public helpers for running skgru searches on Dask clusters and GPUs.

See the user guide page "Scaling out" (docs/user_guide/scaling.md). Nothing here imports dask at load time;
the implementation lives in :mod:`skgru.tuning._dask` (the tuning layer owns its
executor).

configure_worker_gpu
    Pin a worker process to one GPU and turn on TensorFlow memory growth.
SkgruWorkerPlugin
    A Dask ``WorkerPlugin`` doing the same on every worker of a cluster.
active_dask_client
    The Dask client a ``TunedGRU(n_jobs=...)`` would run its trials on, or None.
"""

from skgru.tuning import _dask
from skgru.tuning._dask import active_dask_client, configure_worker_gpu

__all__ = ["SkgruWorkerPlugin", "active_dask_client", "configure_worker_gpu"]


def __getattr__(name):
    # SkgruWorkerPlugin subclasses distributed's WorkerPlugin: built on first access.
    if name == "SkgruWorkerPlugin":
        return _dask.SkgruWorkerPlugin
    raise AttributeError(f"module 'skgru.parallel' has no attribute {name!r}")
