"""Sequence-aware preprocessing that fits in front of skgru estimators.

scikit-learn's transformers see a 2D table; recurrent networks see sequences.
The pieces here close the gap so sequence data goes through ``Pipeline``,
``GridSearchCV`` and ``cross_val_score`` like any tabular data:

SequenceScaler
    Standardise each feature over all samples *and* timesteps, on 3D arrays
    ``(n_samples, n_timesteps, n_features)``, on flattened 2D arrays/DataFrames
    and on lists of variable-length sequences.
SequencePadder
    Turn a list of variable-length sequences into one padded 3D array, ready for
    ``GRUClassifier(mask_value=...)``.
TextSequencer
    Raw strings -> padded integer token-id matrix for ``GRUClassifier(embedding_dim=...)``.
    Pure Python/NumPy (no TensorFlow), so it pickles and is fast.
make_windows
    Slice a time series into supervised ``(X, y)`` windows for forecasting.

Data conventions (the same as the estimators'): a 3D array is
``(n_samples, n_timesteps, n_features)``; a 2D array is ``(n_samples, n_timesteps)``
(one feature) unless ``n_features=k`` says it is flattened row-major
``(n_samples, n_timesteps * k)`` (column ``j`` is timestep ``j // k``, feature
``j % k``); a list of ``(t_i, n_features)`` or ``(t_i,)`` arrays is a set of
variable-length sequences.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.validation import FLOAT_DTYPES, check_array, check_is_fitted, validate_data

from skgru._sequence_utils import (
    common_n_features,
    is_pandas,
    is_sequence_collection,
    pad_truncate,
    pad_truncate_ids,
    validate_output_container,
    wrap_2d_output,
)

__all__ = ["SequenceScaler", "SequencePadder", "TextSequencer", "make_windows"]

PAD_ID = 0
OOV_ID = 1
PAD_TOKEN = ""
OOV_TOKEN = "[UNK]"


def _reject_empty_list(X):
    if isinstance(X, (list, tuple)) and len(X) == 0:
        raise ValueError("X is empty: expected at least one sample (sequence).")


# ---------------------------------------------------------------------------
# SequenceScaler
# ---------------------------------------------------------------------------


class SequenceScaler(
    OneToOneFeatureMixin, TransformerMixin, BaseEstimator, auto_wrap_output_keys=None
):
    """Standardise sequence features over all samples and timesteps.

    Each feature ``k`` is centred and scaled with the mean and standard deviation
    of *every* value it takes, over all samples and all timesteps, so a sequence
    keeps its shape in time (a per-column ``StandardScaler`` on flattened data
    would scale each timestep differently).  Constant features get a scale of 1
    instead of a division by zero, as in :class:`~sklearn.preprocessing.StandardScaler`.

    Accepted inputs (in ``fit``, ``transform`` and ``inverse_transform``):

    * a 3D array ``(n_samples, n_timesteps, n_features)`` -> a 3D array;
    * a 2D array or DataFrame: ``(n_samples, n_timesteps)`` with one feature when
      ``n_features=None``, or flattened row-major ``(n_samples, n_timesteps * k)``
      when ``n_features=k`` -> a 2D array of the same shape.  Only here do
      ``get_feature_names_out`` and ``set_output(transform="pandas")`` apply, and a
      DataFrame records ``feature_names_in_``;
    * a list of variable-length sequences, each ``(t_i, n_features)`` or ``(t_i,)``
      -> a list of arrays of the same shapes.  Scale such lists *before*
      :class:`SequencePadder`, so padding values do not enter the statistics.

    Parameters
    ----------
    with_mean : bool, default=True
        Subtract each feature's mean.
    with_std : bool, default=True
        Divide each feature by its standard deviation.
    n_features : int or None, default=None
        Number of features per timestep in flattened 2D input.  ``None`` reads a 2D
        array as ``(n_samples, n_timesteps)`` of a single feature.  Ignored for 3D
        and list input.
    input_layout : {"ntf", "nft"}, default="ntf"
        Axis order of 3D arrays and of 2D sequences in a list: ``"ntf"`` is
        ``(n_samples, n_timesteps, n_features)`` / ``(t_i, n_features)``; ``"nft"`` is
        channels-first ``(n_samples, n_features, n_timesteps)`` / ``(n_features, t_i)``
        as aeon and sktime use (match the estimator's ``input_layout``).  Output keeps
        the input's layout.  Flattened 2D input is always timestep-major.

    Attributes
    ----------
    mean_ : ndarray of shape (n_sequence_features,)
        Per-feature mean over samples and timesteps.
    var_ : ndarray of shape (n_sequence_features,)
        Per-feature variance over samples and timesteps.
    scale_ : ndarray of shape (n_sequence_features,) or None
        Per-feature scale (standard deviation, 1 for constant features);
        ``None`` when ``with_std=False``.
    n_sequence_features_ : int
        Number of features per timestep.
    n_samples_seen_ : int
        Number of values each statistic was computed from (samples x timesteps).
    n_features_in_ : int
        Number of input columns for 2D input (sklearn's meaning, so
        ``n_timesteps * n_features``); ``n_sequence_features_`` for 3D/list input.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, defined only when ``fit`` got a DataFrame with string columns.

    See Also
    --------
    SequencePadder : Pad variable-length sequences into one array.
    sklearn.preprocessing.StandardScaler : The per-column tabular equivalent.

    Examples
    --------
    >>> import numpy as np
    >>> from skgru.preprocessing import SequenceScaler
    >>> X = np.array([[[1.0, 10.0], [3.0, 10.0]], [[5.0, 10.0], [7.0, 10.0]]])
    >>> scaler = SequenceScaler().fit(X)
    >>> scaler.mean_, scaler.scale_.round(3)
    (array([ 4., 10.]), array([2.236, 1.   ]))
    >>> scaler.transform(X)[0].round(3)
    array([[-1.342,  0.   ],
           [-0.447,  0.   ]])

    Flattened 2D input (two timesteps of two features) gives the same numbers:

    >>> flat = SequenceScaler(n_features=2).fit_transform(X.reshape(2, 4))
    >>> flat.shape, bool(np.allclose(flat, scaler.transform(X).reshape(2, 4)))
    ((2, 4), True)
    """

    _parameter_constraints = {
        "with_mean": ["boolean"],
        "with_std": ["boolean"],
        "n_features": [Interval(Integral, 1, None, closed="left"), None],
        "input_layout": [StrOptions({"ntf", "nft"})],
    }

    def __init__(self, with_mean=True, with_std=True, n_features=None, input_layout="ntf"):
        self.with_mean = with_mean
        self.with_std = with_std
        self.n_features = n_features
        self.input_layout = input_layout

    # -- input handling ----------------------------------------------------
    def _parse(self, X, *, reset, check_names=True):
        """Return ``(data, restore)``: float data as 3D array or list of 2D arrays.

        ``restore`` maps an array/list of the same structure back to the input's
        shape convention.
        """
        if isinstance(X, (str, bytes)):
            raise TypeError("SequenceScaler expects numeric sequences, got a string.")
        _reject_empty_list(X)
        channels_first = self.input_layout == "nft"
        if is_sequence_collection(X):
            seqs, was_1d = [], []
            for i, item in enumerate(X):
                arr = check_array(
                    item,
                    ensure_2d=False,
                    dtype=FLOAT_DTYPES,
                    ensure_min_samples=0,
                    input_name=f"sequence {i}",
                )
                if arr.ndim == 1:
                    arr = arr.reshape(-1, 1)
                    was_1d.append(True)
                elif arr.ndim == 2:
                    was_1d.append(False)
                    if channels_first:
                        arr = arr.T
                else:  # pragma: no cover - check_array rejects ndim > 2
                    raise ValueError(f"sequence {i} has {arr.ndim} dimensions, expected 1 or 2.")
                seqs.append(arr)
            f = common_n_features(seqs)
            self._set_or_check_features(f, n_columns=None, reset=reset)

            def restore(out):
                return [
                    o.ravel() if flat else (o.T if channels_first else o)
                    for o, flat in zip(out, was_1d)
                ]

            return seqs, restore

        ndim = getattr(X, "ndim", None)
        if ndim is None or not hasattr(X, "shape"):
            ndim = np.asarray(X).ndim
        if ndim == 3:
            arr = check_array(X, allow_nd=True, dtype=FLOAT_DTYPES, input_name="X")
            if channels_first:
                arr = arr.transpose(0, 2, 1)
            if arr.shape[2] == 0:
                raise ValueError("X has 0 features per timestep; at least one is required.")
            self._set_or_check_features(arr.shape[2], n_columns=None, reset=reset)
            if channels_first:
                return arr, lambda out: np.ascontiguousarray(out.transpose(0, 2, 1))
            return arr, lambda out: out
        if ndim != 2:
            # check_array gives sklearn's standard message for 1D input
            check_array(X, dtype=FLOAT_DTYPES, input_name="X")
            raise ValueError(
                "SequenceScaler expects a 2D or 3D array or a list of sequences, "
                f"got {ndim}D input."
            )
        if reset or (self._fitted_2d and check_names):
            arr = validate_data(self, X, reset=reset, dtype=FLOAT_DTYPES)
        else:
            arr = check_array(X, dtype=FLOAT_DTYPES, input_name="X")
            if self._fitted_2d and arr.shape[1] != self.n_features_in_:
                raise ValueError(
                    f"X has {arr.shape[1]} features, but SequenceScaler is expecting "
                    f"{self.n_features_in_} features as input."
                )
        f = 1 if self.n_features is None else self.n_features
        if arr.shape[1] % f:
            raise ValueError(
                f"X has {arr.shape[1]} columns, which is not a multiple of n_features={f}; "
                "flattened input must be (n_samples, n_timesteps * n_features), row-major."
            )
        self._set_or_check_features(f, n_columns=arr.shape[1], reset=reset)
        n, width = arr.shape
        return arr.reshape(n, width // f, f), lambda out: out.reshape(n, width)

    def _set_or_check_features(self, f, *, n_columns, reset):
        if reset:
            self.n_sequence_features_ = f
            self._fitted_2d = n_columns is not None
            if n_columns is None:
                # 3D / list input: features per timestep; drop names of a previous fit
                self.n_features_in_ = f
                if hasattr(self, "feature_names_in_"):
                    del self.feature_names_in_
        elif f != self.n_sequence_features_:
            raise ValueError(
                f"X has {f} features per timestep, but SequenceScaler was fitted with "
                f"{self.n_sequence_features_}."
            )

    # -- public API --------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Compute the per-feature mean and standard deviation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features), \
(n_samples, n_timesteps * n_features) or list of arrays
            Training sequences (see the class docstring for the conventions).
        y : None
            Ignored.

        Returns
        -------
        self : SequenceScaler
            Fitted scaler.
        """
        data, _ = self._parse(X, reset=True)
        if isinstance(data, list):
            flat = np.concatenate([s.astype(np.float64, copy=False) for s in data], axis=0)
        else:
            flat = data.reshape(-1, data.shape[2])
        if flat.shape[0] == 0:
            raise ValueError("X contains no timesteps: cannot compute statistics.")
        mean = flat.mean(axis=0, dtype=np.float64)
        var = flat.var(axis=0, dtype=np.float64)
        self.n_samples_seen_ = int(flat.shape[0])
        self.mean_ = mean
        self.var_ = var
        if self.with_std:
            eps = np.finfo(np.float64).eps
            n = flat.shape[0]
            constant = var <= n * eps * var + (n * mean * eps) ** 2
            scale = np.sqrt(var)
            scale[constant | (scale == 0)] = 1.0
            self.scale_ = scale
        else:
            self.scale_ = None
        return self

    def _apply(self, data, inverse):
        def one(arr):
            out = arr.astype(np.float64, copy=True)
            if inverse:
                if self.with_std:
                    out *= self.scale_
                if self.with_mean:
                    out += self.mean_
            else:
                if self.with_mean:
                    out -= self.mean_
                if self.with_std:
                    out /= self.scale_
            return out.astype(arr.dtype, copy=False)

        if isinstance(data, list):
            return [one(s) for s in data]
        return one(data)

    def transform(self, X):
        """Scale sequences with the fitted statistics.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features), \
(n_samples, n_timesteps * n_features) or list of arrays
            Sequences with the fitted number of features per timestep (any number
            of timesteps for 3D and list input).

        Returns
        -------
        X_scaled : ndarray, DataFrame or list of ndarray
            Same shape as ``X``; a DataFrame for 2D input under
            ``set_output(transform="pandas")``.
        """
        check_is_fitted(self)
        data, restore = self._parse(X, reset=False)
        return wrap_2d_output(self, restore(self._apply(data, inverse=False)), X)

    def inverse_transform(self, X):
        """Undo the scaling.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features), \
(n_samples, n_timesteps * n_features) or list of arrays
            Scaled sequences.

        Returns
        -------
        X_original : ndarray or list of ndarray
            Same shape as ``X``, in the original units.
        """
        check_is_fitted(self)
        data, restore = self._parse(X, reset=False, check_names=False)
        return restore(self._apply(data, inverse=True))

    def set_output(self, *, transform=None):
        """Set the output container of ``transform`` for 2D input.

        3D arrays and lists are always returned as they are: a DataFrame cannot
        hold them.

        Parameters
        ----------
        transform : {"default", "pandas", "polars"} or None, default=None
            ``"default"``: the global ``sklearn.set_config`` setting; ``"pandas"`` /
            ``"polars"``: a DataFrame named by ``get_feature_names_out()``;
            ``None``: leave the configuration unchanged.

        Returns
        -------
        self : SequenceScaler
            This scaler.
        """
        validate_output_container(transform)
        if transform is not None:
            if not hasattr(self, "_sklearn_output_config"):
                self._sklearn_output_config = {}
            self._sklearn_output_config["transform"] = transform
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.allow_nan = False
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


# ---------------------------------------------------------------------------
# SequencePadder
# ---------------------------------------------------------------------------


class SequencePadder(TransformerMixin, BaseEstimator):
    """Pad (and truncate) variable-length sequences into one 3D array.

    Takes a list of sequences, each ``(t_i, n_features)`` or ``(t_i,)``, and
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
        common type of the sequences and ``value``.
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
        """Return a list of 2D ``(t_i, f)`` numeric arrays and ``f``."""
        if isinstance(X, (str, bytes)):
            raise TypeError("SequencePadder expects numeric sequences, got a string.")
        _reject_empty_list(X)
        if is_sequence_collection(X):
            seqs = []
            for i, item in enumerate(X):
                arr = check_array(
                    item,
                    ensure_2d=False,
                    dtype="numeric",
                    ensure_all_finite=False,
                    ensure_min_samples=0,
                    input_name=f"sequence {i}",
                )
                if arr.ndim == 1:
                    arr = arr.reshape(-1, 1)
                elif self.input_layout == "nft":
                    arr = arr.T
                seqs.append(arr)
            return seqs, common_n_features(seqs)
        ndim = getattr(X, "ndim", None)
        if ndim is None or not hasattr(X, "shape"):
            ndim = np.asarray(X).ndim
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
        arr = check_array(X, allow_nd=True, dtype="numeric", ensure_all_finite=False,
                          input_name="X")
        if arr.ndim == 2:
            arr = arr[:, :, np.newaxis]
        elif self.input_layout == "nft":
            arr = arr.transpose(0, 2, 1)
        if arr.shape[2] == 0:
            raise ValueError("X has 0 features per timestep; at least one is required.")
        return list(arr), arr.shape[2]

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
        seqs, f = self._sequences(X)
        self._out_dtype(seqs)  # validate dtype early
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
        seqs, f = self._sequences(X)
        if f != self.n_features_in_:
            raise ValueError(
                f"X has {f} features per timestep, but SequencePadder was fitted with "
                f"{self.n_features_in_}."
            )
        out = pad_truncate(
            seqs,
            self.max_length_,
            f,
            padding=self.padding,
            truncating=self.truncating,
            value=self.value,
            dtype=self._out_dtype(seqs),
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


# ---------------------------------------------------------------------------
# TextSequencer
# ---------------------------------------------------------------------------

_APOSTROPHES = re.compile(r"['\u2019`]")
_PUNCTUATION = re.compile(r"[^\w\s]|_")


def _strip_punctuation(text):
    """Drop apostrophes (``don't`` -> ``dont``); other punctuation becomes a space."""
    return _PUNCTUATION.sub(" ", _APOSTROPHES.sub("", text))


class TextSequencer(TransformerMixin, BaseEstimator):
    """Turn raw strings into padded integer token-id sequences.

    The text counterpart of :class:`SequencePadder`, for
    ``GRUClassifier(embedding_dim=...)``: each document is standardised, split on
    whitespace, mapped to ids and padded/truncated to ``max_length_``.  Id 0 is
    padding and id 1 an out-of-vocabulary token; real tokens get ids from 2 in
    order of decreasing training frequency, ties broken alphabetically, so the
    vocabulary is deterministic.  Pure Python/NumPy: it pickles and needs no
    TensorFlow.

    ``vocab_size_`` (largest id + 1) is what an Embedding layer needs.  The
    vocabulary is counted on the *truncated* training sequences, so every id
    below ``vocab_size_`` occurs in ``fit_transform``'s output: an estimator that
    infers its vocabulary size as "largest training id + 1" (skgru's do when
    ``vocab_size=None``) gets exactly ``vocab_size_``, and tokens the network never
    saw in training are out-of-vocabulary rather than untrained embeddings.

    Parameters
    ----------
    max_tokens : int or None, default=20000
        Maximum vocabulary size *including* the two reserved ids (padding and
        out-of-vocabulary), as in Keras' ``TextVectorization``: at most
        ``max_tokens - 2`` real tokens.  ``None``: no limit.
    max_length : int, float or None, default=None
        Output sequence length.  An int fixes it.  ``None`` learns the longest
        training document (nothing is truncated in training).  A float ``q`` in
        (0, 1] learns the ``q`` quantile of training document lengths, rounded up
        (``0.95`` suits long-tailed corpora such as reviews, where the longest
        document would make every sequence long).
    lowercase : bool, default=True
        Lowercase documents before ``standardize``.
    standardize : {"strip_punctuation"}, callable or None, default="strip_punctuation"
        ``"strip_punctuation"``: delete apostrophes (``don't`` -> ``dont``) and turn
        all other punctuation into spaces.  ``None``: leave the text as is.  A
        callable takes a string and returns either a string (then split on
        whitespace) or a list of tokens.
    padding : {"post", "pre"}, default="post"
        Pad after (``"post"``, keeps cuDNN eligible with masking) or before.
    truncating : {"post", "pre"}, default="post"
        Keep the beginning (``"post"``) or the end (``"pre"``) of long documents.

    Attributes
    ----------
    vocabulary_ : dict of str to int
        Token -> id (ids from 2).
    vocab_size_ : int
        ``len(vocabulary_) + 2``: the largest id + 1.
    max_length_ : int
        Output sequence length.

    See Also
    --------
    SequencePadder : The same padding for numeric sequences.

    Examples
    --------
    >>> from skgru.preprocessing import TextSequencer
    >>> docs = ["A good movie!", "a bad, bad movie", "good"]
    >>> seq = TextSequencer().fit(docs)
    >>> seq.vocabulary_
    {'a': 2, 'bad': 3, 'good': 4, 'movie': 5}
    >>> seq.vocab_size_, seq.max_length_
    (6, 4)
    >>> seq.transform(["a good film", "bad"])
    array([[2, 4, 1, 0],
           [3, 0, 0, 0]], dtype=int32)
    """

    _parameter_constraints = {
        "max_tokens": [Interval(Integral, 3, None, closed="left"), None],
        "max_length": [
            Interval(Integral, 1, None, closed="left"),
            Interval(Real, 0, 1, closed="right"),
            None,
        ],
        "lowercase": ["boolean"],
        "standardize": [StrOptions({"strip_punctuation"}), callable, None],
        "padding": [StrOptions({"post", "pre"})],
        "truncating": [StrOptions({"post", "pre"})],
    }

    def __init__(self, max_tokens=20000, max_length=None, lowercase=True,
                 standardize="strip_punctuation", padding="post", truncating="post"):
        self.max_tokens = max_tokens
        self.max_length = max_length
        self.lowercase = lowercase
        self.standardize = standardize
        self.padding = padding
        self.truncating = truncating

    @staticmethod
    def _documents(X):
        if isinstance(X, (str, bytes)):
            raise TypeError(
                "TextSequencer expects an iterable of strings, got a single string; "
                "wrap it in a list: [text]."
            )
        if hasattr(X, "tocsr") or type(X).__module__.startswith("scipy.sparse"):
            raise TypeError("TextSequencer expects strings, got a sparse matrix.")
        if is_pandas(X, ("DataFrame",)) or getattr(X, "ndim", 1) != 1:
            raise ValueError(
                "TextSequencer expects a 1D iterable of strings (list, 1D array, Series); "
                f"got input of shape {getattr(X, 'shape', None)}. In a ColumnTransformer, "
                "select the text column with a scalar name ('text'), not a list (['text'])."
            )
        try:
            docs = list(X)
        except TypeError as exc:
            raise TypeError(
                f"TextSequencer expects an iterable of strings, got {type(X).__name__}."
            ) from exc
        if not docs:
            raise ValueError("X is empty: expected at least one document.")
        for i, doc in enumerate(docs):
            if not isinstance(doc, str):
                missing = (
                    doc is None
                    or (isinstance(doc, float) and math.isnan(doc))
                    or type(doc).__name__ in ("NAType", "NaTType")
                )
                hint = " (missing value? fill it, e.g. with '')" if missing else ""
                raise TypeError(
                    f"TextSequencer expects strings; document {i} is "
                    f"{type(doc).__name__}{hint}."
                )
        return docs

    def _tokenize(self, doc):
        if self.lowercase:
            doc = doc.lower()
        if self.standardize == "strip_punctuation":
            doc = _strip_punctuation(doc)
        elif callable(self.standardize):
            doc = self.standardize(doc)
            if not isinstance(doc, str):
                return [str(tok) for tok in doc]
        return doc.split()

    def _truncate(self, tokens, length):
        if len(tokens) <= length:
            return tokens
        return tokens[:length] if self.truncating == "post" else tokens[len(tokens) - length:]

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the vocabulary and, if not given, the sequence length.

        Parameters
        ----------
        X : iterable of str
            Training documents.
        y : None
            Ignored.

        Returns
        -------
        self : TextSequencer
            Fitted sequencer.
        """
        tokenized = [self._tokenize(doc) for doc in self._documents(X)]
        lengths = np.array([len(t) for t in tokenized])
        if isinstance(self.max_length, Integral):
            length = int(self.max_length)
        elif self.max_length is None:
            length = int(lengths.max())
        else:
            length = int(math.ceil(np.quantile(lengths, float(self.max_length))))
        self.max_length_ = max(length, 1)
        counts = Counter()
        for tokens in tokenized:
            counts.update(self._truncate(tokens, self.max_length_))
        if not counts:
            raise ValueError(
                "empty vocabulary: the training documents contain no tokens after "
                "standardization."
            )
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        if self.max_tokens is not None:
            ranked = ranked[: self.max_tokens - 2]
        self.vocabulary_ = {tok: i + 2 for i, (tok, _) in enumerate(ranked)}
        self.vocab_size_ = len(self.vocabulary_) + 2
        return self

    def transform(self, X):
        """Map documents to padded token-id sequences.

        Parameters
        ----------
        X : iterable of str
            Documents.

        Returns
        -------
        ids : ndarray of shape (n_samples, max_length_), dtype int32
            Token ids: 0 padding, 1 out-of-vocabulary, 2.. vocabulary.
        """
        check_is_fitted(self)
        vocab = self.vocabulary_
        ids = [
            [vocab.get(tok, OOV_ID) for tok in self._tokenize(doc)]
            for doc in self._documents(X)
        ]
        return pad_truncate_ids(
            ids, self.max_length_, padding=self.padding, truncating=self.truncating
        )

    def get_vocabulary(self):
        """Return the tokens in id order: ``["", "[UNK]", most frequent, ...]``.

        Returns
        -------
        tokens : list of str
            ``tokens[i]`` is the token with id ``i``.
        """
        check_is_fitted(self)
        return [PAD_TOKEN, OOV_TOKEN] + sorted(self.vocabulary_, key=self.vocabulary_.get)

    def inverse_transform(self, X):
        """Map id sequences back to space-joined token strings (padding dropped).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_ids)
            Token ids.

        Returns
        -------
        docs : list of str
            Out-of-vocabulary ids come back as ``"[UNK]"``.
        """
        check_is_fitted(self)
        ids = check_array(X, dtype=None, input_name="X")
        if ids.dtype.kind not in "iu":
            raise TypeError(f"token ids must be integers, got dtype {ids.dtype}.")
        tokens = self.get_vocabulary()
        if ids.size and (ids.min() < 0 or ids.max() >= len(tokens)):
            raise ValueError(f"token ids must lie in [0, {len(tokens) - 1}].")
        return [" ".join(tokens[i] for i in row if i != PAD_ID) for row in ids]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.one_d_array = True
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.transformer_tags.preserves_dtype = []
        return tags


# ---------------------------------------------------------------------------
# make_windows
# ---------------------------------------------------------------------------


def _resolve_targets(target, names, n_columns):
    """Column indices of ``target`` and whether y keeps a target axis."""
    if target is None:
        return list(range(n_columns)), n_columns > 1
    multi = isinstance(target, (list, tuple, np.ndarray)) or is_pandas(target, ("Index",))
    items = list(target) if multi else [target]
    if not items:
        raise ValueError("target is empty: name at least one column.")
    idx = []
    for t in items:
        if isinstance(t, (Integral, np.integer)) and not isinstance(t, bool) and (
            names is None or t not in names
        ):
            if not -n_columns <= t < n_columns:
                raise ValueError(
                    f"target index {t} is out of range for a series with {n_columns} column(s)."
                )
            idx.append(int(t) % n_columns)
        elif names is not None and t in names:
            idx.append(names.index(t))
        elif names is None:
            raise ValueError(
                f"target {t!r} is a name, but the series has no column names; "
                "pass a pandas DataFrame or an integer column index."
            )
        else:
            raise ValueError(f"target {t!r} is not a column of the series; columns: {names}.")
    if len(set(idx)) != len(idx):
        raise ValueError(f"target lists a column more than once: {target!r}.")
    return idx, multi


@validate_params(
    {
        "series": ["array-like"],
        "window": [Interval(Integral, 1, None, closed="left")],
        "horizon": [Interval(Integral, 1, None, closed="left")],
        "stride": [Interval(Integral, 1, None, closed="left")],
        "target": "no_validation",
    },
    prefer_skip_nested_validation=True,
)
def make_windows(series, window, horizon=1, stride=1, target=None):
    """Slice a time series into supervised ``(X, y)`` windows for forecasting.

    Window ``i`` covers timesteps ``s, ..., s + window - 1`` with ``s = i * stride``;
    its target is the value(s) at the next ``horizon`` timesteps,
    ``s + window, ..., s + window + horizon - 1``.  Windows come out in time order,
    so ``X``, ``y`` go straight into :class:`~sklearn.model_selection.TimeSeriesSplit`.

    Parameters
    ----------
    series : array-like of shape (n_timesteps,) or (n_timesteps, n_columns)
        The series, oldest first: a 1D/2D array or list, a pandas Series or a
        DataFrame.  Must be numeric and finite (fill or drop missing values first).
    window : int
        Number of past timesteps in each input window.
    horizon : int, default=1
        Number of future timesteps to predict (multi-step when > 1).
    stride : int, default=1
        Step between the starts of consecutive windows.
    target : int, str, list of int/str or None, default=None
        Column(s) to predict, by position or (DataFrame) name.  ``None``: all
        columns.  Every column stays in ``X`` (past target values are inputs too).

    Returns
    -------
    X : ndarray of shape (n_windows, window, n_columns)
        Input windows; always 3D (a 1D series gives ``n_columns=1``), float.
    y : ndarray of shape (n_windows,), (n_windows, horizon), (n_windows, n_targets) \
or (n_windows, horizon * n_targets)
        ``(n_windows,)`` for one target column (a scalar ``target``, or ``None`` on
        a one-column series) and ``horizon=1``; ``(n_windows, horizon)`` for one
        target column and ``horizon > 1``; for a list ``target`` or ``None`` on a
        multi-column series, ``(n_windows, n_targets)`` when ``horizon=1``, else
        flattened step-major to ``(n_windows, horizon * n_targets)`` (column ``j`` is
        step ``j // n_targets``, target ``j % n_targets``), since sklearn targets are
        at most 2D.

    Notes
    -----
    ``n_windows = (n_timesteps - window - horizon) // stride + 1``.  With
    ``horizon > 1``, consecutive windows share target timesteps; to keep the
    targets of a test fold out of its training fold use
    ``TimeSeriesSplit(gap=ceil(horizon / stride) - 1)`` (``gap=horizon - 1`` for
    ``stride=1``).  To forecast past the end of the series, feed the last
    ``window`` timesteps, ``X_next = series[-window:][None]`` (reshaped to 3D).

    Examples
    --------
    >>> import numpy as np
    >>> from skgru.preprocessing import make_windows
    >>> X, y = make_windows(np.arange(6.0), window=3)
    >>> X.shape, y
    ((3, 3, 1), array([3., 4., 5.]))
    >>> X[0, :, 0]
    array([0., 1., 2.])
    >>> X, y = make_windows(np.arange(6.0), window=3, horizon=2)
    >>> y
    array([[3., 4.],
           [4., 5.]])
    """
    names = None
    if is_pandas(series, ("DataFrame",)):
        names = list(series.columns)
        values = series.to_numpy()
    elif is_pandas(series, ("Series",)):
        names = [series.name]
        values = series.to_numpy()
    elif isinstance(series, (str, bytes)):
        raise TypeError("series must be numeric, got a string.")
    else:
        values = np.asarray(series)
    if values.ndim == 1:
        values = values.reshape(-1, 1)
    elif values.ndim != 2:
        raise ValueError(
            f"series must be 1D (n_timesteps,) or 2D (n_timesteps, n_columns), got {values.ndim}D."
        )
    values = check_array(values, dtype="numeric", ensure_min_samples=1, input_name="series")
    if values.dtype.kind != "f":
        values = values.astype(np.float64)
    n_steps, n_columns = values.shape
    if window + horizon > n_steps:
        raise ValueError(
            f"series has {n_steps} timesteps, too few for window={window} and "
            f"horizon={horizon} (at least window + horizon = {window + horizon} needed)."
        )
    idx, multi = _resolve_targets(target, names, n_columns)
    starts = np.arange(0, n_steps - window - horizon + 1, stride)
    X = values[starts[:, None] + np.arange(window)]  # fancy indexing copies
    y = values[(starts + window)[:, None] + np.arange(horizon)][:, :, idx]
    if not multi:
        y = y[:, :, 0]
        if horizon == 1:
            y = y[:, 0]
    else:
        y = y.reshape(len(starts), horizon * len(idx))
    return X, y
