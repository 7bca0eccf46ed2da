"""Benchmark: how ``TunedGRU()`` should pick among trials tied at its best hold-out accuracy.

On 8 of the 11 classification sets of ``bench_accuracy.py``, 3-9 of the ten trials of
``TunedGRU()`` tie at the best hold-out accuracy and the first drawn is refitted
(benchmarks/README.md, "TunedGRU's column at one commit").  This script asks, on the
**training splits only**, whether another rule picks better trials:

* ``first``: the first trial at the best hold-out accuracy (what ``best_index_`` is,
  as in ``GridSearchCV``);
* ``ties by log loss``: among those tied trials, the lowest hold-out log loss;
* ``log loss``: the lowest hold-out log loss, whatever the accuracy.
* ``ties by highest log loss``: among the tied trials, the *least* confident one (a
  hypothesis formed on the first run's 14 tasks, where the most confident tied trials
  often did worse on the inner test; check it only on tasks that run after those).

Each task is one fold of a stratified 3-fold split of a data set's training split:
``TunedGRU()`` (its default space and hold-out, seeded) searches on two thirds, scoring
every trial on its hold-out by accuracy and by log loss, and by the accuracy of that
same trial model on the remaining third (the inner test, which no rule sees).  The
table reports the inner-test accuracy of each rule's pick, paired against ``first``.
No test split is loaded.

``--cv K`` runs the same tasks with ``TunedGRU(cv=StratifiedKFold(K))`` in place of the
hold-out (the same ten seeded draws; every trial trains K fold models, each on
``(K-1)/K`` of the two thirds: K = 5 gives each the hold-out's 80%), and reports for each
trial the mean CV accuracy and the mean inner-test accuracy of its K fold models.
``--merge`` over logs of both arms adds the paired difference of the two arms' ``first``
picks on the tasks both ran: does scoring trials on every series, not 20% of them, pick
better trials on small training sets?  Read it on the lines that score **both picks by
the same models** (the hold-out arm's one model per trial, or the K-fold arm's mean of K
fold models: the ten trials are the same draws in both arms).  The line "each by its own
models" scores the hold-out's pick by one model and the K-fold pick by a mean of K, so it
mixes which trial was chosen with how a trial is measured: on ItalyPowerDemand it read
+0.027 where the choice alone was worth +0.009 or +0.000.

    python benchmarks/bench_tie_break.py --datasets ItalyPowerDemand GunPoint
    python benchmarks/bench_tie_break.py --cv 5 --datasets ItalyPowerDemand GunPoint > cv.log
    python benchmarks/bench_tie_break.py --merge a.log b.log     # table several runs' TASK lines

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

RULES = ["first", "ties by log loss", "log loss", "ties by highest log loss"]


class InnerTestAccuracy:
    """A scorer that ignores the hold-out it is given and scores the trial model on a
    fixed inner test set (which no selection rule reads)."""

    def __init__(self, X, y):
        self.X, self.y = X, y

    def __call__(self, estimator, X, y, sample_weight=None):
        return float(np.mean(estimator.predict(self.X) == self.y))


def tied_at_best(accuracy):
    """Indices of the trials tied at the best hold-out accuracy, in draw order (the
    first is ``TunedGRU``'s ``best_index_``)."""
    accuracy = np.asarray(accuracy)
    return np.flatnonzero(accuracy == accuracy.max())


def picks(accuracy, loss, inner):
    """Inner-test accuracy of each rule's pick, from per-trial hold-out scores."""
    loss, inner = np.asarray(loss), np.asarray(inner)
    top = tied_at_best(accuracy)
    return {"first": inner[top[0]],
            "ties by log loss": inner[top[int(np.argmin(loss[top]))]],
            "log loss": inner[int(np.argmin(loss))],
            "ties by highest log loss": inner[top[int(np.argmax(loss[top]))]],
            "tied": float(len(top)),
            "random trial": inner.mean(),
            "best": inner.max()}


def run(name, seeds, n_splits, fast=False, defaults=False, cv=None):
    from bench_accuracy import _take, make_tuned_default
    from sklearn.metrics import log_loss, make_scorer
    from sklearn.model_selection import StratifiedKFold

    from _datasets import load

    ds = load(name)
    X, y = ds.X_train, np.asarray(ds.y_train)
    classes = np.unique(y)
    for seed in seeds:
        folds = StratifiedKFold(n_splits, shuffle=True, random_state=seed).split(np.zeros(len(y)), y)
        for fold, (tr, te) in enumerate(folds):
            t0 = time.perf_counter()
            scoring = {"accuracy": "accuracy",
                       "log_loss": make_scorer(log_loss, greater_is_better=False,
                                               response_method="predict_proba", labels=classes),
                       "inner_test": InnerTestAccuracy(_take(X, te), y[te])}
            tuned = make_tuned_default(ds, seed, fast=fast).set_params(scoring=scoring, refit=False)
            arm = ""
            if cv:  # the same draws, each scored by K-fold CV on the two thirds
                tuned.set_params(cv=StratifiedKFold(cv, shuffle=True, random_state=seed))
                arm = f" cv={cv}"
            if defaults:  # the estimator's own configuration as the only trial: same hold-out, same seed
                tuned.set_params(search_space={"units": [tuned.estimator.units]}, tuner="grid", max_trials=1)
            tuned.fit(_take(X, tr), y[tr])
            r = tuned.cv_results_
            acc, loss, inner = (np.asarray(r[f"mean_test_{m}"], float) for m in ("accuracy", "log_loss", "inner_test"))
            loss = -loss  # the scorer is negated
            if defaults:
                print(f"DEFAULTS {name} seed={seed} fold={fold} acc={acc[0]:.4f} ll={loss[0]:.4f} "
                      f"inner={inner[0]:.4f} s={time.perf_counter() - t0:.0f}", flush=True)
                continue
            print(f"TRIALS {name} seed={seed} fold={fold}{arm} acc={','.join(f'{v:.4f}' for v in acc)} "
                  f"ll={','.join(f'{v:.4f}' for v in loss)} inner={','.join(f'{v:.4f}' for v in inner)}", flush=True)
            p = picks(acc, loss, inner)
            print(f"TASK {name} seed={seed} fold={fold}{arm} "
                  + " ".join(f"{k.replace(' ', '-')}={v:.4f}" for k, v in p.items())
                  + f" s={time.perf_counter() - t0:.0f}", flush=True)


def table(tasks):
    """Per arm (hold-out, or K-fold CV), the inner-test accuracy of each rule's pick; with
    both arms, the paired difference of their ``first`` picks."""
    arms = sorted({t["arm"] for t in tasks}, key=lambda a: (a != "hold-out", a))
    for arm in arms:
        if len(arms) > 1:
            print(f"\n{'hold-out' if arm == 'hold-out' else f'{arm}-fold CV'}:")
        arm_table([t for t in tasks if t["arm"] == arm])
    reference = {t["key"]: t for t in tasks if t["arm"] == arms[0]}
    for arm in arms[1:]:
        pairs = [(t, reference[t["key"]]) for t in tasks if t["arm"] == arm and t["key"] in reference]
        if not pairs:
            continue
        label = f"{arm}-fold first minus {arms[0]} first"
        # each arm's pick scored by that arm's own models (one model per trial for the
        # hold-out, the mean of K fold models for K-fold): the two measure the same trial
        # differently, so this mixes the choice with the measurement
        print(paired_summary(label + " (each by its own models)",
                             np.array([t["first"] - ref["first"] for t, ref in pairs])))
        # the choice alone: both picks scored by the same models (the ten trials are the
        # same seeded draws in both arms)
        same = sum(t["first_trial"] == ref["first_trial"] for t, ref in pairs)
        print(f"{arm}-fold and {arms[0]} first picked the same trial on {same} of {len(pairs)} tasks")
        for models, scorer in ((f"the {arms[0]} arm's models", 1), (f"the {arm} fold models' mean", 0)):
            inner = [pair[scorer]["inner"] for pair in pairs]
            d = np.array([s[t["first_trial"]] - s[ref["first_trial"]] for s, (t, ref) in zip(inner, pairs)])
            print(paired_summary(f"{label}, both picks scored by {models}", d))


def paired_summary(label, d):
    """One line: the mean paired difference ``d`` over tasks, its standard error, and
    on how many tasks it is positive, negative or zero."""
    se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
    return (f"{label}, paired inner-test accuracy over {len(d)} tasks: {d.mean():+.4f} ± {se:.4f} "
            f"(better on {int((d > 0).sum())}, worse on {int((d < 0).sum())}, level on {int((d == 0).sum())})")


def arm_table(tasks):
    """Inner-test accuracy of each rule's pick, per data set and over all tasks, beside
    a random trial's (the mean over the ten) and the best trial's."""
    rules = RULES + (["defaults first", "defaults"] if tasks and all("defaults" in t for t in tasks) else [])
    print("\n| data set | tasks | tied (mean) | " + " | ".join(rules) + " | random trial | best trial |")
    print("|---|---|---|" + "---|" * (len(rules) + 2))
    for name in sorted({t["name"] for t in tasks}) + ["all"]:
        sub = [t for t in tasks if name in ("all", t["name"])]
        cells = [f"{np.mean([t[r] for t in sub]):.3f}" for r in rules + ["random trial", "best"]]
        print(f"| {name} | {len(sub)} | {np.mean([t['tied'] for t in sub]):.1f} | " + " | ".join(cells) + " |")
    print()
    for rule in rules[1:] + ["random trial"]:
        print(paired_summary(f"{rule} minus first", np.array([t[rule] - t["first"] for t in tasks])))


def parse(paths, skip=0):
    """Tasks from the TRIALS lines of logs (each rule re-applied to the per-trial scores),
    leaving out each log's first ``skip``."""
    tasks, defaults = [], {}
    for path in paths:
        with open(path) as log:
            lines = log.readlines()
        for line in lines:
            if line.startswith("DEFAULTS "):
                words = line.split()
                fields = dict(kv.split("=") for kv in words[2:])
                defaults[(words[1], fields["seed"], fields["fold"])] = (float(fields["acc"]), float(fields["inner"]))
        for line in [line for line in lines if line.startswith("TRIALS ")][skip:]:
            words = line.split()
            fields = dict(kv.split("=") for kv in words[2:])
            scores = [np.array(fields[k].split(","), dtype=float) for k in ("acc", "ll", "inner")]
            tasks.append({**picks(*scores), "name": words[1], "key": (words[1], fields["seed"], fields["fold"]),
                          "acc": scores[0], "inner": scores[2], "arm": fields.get("cv", "hold-out"),
                          "first_trial": int(tied_at_best(scores[0])[0])})
    for task in tasks:  # "defaults first": the defaults as an extra first trial, ties going to them
        if task["key"] in defaults and task["arm"] == "hold-out":
            acc, inner = defaults[task["key"]]
            task["defaults"] = inner
            task["defaults first"] = inner if acc >= task["acc"].max() else task["first"]
    return tasks


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", nargs="+", default=["ItalyPowerDemand", "BasicMotions", "GunPoint", "sim-cbf"])
    p.add_argument("--seeds", nargs="+", type=int, default=[0])
    p.add_argument("--n-splits", type=int, default=3)
    p.add_argument("--fast", action="store_true", help="2 trials of 2 epochs (a smoke test)")
    p.add_argument("--defaults", action="store_true",
                   help="score only the estimator's defaults on each task (DEFAULTS lines), for the "
                        "'defaults first' rule of --merge")
    p.add_argument("--cv", type=int, default=None, metavar="K",
                   help="score each trial by stratified K-fold CV on the two thirds instead of the hold-out")
    p.add_argument("--merge", nargs="+", metavar="LOG", help="table the TRIALS lines of these logs instead")
    p.add_argument("--skip", type=int, default=0, help="with --merge: leave out each log's first SKIP tasks")
    args = p.parse_args(argv)
    if args.defaults and args.cv:
        # DEFAULTS lines carry no arm: --merge pairs them with the hold-out tasks
        p.error("--defaults scores the hold-out's defaults; run it without --cv")
    if args.merge:
        return table(parse(args.merge, args.skip))
    warnings.filterwarnings("ignore")
    for name in args.datasets:
        run(name, args.seeds, args.n_splits, args.fast, args.defaults, args.cv)


if __name__ == "__main__":
    main()
