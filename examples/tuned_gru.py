"""Tune a GRU on handwritten digits read as sequences, with Hyperband.

Each 8x8 digit image is read row by row: a sequence of 8 timesteps with 8
features.  ``TunedGRU`` runs KerasTuner's Hyperband oracle: many
configurations get one epoch, the best are *continued* (not restarted) for
more epochs, and the winner is refit on all the training data.

    python examples/tuned_gru.py                        # ~1-2 min on 2 CPU cores
    python examples/tuned_gru.py --plot search.png      # also save the search plot
    SKGRU_FAST=1 python examples/tuned_gru.py           # seconds (CI smoke run)

Needs ``pip install 'skgru[tuner,plot]'``.
"""

import argparse
import os
import time

from scipy.stats import loguniform
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skgru import GRUClassifier
from skgru.tuning import TunedGRU


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plot", metavar="PATH", default=None,
                        help="save the plot_search figure to PATH (default: no file)")
    parser.add_argument("--max-epochs", type=int, default=9,
                        help="Hyperband's largest budget in epochs (default 9)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    fast = os.environ.get("SKGRU_FAST", "") not in ("", "0")

    X, y = load_digits(return_X_y=True)
    X = (X.reshape(-1, 8, 8) / 16.0).astype("float32")  # (n, 8 rows, 8 pixels)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=args.seed)
    max_epochs = args.max_epochs
    if fast:
        X_train, y_train = X_train[:300], y_train[:300]
        max_epochs = 3  # 6 trials: 3 x 1 epoch (best continued to 3), 2 x 3 epochs

    search_space = {
        "units": [16, 32, 64],
        "dropout": [0.0, 0.1, 0.2],
        "learning_rate": loguniform(1e-3, 2e-2),
        "batch_size": [32, 64],
    }
    tuned = TunedGRU(
        GRUClassifier(n_iter_no_change=max_epochs),
        search_space,
        tuner="hyperband",
        max_epochs=max_epochs,
        hyperband_factor=3,
        max_trials=None,  # one full Hyperband iteration
        scoring="accuracy",
        random_state=args.seed,
        verbose=1,
    )
    start = time.perf_counter()
    tuned.fit(X_train, y_train)
    elapsed = time.perf_counter() - start

    print(f"\n{tuned.n_trials_} trials, {tuned.n_epochs_spent_} epochs trained, "
          f"{elapsed:.1f} s")
    print(f"best params:              {tuned.best_params_}")
    print(f"best validation accuracy: {tuned.best_score_:.3f} "
          f"(budget {tuned.best_budget_} epochs)")
    print(f"held-out test accuracy:   {tuned.score(X_test, y_test):.3f}")

    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        from skgru.plotting import plot_search

        fig = plot_search(tuned)
        fig.savefig(args.plot, dpi=110)
        print(f"search plot saved to {args.plot}")
    return tuned


if __name__ == "__main__":
    main()
