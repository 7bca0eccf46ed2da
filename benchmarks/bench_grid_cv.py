"""TunedGRU(tuner="grid", cv=5) with fold-fused trials vs sklearn's GridSearchCV (issue 14.5).

The same estimator (``GRUClassifier(epochs=10, random_state=0)``, all other
parameters at their defaults: Conv1D(64) stem, input standardisation), the same
grid (units {16, 32} x learning_rate {1e-3, 1e-2}), the same folds
(``StratifiedKFold(5, shuffle=True, random_state=0)``), ``n_jobs=1`` and
``refit=True`` on both; digits as 8 steps x 8 features (values / 16).

Each search runs in its own fresh Python process (TensorFlow imported and
initialised before the clock starts), twice: "cold" is the first search in the
process (it pays every trace and XLA compilation), "warm" a second identical
search in the same process (traces and fused trainers reused, as by a user's
second search).  The estimator is seeded, so both searches train the same models
(fused vs separate fits agree up to float32 rounding) and the mean CV scores are
compared candidate by candidate.

Run (2 CPU cores shared): ``nice -n 10 python benchmarks/bench_grid_cv.py``
(``--epochs 2``: a quick smoke run).  ``SKGRU_FUSED_TRIALS=0`` in the environment
turns fusing off inside TunedGRU (then both sides fit the folds separately).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

GRID = {"units": [16, 32], "learning_rate": [1e-3, 1e-2]}


def _digits():
    import numpy as np
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X.reshape(-1, 8, 8) / 16.0).astype(np.float32), y


def _search(method, epochs, X, y):
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    from skgru import GRUClassifier, TunedGRU

    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    est = GRUClassifier(epochs=epochs, random_state=0)
    if method == "gridsearchcv":
        search = GridSearchCV(est, GRID, cv=cv, n_jobs=1, refit=True)
    else:
        search = TunedGRU(est, GRID, tuner="grid", max_trials=None, cv=cv, n_jobs=1, refit=True)
    t0 = time.perf_counter()
    search.fit(X, y)
    seconds = time.perf_counter() - t0
    res = search.cv_results_
    scores = {f"units={p['units']}, lr={p['learning_rate']:g}": float(s)
              for p, s in zip(res["params"], res["mean_test_score"])}
    stds = {f"units={p['units']}, lr={p['learning_rate']:g}": float(s)
            for p, s in zip(res["params"], res["std_test_score"])}
    return seconds, scores, stds


def _child(method, epochs):
    import tensorflow as tf

    float(tf.reduce_sum(tf.ones(2)))  # TF start-up is not part of either search
    X, y = _digits()
    out = {}
    for run in ("cold", "warm"):
        seconds, scores, stds = _search(method, epochs, X, y)
        out[run] = {"seconds": seconds, "scores": scores, "stds": stds}
    print("RESULT " + json.dumps(out), flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--child", choices=["gridsearchcv", "tunedgru"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args.child, args.epochs)

    results = {}
    for method in ("gridsearchcv", "tunedgru"):
        proc = subprocess.run([sys.executable, __file__, "--child", method, "--epochs", str(args.epochs)],
                              capture_output=True, text=True, check=True)
        line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
        results[method] = json.loads(line[len("RESULT "):])
    from importlib.metadata import version

    load = os.getloadavg()
    print(f"# digits (1797, 8, 8), 5 folds x 4 candidates + refit, {args.epochs} epochs, n_jobs=1; "
          f"sklearn {version('scikit-learn')}, keras {version('keras')} "
          f"({os.environ.get('KERAS_BACKEND', 'tensorflow')}), tensorflow {version('tensorflow')}, "
          f"{os.cpu_count()} CPUs, load average after the runs {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}; "
          f"SKGRU_FUSED_TRIALS={os.environ.get('SKGRU_FUSED_TRIALS', 'auto')}")
    print(f"{'run':<5} | {'GridSearchCV s':>14} | {'TunedGRU grid s':>15} | {'ratio':>5}")
    print("-" * 5 + "-|-" + "-" * 14 + "-|-" + "-" * 15 + "-|-" + "-" * 5)
    for run in ("cold", "warm"):
        g, t = results["gridsearchcv"][run]["seconds"], results["tunedgru"][run]["seconds"]
        print(f"{run:<5} | {g:>14.1f} | {t:>15.1f} | {t / g:>5.2f}")
    print()
    print(f"{'candidate':<22} | {'GridSearchCV mean CV acc':>24} | {'TunedGRU mean CV acc':>20} | {'diff':>7} | "
          f"{'fold std (GridSearchCV)':>23}")
    print("-" * 22 + "-|-" + "-" * 24 + "-|-" + "-" * 20 + "-|-" + "-" * 7 + "-|-" + "-" * 23)
    g_scores, t_scores = results["gridsearchcv"]["warm"]["scores"], results["tunedgru"]["warm"]["scores"]
    for name, g in g_scores.items():
        t = t_scores.get(name, float("nan"))
        std = results["gridsearchcv"]["warm"]["stds"][name]
        print(f"{name:<22} | {g:>24.4f} | {t:>20.4f} | {t - g:>+7.4f} | {std:>23.4f}")
    same = all(abs(results[m]["cold"]["scores"][n] - results[m]["warm"]["scores"][n]) < 1e-9
               for m in results for n in results[m]["cold"]["scores"])
    print(f"\n(cold and warm runs gave identical scores on each side: {same})")


if __name__ == "__main__":
    main()
