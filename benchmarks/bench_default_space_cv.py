"""TunedGRU with its default search space on k-fold CV: which trials fuse, and the wall time.

Issue 14.4 trains a trial's k fold models as one computation where that is exact.  A
default space (``search_space=None``) draws ``dropout`` from U(0, 0.4) and
``bidirectional`` from {False, True}; this script measures what share of such a
search's trials fuse and what it costs, against the same search with fusing turned
off (``SKGRU_FUSED_TRIALS=0``: every fold a separate fit, as ``GridSearchCV`` fits
them).  Both runs are seeded alike, so they draw the same trials.

Each side runs in its own fresh Python process (TensorFlow initialised before the
clock starts); ``--rounds 2`` alternates them (ABBA) and shows the fastest.  The
estimator is ``GRUClassifier(epochs=--epochs, random_state=0)`` (its defaults
otherwise) on the digits training split (8 steps x 8 features, as in
bench_accuracy.py), ``cv=StratifiedKFold(--folds, shuffle=True, random_state=0)``,
``tuner="random"``, ``max_trials=--trials``, ``random_state=0``.  "fused" counts the
trials whose configuration ``skgru.estimators._folds.can_fuse`` accepts (data-dependent
fallbacks aside); with ``PYTHONPATH`` pointing at an older checkout the same script
measures that version.

    python benchmarks/bench_default_space_cv.py --rounds 2

Not run by the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def _child(args):
    import warnings

    import tensorflow as tf

    float(tf.reduce_sum(tf.ones(2)))  # TF start-up is not part of the search
    warnings.filterwarnings("ignore")
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold

    import _datasets
    from skgru import GRUClassifier, TunedGRU
    from skgru.estimators._folds import can_fuse

    data = _datasets.load("digits")
    est = GRUClassifier(epochs=args.epochs, random_state=0)
    cv = StratifiedKFold(args.folds, shuffle=True, random_state=0)
    search = TunedGRU(est, tuner="random", max_trials=args.trials, cv=cv, random_state=0)
    t0, c0 = time.perf_counter(), time.process_time()
    search.fit(data.X_train, data.y_train)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    res = search.cv_results_
    decided = [can_fuse(clone(est).set_params(**p)) for p in res["params"]]
    fused = [bool(ok) for ok, _ in decided]
    reasons = sorted({why for ok, why in decided if not ok})
    out = {"seconds": seconds, "cpu": cpu, "scores": [float(s) for s in res["mean_test_score"]],
           "fused": fused, "reasons": reasons, "best": float(search.best_score_),
           "test": float(search.score(data.X_test, data.y_test))}
    print("RESULT " + json.dumps(out), flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=12)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--rounds", type=int, default=1, help="processes per side, ABBA order; fastest shown")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        return _child(args)
    runs = {"separate": [], "fused": []}
    for r in range(args.rounds):
        for side in (("separate", "fused") if r % 2 == 0 else ("fused", "separate")):
            env = dict(os.environ, SKGRU_FUSED_TRIALS="0" if side == "separate" else "auto")
            proc = subprocess.run([sys.executable, __file__, "--child", "--trials", str(args.trials),
                                   "--epochs", str(args.epochs), "--folds", str(args.folds)],
                                  capture_output=True, text=True, check=True, env=env)
            line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
            runs[side].append(json.loads(line[len("RESULT "):]))
    best = {side: min(rs, key=lambda d: d["seconds"]) for side, rs in runs.items()}
    load = os.getloadavg()
    print(f"# digits training split, GRUClassifier(epochs={args.epochs}) defaults, TunedGRU(tuner='random', "
          f"max_trials={args.trials}, cv={args.folds} stratified folds, default space); {os.cpu_count()} CPUs, "
          f"load average after the runs {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")
    print("# every round's wall seconds: " + "; ".join(
        f"{side} {[round(r['seconds'], 1) for r in rs]}" for side, rs in runs.items()))
    f = best["fused"]
    print(f"# trials whose configuration fuses: {sum(f['fused'])} of {len(f['fused'])}; "
          f"the others: {'; '.join(f['reasons']) or '-'}")
    print()
    print("| run | wall s | CPU s | best CV | test | ratio (wall) |")
    print("|---|---|---|---|---|---|")
    base = best["separate"]["seconds"]
    for side in ("separate", "fused"):
        b = best[side]
        print(f"| SKGRU_FUSED_TRIALS={'0' if side == 'separate' else 'auto'} | {b['seconds']:.1f} | {b['cpu']:.1f} "
              f"| {b['best']:.4f} | {b['test']:.4f} | {b['seconds'] / base:.2f} |")
    diffs = [abs(a - b) for a, b in zip(best["separate"]["scores"], f["scores"])]
    print(f"\nlargest difference of a trial's mean CV score between the sides: {max(diffs):.4f}")


if __name__ == "__main__":
    main()
