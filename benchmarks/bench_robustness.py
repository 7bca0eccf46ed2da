"""Benchmark: the defaults on simulated families that no default was chosen on.

Issue 12's defaults were chosen by cross-validation on a fixed list of data sets; the
issue checks them later on public sets nobody here has seen.  This script asks the
same question of **simulated** families written for it (session 19, 2026-12-06), each a
kind of series the chosen sets do not cover, and scores the defaults on one
train/test draw beside 1-NN-DTW and MiniRocket (classification) or Ridge and the
training mean (regression).  Nothing here chose or chooses a default: it is a check,
and a place to find the next failure before a user does.

Classification (one draw, the defaults' network seeded by ``--seeds``):

* ``sim-freq``: 500 steps, 3 classes that differ only in frequency (3, 5 or 8 cycles,
  random phase) under noise of the signal's size; 30 training series;
* ``sim-shapelet-1000``: 1000-step random walks, 2 classes by a 50-step bump (a
  triangle or a plateau) at a random place; 20 training series;
* ``sim-raw-scale``: 100 steps, not z-normalised (a level of 1e4 +- 2000, a class
  shape of 300: up, down, a sine; noise 100); 40 training series;
* ``sim-20-classes``: 60 steps, 20 classes of smooth random prototypes, shifted and
  scaled; 3 training series per class;
* ``sim-mv-irrelevant``: 6 channels of 80 steps, one of which carries the class (the
  place of a bump); 45 training series;
* ``sim-outlines``: 251 steps, 3 classes of three bumps whose places differ by 0.05 of
  the length (outlines, as ArrowHead-like sets); 36 training series.

Regression: forecasting windows (next value, chronological 70/30 split as
``bench_accuracy.py``'s series) of four draws each of ``airline-like`` (exponential
trend and a growing seasonal swing, 144 points), ``random-walk`` (150), ``ar2`` (a
stationary AR(2), 100), ``level-shift`` (a drop at 28% of 100 points, as the Nile's)
and ``trend`` (linear, 120): RMSE of the defaults, Ridge and the mean, averaged over the
draws, and the defaults' RMSE over Ridge's (mean of the per-draw ratios).

    python benchmarks/bench_robustness.py                    # both tables, seed 0
    python benchmarks/bench_robustness.py --task regression --draws 4
    python benchmarks/bench_robustness.py --task regression --range-fade 0.1   # + a column:
        # the defaults with range_fade=0.1 (the GRU part faded outside the training range)
    python benchmarks/bench_robustness.py --task classification --per-series   # + a column:
        # the defaults after SequenceScaler(per_series=True) (each series z-normalised)

Not run by the tests.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def _z(x):
    return (x - x.mean()) / x.std()


# ---------------------------------------------------------------- classification


def sim_freq(rng):
    t, u = 500, np.arange(500)

    def one(c):
        return _z(np.sin(2 * np.pi * [3, 5, 8][c] / t * u + rng.uniform(0, 2 * np.pi)) + rng.normal(0, 1.0, t))

    return one, 3, 30, 300


def sim_shapelet(rng):
    t, w = 1000, 50
    v = np.linspace(0, 1, w)

    def one(c):
        x = np.cumsum(rng.normal(0, 0.1, t))
        s = int(rng.integers(0, t - w))
        x[s : s + w] += [1 - np.abs(2 * v - 1), np.ones(w)][c] * 2.0
        return _z(x - x.mean())

    return one, 2, 20, 300


def sim_raw_scale(rng):
    t, u = 100, np.linspace(0, 1, 100)

    def one(c):
        shape = [u, -u, np.sin(2 * np.pi * u)][c]
        return 1e4 + rng.uniform(-2000, 2000) + 300 * shape + rng.normal(0, 100, t)

    return one, 3, 40, 300


def sim_many_classes(rng):
    t, u = 60, np.linspace(0, 1, 60)
    protos = [sum(rng.normal() * np.exp(-((u - m) ** 2) / 0.01) for m in rng.uniform(0, 1, 4)) for _ in range(20)]

    def one(c):
        return _z(np.roll(protos[c], int(rng.integers(-4, 5))) * rng.uniform(0.8, 1.2) + rng.normal(0, 0.3, t))

    return one, 20, 60, 400


def sim_mv_irrelevant(rng):
    t, f = 80, 6

    def one(c):
        x = rng.normal(0, 1, (t, f))
        place = [15, 40, 65][c] + int(rng.integers(-5, 6))
        x[place - 5 : place + 5, 2] += 2.5
        return x

    return one, 3, 45, 300


def sim_outlines(rng):
    t, u = 251, np.linspace(0, 1, 251)
    centres = [[0.2, 0.5, 0.8], [0.25, 0.5, 0.75], [0.2, 0.45, 0.8]]

    def one(c):
        shift = rng.uniform(-0.03, 0.03)
        x = sum(a * np.exp(-((u - m - shift) ** 2) / 0.004) for a, m in zip([1, 1.4, 1], centres[c]))
        return _z(x * rng.uniform(0.8, 1.2) + rng.normal(0, 0.1, t))

    return one, 3, 36, 175


# name: (family, seed of its draw); the seeds are those the families were first run with
CLASSIFICATION = {
    "sim-freq": (sim_freq, 31),
    "sim-shapelet-1000": (sim_shapelet, 32),
    "sim-raw-scale": (sim_raw_scale, 33),
    "sim-20-classes": (sim_many_classes, 34),
    "sim-mv-irrelevant": (sim_mv_irrelevant, 35),
    "sim-outlines": (sim_outlines, 36),
}


def classification_set(name):
    from _datasets import Dataset, _balanced_draw

    family, seed = CLASSIFICATION[name]
    rng = np.random.default_rng(seed)
    one, n_classes, n_train, n_test = family(rng)
    X_train, y_train = _balanced_draw(rng, one, n_classes, n_train)
    X_test, y_test = _balanced_draw(rng, one, n_classes, n_test)
    return Dataset(name, "classification", np.stack(X_train), np.stack(X_test), y_train, y_test)


# -------------------------------------------------------------------- regression


def airline_like(rng, n=144):
    t = np.arange(n)
    level = 100 * np.exp(0.01 * t + 0.5 * rng.normal(0, 0.02, n).cumsum())
    return level * (1 + 0.15 * np.sin(2 * np.pi * t / 12 + rng.uniform(0, 6))) + rng.normal(0, 3, n)


def random_walk(rng, n=150):
    return 50 + rng.normal(0, 1, n).cumsum()


def ar2(rng, n=100):
    x = np.zeros(n + 50)
    for i in range(2, n + 50):
        x[i] = 0.6 * x[i - 1] - 0.3 * x[i - 2] + rng.normal()
    return 1000 + 100 * x[50:]


def level_shift(rng, n=100):
    x = 1100 + rng.normal(0, 120, n)
    x[int(0.28 * n) :] -= 250
    return x + 0.3 * np.convolve(rng.normal(0, 120, n), np.ones(3) / 3, "same")


def trend(rng, n=120):
    return 5 + 0.3 * np.arange(n) + rng.normal(0, 2, n)


# name: (series generator, window); draw d uses np.random.default_rng(100 + d)
REGRESSION = {
    "airline-like": (airline_like, 12),
    "random-walk": (random_walk, 10),
    "ar2": (ar2, 10),
    "level-shift": (level_shift, 10),
    "trend": (trend, 10),
}


# -------------------------------------------------------------------------- runs


def _fit_score(ds, model):
    from bench_accuracy import _score

    t0 = time.perf_counter()
    model.fit(ds.X_train, ds.y_train)
    return _score(ds, model, ds.X_test, ds.y_test), time.perf_counter() - t0


def _mean_accuracy(ds, make, seeds):
    fits = [_fit_score(ds, make(seed)) for seed in seeds]
    acc = np.array([f[0] for f in fits])
    spread = f" ± {acc.std():.3f}" if len(seeds) > 1 else ""
    return f"{acc.mean():.3f}{spread}", np.mean([f[1] for f in fits])


def run_classification(names, seeds, per_series=False):
    from sklearn.pipeline import make_pipeline

    from _references import knn_dtw, minirocket
    from bench_accuracy import make_default
    from skgru.preprocessing import SequenceScaler

    extra = " defaults after SequenceScaler(per_series=True) |" if per_series else ""
    print(f"| family | defaults |{extra} 1-NN-DTW | MiniRocket | defaults' seconds per fit |")
    print("|---|---|---|---|---|" + ("---|" if per_series else ""))
    for name in names:
        ds = classification_set(name)
        acc, seconds = _mean_accuracy(ds, lambda seed: make_default(ds, seed), seeds)
        column = ""
        if per_series:
            z_acc, _ = _mean_accuracy(
                ds, lambda seed: make_pipeline(SequenceScaler(per_series=True), make_default(ds, seed)), seeds)
            column = f" {z_acc} |"
        dtw = _fit_score(ds, knn_dtw(ds.task, 0))[0]
        rocket = _fit_score(ds, minirocket(ds.task, 0))[0]
        print(f"| {name} | {acc} |{column} {dtw:.3f} | {rocket:.3f} | {seconds:.0f} |", flush=True)


def run_regression(names, draws, seed, range_fade=None):
    from _datasets import _windows
    from _references import dummy, ridge
    from bench_accuracy import make_default

    faded = f" range_fade={range_fade} | its / Ridge | draws it beats Ridge |" if range_fade is not None else ""
    print(f"\n| series | defaults | Ridge | mean | defaults / Ridge | draws where the defaults beat Ridge |{faded}")
    print("|---|---|---|---|---|---|" + ("---|---|---|" if faded else ""))
    for name in names:
        generator, window = REGRESSION[name]
        rows = []
        for d in range(draws):
            ds = _windows(name, generator(np.random.default_rng(100 + d)), window)
            models = [make_default(ds, seed), ridge(ds.task, 0), dummy(ds.task, 0)]
            if range_fade is not None:  # issue 12 rounds 18-19: the same defaults with the GRU part faded out of range
                models.append(make_default(ds, seed, {"range_fade": range_fade}))
            rows.append([_fit_score(ds, model)[0] for model in models])
        rows = np.array(rows)
        ratio = rows[:, 0] / rows[:, 1]
        line = (f"| {name} | {rows[:, 0].mean():.3f} | {rows[:, 1].mean():.3f} | {rows[:, 2].mean():.3f} | "
                f"{ratio.mean():.3f} | {(ratio < 1).sum()} of {draws} |")
        if range_fade is not None:
            ratio = rows[:, 3] / rows[:, 1]
            line += f" {rows[:, 3].mean():.3f} | {ratio.mean():.3f} | {(ratio < 1).sum()} of {draws} |"
        print(line, flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=["both", "classification", "regression"], default="both")
    parser.add_argument("--datasets", nargs="+", default=None, metavar="NAME",
                        help=f"families (default: all of the task): {list(CLASSIFICATION) + list(REGRESSION)}")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0],
                        help="seeds of the defaults' networks (regression: the first)")
    parser.add_argument("--draws", type=int, default=4, help="regression: series drawn per family")
    parser.add_argument("--per-series", action="store_true",
                        help="classification: also the defaults after SequenceScaler(per_series=True)")
    parser.add_argument("--range-fade", type=float, default=None,
                        help="regression: also the defaults with this range_fade (issue 12, rounds 18-19)")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    from bench_accuracy import print_environment

    print_environment()
    chosen = set(args.datasets or list(CLASSIFICATION) + list(REGRESSION))
    unknown = chosen - set(CLASSIFICATION) - set(REGRESSION)
    if unknown:
        parser.error(f"--datasets: unknown {sorted(unknown)}")
    if args.task in ("both", "classification"):
        print(f"\nTest accuracy on one draw of each family (defaults: seeds {args.seeds})\n")
        run_classification([n for n in CLASSIFICATION if n in chosen], args.seeds, args.per_series)
    if args.task in ("both", "regression"):
        print(f"\nTest RMSE, mean over {args.draws} draws per family (defaults: seed {args.seeds[0]})")
        run_regression([n for n in REGRESSION if n in chosen], args.draws, args.seeds[0], args.range_fade)


if __name__ == "__main__":
    main()
