"""Shape checks on an ``X`` that is one array (not a collection of sequences)."""

from __future__ import annotations

import numpy as np


def array_ndim(X) -> int:
    """Number of dimensions of an array-like, without converting arrays."""
    ndim = getattr(X, "ndim", None)
    if ndim is not None and hasattr(X, "shape"):
        return int(ndim)
    try:
        return np.asarray(X).ndim
    except ValueError:  # inhomogeneous nested lists
        return np.asarray(X, dtype=object).ndim


def check_min_size(arr: np.ndarray) -> None:
    """At least one sample and one value per sample, with sklearn's messages."""
    if arr.shape[0] == 0:
        raise ValueError(
            f"Found array with 0 sample(s) (shape={arr.shape}) while a minimum of 1 is required."
        )
    if arr.size == 0:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={arr.shape}) while a minimum of 1 is "
            "required: X has no timesteps or no features."
        )
