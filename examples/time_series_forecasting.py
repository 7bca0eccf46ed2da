"""One-step-ahead forecasting of yearly sunspot numbers with a GRU.

Data: statsmodels' yearly sunspot activity, 1700-2008 (ships with statsmodels,
no download).  The series is sliced into supervised windows with
``make_windows``, scaled with ``SequenceScaler`` and fed to ``GRURegressor``
inside one sklearn pipeline, which is

* cross-validated with ``TimeSeriesSplit`` (every fold trains on the past and
  tests on the future), and
* refitted on the first 80% of the windows and scored on the last 20%,

each time beside two baselines: the last observed value ("naive") and the value
one solar cycle (11 years) before the target ("seasonal naive").

Finally ``ConformalRegressor`` turns the GRU's point forecasts into 90% prediction
intervals (split conformal, calibrated on the most recent 25% of the training
windows), reports how many hold-out years fall inside their interval, and gives
the next year's forecast with its interval.

Run::

    python examples/time_series_forecasting.py           # a minute or two on 2 CPU cores
    SKGRU_FAST=1 python examples/time_series_forecasting.py   # seconds (CI smoke run)
    python examples/time_series_forecasting.py --fast
    python examples/time_series_forecasting.py --plot    # also writes docs/images/forecast_interval.png
"""

import argparse
import os
from pathlib import Path

import numpy as np
import statsmodels.api as sm
from sklearn.metrics import mean_absolute_error
from sklearn.model_selection import TimeSeriesSplit
from sklearn.pipeline import make_pipeline

from skgru import GRURegressor
from skgru.conformal import ConformalRegressor
from skgru.preprocessing import SequenceScaler, make_windows

WINDOW = 22  # two solar cycles of history
CYCLE = 11
ALPHA = 0.1  # 90% intervals
PLOT_PATH = Path(__file__).resolve().parent.parent / "docs" / "images" / "forecast_interval.png"


def main(fast=False, plot=False):
    data = sm.datasets.sunspots.load_pandas().data
    series = data.set_index(data["YEAR"].astype(int))["SUNACTIVITY"]
    if fast:
        series = series.iloc[-120:]
    print(f"sunspots: {len(series)} yearly values, {series.index[0]}-{series.index[-1]}")

    # X: (n_windows, WINDOW, 1) in time order; y: the next year's value.
    X, y = make_windows(series, window=WINDOW)
    print(f"windows: X {X.shape}, y {y.shape}")

    def naive(X):  # last observed value
        return X[:, -1, 0]

    def seasonal_naive(X):  # value one cycle before the target year
        return X[:, WINDOW - CYCLE, 0]

    def model():
        return make_pipeline(
            SequenceScaler(),
            GRURegressor(
                units=8 if fast else 32,
                epochs=3 if fast else 300,
                learning_rate=0.003,
                early_stopping=not fast,
                n_iter_no_change=20,
                batch_size=32,
                random_state=0,
            ),
        )

    # 1) time-series cross-validation on the first 80% of the windows
    n_train = int(0.8 * len(X))
    X_train, y_train, X_test, y_test = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    cv = TimeSeriesSplit(n_splits=2 if fast else 4)
    rows = []
    for fold, (tr, te) in enumerate(cv.split(X_train)):
        pipe = model().fit(X_train[tr], y_train[tr])
        rows.append((
            mean_absolute_error(y_train[te], pipe.predict(X_train[te])),
            mean_absolute_error(y_train[te], naive(X_train[te])),
            mean_absolute_error(y_train[te], seasonal_naive(X_train[te])),
        ))
        print(f"  fold {fold}: train {len(tr)} windows, test {len(te)}: "
              f"MAE GRU {rows[-1][0]:.1f}, naive {rows[-1][1]:.1f}, "
              f"seasonal naive {rows[-1][2]:.1f}")
    gru_cv, naive_cv, seas_cv = np.mean(rows, axis=0)
    print(f"TimeSeriesSplit mean MAE: GRU {gru_cv:.1f} | naive {naive_cv:.1f} | "
          f"seasonal naive {seas_cv:.1f}")

    # 2) final hold-out: fit on the first 80%, forecast the last 20% one step ahead
    pipe = model().fit(X_train, y_train)
    gru = mean_absolute_error(y_test, pipe.predict(X_test))
    base = mean_absolute_error(y_test, naive(X_test))
    seas = mean_absolute_error(y_test, seasonal_naive(X_test))
    years = series.index[WINDOW + n_train], series.index[-1]
    print(f"hold-out {years[0]}-{years[1]} ({len(y_test)} years) MAE: GRU {gru:.1f} | "
          f"naive {base:.1f} | seasonal naive {seas:.1f}")
    print(f"GRU epochs run: {pipe[-1].n_iter_}")

    # 3) 90% prediction intervals: split conformal in time order (shuffle=False):
    #    the GRU trains on the older 75% of the training windows, the newest 25%
    #    calibrate the interval width, the hold-out years check its coverage.
    conformal = ConformalRegressor(
        model(), method="split", alpha=ALPHA, calibration_fraction=0.25, shuffle=False
    ).fit(X_train, y_train)
    band = conformal.predict_interval(X_test)
    inside = np.mean((y_test >= band[:, 0]) & (y_test <= band[:, 1]))
    print(f"{1 - ALPHA:.0%} conformal interval: {inside:.0%} of the {len(y_test)} hold-out years "
          f"inside, mean width {np.mean(band[:, 1] - band[:, 0]):.1f} "
          f"({conformal.n_calibration_} calibration windows)")

    # forecast the year after the data ends from the last WINDOW values
    last = series.to_numpy()[-WINDOW:].reshape(1, WINDOW, 1)
    low, high = conformal.predict_interval(last)[0]
    print(f"forecast for {series.index[-1] + 1}: {pipe.predict(last)[0]:.1f} "
          f"({1 - ALPHA:.0%} interval {low:.1f} to {high:.1f})")
    if plot:
        save_plot(series.index[WINDOW + n_train:], y_test, conformal.predict(X_test), band)
    return {"gru_mae": gru, "naive_mae": base, "seasonal_naive_mae": seas, "coverage": inside}


def save_plot(years, y_test, forecast, band):
    """Hold-out years: truth, forecast and its conformal band (only with --plot)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.fill_between(years, band[:, 0], band[:, 1], alpha=0.3, label=f"{1 - ALPHA:.0%} conformal interval")
    ax.plot(years, y_test, "k.-", lw=1, label="observed")
    ax.plot(years, forecast, "C1-", lw=1.5, label="GRU forecast (one year ahead)")
    ax.set_xlabel("year")
    ax.set_ylabel("sunspot number")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    PLOT_PATH.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(PLOT_PATH, dpi=120)
    plt.close(fig)
    print(f"plot written to {PLOT_PATH}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="tiny run for CI (or SKGRU_FAST=1)")
    parser.add_argument("--plot", action="store_true", help=f"write {PLOT_PATH.name} under docs/images/")
    args = parser.parse_args()
    main(fast=args.fast or os.environ.get("SKGRU_FAST") == "1", plot=args.plot)
