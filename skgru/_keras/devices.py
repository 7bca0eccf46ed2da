"""What accelerators the Keras backend sees (queried once per process)."""

from __future__ import annotations

import functools

import keras


@functools.lru_cache(maxsize=None)
def visible_gpus() -> int:
    """Number of GPUs the Keras backend sees (0 when the query fails)."""
    try:
        return _count_gpus()
    except Exception:  # pragma: no cover - device query is best effort
        return 0


def _count_gpus() -> int:
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return len(tf.config.list_physical_devices("GPU"))
    if backend == "jax":
        import jax

        return sum(d.platform == "gpu" for d in jax.devices())
    if backend == "torch":
        import torch

        return torch.cuda.device_count()
    return 0
