"""Benchmark: which default split picks better configurations when a hold-out cannot be stratified.

``TunedGRU(cv=None)`` compares configurations on a 20% hold-out.  With few rows
per class (PigCVP: 52 classes x 2 series) that hold-out has fewer rows than there
are classes and cannot be stratified.  This script compares, on many simulated
few-shot tasks, the two splits TunedGRU has used there:

* ``hold-out``: the class-keeping hold-out (04b1afe: rows held out at random, a
  class's last training row never taken), TunedGRU's split there;
* ``2-fold``: a stratified 2-fold CV, which scores every row (TunedGRU used it
  there in 4b854e0; reverted after this benchmark's GRU rows showed no gain);
* ``hold-out, ties by log loss`` (families with ``predict_proba``: ``logreg``, ``gru``):
  the same hold-out, but among the configurations tied at its best accuracy the one with
  the lowest hold-out log loss (TunedGRU takes the first; on 8 of its 11 accuracy sets
  3-9 of 10 trials tie, see benchmarks/README.md).

Each task draws ``k`` rows per class from the **training split** of sklearn's
digits (as ``benchmarks/_datasets.py`` splits it); the rest of that training split
says how good each configuration really is (its accuracy there after a fit on the
task's rows).  Stand-in estimators keep the run short (the comparison is about
the split, not the model): an RBF ``SVC`` over a grid of ``gamma`` x ``C``, and
``PCA`` + 1-nearest-neighbour over the number of components; ``--families gru``
adds ``GRUClassifier`` over units x learning rate (7-18 s per fit: slow).  Each split
picks the configuration with the best mean score (the first on ties, as
``TunedGRU``'s ``best_index_``; the configurations are shuffled per task, so a
tie goes to a random one); the table reports, over the tasks, the true
accuracy of the pick, its regret (best true accuracy minus the pick's) and how
often the pick is within 0.01 of the best.  ``random pick`` and ``best`` bound it.

    python benchmarks/bench_few_shot_split.py      # both stand-ins, k = 2, 3, 4; 100 tasks each (~3 min)
    python benchmarks/bench_few_shot_split.py --families logreg --shots 5 10   # the tie-break (~2 min)
    python benchmarks/bench_few_shot_split.py --merge a.log b.log   # runs split with --first-task

Not run by the tests.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def configurations(family):
    from sklearn.decomposition import PCA
    from sklearn.model_selection import ParameterGrid
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import SVC

    if family == "gru":  # the estimator TunedGRU tunes: digits rows read as 8 steps x 8 features
        from skgru import GRUClassifier

        grid = ParameterGrid({"units": [8, 32], "learning_rate": [1e-3, 1e-2]})
        return [GRUClassifier(n_features=8, random_state=0, **params) for params in grid]
    if family == "logreg":  # probabilities, so ties on the hold-out can be broken by log loss
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler

        return [make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000))
                for c in [1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0]]
    if family == "svc":
        grid = ParameterGrid({"gamma": [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2], "C": [0.1, 1.0, 10.0]})
        return [SVC(**params) for params in grid]
    # PCA + 1-NN: the number of components matters even with one row per class
    return [make_pipeline(PCA(n, svd_solver="full"), KNeighborsClassifier(1)) for n in [1, 2, 3, 4, 6, 8]]


def split_score(estimator, X, y, pairs):
    """Mean accuracy over the pairs and, for an estimator with ``predict_proba``, the mean
    log loss (NaN otherwise), from the same fits."""
    from sklearn.base import clone
    from sklearn.metrics import log_loss

    accuracy, loss = [], []
    for tr, te in pairs:
        fitted = clone(estimator).fit(X[tr], y[tr])
        accuracy.append(fitted.score(X[te], y[te]))
        if hasattr(fitted, "predict_proba"):
            loss.append(log_loss(y[te], fitted.predict_proba(X[te]), labels=fitted.classes_))
    return np.mean(accuracy), (np.mean(loss) if loss else np.nan)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shots", nargs="+", type=int, default=[2, 3, 4], help="rows per class in a task")
    p.add_argument("--tasks", type=int, default=100)
    p.add_argument("--first-task", type=int, default=0, help="seed of the first task (to split a run)")
    p.add_argument("--validation-fraction", type=float, default=0.2)
    p.add_argument("--families", nargs="+", choices=["svc", "pca-1nn", "logreg", "gru"], default=["svc", "pca-1nn"])
    p.add_argument("--merge", nargs="+", metavar="LOG", help="table the TASK lines of these logs instead")
    args = p.parse_args(argv)
    if args.merge:
        return merge(args.merge)
    warnings.filterwarnings("ignore")

    import _datasets

    data = _datasets.load("digits")  # its training split only
    X_pool = np.asarray(data.X_train, dtype=float).reshape(len(data.y_train), -1)
    y_pool = np.asarray(data.y_train)
    for family in args.families:
        run_family(family, args, X_pool, y_pool)


def run_family(family, args, X_pool, y_pool):
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold

    from skgru.tuning._hold_out import _class_keeping_hold_out

    configs = configurations(family)
    print(f"digits training split ({len(y_pool)} rows, {len(np.unique(y_pool))} classes); "
          f"{len(configs)} {family} configurations; {args.tasks} tasks per k; "
          f"validation_fraction={args.validation_fraction}")
    for k in args.shots:
        tasks = []
        for task in range(args.first_task, args.first_task + args.tasks):
            rng = np.random.RandomState(task)
            rows = np.concatenate([rng.choice(np.flatnonzero(y_pool == c), k, replace=False)
                                   for c in np.unique(y_pool)])
            rest = np.setdiff1d(np.arange(len(y_pool)), rows)
            X, y = X_pool[rows], y_pool[rows]
            # a new order per task: ties go to the first, and no configuration should win by its place
            order = [configs[i] for i in rng.permutation(len(configs))]
            true = np.array([clone(c).fit(X, y).score(X_pool[rest], y_pool[rest]) for c in order])
            labels = np.unique(y, return_inverse=True)[1]
            n_test = int(np.ceil(args.validation_fraction * len(y)))
            folds = StratifiedKFold(2, shuffle=True, random_state=task).split(X, labels)
            splits = {"hold-out": [_class_keeping_hold_out(labels, np.bincount(labels), n_test, task)],
                      "2-fold": list(folds)}
            scores = {name: np.array([split_score(c, X, y, pairs) for c in order]) for name, pairs in splits.items()}
            pick = {name: true[int(np.argmax(s[:, 0]))] for name, s in scores.items()}
            held = scores["hold-out"]
            top = np.flatnonzero(held[:, 0] == held[:, 0].max())
            if not np.isnan(held[top, 1]).any():
                pick["hold-out-ll-ties"] = true[top[int(np.argmin(held[top, 1]))]]
                pick["tied"] = float(len(top))
            pick["random pick"] = true[rng.randint(len(configs))]
            pick["best"] = true.max()
            tasks.append(pick)
            # one line per task: runs split with --first-task are tabled together by --merge
            print(f"TASK {family} k={k} task={task} "
                  + " ".join(f"{name.replace(' ', '-')}={v:.4f}" for name, v in pick.items()), flush=True)
        print_table(k, tasks)


SPLIT_FITS = {"hold-out": 1, "2-fold": 2, "hold-out ll ties": 1}
ROWS = ["hold-out", "hold-out ll ties", "2-fold", "random pick", "best"]


def print_table(k, tasks):
    """The table of one k from per-task picks (dicts: split name -> true accuracy)."""
    print()
    print("| k rows per class | split | fits per configuration | true accuracy of the pick "
          "| regret | pick within 0.01 of the best |")
    print("|---|---|---|---|---|---|")
    tasks = [{name.replace("-ll-ties", " ll ties"): v for name, v in t.items()} for t in tasks]
    best = np.array([t["best"] for t in tasks])
    for name in [n for n in ROWS if all(n in t for t in tasks)]:  # older logs lack "random pick"
        got = np.array([t[name] for t in tasks])
        regret = best - got
        print(f"| {k} | {name} | {SPLIT_FITS.get(name, '-')} | {got.mean():.3f} ± "
              f"{got.std() / np.sqrt(len(got)):.3f} | {regret.mean():.3f} ± "
              f"{regret.std() / np.sqrt(len(regret)):.3f} | {np.mean(regret <= 0.01):.2f} |")
    paired = np.array([t["best"] - t["hold-out"] - (t["best"] - t["2-fold"]) for t in tasks])
    print(f"\nhold-out regret minus 2-fold regret, paired: {paired.mean():.3f} ± "
          f"{paired.std() / np.sqrt(len(paired)):.3f} (2-fold better on {int((paired > 0).sum())} "
          f"tasks, hold-out on {int((paired < 0).sum())}, tied on {int((paired == 0).sum())})",
          flush=True)
    if all("tied" in t for t in tasks):
        tied = np.array([t["tied"] for t in tasks])
        paired = np.array([t["hold-out ll ties"] - t["hold-out"] for t in tasks])
        print(f"hold-out ties at its best accuracy: {np.mean(tied > 1):.2f} of tasks (mean {tied.mean():.1f} "
              f"configurations tied); the log-loss tie-break minus the first tied, paired true accuracy: "
              f"{paired.mean():+.4f} ± {paired.std() / np.sqrt(len(paired)):.4f} (better on "
              f"{int((paired > 0).sum())} tasks, worse on {int((paired < 0).sum())})", flush=True)


def merge(paths):
    """Table the TASK lines of several logs (one run split with --first-task)."""
    by_k = {}
    for path in paths:
        with open(path) as log:
            for line in log:
                if line.startswith("TASK "):
                    fields = dict(kv.split("=") for kv in line.split()[2:])
                    k = int(fields.pop("k"))
                    fields.pop("task")
                    by_k.setdefault(k, []).append(
                        {name.replace("-pick", " pick"): float(v) for name, v in fields.items()})
    for k, tasks in sorted(by_k.items()):
        print(f"{len(tasks)} tasks")
        print_table(k, tasks)

if __name__ == "__main__":
    main()
