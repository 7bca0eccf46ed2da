"""``convert_X``: any accepted ``X`` -> the one array the estimators' network eats.

The estimators call this in ``fit`` (``fitted=None``) and at predict time (with the
:class:`InputSpec` learned in ``fit``); every shape error is raised here, as a
``ValueError``/``TypeError`` naming the problem.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skgru._sequences._collection import sequence_list
from skgru._sequences._detect import as_table, is_pandas, is_sparse, reject_empty
from skgru._sequences._numeric import check_token_ids, missing_as_nan, to_numeric
from skgru._sequences._pad import pad_truncate
from skgru._sequences._shape import check_min_size

# Value written into the padded tail of variable-length float sequences when the
# user gave no ``mask_value``.  The network masks exactly this value, so it never
# reaches the recurrent cells; it is far outside any sensible feature range (and
# exact in float32: 1e9 = 2**9 * 1953125, with 1953125 < 2**24).
RAGGED_PAD_VALUE = -1.0e9

VALID_LAYOUTS = ("ntf", "nft")


@dataclass(frozen=True)
class InputSpec:
    """What the estimator learned about ``X`` in ``fit``; checked at predict time."""

    n_columns: int | None  # columns of 2D input (sklearn's n_features_in_), else None
    n_timesteps: int | None  # None: variable length (ragged list input)
    n_step_features: int  # features per timestep (1 for token input)
    tokens: bool  # integer token ids for an Embedding layer
    ragged: bool  # fitted on variable-length sequences


def _from_collection(seqs, *, tokens: bool, pad_value: float):
    """Stack equal-length sequences, post-pad ragged ones (post keeps cuDNN eligible)."""
    if tokens and not all(seqs.was_1d):
        raise ValueError("Token sequences must be 1D lists of token ids.")
    dtype = np.float64 if tokens else np.float32
    ragged = seqs.ragged
    if not ragged:
        arr = np.stack(seqs.arrays).astype(dtype, copy=False)
    else:
        arr = pad_truncate(
            seqs.arrays, max(seqs.lengths), seqs.n_features,
            padding="post", truncating="post", value=pad_value, dtype=dtype,
        )
    return (arr[:, :, 0] if tokens else arr), ragged


def _check_shape(arr: np.ndarray) -> None:
    if arr.ndim == 0 or arr.ndim == 1:
        raise ValueError(
            f"Expected a 2D (n_samples, n_timesteps) or 3D (n_samples, n_timesteps, "
            f"n_features) array, got a {arr.ndim}D array of shape {arr.shape}. "
            "Reshape your data with X.reshape(-1, 1) if it holds one timestep per "
            "sample, or X.reshape(1, -1) if it is a single sequence."
        )
    if arr.ndim > 3:
        raise ValueError(f"Expected a 2D or 3D array, got {arr.ndim}D with shape {arr.shape}.")
    check_min_size(arr)


def convert_X(
    X,
    *,
    n_features=None,
    input_layout="ntf",
    tokens=False,
    mask_value=None,
    fitted: InputSpec | None = None,
    estimator_name="estimator",
):
    """Turn any accepted ``X`` into the network's input array.

    Parameters
    ----------
    X : array-like, DataFrame, or collection of sequences
        The user's input (never modified).  A collection is a list/tuple, 1D
        object ndarray or pandas Series of ``(t_i, n_features)`` / ``(t_i,)``
        arrays (``(n_features, t_i)`` with ``input_layout="nft"``).
    n_features, input_layout, tokens, mask_value
        The estimator's input parameters.
    fitted : InputSpec or None
        ``None`` during ``fit``; the spec learned in ``fit`` when predicting.
    estimator_name : str
        Used in error messages.

    Returns
    -------
    array : ndarray
        ``(n, t, f)`` float32, or ``(n, t)`` int32 token ids.
    spec : InputSpec
        What was seen (checked against ``fitted`` when given).
    feature_names : ndarray of str or None
        Column names when ``X`` is a DataFrame with string column names.
    """
    if X is None:
        raise ValueError(f"{estimator_name} requires X; got None.")
    if is_sparse(X):
        raise TypeError(
            f"{estimator_name} does not accept sparse input (a sparse matrix was "
            "passed); convert it with X.toarray() first."
        )
    if input_layout not in VALID_LAYOUTS:  # also validated with the params
        raise ValueError(f"input_layout must be one of {VALID_LAYOUTS}; got {input_layout!r}.")
    if isinstance(X, dict):
        raise TypeError(
            f"{estimator_name} expects an array-like or a list of sequences as X; got a dict."
        )

    reject_empty(X)
    feature_names = None
    if is_pandas(X, ("DataFrame",)):
        if X.shape[1] == 1 and len(X) and isinstance(X.iloc[0, 0], (np.ndarray, list, tuple)):
            # a column of per-row sequences: numpy's "setting an array element with a
            # sequence", with a TextSequencer hint, said nothing useful before
            raise ValueError(
                f"X is a DataFrame whose column {X.columns[0]!r} holds one sequence per "
                f"row: pass the column itself (X[{X.columns[0]!r}], a Series), which is "
                "read as a list of sequences.")
        cols = np.asarray(X.columns, dtype=object)
        if len(cols) and all(isinstance(c, str) for c in cols):
            feature_names = cols
        X = missing_as_nan(X)  # pd.NA: the NaN message, not "not numbers"
        X = X.to_numpy() if is_pandas(X, ("DataFrame",)) else X

    pad = 0.0 if tokens else (RAGGED_PAD_VALUE if mask_value is None else mask_value)
    seqs = sequence_list(
        X, input_layout=input_layout, dtype="float", float32=not tokens
    )
    if seqs is not None:
        arr, ragged = _from_collection(seqs, tokens=tokens, pad_value=pad)
        time_first = True  # each item was already read in input_layout
    else:
        arr = to_numeric(as_table(X), dtype="float", float32=not tokens)
        ragged = False
        time_first = False
    _check_shape(arr)

    n_columns = None
    if tokens:
        if arr.ndim != 2:
            raise ValueError(
                "With embedding_dim set, X must be a 2D matrix of token ids "
                f"(n_samples, n_tokens); got shape {arr.shape}."
            )
        n_columns = None if ragged else arr.shape[1]
        arr = check_token_ids(arr)
        spec = InputSpec(n_columns, None if ragged else arr.shape[1], 1, True, ragged)
    else:
        if arr.ndim == 2:
            n_columns = arr.shape[1]
            k = 1 if n_features is None else int(n_features)
            if n_columns % k:
                raise ValueError(
                    f"X has {n_columns} columns, which is not a multiple of "
                    f"n_features={k}; a flattened row must hold n_timesteps * n_features values."
                )
            arr = arr.reshape(arr.shape[0], n_columns // k, k)
        elif input_layout == "nft" and not time_first:
            arr = np.transpose(arr, (0, 2, 1))
        if n_features is not None and arr.shape[2] != n_features:
            raise ValueError(
                f"X has {arr.shape[2]} features per timestep, but n_features={n_features}."
            )
        spec = InputSpec(n_columns, None if ragged else arr.shape[1], arr.shape[2], False, ragged)
        arr = np.ascontiguousarray(arr, dtype="float32")

    if fitted is not None:
        _check_against_fit(spec, fitted, estimator_name)
    return arr, spec, feature_names


def _check_against_fit(spec: InputSpec, fitted: InputSpec, name: str) -> None:
    if fitted.n_columns is not None and spec.n_columns is not None:
        if spec.n_columns != fitted.n_columns:
            raise ValueError(
                f"X has {spec.n_columns} features, but {name} is expecting "
                f"{fitted.n_columns} features as input "
                f"({fitted.n_timesteps} timesteps x {fitted.n_step_features} features per step)."
            )
    if spec.n_step_features != fitted.n_step_features:
        raise ValueError(
            f"X has {spec.n_step_features} features per timestep, but {name} was "
            f"fitted with {fitted.n_step_features} features per timestep."
        )
    if fitted.n_timesteps is not None and spec.n_timesteps is not None:
        if spec.n_timesteps != fitted.n_timesteps:
            raise ValueError(
                f"X has {spec.n_timesteps} timesteps, but {name} was fitted on "
                f"sequences of {fitted.n_timesteps} timesteps. Pad or window your "
                "sequences to that length, or fit on a list of variable-length sequences."
            )
    if fitted.n_timesteps is not None and spec.ragged:
        raise ValueError(
            f"{name} was fitted on fixed-length sequences of {fitted.n_timesteps} "
            "timesteps; got variable-length sequences."
        )
