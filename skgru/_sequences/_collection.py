"""A collection of sequences -> a list of ``(t_i, n_features)`` numeric arrays.

The one parser of list / object-array / Series input, shared by ``convert_X`` and
the preprocessing transformers.  ``input_layout="nft"`` reads each 2D item as
``(n_features, t_i)`` (aeon's unequal-length collections) and transposes it; 1D
items are univariate sequences in either layout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skgru._sequences._detect import sequence_items
from skgru._sequences._numeric import check_values_of, to_numeric


@dataclass(frozen=True)
class SequenceList:
    """Sequences read from a collection, time first, and how to give them back."""

    arrays: list  # one (t_i, n_features) ndarray per sample
    was_1d: tuple  # which items were given as (t_i,)
    n_features: int  # features per timestep, shared by every sequence
    input_layout: str  # "ntf" or "nft", the layout the items came in

    @property
    def lengths(self) -> list:
        return [a.shape[0] for a in self.arrays]

    @property
    def ragged(self) -> bool:
        """True when the sequences do not all have the same length."""
        first = self.arrays[0].shape[0]
        return any(a.shape[0] != first for a in self.arrays)

    def restore(self, arrays) -> list:
        """Arrays of the same ``(t_i, f)`` structure back in the items' own shapes."""
        nft = self.input_layout == "nft"
        return [
            a.ravel() if flat else (a.T if nft else a) for a, flat in zip(arrays, self.was_1d)
        ]


def sequence_list(
    X,
    *,
    input_layout: str = "ntf",
    what: str = "X",
    dtype="float",
    allow_nan: bool = False,
    allow_empty: bool = False,
    float32: bool = False,
):
    """Parse a collection of sequences; ``None`` when ``X`` is not one.

    Parameters
    ----------
    X : list, tuple, 1D object ndarray or pandas Series of array-likes
        The sequences (see :func:`skgru._sequences._detect.sequence_items`).
    input_layout : {"ntf", "nft"}
        Axis order of 2D items: ``(t_i, n_features)`` or ``(n_features, t_i)``.
    what : str
        Name of the data in error messages.
    dtype : {"float", "numeric"} or dtype
        Conversion of every item (see :func:`skgru._sequences._numeric.to_numeric`).
    allow_nan, float32 : bool
        Value checks (:func:`skgru._sequences._numeric.check_values_of`), run once
        over all items; an error names the first failing sequence.
    allow_empty : bool
        Accept sequences with 0 timesteps.

    Returns
    -------
    SequenceList or None
    """
    items = sequence_items(X)
    if items is None:
        return None
    nft = input_layout == "nft"
    shape_hint = "(n_features, t)" if nft else "(t, n_features)"
    arrays, was_1d = [], []
    n_features = None
    for i, item in enumerate(items):
        name = f"sequence {i} of {what}"
        a = to_numeric(item, what=name, dtype=dtype, check_values=False)
        if a.ndim == 1:
            a = a.reshape(-1, 1)
            was_1d.append(True)
        elif a.ndim == 2:
            a = a.T if nft else a
            was_1d.append(False)
        else:
            raise ValueError(
                f"Each sequence in {what} must be 1D (t,) or 2D {shape_hint} "
                f"(input_layout={input_layout!r}); sequence {i} has shape {a.shape}."
            )
        if a.shape[0] == 0 and not allow_empty:
            raise ValueError(f"Sequence {i} of {what} is empty (0 timesteps).")
        if a.shape[1] == 0:
            raise ValueError(
                f"Sequence {i} of {what} has 0 features per timestep; at least one is required."
            )
        if n_features is None:
            n_features = a.shape[1]
        elif a.shape[1] != n_features:
            raise ValueError(
                f"All sequences must have the same number of features per timestep; "
                f"sequence 0 has {n_features}, sequence {i} has {a.shape[1]}"
                + (" (input_layout='nft' reads each item as (n_features, t))." if nft else ".")
            )
        arrays.append(a)
    _check_values(arrays, what=what, allow_nan=allow_nan, float32=float32)
    return SequenceList(arrays, tuple(was_1d), int(n_features), input_layout)


def _check_values(arrays, *, what, allow_nan, float32):
    """The value checks once over all sequences; on failure, name the sequence."""
    floats = [a for a in arrays if a.dtype.kind == "f" and a.size]
    if not floats:
        return
    try:
        # a ravel/concatenate costs one copy; 5000 separate checks cost 10x more
        check_values_of(np.concatenate([a.ravel() for a in floats]), what=what,
                        allow_nan=allow_nan, float32=float32)
    except ValueError:
        for i, a in enumerate(arrays):
            check_values_of(a, what=f"sequence {i} of {what}", allow_nan=allow_nan, float32=float32)
        raise
