"""Private helpers for :mod:`skgru.preprocessing`.

Nothing here is public API.  The helpers cover three things the sequence
transformers share:

* recognising "a collection of variable-length sequences" (a list of arrays)
  as opposed to an ordinary 2D/3D array;
* padding / truncating such a collection into one dense array;
* wrapping 2D outputs in a pandas/polars container for ``set_output``, without
  sklearn's automatic wrapper (which would also try to wrap 3D outputs and
  fail; see :func:`wrap_2d_output`).
"""

from __future__ import annotations

import numpy as np
from sklearn import get_config

_OUTPUT_CONTAINERS = ("default", "pandas", "polars")


def is_pandas(obj, kind=("DataFrame", "Series")):
    """True when ``obj`` is a pandas object of one of the given kinds (no import)."""
    module = type(obj).__module__
    return module.startswith("pandas") and type(obj).__name__ in kind


def is_sequence_collection(X):
    """Whether ``X`` is a collection of separate sequences rather than one array.

    A list/tuple (or 1D object array, or pandas Series of arrays) whose items are
    themselves array-like is a collection of sequences when at least one item is
    2D, or when the items do not all have the same length (ragged).  A list of
    equal-length rows of numbers stays a 2D array, as everywhere in sklearn.
    """
    if isinstance(X, np.ndarray):
        if X.dtype != object or X.ndim != 1:
            return False
        items = list(X)
    elif is_pandas(X, ("Series",)):
        if X.dtype != object:
            return False
        items = list(X)
    elif isinstance(X, (list, tuple)):
        items = list(X)
    else:
        return False
    if not items:
        return False
    ndims = set()
    lengths = set()
    for item in items:
        if isinstance(item, (str, bytes)) or np.ndim(item) == 0:
            return False
        arr = item if isinstance(item, np.ndarray) else np.asarray(item, dtype=object)
        ndims.add(arr.ndim)
        lengths.add(arr.shape[0])
    return 2 in ndims or len(lengths) > 1


def common_n_features(seqs):
    """The one number of features per timestep shared by ``(t_i, f)`` arrays."""
    n_feat = {s.shape[1] for s in seqs}
    if len(n_feat) > 1:
        raise ValueError(
            "all sequences must have the same number of features per timestep; "
            f"got {sorted(n_feat)}."
        )
    return n_feat.pop()


def pad_truncate(seqs, length, n_features, *, padding, truncating, value, dtype):
    """Pad/truncate a list of ``(t_i, f)`` arrays into a ``(n, length, f)`` array."""
    out = np.full((len(seqs), length, n_features), value, dtype=dtype)
    for i, seq in enumerate(seqs):
        if seq.shape[0] > length:
            seq = seq[:length] if truncating == "post" else seq[seq.shape[0] - length :]
        t = seq.shape[0]
        if t == 0:
            continue
        if padding == "post":
            out[i, :t] = seq
        else:
            out[i, length - t :] = seq
    return out


def pad_truncate_ids(seqs, length, *, padding, truncating, dtype=np.int32):
    """Same as :func:`pad_truncate` for lists of 1D integer id lists (pad id 0)."""
    columns = [np.asarray(seq, dtype=dtype).reshape(-1, 1) for seq in seqs]
    return pad_truncate(columns, length, 1, padding=padding, truncating=truncating, value=0, dtype=dtype)[:, :, 0]


def validate_output_container(transform):
    if transform is not None and transform not in _OUTPUT_CONTAINERS:
        raise ValueError(
            f"output config must be one of {_OUTPUT_CONTAINERS} or None, got {transform!r}"
        )


def wrap_2d_output(estimator, out, X):
    """Honour ``set_output`` / ``sklearn.set_config(transform_output=...)`` for 2D output.

    sklearn's ``_SetOutputMixin`` wraps *every* ``transform`` output, which fails for
    the 3D arrays and lists that sequence transformers return, so these classes
    opt out of the automatic wrapper (``auto_wrap_output_keys=None``) and call
    this instead: 2D ndarrays become DataFrames named by
    ``get_feature_names_out()``; 3D arrays and lists are returned unchanged.
    """
    if not (isinstance(out, np.ndarray) and out.ndim == 2):
        return out
    config = getattr(estimator, "_sklearn_output_config", {}).get("transform", "default")
    if config == "default":
        config = get_config().get("transform_output", "default")
    if config == "default":
        return out
    columns = list(estimator.get_feature_names_out())
    if config == "pandas":
        import pandas as pd

        index = X.index if is_pandas(X) else None
        return pd.DataFrame(out, index=index, columns=columns, copy=False)
    if config == "polars":
        import polars as pl

        return pl.DataFrame(out, schema=columns, orient="row")
    raise ValueError(f"unsupported output container {config!r}")  # pragma: no cover
