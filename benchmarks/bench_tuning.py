"""Benchmark: TunedGRU (Hyperband, Bayesian) vs sklearn RandomizedSearchCV.

Digits as 8x8 sequences, one search space, (roughly) the same total epoch
budget for every method.  Hyperband spends its budget unevenly (many short
trials, continued winners); the Bayesian search and RandomizedSearchCV give
every trial ``max_epochs`` epochs, so they get ``budget // max_epochs``
trials.  Every method scores candidates on the same kind of hold-out split
(RandomizedSearchCV with a single ``ShuffleSplit``) and refits its best on
the training set; the table reports accuracy on a separate test set.

    python benchmarks/bench_tuning.py                 # small defaults, a few minutes
    python benchmarks/bench_tuning.py --max-epochs 9 --n-samples 1797

Not run by the tests.
"""

import argparse
import time
import warnings

import numpy as np
from scipy.stats import loguniform
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import RandomizedSearchCV, StratifiedShuffleSplit, train_test_split

from skgru import GRUClassifier
from skgru.tuning import TunedGRU


def hyperband_epochs(max_epochs, factor):
    """Total epochs of one Hyperband iteration with continuation (KerasTuner sizes)."""
    import math

    def n_brackets():
        e, b = max_epochs, 0
        while e >= 1:
            e, b = e / factor, b + 1
        return b

    end0 = math.ceil(1 + math.log(max_epochs, factor))
    total = 0
    for b in range(n_brackets()):
        prev = 0
        for r in range(b + 1):
            size = math.ceil(end0 / (b + 1) * factor ** (b - r))
            epochs = math.ceil(max_epochs / factor ** (b - r))
            total += size * (epochs - prev)
            prev = epochs
    return total


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-samples", type=int, default=900, help="digits used (max 1797)")
    p.add_argument("--max-epochs", type=int, default=6)
    p.add_argument("--factor", type=int, default=3)
    p.add_argument("--budget", type=int, default=None,
                   help="total epochs per method (default: one Hyperband iteration)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    X, y = load_digits(return_X_y=True)
    X = (X.reshape(-1, 8, 8) / 16.0).astype("float32")[: args.n_samples]
    y = y[: args.n_samples]
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, stratify=y,
                                              random_state=args.seed)
    space = {
        "units": [16, 32, 64],
        "dropout": [0.0, 0.1, 0.2],
        "learning_rate": loguniform(1e-3, 2e-2),
        "batch_size": [32, 64],
    }
    budget = args.budget or hyperband_epochs(args.max_epochs, args.factor)
    n_fixed = max(1, budget // args.max_epochs)
    base = GRUClassifier(epochs=args.max_epochs, n_iter_no_change=args.max_epochs)
    print(f"train {len(X_tr)}, test {len(X_te)}; budget ~{budget} epochs; "
          f"fixed-epoch methods: {n_fixed} trials x {args.max_epochs} epochs\n")

    rows = []

    def run(name, make):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            search, epochs = make()
        wall = time.perf_counter() - t0
        rows.append((name, search.score(X_te, y_te), search.best_score_, epochs, wall))

    def hyperband():
        s = TunedGRU(base, space, tuner="hyperband", max_epochs=args.max_epochs,
                     hyperband_factor=args.factor, max_trials=None, scoring="accuracy",
                     random_state=args.seed).fit(X_tr, y_tr)
        return s, s.n_epochs_spent_

    def bayesian():
        s = TunedGRU(base, space, tuner="bayesian", max_trials=n_fixed,
                     max_epochs=args.max_epochs, scoring="accuracy",
                     tuner_params={"num_initial_points": max(2, n_fixed // 3)},
                     random_state=args.seed).fit(X_tr, y_tr)
        return s, s.n_epochs_spent_

    def randomized(n_iter):
        s = RandomizedSearchCV(
            clone(base).set_params(random_state=args.seed), space, n_iter=n_iter,
            scoring="accuracy",
            cv=StratifiedShuffleSplit(n_splits=1, test_size=0.2, random_state=args.seed),
            random_state=args.seed).fit(X_tr, y_tr)
        return s, n_iter * args.max_epochs

    run("TunedGRU hyperband", hyperband)
    run("TunedGRU bayesian", bayesian)
    run("RandomizedSearchCV", lambda: randomized(n_fixed))
    # The target: Hyperband reaches random search's score with at most half
    # the epochs, i.e. Hyperband at budget B against random search at 2B.
    run("RandomizedSearchCV 2x", lambda: randomized(2 * n_fixed))

    head = f"{'method':<22}{'test acc':>10}{'val acc':>10}{'epochs':>9}{'wall s':>9}"
    print(head)
    print("-" * len(head))
    for name, test, val, epochs, wall in rows:
        print(f"{name:<22}{test:>10.3f}{val:>10.3f}{epochs:>9d}{wall:>9.1f}")
    return rows


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
