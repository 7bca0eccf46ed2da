"""Benchmark: what should ASHA rank its rungs by? Score or log loss, all folds or one.

``bench_asha_ceiling.py`` showed that ASHA's measured ranking costs 0.12-0.29 of
RandomizedSearchCV's epochs against a perfect one on issue 14's sample-efficiency
measure.  This script replays the same schedule (rungs 1, 3, 9, factor 3, one worker,
16 x 9 epochs per fold) on scores measured once, and changes two things:

* **what ranks a rung** below the top: the search's score (accuracy for a classifier,
  R^2 for a regressor: ``promote_by="score"``) or, for a classifier, the mean
  validation **log loss** of ``predict_proba`` (``promote_by="log_loss"``,
  TunedGRU's ASHA default for classifiers since this benchmark);
* **how many folds a low rung trains** ("fold racing", not in TunedGRU): rungs 1 and
  3 train and score the first fold only, the top rung all three.  A configuration
  then costs 1 fold-epoch to screen instead of 3; a promotion to the top rung
  continues the first fold's model and trains the other two from scratch.

Each configuration of a ``--pool`` is scored once by 3-fold CV after 1, 3 and 9
epochs (``TunedGRU(tuner="random")`` with the same draws at each length: the
efficiency benchmark's estimator, space, rows and splits), per fold, with its log
loss where the estimator is a classifier.  Each replay permutes the pool: the first 16
configurations are RandomizedSearchCV (the target: their best 9-epoch mean score),
the rest feed the schedule in order.  ``to target`` is read as in
``bench_search_efficiency.py``: fold-epochs spent when the reported best first
reached the target, over RandomizedSearchCV's 432, a replay that never does counted
as 1.0.  The reported best is always the search's **score** on **all three folds**
(the best of the highest all-fold rung completed so far): a rung scored on one fold
never counts, and the log loss only decides promotions.  ``oracle`` ranks every rung
by the configurations' 9-epoch mean score (perfect ranking).

Only training rows are used; no test split is read.

    python benchmarks/bench_asha_ranking.py --pools pools/
    python benchmarks/bench_asha_ranking.py --datasets GunPoint JapaneseVowels sim-cbf \\
        elnino co2 --seeds 0 1 2 --pools pools/

Not run by the tests.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_asha_ceiling import (  # noqa: E402
    add_pool_arguments, cached_pool, pool_results, scheduled_jobs)
from bench_search_efficiency import cv_splits, epochs_to_reach, load_dataset  # noqa: E402

RS_TRIALS = 16
MAX_EPOCHS = 9
N_FOLDS = 3
FIDELITIES = (1, 3, 9)
# rungs as (epochs, folds trained and scored)
ALL_FOLDS = ((1, 3), (3, 3), (9, 3))
FOLD_RACING = ((1, 1), (3, 1), (9, 3))


def score_pool(task, X, y, splits, seed, pool):
    """``{key: array}``: ``f<e>`` the per-fold scores (pool, folds) after ``e`` epochs and,
    for a classifier, ``l<e>`` the per-fold log losses; the same draws at each
    fidelity (checked)."""
    classifier = task == "classification"
    scoring = {"score": "accuracy", "log_loss": "neg_log_loss"} if classifier else None
    saved = {}
    for epochs, res in pool_results(task, X, y, splits, seed, pool, FIDELITIES, scoring).items():

        def per_fold(metric):
            return np.stack([np.asarray(res[f"split{k}_test_{metric}"], dtype=float)
                             for k in range(N_FOLDS)], axis=1)

        saved[f"f{epochs}"] = per_fold("score")
        if classifier:
            saved[f"l{epochs}"] = -per_fold("log_loss")  # neg_log_loss -> log loss
    return saved


@functools.cache
def _scheduler_class():
    """ASHA's scheduler whose rungs may train a subset of the folds: costs in
    fold-epochs / N_FOLDS, so its budget stays in epochs per split."""
    from skgru.tuning._asha import ASHAScheduler

    class FoldRungs(ASHAScheduler):
        spec = ALL_FOLDS

        def cost(self, rung):
            epochs, folds = self.spec[rung]
            if rung == 0:
                return epochs * folds / N_FOLDS
            prev_epochs, prev_folds = self.spec[rung - 1]
            # the folds already trained continue; the others train from scratch
            return (prev_folds * (epochs - prev_epochs) + (folds - prev_folds) * epochs) / N_FOLDS

    return FoldRungs


def replay(order, spec, scores, rank):
    """One replay of ASHA on ``order``; ``rank(epochs, folds, config)`` is what a rung
    is ranked by.  Returns (reported best after each job, fold-epochs of each job)."""
    sched = _scheduler_class()(spec[0][0], spec[-1][0], 3, budget=RS_TRIALS * MAX_EPOCHS)
    sched.spec = spec
    if tuple(sched.rungs) != tuple(e for e, _ in spec):
        raise ValueError(f"rungs {spec} are not ASHA's for these bounds: {sched.rungs}")
    reported, spent = [], []
    level, best = -1, -np.inf
    for job, prop, cfg in scheduled_jobs(sched, order):
        epochs, folds = spec[prop.rung]
        sched.report(job, float(rank(epochs, folds, cfg)))
        if folds == N_FOLDS:  # only an all-fold score is reported
            score = float(scores[f"f{epochs}"][cfg].mean())
            if prop.rung > level:
                level, best = prop.rung, score
            elif prop.rung == level:
                best = max(best, score)
        reported.append(best)
        spent.append(prop.cost * N_FOLDS)
    return np.asarray(reported), np.asarray(spent, dtype=float)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_pool_arguments(p, pool=128, replays=200)
    args = p.parse_args(argv)
    warnings.filterwarnings("ignore")
    from scipy.stats import spearmanr

    rs_fold_epochs = RS_TRIALS * MAX_EPOCHS * N_FOLDS
    table = {}
    for name in args.datasets:
        task, X, y, _, _ = load_dataset(name, args.n_train)
        for seed in args.seeds:
            t0 = time.perf_counter()
            cache = args.pools and os.path.join(args.pools, f"{name}-{seed}-{args.pool}-folds.npz")
            scores = cached_pool(cache, lambda: score_pool(task, X, y, cv_splits(task, y, seed), seed,
                                                           args.pool))
            final = scores[f"f{MAX_EPOCHS}"].mean(axis=1)
            has_loss = f"l{MAX_EPOCHS}" in scores

            def by_score(epochs, folds, cfg):
                return scores[f"f{epochs}"][cfg, :folds].mean()

            def by_log_loss(epochs, folds, cfg):
                return -scores[f"l{epochs}"][cfg, :folds].mean()

            def by_final(epochs, folds, cfg):
                return final[cfg]

            rankings = {"score": by_score, "oracle": by_final}
            if has_loss:
                rankings["log loss"] = by_log_loss
            rho = [f"3-epoch score {spearmanr(scores['f3'].mean(1), final).statistic:.2f}"]
            if has_loss:
                rho.append(f"3-epoch log loss {spearmanr(-scores['l3'].mean(1), final).statistic:.2f}")
            print(f"{name} seed {seed}: pool of {args.pool} in {time.perf_counter() - t0:.0f} s; "
                  "Spearman with the 9-epoch score: " + ", ".join(rho), flush=True)
            rng = np.random.RandomState(seed)
            per = {}
            for _ in range(args.replays):
                perm = rng.permutation(len(final))
                target = np.nanmax(final[perm[:RS_TRIALS]])
                rest = perm[RS_TRIALS:]
                other = rest[:RS_TRIALS]
                runs = {"random": (np.fmax.accumulate(final[other]),
                                   np.full(RS_TRIALS, MAX_EPOCHS * N_FOLDS, float))}
                for label, rank in rankings.items():
                    runs[f"asha, {label}"] = replay(rest, ALL_FOLDS, scores, rank)
                    runs[f"asha, {label}, fold racing"] = replay(rest, FOLD_RACING, scores, rank)
                for method, (reported, spent) in runs.items():
                    reach = epochs_to_reach(reported, spent, target)
                    per.setdefault(method, []).append(1.0 if reach is None else reach / rs_fold_epochs)
            for method, ratios in per.items():
                table.setdefault((name, method), []).append(np.mean(ratios))

    print()
    print(f"Seeds {args.seeds}; pool {args.pool} configurations per seed, {args.replays} replays "
          f"per seed; target: the best 9-epoch CV score of {RS_TRIALS} pool configurations; "
          "to target: fold-epochs to reach it over RandomizedSearchCV's 432 (never: 1.0), "
          "mean over replays, then over seeds.")
    print()
    print("| data set | method | to target | per seed |")
    print("|---|---|---|---|")
    for (name, method), seeds in table.items():
        print(f"| {name} | {method} | {np.mean(seeds):.2f} | "
              + ", ".join(f"{s:.2f}" for s in seeds) + " |")


if __name__ == "__main__":
    main()
