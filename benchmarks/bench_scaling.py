"""Speed-up of skgru searches on a Dask LocalCluster: 1 vs 2 worker processes.

Two workloads on digits as sequences (8 steps x 8 features):

* ``GridSearchCV`` over ``GRUClassifier`` under ``joblib.parallel_config("dask")``
* ``TunedGRU`` random search (same trials in every run)

each run in this process (sequential reference) and on a ``LocalCluster`` with
1 and 2 worker processes (1 thread each, loopback only, no dashboard).  The
clusters are started and the workers' imports warmed up before the clock
starts; the first fit of each architecture in each worker (tracing) is
counted, as it is in real use.  The scores of every run are checked to be
identical to the sequential ones.

    python benchmarks/bench_scaling.py            # ~2-3 minutes on 2 CPU cores
    python benchmarks/bench_scaling.py --epochs 3 --trials 4   # quicker
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import joblib  # noqa: E402
import numpy as np  # noqa: E402
from scipy.stats import loguniform  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402


def digits():
    X, y = load_digits(return_X_y=True)
    return (X.reshape(-1, 8, 8) / 16.0).astype("float32"), y


def grid_search(X, y, epochs, backend=None, client=None):
    from skgru import GRUClassifier

    search = GridSearchCV(
        GRUClassifier(epochs=epochs, batch_size=32, random_state=0),
        {"units": [16, 32], "learning_rate": [1e-3, 3e-3]}, cv=3, refit=False)
    if backend is None:
        return search.fit(X, y).cv_results_
    with joblib.parallel_config(backend=backend, client=client):
        return search.fit(X, y).cv_results_


def tuned_search(X, y, epochs, trials, client=None):
    from skgru import GRUClassifier, TunedGRU

    tuned = TunedGRU(
        GRUClassifier(epochs=epochs, batch_size=32),
        {"units": [16, 32], "learning_rate": loguniform(1e-3, 1e-2),
         "dropout": [0.0, 0.2]},
        tuner="random", max_trials=trials, cv=None, random_state=0, refit=False,
        n_jobs=None if client is None else -1)
    if client is None:
        return tuned.fit(X, y).cv_results_
    with joblib.parallel_config(backend="dask", client=client):
        return tuned.fit(X, y).cv_results_


def split_scores(res):
    keys = sorted(k for k in res if k.startswith("split") and k.endswith("_test_score"))
    return np.array([res[k] for k in keys], dtype=float)


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


def machine():
    cpu = platform.processor() or "?"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        cpu = next((ln.split(":", 1)[1].strip() for ln in out.splitlines()
                    if ln.startswith("Model name")), cpu)
    except Exception:  # noqa: BLE001
        pass
    return f"{os.cpu_count()} CPUs (nproc), {cpu}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--tf-threads", type=int, default=1,
                        help="TensorFlow intra-op threads per worker (0: TF default)")
    args = parser.parse_args(argv)

    from distributed import Client, LocalCluster

    X, y = digits()
    env = {}
    if args.tf_threads:
        env = {"TF_NUM_INTRAOP_THREADS": str(args.tf_threads),
               "TF_NUM_INTEROP_THREADS": "1"}
    print(f"machine: {machine()}; Python {platform.python_version()}; "
          f"load average before: {os.getloadavg()[0]:.2f}")
    print(f"workers: 1 thread each, worker env {env or 'default'}")
    print(f"data: digits {X.shape}; GridSearchCV 4 candidates x 3 folds; TunedGRU "
          f"random {args.trials} trials (hold-out); {args.epochs} epochs per fit\n",
          flush=True)

    rows = []
    t_grid, ref_grid = timed(grid_search, X, y, args.epochs)
    t_tuned, ref_tuned = timed(tuned_search, X, y, args.epochs, args.trials)
    rows.append(("in-process, sequential", t_grid, t_tuned, True, True))
    print(f"sequential: grid {t_grid:.1f}s, tuned {t_tuned:.1f}s", flush=True)

    with tempfile.TemporaryDirectory(prefix="skgru-bench-") as tmp:
        for n in args.workers:
            t0 = time.perf_counter()
            with LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                              host="127.0.0.1", dashboard_address=None,
                              local_directory=tmp, silence_logs=40,
                              env=env) as cluster, \
                    Client(cluster, set_as_default=False) as client:
                client.wait_for_workers(n, timeout=120)
                client.run(lambda: __import__("skgru.tuning._trial_runner"))  # warm imports
                startup = time.perf_counter() - t0
                tg, res_g = timed(grid_search, X, y, args.epochs, "dask", client)
                tt, res_t = timed(tuned_search, X, y, args.epochs, args.trials, client)
            same_g = np.array_equal(split_scores(res_g), split_scores(ref_grid))
            same_t = (res_t["params"] == ref_tuned["params"]
                      and np.array_equal(split_scores(res_t), split_scores(ref_tuned)))
            rows.append((f"Dask LocalCluster, {n} worker{'s' * (n > 1)}", tg, tt,
                         same_g, same_t))
            print(f"{n} worker(s): startup {startup:.1f}s, grid {tg:.1f}s, "
                  f"tuned {tt:.1f}s", flush=True)

    base = next((r for r in rows if r[0].endswith(" 1 worker")), rows[0])
    print("\n| run | GridSearchCV wall (s) | speed-up | TunedGRU random wall (s) | "
          "speed-up | scores identical to sequential |")
    print("|---|---|---|---|---|---|")
    for name, tg, tt, sg, st in rows:
        print(f"| {name} | {tg:.1f} | {base[1] / tg:.2f}x | {tt:.1f} | "
              f"{base[2] / tt:.2f}x | {'yes' if sg and st else 'NO'} |")
    print(f"\nspeed-up is relative to the 1-worker cluster; load average after: "
          f"{os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
