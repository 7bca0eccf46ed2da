"""Fold-fused training vs k separate fits: wall time of ``fit_folds`` (issue 14.4).

Digits as 8x8 sequences (1797 samples), 5-fold CV, GRUClassifier(units=16/32,
epochs=10, batch_size=32).  Each configuration is run once untimed first (both
paths trace their TensorFlow functions once per process and reuse them across
trials, as in a search), then ``--repeats`` times timed; the table shows the
median, the ratio fused/separate, and the largest difference of the fold models'
test accuracy (the two paths train the same models up to float32 rounding).

Run (2 CPU cores): ``nice -n 10 python benchmarks/bench_fused.py`` (``--quick``:
units 16 only, 1 repeat).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X.reshape(-1, 8, 8) / 16.0).astype("float32"), y


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--units", type=int, nargs="+", default=[16, 32])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.units, args.repeats = [16], 1

    import tensorflow as tf
    from sklearn.model_selection import StratifiedKFold

    from skgru import GRUClassifier
    from skgru.estimators._folds import fit_folds, fuse_problem

    X, y = digits()
    splits = list(StratifiedKFold(args.folds, shuffle=True, random_state=0).split(X, y))
    print(f"# digits {X.shape}, {args.folds} folds, {args.epochs} epochs, batch 32, "
          f"TF {tf.__version__}, {os.cpu_count()} CPUs, median of {args.repeats}")
    rows = []
    for units in args.units:
        est = GRUClassifier(units=units, epochs=args.epochs, batch_size=32, random_state=0)
        assert fuse_problem(est, X, y, splits) is None
        times = {}
        scores = {}
        for mode in ("separate", "fused"):
            fuse = "auto" if mode == "fused" else False
            models = fit_folds(est, X, y, splits, fuse=fuse)  # warm-up: traces, engine pool
            runs = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                models = fit_folds(est, X, y, splits, fuse=fuse)
                runs.append(time.perf_counter() - t0)
            times[mode] = statistics.median(runs)
            scores[mode] = np.array([m.score(X[te], y[te]) for m, (_, te) in zip(models, splits)])
        rows.append((units, times["separate"], times["fused"], times["fused"] / times["separate"],
                     float(np.abs(scores["fused"] - scores["separate"]).max()), float(scores["fused"].mean())))
    print(f"{'units':>5} | {'separate s':>10} | {'fused s':>8} | {'fused/separate':>14} | "
          f"{'max |acc diff|':>14} | {'mean CV acc':>11}")
    print("-" * 5 + "-|-" + "-" * 10 + "-|-" + "-" * 8 + "-|-" + "-" * 14 + "-|-" + "-" * 14 + "-|-" + "-" * 11)
    for units, sep, fus, ratio, diff, acc in rows:
        print(f"{units:>5} | {sep:>10.2f} | {fus:>8.2f} | {ratio:>14.2f} | {diff:>14.4f} | {acc:>11.4f}")


if __name__ == "__main__":
    main()
