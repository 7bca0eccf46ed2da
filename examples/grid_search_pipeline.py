"""Hyperparameter search over a preprocessing + GRU pipeline with plain scikit-learn.

``GRUClassifier`` is an ordinary scikit-learn estimator, so the usual tools work
unchanged:

1. ``GridSearchCV`` over ``make_pipeline(StandardScaler(), GRUClassifier(n_features=8))``
   on digits given as *flattened* rows: each 8x8 image is one row of 64 columns,
   timestep-major (column ``j`` = row ``j // 8``, pixel ``j % 8`` of the image).
   ``StandardScaler`` scales each of the 64 columns on its own; ``n_features=8``
   tells the GRU to read the row back as 8 timesteps of 8 features.
2. ``RandomizedSearchCV`` over ``make_pipeline(SequenceScaler(n_features=8),
   GRUClassifier(n_features=8))`` with ``learning_rate`` drawn from
   ``scipy.stats.loguniform``.  ``SequenceScaler`` standardises each of the 8
   *sequence* features over all samples and timesteps, so every timestep is
   scaled the same way (what a recurrent network expects).

Each search prints its best parameters, its best cross-validated accuracy, the
accuracy of the refitted best pipeline on a held-out test set the search never
saw, and a small ``pandas`` table of ``cv_results_``.

Run::

    python examples/grid_search_pipeline.py            # a few minutes on 2 CPU cores
    SKGRU_FAST=1 python examples/grid_search_pipeline.py   # seconds (CI smoke run)
    python examples/grid_search_pipeline.py --fast
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pandas as pd  # noqa: E402
from scipy.stats import loguniform  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import (  # noqa: E402
    GridSearchCV,
    RandomizedSearchCV,
    StratifiedKFold,
    train_test_split,
)
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skgru import GRUClassifier  # noqa: E402
from skgru.preprocessing import SequenceScaler  # noqa: E402


def results_table(search):
    """The interesting columns of ``cv_results_`` as a DataFrame, best first."""
    df = pd.DataFrame(search.cv_results_)
    params = [c for c in df.columns if c.startswith("param_")]
    cols = params + ["mean_test_score", "std_test_score", "mean_fit_time", "rank_test_score"]
    table = df[cols].sort_values("rank_test_score")
    return table.rename(columns=lambda c: c.replace("param_gruclassifier__", ""))


def report(name, search, X_test, y_test):
    print(f"\n== {name} ==")
    best = {k.replace("gruclassifier__", ""): (round(float(v), 5) if isinstance(v, float) else v)
            for k, v in search.best_params_.items()}
    print("best params:", best)
    print(f"best CV accuracy: {search.best_score_:.3f}")
    print(f"held-out test accuracy: {search.score(X_test, y_test):.3f}")
    with pd.option_context("display.width", 120, "display.precision", 4):
        print(results_table(search).to_string(index=False))


def main(fast=False):
    X, y = load_digits(return_X_y=True)  # X: (n, 64) flattened 8x8 images, values 0..16
    if fast:
        X, y = X[:300], y[:300]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    print(f"digits: {X_train.shape[0]} train / {X_test.shape[0]} test rows of "
          f"{X.shape[1]} columns = 8 timesteps x 8 features")

    epochs = 2 if fast else 20
    cv = StratifiedKFold(n_splits=2 if fast else 3, shuffle=True, random_state=0)
    base = dict(n_features=8, epochs=epochs, batch_size=32, random_state=0)

    # 1. Exhaustive grid over a StandardScaler + GRU pipeline.
    grid_pipe = make_pipeline(StandardScaler(), GRUClassifier(**base))
    grid = {"gruclassifier__units": [8, 16]} if fast else {
        "gruclassifier__units": [16, 32],
        "gruclassifier__dropout": [0.0, 0.2],
    }
    grid_search = GridSearchCV(grid_pipe, grid, cv=cv, scoring="accuracy", n_jobs=1)
    grid_search.fit(X_train, y_train)
    report("GridSearchCV: StandardScaler -> GRUClassifier(n_features=8)",
           grid_search, X_test, y_test)

    # 2. Random search with a log-uniform learning rate over a SequenceScaler + GRU pipeline.
    rand_pipe = make_pipeline(SequenceScaler(n_features=8), GRUClassifier(**base))
    distributions = {
        "gruclassifier__learning_rate": loguniform(1e-4, 3e-2),
        "gruclassifier__units": [8, 16] if fast else [16, 32, 64],
    }
    rand_search = RandomizedSearchCV(
        rand_pipe, distributions, n_iter=2 if fast else 5, cv=cv, scoring="accuracy",
        n_jobs=1, random_state=0,
    )
    rand_search.fit(X_train, y_train)
    report("RandomizedSearchCV: SequenceScaler -> GRUClassifier(n_features=8)",
           rand_search, X_test, y_test)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="tiny run for CI (or SKGRU_FAST=1)")
    args = parser.parse_args()
    main(fast=args.fast or os.environ.get("SKGRU_FAST") == "1")
