"""Public helpers for running skgru searches on Dask clusters and GPUs.

See the README section "Scaling out".

configure_worker_gpu
    Pin a worker process to one GPU and turn on TensorFlow memory growth.
SkgruWorkerPlugin
    A Dask ``WorkerPlugin`` doing the same on every worker of a cluster.
"""

from skgru._parallel import SkgruWorkerPlugin, configure_worker_gpu  # no dask import at load time

__all__ = ["SkgruWorkerPlugin", "configure_worker_gpu"]
