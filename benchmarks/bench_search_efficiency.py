"""Benchmark: sample efficiency of TunedGRU's tuners vs RandomizedSearchCV and OptunaSearchCV.

Issue 14, point 5 (second bullet).  On each data set and seed every method searches
the same space with the same estimator, the same 3-fold CV splits and (roughly) the
same epoch budget; the table reports, averaged over seeds:

* ``best CV``: the method's final best mean CV score, as the search reports it
  (``best_score_``: for ASHA the best of the highest rung completed, as in
  ``HalvingRandomSearchCV``, not a lower rung's score after fewer epochs);
* ``test``: the refitted best model's score on the data set's test split (reported,
  never used to choose anything);
* ``epochs``: epochs spent in the search, summed over folds (every fold model's
  epochs count: 3 folds x 9 epochs = 27 for one full-fidelity trial);
* ``reached``: on how many seeds the method's running best CV score reached
  ``RandomizedSearchCV``'s final best CV score on the same seed (the target).  The
  running best after each trial is what the search would report if stopped there
  (``reported_best``): the best so far, but for ASHA the best of the highest rung
  completed so far, so a 1-epoch score does not count once a configuration has
  completed a higher rung;
* ``to target (reached)``: fold-epochs spent when it first did, divided by
  RandomizedSearchCV's fold-epochs, averaged over the seeds that reached it;
* ``to target (all seeds)``: the same averaged over every seed, a seed that never
  reached the target counted as 1.0 (its whole budget, which equals
  RandomizedSearchCV's): a lower bound of the true mean, since such a seed would
  need more than its budget.  **The issue's goal** (the best multi-fidelity tuner
  reaches the target with <= 1/3 of RandomizedSearchCV's epochs, mean over seeds)
  is read on this column: met only if it is <= 0.33;
* ``s``: wall seconds of the whole search, refit included.

Full-fidelity methods (random, bayesian, evolution, tpe, RandomizedSearchCV,
OptunaSearchCV) get ``--trials`` trials of ``--max-epochs`` epochs; the
multi-fidelity ones (asha = ASHA with its default TPE sampler for new
configurations, asha-random = ASHA drawing them at random, asha-score and
asha-random-score = the same with ``promote_by="score"``: a classifier's rungs ranked
by the search's score instead of the validation log loss, ASHA's default before
2026-12-06 evening; a regressor's rungs are ranked by the score either way, asha-min3 = ASHA whose
bottom rung is 3 epochs instead of 1, so rungs 3 and 9, asha-eta2 = ASHA keeping the top
half of each rung instead of the top third, so rungs 1, 2, 5 and 9, hyperband) get the same
total epoch budget and spend it on more, shorter trials (Hyperband runs as many
iterations as fit, cut at the budget).  Training never stops early
(``n_iter_no_change`` above the epoch count), so a trial's epochs are what the
schedule gives it.  With few trials the target (the best of ``--trials`` random
draws) is itself noisy; ``--trials 16`` (the recorded run) halves that noise's
weight against the default 8 of the first run.

OptunaSearchCV lives in ``optuna-integration`` (``pip install
optuna-integration[sklearn]``); without it that row is skipped.

    python benchmarks/bench_search_efficiency.py                       # 3 data sets x 5 seeds
    python benchmarks/bench_search_efficiency.py --seeds 0 --datasets digits

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

TUNED_METHODS = ["asha", "asha-random", "asha-score", "asha-random-score", "asha-min3",
                 "asha-eta2", "hyperband", "tpe", "random", "bayesian", "evolution"]
REFERENCE_METHODS = ["RandomizedSearchCV", "OptunaSearchCV"]


# ------------------------------------------------------------------ data

def load_dataset(name, n_train):
    """(task, X_train, y_train, X_test, y_test) for one of the offline sets."""
    import _datasets

    data = _datasets.load(name)
    X, y = data.X_train, data.y_train
    if n_train and len(y) > n_train:  # a stratified subsample keeps each search cheap
        from sklearn.model_selection import train_test_split

        strat = y if data.task == "classification" else None
        X, _, y, _ = train_test_split(X, y, train_size=n_train, stratify=strat, random_state=0)
    return data.task, X, y, data.X_test, data.y_test


def make_estimator(task, max_epochs, seed):
    from skgru import GRUClassifier, GRURegressor

    common = dict(epochs=max_epochs, n_iter_no_change=10 * max_epochs + 10, random_state=seed)
    if task == "classification":
        return GRUClassifier(**common)
    # early stopping would hide part of the training budget: off for every method; one
    # network per trial (the default averages three seeds since round 14 of issue 12, which
    # multiplies every method's epochs alike; the recorded tables measured one network)
    return GRURegressor(early_stopping=False, shrink_to_mean=False, ensemble_size=1, **common)


def search_space():
    from scipy.stats import loguniform

    return {"units": [8, 16, 32], "learning_rate": loguniform(1e-3, 3e-2),
            "dropout": [0.0, 0.2], "batch_size": [16, 32]}


def optuna_space():
    import optuna

    return {"units": optuna.distributions.CategoricalDistribution([8, 16, 32]),
            "learning_rate": optuna.distributions.FloatDistribution(1e-3, 3e-2, log=True),
            "dropout": optuna.distributions.CategoricalDistribution([0.0, 0.2]),
            "batch_size": optuna.distributions.CategoricalDistribution([16, 32])}


def cv_splits(task, y, seed):
    from sklearn.model_selection import KFold, StratifiedKFold

    if task == "classification":
        return list(StratifiedKFold(3, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))
    return list(KFold(3, shuffle=True, random_state=seed).split(np.zeros(len(y))))


# ------------------------------------------------------------------ methods

def run_tuned(method, task, X, y, splits, args, seed):
    from skgru.tuning import TunedGRU

    budget = args.trials * args.max_epochs  # epochs per fold
    tuner = "asha" if method.startswith("asha") else method
    kwargs = dict(tuner=tuner, cv=splits, random_state=seed, max_epochs=args.max_epochs)
    if tuner == "asha":
        kwargs["tuner_params"] = {"min_epochs": 1, "max_epochs": args.max_epochs,
                                  "reduction_factor": 3, "max_epochs_total": budget}
        if method.startswith("asha-random"):
            kwargs["tuner_params"]["sampler"] = "random"
        if method.endswith("-score"):  # rungs ranked by the score, not the log loss
            kwargs["tuner_params"]["promote_by"] = "score"
        elif method == "asha-min3":  # a bottom rung long enough to rank configurations?
            kwargs["tuner_params"]["min_epochs"] = 3
        elif method == "asha-eta2":  # halving instead of thirds: rungs 1, 2, 5, 9
            kwargs["tuner_params"]["reduction_factor"] = 2
        kwargs["max_trials"] = 10 * args.trials
    elif method == "hyperband":
        kwargs["max_trials"] = 10 * args.trials
        # one iteration of max_epochs=9, factor 3 spends 66 epochs per split: run
        # enough iterations to fill the budget (the trials past it are cut below)
        kwargs["tuner_params"] = {"hyperband_iterations": max(1, -(-budget // 66))}
    else:
        kwargs["max_trials"] = args.trials
        kwargs.pop("max_epochs")
    tuned = TunedGRU(make_estimator(task, args.max_epochs, seed), search_space(), **kwargs)
    tuned.fit(X, y)
    res = tuned.cv_results_
    scores = np.asarray(res["mean_test_score"], dtype=float)
    epochs = np.asarray(res["epochs_trained"], dtype=float)
    rungs = np.asarray(res["iter"]) if tuner == "asha" else None  # rows in completion order (n_jobs=1)
    test_model = tuned
    if method == "hyperband":
        # KerasTuner's Hyperband runs whole iterations; keep the trials that fit the budget
        keep = np.cumsum(epochs) <= budget * len(splits)
        scores, epochs = scores[keep], epochs[keep]
        test_model = within_budget(tuned, int(keep.sum()), X, y)
    reported = reported_best(scores, rungs)
    if rungs is not None and not np.isclose(reported[-1], tuned.best_score_):
        raise AssertionError(f"reported_best {reported[-1]} != best_score_ {tuned.best_score_}")
    return reported, epochs, tuned, test_model


def within_budget(tuned, n_kept, X, y):
    """The model a search cut after its first ``n_kept`` trials would return: its own
    refit when its best trial is among them, else the best of them refitted at its
    epochs (ties broken as TunedGRU breaks them: the longest-trained, then the first)."""
    from sklearn.base import clone

    if tuned.best_index_ < n_kept:
        return tuned
    res = tuned.cv_results_
    means = np.asarray(res["mean_test_score"], dtype=float)[:n_kept]
    means = np.where(np.isnan(means), -np.inf, means)
    top = np.flatnonzero(means == means.max())
    budgets = np.ma.filled(np.ma.asarray(res["budget"])[:n_kept], 0)[top]
    best = int(top[budgets == budgets.max()][0])
    est = clone(tuned.estimator).set_params(**res["params"][best], epochs=int(res["budget"][best]))
    return est.fit(X, y)


def run_randomized(task, X, y, splits, args, seed):
    from sklearn.model_selection import RandomizedSearchCV

    search = RandomizedSearchCV(make_estimator(task, args.max_epochs, seed), search_space(),
                                n_iter=args.trials, cv=splits, random_state=seed, n_jobs=1)
    search.fit(X, y)
    scores = np.asarray(search.cv_results_["mean_test_score"], dtype=float)
    epochs = np.full(len(scores), args.max_epochs * len(splits), dtype=float)
    return reported_best(scores), epochs, search, search


def run_optuna(task, X, y, splits, args, seed):
    import optuna
    from optuna_integration import OptunaSearchCV

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=seed)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    search = OptunaSearchCV(make_estimator(task, args.max_epochs, seed), optuna_space(), cv=splits,
                            n_trials=args.trials, random_state=seed, study=study, n_jobs=1)
    search.fit(X, y)
    scores = np.array([t.value if t.value is not None else np.nan for t in study.trials])
    epochs = np.full(len(scores), args.max_epochs * len(splits), dtype=float)
    return reported_best(scores), epochs, search, search


def run_method(method, task, X, y, splits, args, seed):
    if method == "RandomizedSearchCV":
        return run_randomized(task, X, y, splits, args, seed)
    if method == "OptunaSearchCV":
        return run_optuna(task, X, y, splits, args, seed)
    return run_tuned(method, task, X, y, splits, args, seed)


def reported_best(scores, rungs=None):
    """After each trial (in completion order), the best CV score the search would
    report if stopped there: the running best (failed trials, NaN, never count); with
    ``rungs`` (ASHA), the best among the trials of the highest rung completed so far,
    the rule of ``TunedGRU``'s ``best_score_`` (and ``HalvingRandomSearchCV``'s)."""
    scores = np.where(np.isnan(scores), -np.inf, np.asarray(scores, dtype=float))
    if rungs is None:
        return np.fmax.accumulate(scores)
    rungs = np.asarray(rungs)
    top = np.maximum.accumulate(rungs)
    reported = np.empty_like(scores)
    for i in range(len(scores)):
        reported[i] = scores[:i + 1][rungs[:i + 1] == top[i]].max()
    return reported


def epochs_to_reach(reported, epochs, target):
    """Epochs spent when the reported best (``reported_best``) first reached ``target``
    (None: never)."""
    spent = np.cumsum(epochs)
    hit = np.flatnonzero(reported >= target - 1e-12)
    return float(spent[hit[0]]) if hit.size else None


def where_time_went(search, n_splits):
    """Fit and score seconds summed over the search's trials (every split), per ASHA rung
    where the search has rungs: a search's fixed cost per trial shows against its epochs."""
    res = getattr(search, "cv_results_", None)
    if not res or "mean_fit_time" not in res:  # OptunaSearchCV keeps its timings in its study
        return "  time: not reported by this search"
    fit = np.asarray(res["mean_fit_time"], dtype=float) * n_splits
    score = np.asarray(res["mean_score_time"], dtype=float) * n_splits
    line = f"  time: {len(fit)} trials, fit {fit.sum():.1f} s, score {score.sum():.1f} s"
    if "iter" in res:
        rungs = np.asarray(res["iter"])
        for k in np.unique(rungs):
            on = rungs == k
            line += (f"; rung {k}: {on.sum()} trials, fit {fit[on].sum():.1f} s "
                     f"({fit[on].mean():.3f} s each), score {score[on].sum():.1f} s")
    return line


# ------------------------------------------------------------------ main

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", nargs="+", default=["digits", "sunspots", "ItalyPowerDemand"])
    p.add_argument("--methods", nargs="+", default=TUNED_METHODS + REFERENCE_METHODS)
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    p.add_argument("--trials", type=int, default=8, help="trials of a full-fidelity method")
    p.add_argument("--max-epochs", type=int, default=9)
    p.add_argument("--n-train", type=int, default=400, help="training rows used (subsample)")
    args = p.parse_args(argv)
    warnings.filterwarnings("ignore")

    rows = {}
    for name in args.datasets:
        task, X, y, X_test, y_test = load_dataset(name, args.n_train)
        # warm-up: the first fit of each architecture builds and traces its engine
        # (seconds); doing it here keeps that cost out of whichever method runs first
        from sklearn.model_selection import ParameterGrid

        for combo in ParameterGrid({"units": [8, 16, 32], "dropout": [0.0, 0.2]}):
            make_estimator(task, 1, 0).set_params(**combo).fit(X, y)
        for seed in args.seeds:
            splits = cv_splits(task, y, seed)
            results = {}
            for method in args.methods:
                if method == "OptunaSearchCV":
                    try:
                        import optuna_integration  # noqa: F401
                    except ImportError:
                        print("OptunaSearchCV skipped: optuna-integration is not installed", flush=True)
                        continue
                t0 = time.perf_counter()
                try:
                    scores, epochs, search, test_model = run_method(method, task, X, y, splits, args, seed)
                except Exception as exc:  # noqa: BLE001 - a method that fails is reported, not fatal
                    print(f"{name} seed {seed} {method}: FAILED {type(exc).__name__}: {exc}", flush=True)
                    continue
                seconds = time.perf_counter() - t0
                # the test score of what the search returns (cut at the budget: see within_budget)
                test = float(test_model.score(X_test, y_test))
                results[method] = (scores, epochs, test, seconds)
                print(f"{name} seed {seed} {method}: best CV {scores[-1]:.4f} test {test:.4f} "
                      f"epochs {int(epochs.sum())} trials {len(scores)} {seconds:.1f} s", flush=True)
                print(where_time_went(search, len(splits)), flush=True)
            target = results["RandomizedSearchCV"][0][-1] if "RandomizedSearchCV" in results else None
            for method, (scores, epochs, test, seconds) in results.items():
                reach = None if target is None else epochs_to_reach(scores, epochs, target)
                rows.setdefault((name, method), []).append(
                    (float(scores[-1]), test, float(epochs.sum()), reach, seconds))
                # one line per seed and method, so that a partial run can be tabled too
                print(f"SEED {name} {seed} {method} best_cv={scores[-1]:.4f} test={test:.4f} "
                      f"epochs={int(epochs.sum())} to_target={reach} target={target}", flush=True)

    print()
    print(f"Seeds {args.seeds}; {args.trials} trials x {args.max_epochs} epochs for full-fidelity "
          f"methods, 3-fold CV, {args.n_train} training rows at most; scores: accuracy / R^2.")
    print()
    print("| data set | method | best CV | test | epochs | reached | to target (reached) | "
          "to target (all seeds) | s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in args.datasets:
        rs = rows.get((name, "RandomizedSearchCV"))
        rs_epochs = np.mean([r[2] for r in rs]) if rs else None
        for method in args.methods:
            got = rows.get((name, method))
            if not got:
                continue
            cv, test, ep, reach, sec = (np.array([r[i] for r in got], dtype=object) for i in range(5))
            ratios = [None if r is None or not rs_epochs else r / rs_epochs for r in reach]
            reached = [r for r in ratios if r is not None]
            mean_reached = f"{np.mean(reached):.2f}" if reached else "-"
            # a seed that never reached the target counts as its whole budget (1.0)
            censored = f"{np.mean([1.0 if r is None else r for r in ratios]):.2f}" if rs_epochs else "-"
            print(f"| {name} | {method} | {np.mean(cv.astype(float)):.4f} ± {np.std(cv.astype(float)):.4f} "
                  f"| {np.mean(test.astype(float)):.4f} | {np.mean(ep.astype(float)):.0f} "
                  f"| {len(reached)}/{len(got)} | {mean_reached} | {censored} | {np.mean(sec.astype(float)):.1f} |")


if __name__ == "__main__":
    main()
