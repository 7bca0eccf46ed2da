"""Benchmark: what ``TunedGRU()`` should search for a regressor, chosen on training splits.

``TunedGRU()`` (its default space and shuffled 20% hold-out) scored below its own base
estimator's defaults on the regression test splits of ``bench_accuracy.py`` (issue 12:
nile 128-156 RMSE against the defaults' 113 and the training mean's 122; airline 64
against 26 on seed 0). This script asks, on the **training splits only**, which variant
of the search to ship. Each task is one fold of ``bench_accuracy.py``'s selection CV
(3 folds: ``TimeSeriesSplit`` for forecasting windows, past -> future; shuffled
``KFold`` for the simulated set): a candidate is fitted on the fold's training rows
and scored by R^2 on its validation rows (1 - MSE / variance of those rows' targets:
0 is predicting their mean). The dummy model, Ridge and the base estimator's defaults
are scored on the same folds for context. No test split is loaded.

Candidates (``CANDIDATES``):

* ``defaults``: ``GRURegressor(random_state=seed)``, no search;
* ``tuned``: ``TunedGRU(GRURegressor(random_state=seed), random_state=seed)``, what
  ``TunedGRU()`` does today;
* ``tuned-skip``: the same search without ``linear_skip`` in the space (every trial
  keeps the estimator's linear skip, its default since round 3);
* ``tuned-cv3``: the current space scored by 3-fold CV (``cv=3``: unshuffled
  ``KFold``, contiguous blocks of rows) instead of the shuffled hold-out;
* ``tuned-skip-cv3``: both;
* ``tuned-last``: the current space scored on the **last** 20% of the rows (one split,
  as ``train_test_split(shuffle=False)`` holds out), not a shuffled 20%: on overlapping
  forecasting windows a shuffled hold-out holds out near-duplicates of training rows;
* ``tuned-skip-last``: the last 20% and no ``linear_skip`` in the space;
* ``tuned-defaults-first``: a stand-in for a 10-trial search whose first trial is the
  estimator's own configuration (TunedGRU has no such option): ``TunedGRU(max_trials=9)``
  beside a one-trial search over the defaults alone, which holds out the same rows (the
  split depends only on ``random_state``); the defaults are kept when their hold-out R^2
  is at least the nine trials' best (a tie goes to the first trial, as in TunedGRU).
* ``tuned-defaults-1se``: the same nine trials and the defaults on the same hold-out,
  but the search moves off the defaults only when its best trial beats them by more
  than the hold-out's noise: the mean of the paired per-row differences of squared
  error (defaults minus best trial; R^2 differs by that mean times n / SST, so the sign
  and the test are those of R^2) must exceed one standard error of that mean. The
  per-row errors come from refitting the defaults and the best trial's configuration
  on the hold-out's training rows with the same seed (the printed ``refit R^2`` beside
  the search's ``best_score_`` shows how close that is to the trial itself). Its two
  sides are scored on the same folds as ``tuned-defaults-1se:defaults`` (the defaults
  refit on the fold's rows) and ``tuned-defaults-1se:search-9`` (the nine-trial search,
  refit): a paired reference at no extra search cost.
* ``tuned-near-9``: a smaller space around the defaults, nine trials (to pair with
  ``tuned-defaults-1se:search-9`` on the same hold-outs and folds): ``units`` {32, 64,
  128}, ``dropout`` U(0, 0.4), ``learning_rate`` logU(3e-4, 1e-2), ``batch_size`` {16, 32}
  (the default space's own ranges); every architecture choice (layers, direction,
  patching, pooling, convolutions, the linear skip) stays the estimator's.
* ``tss-near-or-defaults``: what the tuning guide ("Tuning a forecaster") tells a user to
  do with windows of one series: ``tuned-near-9``'s space searched on
  ``TimeSeriesSplit(3)`` of the rows (every trial trains on the past), the defaults scored
  by ``cross_val_score`` on the same folds, and the search kept only when its
  ``best_score_`` is higher. Its sides are scored as ``:defaults`` and ``:search``. Meant
  for the forecasting sets (sim-mv-reg's rows are not in time order).

    python benchmarks/bench_tuned_select.py --seeds 0
    python benchmarks/bench_tuned_select.py --seeds 1 --candidates tuned tuned-skip
    python benchmarks/bench_tuned_select.py --sizes   # rows each search is ranked on

Not run by the tests.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

REGRESSION_SETS = ["nile", "airline", "sunspots", "sim-mv-reg", "elnino", "co2"]


def _space_without(estimator, X, names):
    from skgru.tuning._search_space import default_search_space

    n_timesteps = np.asarray(X).shape[1] if not isinstance(X, list) else None
    space = default_search_space(estimator, "random", n_timesteps=n_timesteps)
    return {k: v for k, v in space.items() if k not in names}


def _last_rows(n, fraction=0.2):
    """One split holding out the last ``fraction`` of ``n`` rows."""
    n_val = int(np.ceil(n * fraction))  # as the shuffled hold-out counts it
    return [(np.arange(n - n_val), np.arange(n - n_val, n))]


def _tuned(seed, X, *, skip_fixed=False, cv=None, max_trials=10):
    from skgru import GRURegressor, TunedGRU

    est = GRURegressor(random_state=seed)
    if cv == "last":
        cv = _last_rows(len(X))
    space = _space_without(est, X, {"linear_skip"}) if skip_fixed else None
    return TunedGRU(est, space, cv=cv, random_state=seed, max_trials=max_trials)


def _near_defaults(seed, X, max_trials=9):
    """The ``tuned-near-9`` candidate (see the module docstring)."""
    from skgru import GRURegressor, TunedGRU

    space = _space_without(GRURegressor(), X, set())
    near = {k: space[k] for k in ("units", "dropout", "learning_rate", "batch_size")}
    return TunedGRU(GRURegressor(random_state=seed), near, random_state=seed, max_trials=max_trials)


class _Choice:
    """A stand-in that fits two models and predicts with the one ``fit`` chose
    (``model_``); ``X``, the candidates' common signature, is unused: ``fit`` gets the rows."""

    def __init__(self, seed, X):
        self.seed = seed

    def predict(self, X):
        return self.model_.predict(X)


class TimeOrderedOrDefaults(_Choice):
    """The ``tss-near-or-defaults`` candidate (see the module docstring)."""

    def fit(self, X, y):
        from sklearn.base import clone
        from sklearn.model_selection import TimeSeriesSplit, cross_val_score

        from skgru import GRURegressor

        folds = list(TimeSeriesSplit(3).split(np.zeros(len(y))))
        search = _near_defaults(self.seed, X).set_params(cv=folds).fit(X, y)
        est = GRURegressor(random_state=self.seed)
        defaults_cv = float(np.mean(cross_val_score(clone(est), X, y, cv=folds)))
        keep = not search.best_score_ > defaults_cv  # a NaN score keeps the defaults
        defaults = clone(est).fit(X, y)
        self.best_params_ = (("defaults" if keep else "search")
                             + f" (search best_score_ {search.best_score_:.4f}, defaults on the same"
                             f" folds {defaults_cv:.4f}): {search.best_params_}")
        self.model_ = defaults if keep else search
        self.alternatives_ = {"defaults": defaults, "search": search}
        return self


class DefaultsFirst(_Choice):
    """The ``tuned-defaults-first`` stand-in (see the module docstring)."""

    def fit(self, X, y):
        from skgru import GRURegressor, TunedGRU

        search = _tuned(self.seed, X, max_trials=9).fit(X, y)
        est = GRURegressor(random_state=self.seed)
        # a one-value space: the one trial is the defaults themselves, on the same hold-out
        alone = TunedGRU(est, {"units": [est.units]}, max_trials=1, random_state=self.seed).fit(X, y)
        self.kept_defaults_ = alone.best_score_ >= search.best_score_
        self.best_params_ = ("defaults (hold-out R^2 %.4f >= %.4f)" % (alone.best_score_, search.best_score_)
                             if self.kept_defaults_ else
                             "search (%.4f < %.4f): %s" % (alone.best_score_, search.best_score_, search.best_params_))
        self.model_ = alone if self.kept_defaults_ else search
        return self


class DefaultsOneSE(_Choice):
    """The ``tuned-defaults-1se`` stand-in (see the module docstring)."""

    def fit(self, X, y):
        from bench_accuracy import _take
        from sklearn.base import clone

        from skgru import GRURegressor, TunedGRU
        from skgru.tuning._hold_out import hold_out_split

        est = GRURegressor(random_state=self.seed)
        # the hold-out TunedGRU(random_state=seed) draws itself, made explicit
        [(tr, va)] = split = hold_out_split(est, y, len(y), TunedGRU().validation_fraction, self.seed)
        search = TunedGRU(est, None, cv=split, random_state=self.seed,
                          max_trials=9).fit(X, y)
        X_tr, X_va = _take(X, tr), _take(X, va)
        sq = {}
        for label, params in (("defaults", {}), ("best", search.best_params_)):
            model = clone(est).set_params(**params).fit(X_tr, y[tr])
            sq[label] = (np.asarray(y[va], float).ravel() - np.ravel(model.predict(X_va))) ** 2
        diff = sq["defaults"] - sq["best"]  # > 0 where the best trial is closer
        se = diff.std(ddof=1) / np.sqrt(len(diff))
        sst = np.sum((y[va] - np.mean(y[va])) ** 2)
        refit_r2 = 1 - np.sum(sq["best"]) / sst
        self.kept_defaults_ = not diff.mean() > se
        self.best_params_ = (("defaults" if self.kept_defaults_ else "search")
                             + f" (mean gain {diff.mean():.4g}, SE {se:.4g}, refit R^2 {refit_r2:.4f},"
                             f" search best_score_ {search.best_score_:.4f}): {search.best_params_}")
        defaults = clone(est).fit(X, y)
        self.model_ = defaults if self.kept_defaults_ else search
        # both sides of the choice, scored on the same fold by run(): the paired reference
        self.alternatives_ = {"defaults": defaults, "search-9": search}
        return self


CANDIDATES = {
    "defaults": lambda seed, X: __import__("skgru").GRURegressor(random_state=seed),
    "tuned": lambda seed, X: _tuned(seed, X),
    "tuned-skip": lambda seed, X: _tuned(seed, X, skip_fixed=True),
    "tuned-cv3": lambda seed, X: _tuned(seed, X, cv=3),
    "tuned-skip-cv3": lambda seed, X: _tuned(seed, X, skip_fixed=True, cv=3),
    "tuned-last": lambda seed, X: _tuned(seed, X, cv="last"),
    "tuned-skip-last": lambda seed, X: _tuned(seed, X, skip_fixed=True, cv="last"),
    "tuned-defaults-first": DefaultsFirst,
    "tuned-defaults-1se": DefaultsOneSE,
    "tuned-near-9": _near_defaults,
    "tss-near-or-defaults": TimeOrderedOrDefaults,
}


def run(names, seeds, candidates):
    from _datasets import load
    from bench_accuracy import _baseline_rows, _cv_splits, _fold_r2, _take

    print(f"\nTunedGRU variants for a regressor: 3-fold CV on the TRAIN split (TimeSeriesSplit "
          f"for forecasting windows), seeds {list(seeds)}. R^2.\n")
    print("| data set | candidate | CV R^2 | seconds per fit |")
    print("|---|---|---|---|")
    table = {}
    for name in names:
        ds = load(name)
        _baseline_rows(ds, seeds, False, 3)
        for cand in candidates:
            t0, scores, alternatives = time.perf_counter(), [], {}
            for seed in seeds:
                for tr, va in _cv_splits(ds, seed, 3):
                    X_tr, X_va = _take(ds.X_train, tr), _take(ds.X_train, va)
                    model = CANDIDATES[cand](seed, X_tr).fit(X_tr, ds.y_train[tr])
                    scores.append(_fold_r2(ds.y_train[va], model.predict(X_va)))
                    for alt, alt_model in getattr(model, "alternatives_", {}).items():
                        alternatives.setdefault(alt, []).append(
                            _fold_r2(ds.y_train[va], alt_model.predict(X_va)))
                    if hasattr(model, "best_params_"):
                        print(f"    {name} {cand} seed {seed}: fold R^2 {scores[-1]:.4f}, "
                              f"best_params_ {model.best_params_}", flush=True)
            table[(name, cand)] = np.mean(scores)
            n_fits = len(scores)
            for alt, alt_scores in alternatives.items():
                table[(name, f"{cand}:{alt}")] = np.mean(alt_scores)
                print(f"| {name} | {cand}:{alt} | {np.mean(alt_scores):.3f} ± {np.std(alt_scores):.3f} | |")
                print(f"FOLDS {name} {cand}:{alt} " + " ".join(f"{v:.4f}" for v in alt_scores), flush=True)
            print(f"| {name} | {cand} | {np.mean(scores):.3f} ± {np.std(scores):.3f} | "
                  f"{(time.perf_counter() - t0) / n_fits:.0f} |", flush=True)
            print(f"FOLDS {name} {cand} " + " ".join(f"{v:.4f}" for v in scores), flush=True)
    print("\nMean CV R^2 per candidate over the sets above (each set clipped at -1):\n")
    print("| candidate | mean R^2 | sets |")
    print("|---|---|---|")
    columns = {key[1] for key in table}
    for cand in candidates:
        for column in [cand, *sorted(c for c in columns if c.startswith(cand + ":"))]:
            vals = [max(table[(n, column)], -1.0) for n in names if (n, column) in table]
            print(f"| {column} | {np.mean(vals):.3f} | {len(vals)} |", flush=True)
    return table


def print_sizes(names):
    """How many rows each search is ranked on: the training windows, the rows
    ``TunedGRU()``'s default hold-out keeps back, and the selection folds' training rows."""
    from _datasets import load
    from bench_accuracy import _cv_splits

    from skgru import GRURegressor, TunedGRU
    from skgru.tuning._hold_out import hold_out_split

    fraction = TunedGRU().validation_fraction
    print(f"| data set | training windows | TunedGRU() hold-out rows ({fraction:.0%}) | "
          "selection folds' training rows (seed 0) |")
    print("|---|---|---|---|")
    for name in names:
        ds = load(name)
        y = ds.y_train
        [(_, held)] = hold_out_split(GRURegressor(), y, len(y), fraction, 0)
        folds = [len(tr) for tr, _ in _cv_splits(ds, 0, 3)]
        print(f"| {name} | {len(y)} | {len(held)} | {', '.join(map(str, folds))} |", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=REGRESSION_SETS, choices=REGRESSION_SETS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--candidates", nargs="+", default=list(CANDIDATES), choices=list(CANDIDATES))
    parser.add_argument("--sizes", action="store_true",
                        help="only print how many rows each search is ranked on (seconds)")
    args = parser.parse_args(argv)
    from bench_accuracy import print_environment

    print_environment()
    if args.sizes:
        return print_sizes(args.datasets)
    run(args.datasets, args.seeds, args.candidates)


if __name__ == "__main__":
    main()
