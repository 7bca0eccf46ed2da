"""First fit and warm fit of a small GRUClassifier on each Keras backend.

Each configuration runs in its own fresh subprocess (``KERAS_BACKEND`` is fixed when
Keras is imported, and thread pools when the backend starts):

* first fit: the first ``fit`` + ``predict`` in the process (imports done, so it
  measures building, tracing/compiling and training);
* warm fit: median of ``--repeats`` later fits of a *new* estimator with the same
  architecture (what every fit of a grid search after the first one costs), and their
  min and max (the spread is the point for torch).

Data: digits as sequences (1797 x 8 timesteps x 8 features, 1347 training rows),
GRU(32), 10 epochs, batch 32, ``random_state=0``.  Torch runs with its default thread
pool and with ``OMP_NUM_THREADS=1``; TensorFlow and JAX run with their defaults.

    python benchmarks/bench_backends.py                  # all backends installed
    python benchmarks/bench_backends.py --backends tensorflow jax --repeats 3

A backend that is not installed is reported as such, not skipped silently.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CONFIGS = {
    "tensorflow": ("tensorflow", {}),
    "jax": ("jax", {}),
    "torch": ("torch", {}),
    "torch, OMP_NUM_THREADS=1": ("torch", {"OMP_NUM_THREADS": "1"}),
}
MODULE = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}


def worker(repeats, epochs):
    import time

    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    import keras
    from skgru import GRUClassifier

    X, y = load_digits(return_X_y=True)
    X = (X.reshape(-1, 8, 8) / 16.0).astype("float32")
    X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)

    def one_fit():
        t0 = time.perf_counter()
        clf = GRUClassifier(units=32, epochs=epochs, random_state=0).fit(X_train, y_train)
        acc = float(np.mean(clf.predict(X_test) == y_test))
        return time.perf_counter() - t0, acc

    first, acc = one_fit()
    warm = [one_fit()[0] for _ in range(repeats)]
    print(json.dumps({"backend": keras.backend.backend(), "first": first, "warm": warm,
                      "accuracy": acc}))


def run_config(name, repeats, epochs, timeout):
    backend, extra_env = CONFIGS[name]
    probe = subprocess.run([sys.executable, "-c", f"import {MODULE[backend]}"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return {"name": name, "error": f"{MODULE[backend]} not installed"}
    env = {**os.environ, "KERAS_BACKEND": backend, **extra_env}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        out = subprocess.run([sys.executable, __file__, "--worker", "--repeats", str(repeats),
                              "--epochs", str(epochs)], env=env, capture_output=True, text=True,
                             timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"name": name, "error": f"not done after {timeout:.0f} s (timed out)"}
    if out.returncode != 0:
        return {"name": name, "error": out.stderr.strip().splitlines()[-1][:120]}
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["name"] = name
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=list(CONFIGS), choices=list(CONFIGS),
                        metavar="NAME", help=f"configurations to run, from {list(CONFIGS)}")
    parser.add_argument("--repeats", type=int, default=5, help="warm fits per configuration")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=1800,
                        help="seconds per configuration (first fit + repeats) before giving up")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.repeats < 1 or args.epochs < 1:
        parser.error("--repeats and --epochs must be >= 1")
    if args.worker:
        worker(args.repeats, args.epochs)
        return

    results = []
    for name in args.backends:
        results.append(run_config(name, args.repeats, args.epochs, args.timeout))
        print(f"done: {results[-1]}", file=sys.stderr, flush=True)  # progress
    tf_warm = next((statistics.median(r["warm"]) for r in results
                    if r["name"] == "tensorflow" and "warm" in r), None)
    tf_first = next((r["first"] for r in results if r["name"] == "tensorflow" and "first" in r),
                    None)
    print(f"GRU(32), digits 1347 x 8 x 8, {args.epochs} epochs; warm = median of "
          f"{args.repeats} fits (min-max); nproc={os.cpu_count()}")
    header = ("| configuration | first fit (s) | vs TF | warm fit (s) | min-max (s) | vs TF "
              "| test accuracy |")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for r in results:
        if "error" in r:
            print(f"| {r['name']} | {r['error']} | | | | | |")
            continue
        warm = statistics.median(r["warm"])
        first_ratio = f"{r['first'] / tf_first:.2f}x" if tf_first else "-"
        warm_ratio = f"{warm / tf_warm:.2f}x" if tf_warm else "-"
        print(f"| {r['name']} | {r['first']:.2f} | {first_ratio} | {warm:.2f} | "
              f"{min(r['warm']):.2f}-{max(r['warm']):.2f} | {warm_ratio} | {r['accuracy']:.3f} |")


if __name__ == "__main__":
    main()
