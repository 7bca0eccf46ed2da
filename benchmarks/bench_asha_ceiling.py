"""Benchmark: how early could successive halving reach RandomizedSearchCV's best, at best?

Issue 14's sample-efficiency goal asks TunedGRU's best multi-fidelity tuner to reach
``RandomizedSearchCV``'s final best CV score (16 random configurations x 9 epochs x 3
folds) with <= 1/3 of its fold-epochs, averaged over seeds
(``bench_search_efficiency.py``).  This script asks what the schedule itself allows,
whatever the ranking, by replaying the schedule on scores measured once:

1. **A pool.**  ``--pool`` configurations drawn at random from the efficiency
   benchmark's space (the same estimator, space, rows and 3-fold splits per seed), each
   scored by 3-fold CV after 1, 3 and 9 epochs (``TunedGRU(tuner="random")`` run three
   times with the same draws; a 3-epoch score is that of a fresh 3-epoch fit, where ASHA
   continues a 1-epoch one: the same training but for the shuffling order).
2. **Replays** (``--replays`` per seed).  Each replay permutes the pool: its first 16
   configurations are ``RandomizedSearchCV`` (the target is their best 9-epoch score);
   the rest, in order, are the new configurations of:

   * ``asha``: :class:`~skgru.tuning._asha.ASHAScheduler` itself (rungs 1, 3, 9,
     factor 3, one worker, the efficiency benchmark's budget of 16 x 9 epochs per
     fold), each job scored by its rung's measured score: what ``asha-random`` does,
     up to the continuation;
   * ``asha-oracle``: the same schedule, but every promotion decided by the
     configurations' **9-epoch** scores (perfect ranking at every rung); what the
     search reports is still read from the rung it completed;
   * ``random``: another 16 full-fidelity configurations (what a second random search
     with other draws gets);
   * with ``--schedules``, other rungs / factors (``min-max-eta``, e.g. ``3-9-3``);
   * with ``--bootstrap N``, ASHA whose bottom rung promotes nothing until N
     configurations completed it (Optuna's ``bootstrap_count``, bottom rung only), so
     its first promotions are the best of a larger field.

   ``to target`` is read as in the efficiency benchmark: fold-epochs spent when the
   reported best (for ASHA, the best of the highest rung completed so far) first
   reached the target, over RandomizedSearchCV's 432, a replay that never does
   counted as 1.0.

Only training rows are used, as in the efficiency benchmark; no test split is read.

    python benchmarks/bench_asha_ceiling.py                          # 3 data sets x 5 seeds
    python benchmarks/bench_asha_ceiling.py --datasets digits --seeds 0 --pool 64

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

from bench_search_efficiency import (  # noqa: E402
    cv_splits, epochs_to_reach, load_dataset, make_estimator, reported_best, search_space)

RS_TRIALS = 16
MAX_EPOCHS = 9
N_FOLDS = 3


def pool_results(task, X, y, splits, seed, pool, fidelities, scoring=None):
    """``{epochs: cv_results_}`` of ``pool`` random configurations trained ``epochs``
    each (``TunedGRU(tuner="random")``), the same draws at each fidelity (checked)."""
    from skgru.tuning import TunedGRU

    results, params = {}, None
    for epochs in fidelities:
        tuned = TunedGRU(make_estimator(task, epochs, seed), search_space(), tuner="random",
                         max_trials=pool, cv=splits, random_state=10_000 + seed, refit=False,
                         scoring=scoring)
        tuned.fit(X, y)
        res = tuned.cv_results_
        drawn = [dict(p) for p in res["params"]]
        if params is None:
            params = drawn
        elif drawn != params:
            raise AssertionError("the random draws differ between fidelities")
        results[epochs] = res
    return results


def score_pool(task, X, y, splits, seed, pool, fidelities):
    """``{epochs: scores}`` of ``pool`` random configurations (:func:`pool_results`)."""
    return {epochs: np.asarray(res["mean_test_score"], dtype=float)
            for epochs, res in pool_results(task, X, y, splits, seed, pool, fidelities).items()}


@functools.cache
def _bootstrapped_scheduler_class():
    """ASHA's scheduler whose bottom rung promotes nothing until ``bootstrap``
    configurations completed it (Optuna's ``bootstrap_count``, at the bottom rung
    only): the first promotions are then the best of a larger field."""
    from skgru.tuning._asha import ASHAScheduler

    class Bootstrapped(ASHAScheduler):
        bootstrap = 0

        def promotable(self, rung):
            if rung == 0 and len(self._completed[0]) < self.bootstrap:
                return []
            return super().promotable(rung)

    return Bootstrapped


def _scheduler(rungs, eta, budget, bootstrap):
    sched = _bootstrapped_scheduler_class()(rungs[0], rungs[-1], eta, budget=budget)
    sched.bootstrap = bootstrap
    return sched


def scheduled_jobs(sched, order):
    """Drive ``sched`` as one worker would, ``order`` giving the new configurations in
    turn: yields ``(job id, proposal, configuration)`` for each job it starts.  The
    caller reports each job (``sched.report``) before asking for the next."""
    stream = iter(order)
    config_of = {}
    job = 0
    while True:
        prop = sched.propose()
        if prop.kind == "new":
            try:
                config_of[job] = next(stream)
            except StopIteration:
                sched.exhaust()
                continue
        elif prop.kind != "promote":
            return
        yield job, prop, config_of[sched.start(job, prop)]
        job += 1


def add_pool_arguments(parser, pool, replays):
    """The arguments both replay benchmarks take (this one and bench_asha_ranking.py):
    data sets, seeds, pool size, replays per seed, training rows, the pool cache."""
    parser.add_argument("--datasets", nargs="+", default=["digits", "sunspots", "ItalyPowerDemand"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--pool", type=int, default=pool, help="configurations scored per seed")
    parser.add_argument("--replays", type=int, default=replays, help="replays per seed")
    parser.add_argument("--n-train", type=int, default=400)
    parser.add_argument("--pools", default=None,
                        help="a folder to keep each seed's scored pool in (and read it from)")


def cached_pool(path, score):
    """``{key: array}`` read from the ``.npz`` at ``path`` when it exists, else
    ``score()``, saved there (``path`` None: not kept)."""
    if path and os.path.exists(path):
        with np.load(path) as saved:
            return {k: saved[k] for k in saved.files}
    scores = score()
    if path:
        np.savez(path, **scores)
    return scores


def replay_asha(order, rung_scores, rank_scores, rungs, eta, budget, bootstrap=0):
    """Run the ASHA scheduler on measured scores, one worker.  ``rung_scores[k]`` is
    what a job at rung ``k`` reports; ``rank_scores[k]`` what the rule ranks it by.
    Returns (reported best after each job, fold-epochs of each job)."""
    sched = _scheduler(rungs, eta, budget, bootstrap)
    if tuple(sched.rungs) != tuple(rungs):
        raise ValueError(f"rungs {rungs} are not ASHA's for these bounds: {sched.rungs}")
    reported, spent, levels = [], [], []
    for job, prop, cfg in scheduled_jobs(sched, order):
        # the scheduler ranks by what it is told: the rule's score
        sched.report(job, float(rank_scores[prop.rung][cfg]))
        reported.append(float(rung_scores[prop.rung][cfg]))
        levels.append(prop.rung)
        spent.append(prop.cost * N_FOLDS)
    return reported_best(np.asarray(reported), np.asarray(levels)), np.asarray(spent, float)


def asha_rungs_for(spec):
    """'min-max-eta' -> (rungs, eta)."""
    from skgru.tuning._asha import asha_rungs

    lo, hi, eta = (int(v) for v in spec.split("-"))
    return asha_rungs(lo, hi, eta), eta


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_pool_arguments(p, pool=96, replays=400)
    p.add_argument("--bootstrap", nargs="*", type=int, default=[],
                   help="also replay ASHA whose bottom rung promotes only after this many "
                        "configurations completed it")
    p.add_argument("--schedules", nargs="*", default=[],
                   help="extra ASHA schedules 'min-max-eta' (rungs must end at 9)")
    args = p.parse_args(argv)
    warnings.filterwarnings("ignore")
    from scipy.stats import spearmanr

    schedules = [("1-9-3", *asha_rungs_for("1-9-3"))]
    schedules += [(s, *asha_rungs_for(s)) for s in args.schedules]
    fidelities = sorted({r for _, rungs, _ in schedules for r in rungs} | {MAX_EPOCHS})
    budget = RS_TRIALS * MAX_EPOCHS  # epochs per fold, as bench_search_efficiency
    rs_fold_epochs = budget * N_FOLDS

    table = {}
    for name in args.datasets:
        task, X, y, _, _ = load_dataset(name, args.n_train)
        for seed in args.seeds:
            t0 = time.perf_counter()
            splits = cv_splits(task, y, seed)
            cache = args.pools and os.path.join(args.pools, f"{name}-{seed}-{args.pool}.npz")
            saved = cached_pool(cache, lambda: {
                f"e{k}": v for k, v in score_pool(task, X, y, splits, seed, args.pool, fidelities).items()})
            scores = {int(k[1:]): v for k, v in saved.items()}
            if not set(fidelities) <= set(scores):
                raise ValueError(f"{cache} lacks fidelities {sorted(set(fidelities) - set(scores))}")
            final = scores[MAX_EPOCHS]
            # how well does each rung rank the configurations' 9-epoch scores?
            rho = {e: spearmanr(scores[e], final).statistic for e in fidelities if e != MAX_EPOCHS}
            print(f"{name} seed {seed}: pool of {args.pool} scored in {time.perf_counter() - t0:.0f} s; "
                  "Spearman with the 9-epoch score: "
                  + ", ".join(f"{e} epochs {r:.2f}" for e, r in rho.items())
                  + f"; 9-epoch scores {np.nanmin(final):.4f}-{np.nanmax(final):.4f}", flush=True)
            rng = np.random.RandomState(seed)
            per = {}
            for _ in range(args.replays):
                perm = rng.permutation(args.pool)
                rs = perm[:RS_TRIALS]
                target = np.nanmax(final[rs])
                rest = perm[RS_TRIALS:]
                other = rest[:RS_TRIALS]
                runs = {"random": (np.fmax.accumulate(final[other]),
                                   np.full(RS_TRIALS, MAX_EPOCHS * N_FOLDS, float))}
                for label, rungs, eta in schedules:
                    rung_scores = [scores[r] for r in rungs]
                    suffix = "" if label == "1-9-3" else f" {label}"
                    runs["asha" + suffix] = replay_asha(rest, rung_scores, rung_scores, rungs, eta, budget)
                    oracle = [final] * len(rungs)
                    runs["asha-oracle" + suffix] = replay_asha(rest, rung_scores, oracle, rungs, eta, budget)
                    if label != "1-9-3":
                        continue
                    for b in args.bootstrap:
                        runs[f"asha b0={b}"] = replay_asha(rest, rung_scores, rung_scores, rungs, eta,
                                                           budget, bootstrap=b)
                        runs[f"asha-oracle b0={b}"] = replay_asha(rest, rung_scores, oracle, rungs, eta,
                                                                  budget, bootstrap=b)
                for method, (reported, spent) in runs.items():
                    reach = epochs_to_reach(reported, spent, target)
                    per.setdefault(method, []).append(1.0 if reach is None else reach / rs_fold_epochs)
            for method, ratios in per.items():
                ratios = np.asarray(ratios)
                table.setdefault((name, method), []).append(ratios)
                print(f"SEED {name} {seed} {method} to_target_all={ratios.mean():.3f} "
                      f"reached={np.mean(ratios < 1.0):.2f} "
                      f"within_third={np.mean(ratios <= 1 / 3 + 1e-12):.2f}", flush=True)

    print()
    print(f"Seeds {args.seeds}; pool {args.pool} configurations per seed, {args.replays} replays "
          f"per seed; target: the best 9-epoch CV score of {RS_TRIALS} pool configurations; "
          "ratios: fold-epochs to reach it over RandomizedSearchCV's 432 (never reached: 1.0).")
    print()
    # "sd": the standard deviation of one replay's ratio, i.e. of one search's
    print("| data set | method | to target (all replays) | sd | per seed | reached | within 1/3 |")
    print("|---|---|---|---|---|---|---|")
    for (name, method), seeds in table.items():
        allr = np.concatenate(seeds)
        per_seed = ", ".join(f"{s.mean():.2f}" for s in seeds)
        print(f"| {name} | {method} | {allr.mean():.2f} | {allr.std():.2f} | {per_seed} "
              f"| {np.mean(allr < 1.0):.2f} | {np.mean(allr <= 1 / 3 + 1e-12):.2f} |")


if __name__ == "__main__":
    main()
