"""SequenceScaler: standardise sequence features over all samples and timesteps, or
each series by its own statistics (``per_series=True``)."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin, _fit_context
from sklearn.utils._available_if import available_if
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import FLOAT_DTYPES, check_array, check_is_fitted, validate_data

from skgru._sequences import (
    array_ndim,
    as_table,
    check_min_size,
    check_no_strings,
    reject_empty,
    reject_non_arrays,
    sequence_list,
    to_numeric,
)
from skgru.preprocessing._output import SequenceOutputMixin, wrap_2d_output
from skgru._doc_links import DocLinkMixin


def _shape_of(X):
    shape = getattr(X, "shape", None)
    return f" of shape {tuple(shape)}" if shape is not None else ""


class SequenceScaler(
    DocLinkMixin, SequenceOutputMixin,
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
    * a collection of variable-length sequences -- a list or tuple, a 1D object
      ndarray or a pandas Series -- each ``(t_i, n_features)`` or ``(t_i,)``
      (``(n_features, t_i)`` with ``input_layout="nft"``, as aeon's unequal-length
      data) -> a list of arrays of the same shapes.  Scale such lists *before*
      :class:`SequencePadder`, so padding values do not enter the statistics.

    With ``per_series=True`` each sequence is instead standardised by its own
    statistics over its timesteps, feature by feature (the z-normalisation the UCR
    archive applies to every series): a series' level and amplitude are removed and
    only its shape remains, which suits classes that differ in shape while each
    series sits at its own level.  Nothing but the number of features is learned
    then, and ``inverse_transform`` is not available.

    Parameters
    ----------
    with_mean : bool, default=True
        Subtract each feature's mean.
    with_std : bool, default=True
        Divide each feature by its standard deviation.
    per_series : bool, default=False
        Standardise each sequence (each feature of it) by its own mean and standard
        deviation over its timesteps instead of the training set's; a constant
        series gets a scale of 1.
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
    mean_ : ndarray of shape (n_sequence_features,) or None
        Per-feature mean over samples and timesteps (``None`` with ``per_series``).
    var_ : ndarray of shape (n_sequence_features,) or None
        Per-feature variance over samples and timesteps (``None`` with ``per_series``).
    scale_ : ndarray of shape (n_sequence_features,) or None
        Per-feature scale (standard deviation, 1 for constant features);
        ``None`` when ``with_std=False`` or with ``per_series``.
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

    Each series by its own statistics (the constant feature gets a scale of 1):

    >>> SequenceScaler(per_series=True).fit_transform(X)[1]
    array([[-1.,  0.],
           [ 1.,  0.]])
    """

    _parameter_constraints = {
        "with_mean": ["boolean"],
        "with_std": ["boolean"],
        "n_features": [Interval(Integral, 1, None, closed="left"), None],
        "input_layout": [StrOptions({"ntf", "nft"})],
        "per_series": ["boolean"],
    }

    def __init__(self, with_mean=True, with_std=True, n_features=None, input_layout="ntf", per_series=False):
        self.with_mean = with_mean
        self.with_std = with_std
        self.n_features = n_features
        self.input_layout = input_layout
        self.per_series = per_series

    # -- input handling ----------------------------------------------------
    def _parse(self, X, *, reset, check_names=True):
        """Return ``(data, restore)``: float data as 3D array or list of 2D arrays.

        ``restore`` maps an array/list of the same structure back to the input's
        shape convention.  Collections are read by the estimators' own parser
        (:func:`skgru._sequences.sequence_list`), so a ragged list, a ragged object
        array, a Series of arrays and aeon's ``(n_features, t_i)`` items with
        ``input_layout="nft"`` are all the same thing here and in ``GRUClassifier``.
        """
        reject_non_arrays(X, "SequenceScaler")
        reject_empty(X)
        seqs = sequence_list(X, input_layout=self.input_layout, dtype="float")
        if seqs is not None:
            self._set_or_check_features(seqs.n_features, n_columns=None, reset=reset)
            return seqs.arrays, seqs.restore

        X = as_table(X)  # an object array of equal-length rows: its rows
        ndim = array_ndim(X)
        if ndim == 3:
            arr = to_numeric(X, dtype="float")
            check_min_size(arr)
            channels_first = self.input_layout == "nft"
            if channels_first:
                arr = arr.transpose(0, 2, 1)
            if arr.shape[2] == 0:
                raise ValueError("X has 0 features per timestep; at least one is required.")
            self._set_or_check_features(arr.shape[2], n_columns=None, reset=reset)
            if channels_first:
                return arr, lambda out: np.ascontiguousarray(out.transpose(0, 2, 1))
            return arr, lambda out: out
        if ndim != 2:
            raise ValueError(
                f"SequenceScaler got {ndim}D input{_shape_of(X)}; it accepts a 3D array "
                "(n_samples, n_timesteps, n_features) ((n_samples, n_features, n_timesteps) "
                "with input_layout='nft'), a 2D array or DataFrame (n_samples, n_timesteps) "
                "or flattened (n_samples, n_timesteps * n_features) with n_features set, "
                "or a list of (t_i, n_features) / (t_i,) sequences."
                + (" Reshape your data with X.reshape(1, -1) if it is a single sequence." if ndim == 1 else "")
            )
        check_no_strings(X)
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
        self.n_samples_seen_ = int(flat.shape[0])
        if self.per_series:  # each series' own statistics, computed in transform
            self.mean_ = self.var_ = self.scale_ = None
            return self
        mean = flat.mean(axis=0, dtype=np.float64)
        var = flat.var(axis=0, dtype=np.float64)
        self.mean_ = mean
        self.var_ = var
        self.scale_ = _scale(mean, var, flat.shape[0]) if self.with_std else None
        return self

    def _apply(self, data, inverse):
        def one(arr):
            out = arr.astype(np.float64, copy=True)
            if self.per_series:  # arr: one (t, f) series or an (n, t, f) batch of them
                mean, var = out.mean(axis=-2, keepdims=True), out.var(axis=-2, keepdims=True)
                if self.with_mean:
                    out -= mean
                if self.with_std:
                    out /= _scale(mean, var, out.shape[-2])
            elif inverse:
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

    @available_if(lambda self: not self.per_series)
    def inverse_transform(self, X):
        """Undo the scaling (not available with ``per_series``: each series'
        statistics are not kept).

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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.allow_nan = False
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _scale(mean, var, n):
    """Standard deviations from ``var`` (any shape), 1 where a feature is constant:
    its variance is within float64 rounding of 0 (as StandardScaler decides it)."""
    eps = np.finfo(np.float64).eps
    constant = var <= n * eps * var + (n * mean * eps) ** 2
    scale = np.sqrt(var)
    scale[constant | (scale == 0)] = 1.0
    return scale
