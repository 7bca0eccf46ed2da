"""make_windows: slice a time series into supervised ``(X, y)`` forecasting windows."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval, validate_params
from sklearn.utils.validation import check_array

from skgru._sequences import is_pandas, reject_strings


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
    reject_strings(values, "series")  # check_array would parse "1" in object arrays
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
