"""Fixed cost per fit and memory growth across many fits.

Two measurements per library, each library in its own fresh subprocess (so that RSS
is its own):

* overhead: tiny data (64 sequences of 8x8), 1 epoch, ``fit`` + ``predict``; median
  seconds over 20 fits after the first fit of the architecture;
* memory: RSS growth per fit over a 40-fit grid (4 candidates x 10, 500 digits
  sequences, 2 epochs) after one warm-up fit of each candidate;
* varying lengths: 30 fits (fit + predict, 64 random sequences x 8 features, 2
  epochs) whose length is drawn from 4..59 after a warm-up of three fits (lengths
  5, 8, 30): RSS growth per fit, and the largest extra time a fit of a length
  spends over an immediate second fit of the same length (= tracing for it).

    python benchmarks/bench_fit_overhead.py
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _references import print_table, skorch_available  # noqa: E402

LIBRARIES = ["skgru", "skgru (reuse off)", "scikeras (hand-written)", "raw keras (new model per fit)", "skorch"]


def make_estimator(library, units, learning_rate, epochs):
    from _references import keras_gru, plain_gru_params, scikeras_classifier, skorch_classifier

    if library.startswith("skgru"):
        from skgru import GRUClassifier

        return GRUClassifier(units=units, learning_rate=learning_rate, epochs=epochs, random_state=0,
                             **plain_gru_params(GRUClassifier))
    if library.startswith("scikeras"):
        return scikeras_classifier(units=units, learning_rate=learning_rate, epochs=epochs)
    if library.startswith("skorch"):
        return skorch_classifier(units=units, learning_rate=learning_rate, epochs=epochs)

    class RawKeras:
        def fit(self, X, y):
            self.model = keras_gru(X.shape[1], X.shape[2], 10, units, learning_rate)
            self.model.fit(X, y, epochs=epochs, batch_size=32, verbose=0)
            return self

        def predict(self, X):
            return self.model.predict(X, verbose=0).argmax(axis=1)

    return RawKeras()


def worker(library):
    import time

    import numpy as np
    from _references import digits_sequences, rss_mb

    X, y = digits_sequences()
    y = y.astype("int64")
    tiny_X, tiny_y = X[:64], y[:64]
    times = []
    for i in range(21):
        est = make_estimator(library, 16, 1e-3, 1)
        start = time.perf_counter()
        est.fit(tiny_X, tiny_y)
        est.predict(tiny_X)
        times.append(time.perf_counter() - start)
        del est
    grid = [(u, lr) for u in (16, 32) for lr in (1e-3, 1e-2)]
    Xm, ym = X[:500], y[:500]
    for u, lr in grid:  # warm-up: one fit per candidate
        make_estimator(library, u, lr, 2).fit(Xm, ym)
    before = rss_mb()
    for i in range(40):
        u, lr = grid[i % 4]
        est = make_estimator(library, u, lr, 2).fit(Xm, ym)
        est.predict(Xm[:10])
        del est
    after = rss_mb()
    varying_rss, varying_trace = _varying_lengths(library)
    return {"first fit s": times[0], "overhead s": float(np.median(times[1:])), "rss per fit MB": (after - before) / 40,
            "rss MB": after, "varying rss per fit MB": varying_rss, "varying max trace s": varying_trace}


def _varying_lengths(library):
    import gc
    import time

    import numpy as np
    from _references import rss_mb

    rng = np.random.RandomState(0)

    def fit(t):
        X = rng.normal(size=(64, t, 8)).astype("float32")
        y = (X[:, :, 0].sum(axis=1) > 0).astype("int64")
        start = time.perf_counter()
        est = make_estimator(library, 16, 1e-3, 2).fit(X, y)
        est.predict(X)
        return time.perf_counter() - start

    for t in (5, 8, 30):
        fit(t)
    gc.collect()
    before = rss_mb()
    lengths = rng.randint(4, 60, size=30)
    extra = []
    for t in lengths:
        first = fit(int(t))
        extra.append(first - fit(int(t)))
    gc.collect()
    return (rss_mb() - before) / 30, max(extra)  # per drawn length (conservative: 60 fits ran)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker")
    parser.add_argument("--only", nargs="*", default=LIBRARIES)
    args = parser.parse_args()
    if args.worker:
        print("RESULT " + json.dumps(worker(args.worker)))
        return
    rows = []
    for library in args.only:
        if library == "skorch" and not skorch_available():
            print("skorch/torch not installed: skorch row skipped")
            continue
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        if library == "skgru (reuse off)":
            env["SKGRU_REUSE_MODELS"] = "0"
        out = subprocess.run([sys.executable, __file__, "--worker", library], capture_output=True, text=True, env=env)
        line = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
        if not line:
            print(f"{library} failed:\n{out.stderr[-2000:]}")
            continue
        res = json.loads(line[0][7:])
        rows.append(
            {
                "library": library,
                "first fit s": f"{res['first fit s']:.2f}",
                "overhead per later fit s": f"{res['overhead s']:.3f}",
                "RSS growth per fit MB": f"{res['rss per fit MB']:.2f}",
                "RSS after MB": f"{res['rss MB']:.0f}",
                "varying-length RSS per fit MB": f"{res['varying rss per fit MB']:.2f}",
                "max trace s of a new length": f"{res['varying max trace s']:.2f}",
                "_overhead": res["overhead s"],
            }
        )
    base = next((r["_overhead"] for r in rows if r["library"] == "skgru"), None)
    for r in rows:
        if base:
            r["overhead vs skgru"] = f"{r['_overhead'] / base:.1f}x"
    print("\nFixed cost per fit (64 sequences, 1 epoch, fit+predict) and RSS growth over a 40-fit grid")
    print_table(rows, ["library", "first fit s", "overhead per later fit s", "overhead vs skgru", "RSS growth per fit MB",
                       "RSS after MB", "varying-length RSS per fit MB", "max trace s of a new length"])


if __name__ == "__main__":
    main()
