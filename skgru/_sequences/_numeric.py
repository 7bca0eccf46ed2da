"""Numbers only: every check on the values of ``X`` (not on its shape).

* strings, even numeric ones, are rejected as sklearn's ``check_array`` does
  (``dtype='numeric' is not compatible with arrays of bytes/strings``), also inside
  object arrays where sklearn would silently parse ``"1"``;
* complex numbers are rejected;
* values the network cannot hold: it computes in float32, so ``|x|`` beyond
  ``3.4e38`` would silently become ``inf`` and surface later as a diverged fit;
* token ids must be integers in ``[0, 2**31)``: the Embedding lookup takes int32;
* values that an output dtype cannot hold (``SequencePadder(dtype="int8")`` would
  wrap 300 to 44).
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import assert_all_finite

from skgru._sequences._detect import is_pandas

FLOAT32_MAX = float(np.finfo(np.float32).max)  # 3.4028235e38
TOKEN_ID_LIMIT = 2**31  # ids are cast to int32 for the Embedding lookup

_STRING_MESSAGE = (
    "dtype='numeric' is not compatible with arrays of bytes/strings. Convert your "
    "data to numeric values explicitly instead (for raw text use "
    "skgru.preprocessing.TextSequencer first)."
)


def reject_strings(raw: np.ndarray, what: str = "X") -> None:
    """Raise ``ValueError`` when ``raw`` holds strings or bytes (numeric or not)."""
    kind = raw.dtype.kind
    if kind in "USV" or (
        kind == "O" and any(isinstance(v, (str, bytes, np.str_, np.bytes_)) for v in raw.ravel())
    ):
        raise ValueError(f"{what} contains strings: {_STRING_MESSAGE}")


def to_numeric(
    X,
    *,
    what: str = "X",
    dtype="float",
    allow_nan: bool = False,
    float32: bool = False,
    check_values: bool = True,
) -> np.ndarray:
    """``X`` as a numeric ndarray (a new array only when a conversion is needed).

    Parameters
    ----------
    X : array-like
        Any array-like (never modified).
    what : str
        Name of the data in error messages ("X", "sequence 3 of X").
    dtype : {"float", "numeric"} or dtype
        ``"float"`` keeps float32/float64 and makes anything else float64;
        ``"numeric"`` keeps any numeric dtype (ints stay ints) and parses object
        arrays as float64; a dtype converts to it.
    allow_nan : bool
        Let NaN and inf through (otherwise sklearn's ``assert_all_finite`` message).
    float32 : bool
        Also reject finite values beyond the float32 range (the network's dtype).
    check_values : bool
        ``False`` skips the NaN/inf and float32 checks (the caller runs
        :func:`check_values` once over many arrays).
    """
    X = missing_as_nan(X)
    try:
        raw = np.asarray(X)
    except ValueError as exc:  # ragged nested lists: numpy refuses to guess a shape
        raise ValueError(
            f"{what} must be a numeric array of one shape: {exc}. Give variable-length "
            "sequences as a list of arrays, one per sample."
        ) from exc
    reject_strings(raw, what)
    if raw.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {what} has a complex dtype.")
    if dtype == "float":
        kind, size = raw.dtype.kind, raw.dtype.itemsize
        target = raw.dtype if kind == "f" and size in (4, 8) else np.float64
    elif dtype == "numeric":
        target = raw.dtype if raw.dtype.kind in "biuf" else np.float64
    else:
        target = np.dtype(dtype)
    try:
        out = raw.astype(target, copy=False)
    except TypeError as exc:
        raise TypeError(
            f"{what} must contain numbers; got elements of an unsupported type "
            f"({exc}). For raw text use skgru.preprocessing.TextSequencer first."
        ) from exc
    except ValueError as exc:
        raise ValueError(
            f"{what} must be numeric: {exc}. For raw text use "
            "skgru.preprocessing.TextSequencer first; for labels in X encode them."
        ) from exc
    if check_values:
        check_values_of(out, what=what, allow_nan=allow_nan, float32=float32)
    return out


def missing_as_nan(X):
    """A pandas object holding ``pd.NA`` (nullable ``Float64``/``Int64`` columns) as
    a float array with NaN, so that it meets the NaN check and its message;
    ``np.asarray`` made it an object array of ``NAType``, refused as "not numbers,
    use TextSequencer".  Anything else is returned as it is."""
    if is_pandas(X, ("DataFrame",)):
        dtypes = list(X.dtypes)
    elif is_pandas(X, ("Series",)):
        dtypes = [X.dtype]
    else:
        return X
    if all(isinstance(d, np.dtype) for d in dtypes) or not bool(np.asarray(X.isna()).any()):
        return X
    try:
        return X.to_numpy(dtype="float64", na_value=np.nan)
    except (TypeError, ValueError):  # not numeric (strings): the usual messages follow
        return X


def check_values_of(arr: np.ndarray, *, what="X", allow_nan=False, float32=False) -> bool:
    """NaN/inf (unless ``allow_nan``) and float32 range checks; True when all pass.

    One fast path for both: ``max``/``min`` are NaN or inf exactly when some value
    is, so a clean array costs two reductions and no temporary.  (sklearn's
    ``assert_all_finite`` costs ~20 us a call, 10x the numpy work on a short
    sequence, and a list may hold thousands.)
    """
    if arr.dtype.kind != "f" or not arr.size:
        return True
    hi, lo = float(arr.max()), float(arr.min())
    if not (np.isfinite(hi) and np.isfinite(lo)):
        if not allow_nan:
            assert_all_finite(arr, input_name=what)
        if float32:
            check_float32_range(arr, what)
    elif float32 and max(abs(hi), abs(lo)) > FLOAT32_MAX:
        check_float32_range(arr, what)
    return True


def check_float32_range(arr: np.ndarray, what: str = "X") -> None:
    """Raise when finite values of ``arr`` do not fit float32 (they would become inf)."""
    if arr.dtype == np.float32 or not arr.size:
        return  # already float32: nothing to lose
    # fast path without a temporary array; NaN/inf (allow_nan) take the slow one
    if max(abs(float(arr.max())), abs(float(arr.min()))) <= FLOAT32_MAX:
        return
    finite = arr[np.isfinite(arr)]
    peak = float(np.max(np.abs(finite))) if finite.size else 0.0
    if peak > FLOAT32_MAX:
        raise ValueError(
            f"{what} contains values beyond the float32 range (|x| <= {FLOAT32_MAX:.4g}): "
            f"found |x| = {peak:.4g}. The network computes in float32, where such values "
            "become inf; rescale X first (e.g. with skgru.preprocessing.SequenceScaler)."
        )


def check_token_ids(arr: np.ndarray, what: str = "X") -> np.ndarray:
    """Integer token ids in ``[0, 2**31)`` as int32 (``arr`` is numeric)."""
    if arr.dtype.kind == "f":
        assert_all_finite(arr, input_name=what)
        if np.any(arr != np.round(arr)):
            raise ValueError(
                "With embedding_dim set, X must hold integer token ids; found "
                "non-integer values. Leave embedding_dim=None for real-valued sequences."
            )
    if arr.size and arr.min() < 0:
        raise ValueError(f"Token ids must be >= 0 (0 is padding); found {int(arr.min())}.")
    if arr.size and arr.max() >= TOKEN_ID_LIMIT:
        raise ValueError(
            f"Token ids must be < 2**31 = {TOKEN_ID_LIMIT} (the Embedding layer looks them "
            f"up as int32); found {int(arr.max())}. Map the tokens to a compact range of "
            "ids first (e.g. with skgru.preprocessing.TextSequencer)."
        )
    return arr.astype("int32")


def check_fits_dtype(arr: np.ndarray, dtype, what: str = "X") -> None:
    """Raise when casting ``arr`` to ``dtype`` would change its values.

    Integer and boolean dtypes must hold every value exactly (int8 would wrap 300 to
    44, 1.5 to 1, NaN to an arbitrary number); float dtypes must hold the finite
    values' range (float32 would turn 1e39 into inf; rounding is fine).
    """
    dtype = np.dtype(dtype)
    arr = np.asarray(arr)
    if not arr.size or arr.dtype == dtype:
        return
    if dtype.kind in "biu":
        if arr.dtype.kind in "biu" and np.can_cast(arr.dtype, dtype):
            return
        with np.errstate(invalid="ignore", over="ignore"):
            ok = np.isfinite(arr) if arr.dtype.kind == "f" else np.ones(arr.shape, bool)
            if dtype.kind != "b":
                info = np.iinfo(dtype)
                ok &= (arr >= info.min) & (arr <= info.max)
            else:
                ok &= (arr == 0) | (arr == 1)
            if arr.dtype.kind == "f":
                ok &= arr == np.round(arr)
        if not np.all(ok):
            bad = arr[~ok].ravel()[0].item()
            limits = "0 or 1" if dtype.kind == "b" else f"integers in [{info.min}, {info.max}]"
            raise ValueError(
                f"{what} holds {bad!r}, which dtype={dtype.name!r} cannot represent (it holds "
                f"{limits}); casting would silently change it. Choose a wider dtype, "
                "e.g. dtype='float32'."
            )
    elif dtype.kind == "f" and arr.dtype.kind in "fiu":
        limit = float(np.finfo(dtype).max)
        with np.errstate(invalid="ignore"):
            finite = arr[np.isfinite(arr)] if arr.dtype.kind == "f" else arr
            peak = float(np.max(np.abs(finite))) if finite.size else 0.0
        if peak > limit:
            raise ValueError(
                f"{what} holds |x| = {peak:.4g}, beyond the range of dtype={dtype.name!r} "
                f"(|x| <= {limit:.4g}); casting would turn it into inf. Choose a wider "
                "dtype, e.g. dtype='float64'."
            )


def check_no_strings(X, what: str = "X") -> None:
    """Reject strings anywhere in a table (ndarray, nested list or DataFrame).

    For inputs that then go through sklearn's ``check_array``/``validate_data``,
    which silently parses numeric strings held in object arrays.
    """
    if type(X).__module__.startswith("pandas") and hasattr(X, "dtypes"):
        dtypes = X.dtypes.items() if hasattr(X.dtypes, "items") else [(None, X.dtypes)]
        for name, dt in dtypes:
            if getattr(dt, "kind", "O") in "OUSV":
                column = X if name is None else X[name]
                reject_strings(np.asarray(column, dtype=object), what)
        return
    try:
        raw = np.asarray(X)
    except (ValueError, TypeError):  # ragged or odd: the caller's validation reports it
        return
    reject_strings(raw, what)
