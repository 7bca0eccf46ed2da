"""The ONE detector of "a collection of separate sequences" (as opposed to one array).

Every reader of ``X`` in skgru (the estimators' ``convert_X``, ``SequenceScaler``,
``SequencePadder``) asks this module, so a ragged list, a ragged object ndarray and
a pandas Series of arrays are the same thing everywhere.
"""

from __future__ import annotations

import numpy as np


def is_pandas(obj, kind=("DataFrame", "Series")) -> bool:
    """True when ``obj`` is a pandas object of one of the given kinds (no import)."""
    module = type(obj).__module__
    return module.startswith("pandas") and type(obj).__name__ in kind


def is_sparse(X) -> bool:
    """True for a scipy sparse matrix or array."""
    try:
        import scipy.sparse as sp
    except ImportError:  # pragma: no cover - scipy comes with scikit-learn
        return False
    return sp.issparse(X)


def container_items(X):
    """The items of a list, tuple, 1D object ndarray or object-dtype pandas Series.

    ``None`` for anything else (a numeric ndarray, a DataFrame, a scalar, ...).  A 1D
    object ndarray and an object Series are read exactly like the list of their
    items, so ``np.array(list_of_unequal_arrays, dtype=object)`` behaves as the list.
    """
    if isinstance(X, np.ndarray):
        return list(X) if X.dtype == object and X.ndim == 1 else None
    if is_pandas(X, ("Series",)):
        return list(X) if X.dtype == object else None
    if isinstance(X, (list, tuple)):
        return list(X)
    return None


def _is_array_like(item) -> bool:
    if isinstance(item, (str, bytes)):
        return False
    return hasattr(item, "__len__") or hasattr(item, "__array__")


def _item_shape(item):
    if isinstance(item, np.ndarray):
        return item.shape
    if hasattr(item, "shape") and hasattr(item, "ndim"):  # pandas, polars, array API objects
        return tuple(item.shape)
    # nested lists: object dtype so that an inhomogeneous inner list does not raise here
    # (numpy >= 1.24 refuses to build ragged float arrays); the numeric check reports it.
    return np.asarray(item, dtype=object).shape


def sequence_items(X):
    """The sequences of ``X`` when it is a collection of separate sequences, else ``None``.

    ``X`` is such a collection when it is a list/tuple, a 1D object ndarray or an
    object pandas Series whose items are all array-like (not strings, not scalars)
    and either some item is 2D or more -- a ``(t_i, n_features)`` sequence, or an
    ``(n_features, t_i)`` one with ``input_layout="nft"`` -- or the items' lengths
    differ (ragged univariate sequences).  A list of equal-length rows of numbers
    stays a 2D table, as everywhere in sklearn (it may be flattened sequences read
    with ``n_features``).  Which axis is time is not decided here, so the answer
    never depends on the layout: that was the bug of reading aeon's
    ``(channels, t_i)`` items by their channel count.
    """
    items = container_items(X)
    if not items:
        return None
    ndims = set()
    lengths = set()
    for item in items:
        if not _is_array_like(item):
            return None
        shape = _item_shape(item)
        if len(shape) == 0:
            return None
        ndims.add(len(shape))
        lengths.add(shape[0])
    if max(ndims) >= 2 or len(lengths) > 1:
        return items
    return None


def as_table(X):
    """``X`` itself, or the rows of an object ndarray / Series as one list.

    For an ``X`` that :func:`sequence_items` did not take as a collection: an object
    ndarray or Series of equal-length 1D rows then reads as the list of its rows (a
    2D table), exactly like a list of those rows would.
    """
    if isinstance(X, (list, tuple)):
        return X
    items = container_items(X)
    if items and all(_is_array_like(item) for item in items):
        return items
    return X


def is_sequence_collection(X) -> bool:
    """Whether ``X`` is a collection of separate sequences (see :func:`sequence_items`)."""
    return sequence_items(X) is not None


def reject_non_arrays(X, who: str) -> None:
    """``TypeError`` for inputs that are no array of numbers at all (str, bytes, dict)."""
    if is_sparse(X):  # first: a dok matrix is also a dict
        raise TypeError(
            f"{who} does not accept sparse input (a sparse matrix was passed); "
            "convert it with X.toarray() first."
        )
    if isinstance(X, (str, bytes)):
        raise TypeError(f"{who} expects numeric sequences, got a string.")
    if isinstance(X, dict):
        raise TypeError(
            f"{who} expects an array-like or a list of sequences, got a dict; pass "
            "list(d.values()) if its values are the sequences."
        )


def reject_empty(X, what: str = "X") -> None:
    """``ValueError`` for an empty list/tuple/object array (no sample at all)."""
    items = container_items(X)
    if items is not None and len(items) == 0:
        raise ValueError(f"{what} is empty: expected at least one sample (sequence).")
