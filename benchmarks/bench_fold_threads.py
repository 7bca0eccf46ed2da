"""The NumPy fused step's folds on one thread vs split over threads, beside separate fits.

For each network size, a 5-fold ``fit_folds`` of ``GRUClassifier(patch_size=1,
units=U, epochs=E, random_state=0)`` (every other parameter at its default:
Conv1D(64) stem, input standardisation) on simulated series of ``steps x
features``; seconds with the folds on one thread (``SKGRU_FUSED_THREADS=1``),
split over two threads (``SKGRU_FUSED_THREADS=2``), with the default choice
(:func:`skgru._keras.fold_threads.n_groups`: threads only where the recurrence is
large enough) and, as the reference, the 5 folds fitted
one after another by ``clone(est).fit`` (what ``GridSearchCV`` does; TensorFlow
uses every core for its ops).  Each cell is the fastest of ``--repeats`` runs
after one untimed run (traces paid).  The fold models of the one-thread and
threaded runs are checked to be bit-identical.

Run (2 CPU cores, nothing else running): ``python benchmarks/bench_fold_threads.py``
(``--quick``: two sizes, one repeat; ``--sizes 8x8x16 16x8x32``: steps x features x units).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

SIZES = [(8, 8, 16), (8, 8, 32), (16, 8, 32), (32, 3, 32), (64, 3, 32), (32, 3, 64), (128, 3, 32), (32, 3, 128), (128, 3, 64)]


def _data(steps, features, n=1400, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, steps, features)).astype("float32")
    return X, (X[:, :, 0].mean(axis=1) > 0).astype(int)


def _timed(fn, repeats):
    fn()
    best, out = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--no-separate", action="store_true", help="skip the separate-fits reference")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--one-direction", action="store_true",
                        help="bidirectional=False (the classifier's default trains two directions)")
    parser.add_argument("--sizes", nargs="+", metavar="STEPSxFEATURESxUNITS",
                        help="the networks to time (default: all of SIZES)")
    args = parser.parse_args(argv)
    sizes = SIZES[1:2] + SIZES[5:6] if args.quick else SIZES
    if args.sizes:
        sizes = [tuple(int(v) for v in size.split("x")) for size in args.sizes]
    repeats = 1 if args.quick else args.repeats

    import sklearn
    import tensorflow as tf
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold

    from skgru import GRUClassifier
    from skgru._keras import fold_threads
    from skgru.estimators._folds import fit_folds

    os.environ["SKGRU_FUSED_STEP"] = "numpy"
    print(f"# {len(os.sched_getaffinity(0))} CPUs, load average {os.getloadavg()[0]:.1f} at start; "
          f"sklearn {sklearn.__version__}, tensorflow {tf.__version__}; 5 folds, {args.epochs} epochs, "
          f"batch 32, 1120 training rows per fold; fastest of {repeats} after one untimed run")
    header = ("steps x features | units | groups (auto) | separate fits s | fused, 1 thread s | "
              "fused, 2 threads s | fused, auto s | 1 thread / 2 threads | 1 thread / auto | separate / auto | "
              "identical")
    print(header)
    print("|".join("-" * len(c) for c in header.split("|")))
    for steps, features, units in sizes:
        X, y = _data(steps, features)
        splits = list(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y))
        est = GRUClassifier(patch_size=1, units=units, epochs=args.epochs, random_state=0,
                            bidirectional=not args.one_direction)

        def fused(threads):
            if threads is None:
                os.environ.pop("SKGRU_FUSED_THREADS", None)
            else:
                os.environ["SKGRU_FUSED_THREADS"] = str(threads)
            return lambda: fit_folds(est, X, y, splits)

        one_s, one = _timed(fused(1), repeats)
        two_s, two = _timed(fused(2), repeats)
        auto_s, auto = _timed(fused(None), repeats)
        identical = all(np.array_equal(u, v) for other in (two, auto) for a, b in zip(one, other)
                        for u, v in zip(a.model_.get_weights(), b.model_.get_weights()))
        if args.no_separate:
            sep_s = np.nan
        else:
            sep_s, _ = _timed(lambda: [clone(est).fit(X[tr], y[tr]) for tr, _ in splits], repeats)
        directions = 2 if est.bidirectional else 1  # the step stacks both on the model axis
        work = 32 * steps * units**2 * directions
        print(f"{steps} x {features} | {units} | {fold_threads.n_groups(5, work)} | {sep_s:.2f} | {one_s:.2f} | "
              f"{two_s:.2f} | {auto_s:.2f} | {one_s / two_s:.2f} | {one_s / auto_s:.2f} | {sep_s / auto_s:.2f} | "
              f"{identical}", flush=True)
    print(f"# load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
