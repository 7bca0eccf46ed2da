"""SequencePadder: pad (and truncate) variable-length sequences into one 3D array."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from skgru._doc_links import DocLinkMixin
from skgru._sequences import (
    array_ndim,
    as_table,
    check_min_size,
    check_fits_dtype,
    pad_truncate,
    reject_empty,
    reject_non_arrays,
    sequence_list,
    to_numeric,
)
from skgru.preprocessing._output import SequenceOutputMixin


class SequencePadder(DocLinkMixin, SequenceOutputMixin, TransformerMixin, BaseEstimator,
                     auto_wrap_output_keys=None):
    """Pad (and truncate) variable-length sequences into one 3D array.

    Takes a collection of sequences (a list or tuple, a 1D object ndarray or a
    pandas Series), each ``(t_i, n_features)`` or ``(t_i,)``, and
    returns an array ``(n_samples, max_length, n_features)`` (always 3D; ``(t_i,)``
    sequences give ``n_features=1``).  Shorter sequences are filled with
    ``value``; longer ones are cut.  A 2D array ``(n_samples, n_timesteps)`` is
    read as equal-length univariate sequences and a 3D array as equal-length
    multivariate ones, so already-padded data passes through (re-padded or
    truncated to ``max_length_``).

    **Masking.** ``GRUClassifier(mask_value=v)`` / ``GRURegressor(mask_value=v)``
    masks every timestep whose features all equal ``v``, so
    ``make_pipeline(SequencePadder(value=0.0), GRUClassifier(mask_value=0.0))``
    trains on variable-length data with the padding ignored.  Choose a ``value``
    that no real timestep takes in every feature (after scaling: put
    :class:`SequenceScaler` *before* the padder so padding stays exactly ``value``).

    **cuDNN.** Keep ``padding="post"`` (the default): Keras runs a masked GRU with
    the fast cuDNN kernel only when the mask is right-padded (real steps first,
    padding last); ``"pre"`` padding falls back to the slower generic kernel on GPU.

    Parameters
    ----------
    max_length : int or None, default=None
        Length of the output sequences.  ``None`` learns the longest sequence seen
        in ``fit``; longer sequences met in ``transform`` are truncated.
    padding : {"post", "pre"}, default="post"
        Pad after (``"post"``) or before (``"pre"``) each sequence.
    truncating : {"post", "pre"}, default="post"
        Drop the end (``"post"``) or the beginning (``"pre"``) of long sequences.
    value : float, default=0.0
        Fill value of padded timesteps; use the same number as the estimator's
        ``mask_value``.
    dtype : str, numpy dtype or None, default="float32"
        Output dtype (float32 is what Keras computes in).  ``None`` keeps NumPy's
        common type of the sequences and ``value``.  The dtype must hold every value
        (and ``value``): ``transform`` raises ``ValueError`` instead of letting an
        integer dtype wrap (int8: 300 -> 44), truncate (1.5 -> 1) or take NaN, or a
        float dtype overflow to inf.
    input_layout : {"ntf", "nft"}, default="ntf"
        Axis order of 3D arrays and of 2D sequences in a list: ``"nft"`` reads
        channels-first ``(n_samples, n_features, n_timesteps)`` arrays and
        ``(n_features, t_i)`` sequences (aeon's unequal-length collections) and
        returns ``(n_samples, n_features, max_length)`` for an estimator with
        ``input_layout="nft"``.

    Attributes
    ----------
    max_length_ : int
        Output length: ``max_length``, or the longest training sequence.
    n_features_in_ : int
        Number of features per timestep (1 for ``(t_i,)`` sequences and for 2D
        arrays).  Note: unlike most sklearn estimators this is not the width of a
        2D array, which here is a sequence length.

    See Also
    --------
    SequenceScaler : Scale variable-length sequences before padding them.

    Examples
    --------
    >>> from skgru.preprocessing import SequencePadder
    >>> seqs = [[1.0, 2.0, 3.0], [4.0], [5.0, 6.0]]
    >>> padder = SequencePadder().fit(seqs)
    >>> padder.max_length_
    3
    >>> padder.transform(seqs)[..., 0]
    array([[1., 2., 3.],
           [4., 0., 0.],
           [5., 6., 0.]], dtype=float32)
    >>> padder.transform([[7.0, 8.0, 9.0, 10.0]]).shape  # truncated to max_length_
    (1, 3, 1)
    """

    _parameter_constraints = {
        "max_length": [Interval(Integral, 1, None, closed="left"), None],
        "padding": [StrOptions({"post", "pre"})],
        "truncating": [StrOptions({"post", "pre"})],
        "value": [Real],
        "dtype": [str, type, np.dtype, None],
        "input_layout": [StrOptions({"ntf", "nft"})],
    }

    def __init__(self, max_length=None, padding="post", truncating="post", value=0.0,
                 dtype="float32", input_layout="ntf"):
        self.max_length = max_length
        self.padding = padding
        self.truncating = truncating
        self.value = value
        self.dtype = dtype
        self.input_layout = input_layout

    def _sequences(self, X):
        """Return a list of 2D ``(t_i, f)`` numeric arrays, ``f`` and the 3D source array.

        The source is ``None`` for a collection of sequences.

        Collections go through the estimators' own parser
        (:func:`skgru._sequences.sequence_list`): lists, ragged object arrays,
        Series of arrays and, with ``input_layout="nft"``, aeon's ``(n_features, t_i)``
        items.  Values are copied, never computed on, so NaN is allowed.
        """
        reject_non_arrays(X, "SequencePadder")
        reject_empty(X)
        seqs = sequence_list(
            X, input_layout=self.input_layout, dtype="numeric", allow_nan=True, allow_empty=True
        )
        if seqs is not None:
            return seqs.arrays, seqs.n_features, None
        X = as_table(X)  # an object array of equal-length rows: its rows
        ndim = array_ndim(X)
        if ndim == 1:
            raise ValueError(
                "SequencePadder got a 1D array. Pass a list of sequences (wrap a single "
                "sequence as [seq]) or a 2D array (n_samples, n_timesteps): Reshape your "
                "data with array.reshape(1, -1) for a single univariate sequence."
            )
        if ndim not in (2, 3):
            raise ValueError(
                f"SequencePadder expects a list of sequences or a 2D/3D array, got {ndim}D input."
            )
        arr = to_numeric(X, dtype="numeric", allow_nan=True)
        check_min_size(arr)
        if arr.ndim == 2:
            arr = arr[:, :, np.newaxis]
        elif self.input_layout == "nft":
            arr = arr.transpose(0, 2, 1)
        if arr.shape[2] == 0:
            raise ValueError("X has 0 features per timestep; at least one is required.")
        return list(arr), arr.shape[2], arr

    def _out_dtype(self, seqs):
        if self.dtype is not None:
            try:
                return np.dtype(self.dtype)
            except TypeError as exc:
                raise TypeError(f"dtype={self.dtype!r} is not a valid NumPy dtype.") from exc
        return np.result_type(*[s.dtype for s in seqs], self.value)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the number of features and, if ``max_length=None``, the output length.

        Parameters
        ----------
        X : list of array-like of shape (t_i, n_features) or (t_i,), or array-like \
of shape (n_samples, n_timesteps[, n_features])
            Training sequences.
        y : None
            Ignored.

        Returns
        -------
        self : SequencePadder
            Fitted padder.
        """
        seqs, f, whole = self._sequences(X)
        dtype = self._out_dtype(seqs)  # validate dtype early
        check_fits_dtype(np.asarray(self.value), dtype, what="value")
        longest = max(s.shape[0] for s in seqs)
        if self.max_length is None and longest == 0:
            raise ValueError("all sequences are empty: cannot learn max_length.")
        self.max_length_ = int(self.max_length if self.max_length is not None else longest)
        self.n_features_in_ = int(f)
        return self

    def transform(self, X):
        """Pad/truncate sequences to ``max_length_`` timesteps.

        Parameters
        ----------
        X : list of array-like of shape (t_i, n_features) or (t_i,), or array-like \
of shape (n_samples, n_timesteps[, n_features])
            Sequences with ``n_features_in_`` features per timestep, of any length.

        Returns
        -------
        X_padded : ndarray of shape (n_samples, max_length_, n_features_in_)
            Padded sequences (a new array; the input is not modified);
            ``(n_samples, n_features_in_, max_length_)`` with ``input_layout="nft"``.
        """
        check_is_fitted(self)
        seqs, f, whole = self._sequences(X)
        if f != self.n_features_in_:
            raise ValueError(
                f"X has {f} features per timestep, but SequencePadder was fitted with "
                f"{self.n_features_in_}."
            )
        dtype = self._out_dtype(seqs)
        # an integer dtype must hold every value: int8 would silently wrap 300 to 44
        check_fits_dtype(np.asarray(self.value), dtype, what="value")
        if whole is not None:
            check_fits_dtype(whole, dtype, what="X")
        else:
            for i, seq in enumerate(seqs):
                check_fits_dtype(seq, dtype, what=f"sequence {i} of X")
        out = pad_truncate(
            seqs,
            self.max_length_,
            f,
            padding=self.padding,
            truncating=self.truncating,
            value=self.value,
            dtype=dtype,
        )
        if self.input_layout == "nft":
            out = np.ascontiguousarray(out.transpose(0, 2, 1))
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.allow_nan = True  # values are copied, never computed on
        try:
            dtype = None if self.dtype is None else np.dtype(self.dtype)
        except TypeError:
            dtype = np.dtype("float32")
        if dtype is None:
            tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        elif dtype.kind == "f":
            tags.transformer_tags.preserves_dtype = [dtype.name]
        else:
            tags.transformer_tags.preserves_dtype = []
        return tags
