"""Every input convention of the estimators, turned into one array the network eats.

Accepted ``X`` (see the README, "Input conventions"):

* 3D ``(n_samples, n_timesteps, n_features)`` arrays;
* 2D ``(n_samples, n_timesteps)`` arrays: a univariate sequence per row;
* 2D ``(n_samples, n_timesteps * k)`` arrays or DataFrames with ``n_features=k``:
  rows are flattened sequences, timestep-major (column ``j`` is timestep
  ``j // k``, feature ``j % k``), so sklearn's 2D transformers fit in front;
* a list of ``(t_i, n_features)`` (or ``(t_i,)``) arrays of varying length:
  padded at the end and masked inside the network;
* ``input_layout="nft"``: channels-first 3D arrays (aeon / sktime);
* integer token matrices ``(n_samples, n_tokens)`` (or lists of token lists)
  when the estimator has ``embedding_dim`` set; id 0 is padding.

All input errors are raised here, as ``ValueError``/``TypeError`` with a message
that names the problem.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.utils.validation import assert_all_finite

from skgru._sequence_utils import pad_truncate

# Value written into the padded tail of variable-length float sequences when the
# user gave no ``mask_value``.  The network masks exactly this value, so it never
# reaches the recurrent cells; it is far outside any sensible feature range.
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


def _is_sparse(X) -> bool:
    try:
        import scipy.sparse as sp
    except ImportError:  # pragma: no cover - scipy comes with scikit-learn
        return False
    return sp.issparse(X)


def _looks_ragged(X) -> bool:
    """A list/tuple of sequences whose lengths differ."""
    if not isinstance(X, (list, tuple)) or len(X) == 0:
        return False
    lengths = set()
    for seq in X:
        if np.ndim(seq) == 0:
            return False
        lengths.add(len(seq))
    return len(lengths) > 1


def _to_numeric(arr, dtype, what: str) -> np.ndarray:
    try:
        raw = np.asarray(arr)
        if raw.dtype.kind == "c":
            raise ValueError(f"Complex data not supported: {what} has a complex dtype.")
        out = raw.astype(dtype, copy=False)
    except TypeError as exc:
        raise TypeError(
            f"{what} must contain numbers; got elements of an unsupported type "
            f"({exc}). For raw text use skgru.preprocessing.TextSequencer first."
        ) from exc
    except ValueError as exc:
        if "Complex" in str(exc):
            raise
        raise ValueError(
            f"{what} must be numeric: {exc}. For raw text use "
            "skgru.preprocessing.TextSequencer first; for labels in X encode them."
        ) from exc
    return out


def _check_tokens(arr: np.ndarray) -> np.ndarray:
    if not np.all(np.isfinite(arr)):
        assert_all_finite(arr, input_name="X")
    if np.any(arr != np.round(arr)):
        raise ValueError(
            "With embedding_dim set, X must hold integer token ids; found "
            "non-integer values. Leave embedding_dim=None for real-valued sequences."
        )
    if arr.size and arr.min() < 0:
        raise ValueError(
            f"Token ids must be >= 0 (0 is padding); found {int(arr.min())}."
        )
    return arr.astype("int32")


def _pad_ragged(seqs, tokens: bool, pad_value: float) -> np.ndarray:
    """Post-pad a list of sequences to the longest one (keeps cuDNN eligible)."""
    n_step = None
    arrays = []
    for i, seq in enumerate(seqs):
        a = _to_numeric(seq, "float64", f"Sequence {i} of X")
        if a.ndim == 1:
            a = a[:, None]
        if a.ndim != 2:
            raise ValueError(
                f"Each sequence in a list X must be 1D (t,) or 2D (t, n_features); "
                f"sequence {i} has shape {a.shape}."
            )
        if a.shape[0] == 0:
            raise ValueError(f"Sequence {i} of X is empty (0 timesteps).")
        if n_step is None:
            n_step = a.shape[1]
        elif a.shape[1] != n_step:
            raise ValueError(
                f"All sequences must have the same number of features; sequence 0 "
                f"has {n_step}, sequence {i} has {a.shape[1]}."
            )
        arrays.append(a)
    if tokens and n_step != 1:
        raise ValueError("Token sequences must be 1D lists of token ids.")
    max_len = max(a.shape[0] for a in arrays)
    out = pad_truncate(arrays, max_len, n_step, padding="post", truncating="post", value=pad_value, dtype="float64")
    return out[:, :, 0] if tokens else out


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
    X : array-like, DataFrame or list of arrays
        The user's input (never modified).
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
        What was seen (equals ``fitted`` semantics when predicting).
    feature_names : ndarray of str or None
        Column names when ``X`` is a DataFrame with string column names.
    """
    if X is None:
        raise ValueError(f"{estimator_name} requires X; got None.")
    if _is_sparse(X):
        raise TypeError(
            f"{estimator_name} does not accept sparse input (a sparse matrix was "
            "passed); convert it with X.toarray() first."
        )
    if input_layout not in VALID_LAYOUTS:  # also validated with the params
        raise ValueError(f"input_layout must be one of {VALID_LAYOUTS}; got {input_layout!r}.")

    feature_names = None
    if hasattr(X, "columns") and hasattr(X, "iloc"):  # pandas DataFrame
        cols = np.asarray(X.columns, dtype=object)
        if len(cols) and all(isinstance(c, str) for c in cols):
            feature_names = cols
        X = X.to_numpy()

    pad = 0.0 if tokens else (RAGGED_PAD_VALUE if mask_value is None else mask_value)
    if _looks_ragged(X):
        arr = _pad_ragged(X, tokens, pad)
        ragged = True
    else:
        arr = _to_numeric(X, "float64", "X")
        ragged = False

    if arr.ndim == 0 or arr.ndim == 1:
        raise ValueError(
            f"Expected a 2D (n_samples, n_timesteps) or 3D (n_samples, n_timesteps, "
            f"n_features) array, got a {arr.ndim}D array of shape {arr.shape}. "
            "Reshape your data with X.reshape(-1, 1) if it holds one timestep per "
            "sample, or X.reshape(1, -1) if it is a single sequence."
        )
    if arr.ndim > 3:
        raise ValueError(f"Expected a 2D or 3D array, got {arr.ndim}D with shape {arr.shape}.")
    if arr.shape[0] == 0:
        raise ValueError(f"Found array with 0 sample(s) (shape={arr.shape}) while a minimum of 1 is required.")
    if arr.size == 0:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={arr.shape}) while a minimum of 1 is "
            "required: X has no timesteps or no features."
        )
    assert_all_finite(arr, input_name="X")

    n_columns = None
    if tokens:
        if arr.ndim != 2:
            raise ValueError(
                "With embedding_dim set, X must be a 2D matrix of token ids "
                f"(n_samples, n_tokens); got shape {arr.shape}."
            )
        n_columns = None if ragged else arr.shape[1]
        arr = _check_tokens(arr)
        spec = InputSpec(n_columns, None if ragged else arr.shape[1], 1, True, ragged)
    else:
        if arr.ndim == 2 and not ragged:
            n_columns = arr.shape[1]
            k = 1 if n_features is None else int(n_features)
            if n_columns % k:
                raise ValueError(
                    f"X has {n_columns} columns, which is not a multiple of "
                    f"n_features={k}; a flattened row must hold n_timesteps * n_features values."
                )
            arr = arr.reshape(arr.shape[0], n_columns // k, k)
        elif input_layout == "nft" and not ragged:
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
