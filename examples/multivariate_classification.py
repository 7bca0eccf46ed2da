"""Multivariate time-series classification: SequenceScaler + GRUClassifier.

Data, in order of preference:

* aeon's BasicMotions (when ``aeon`` is installed: ``pip install skgru[datasets]``):
  smartwatch accelerometer + gyroscope, 6 channels x 100 steps, 4 activities,
  40 train / 40 test series, shipped with aeon.  aeon returns *channels-first*
  arrays ``(n_cases, n_channels, n_timepoints)``, so both pipeline steps get
  ``input_layout="nft"`` and no transposing is needed.
* otherwise scikit-learn's digits, read as sequences: each 8x8 image is 8
  timesteps (rows) of 8 features (pixels in the row), ``(n, 8, 8)``,
  ``input_layout="ntf"``.  ``--digits`` forces this path.

The GRU pipeline is printed beside a 1-nearest-neighbour baseline on the
flattened, standardised series (published BasicMotions baseline: 1-NN-DTW 0.975).

Run::

    python examples/multivariate_classification.py          # a few minutes on 2 CPU cores
    SKGRU_FAST=1 python examples/multivariate_classification.py   # seconds (CI smoke run)
    python examples/multivariate_classification.py --digits --fast
"""

import argparse
import os

import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import accuracy_score, confusion_matrix
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skgru import GRUClassifier
from skgru.preprocessing import SequenceScaler


def load_data(force_digits=False, fast=False):
    """Return ``name, layout, X_train, X_test, y_train, y_test``."""
    if not force_digits:
        try:
            from aeon.datasets import load_basic_motions
        except ImportError:
            print("aeon is not installed: using scikit-learn's digits as 8-step sequences")
        else:
            X_train, y_train = load_basic_motions(split="TRAIN")  # (40, 6, 100), channels first
            X_test, y_test = load_basic_motions(split="TEST")
            return "BasicMotions", "nft", X_train, X_test, np.asarray(y_train), np.asarray(y_test)
    digits = load_digits()
    X = digits.images  # (n, 8, 8): 8 timesteps (rows) x 8 features (pixels of a row)
    y = digits.target
    if fast:
        X, y = X[:300], y[:300]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y
    )
    return "digits", "ntf", X_train, X_test, y_train, y_test


def main(fast=False, force_digits=False):
    name, layout, X_train, X_test, y_train, y_test = load_data(force_digits, fast)
    axes = "(n, channels, timesteps)" if layout == "nft" else "(n, timesteps, features)"
    print(f"{name}: train {X_train.shape}, test {X_test.shape} {axes}, "
          f"{len(np.unique(y_train))} classes")

    gru = make_pipeline(
        SequenceScaler(input_layout=layout),  # per channel, over all samples and timesteps
        GRUClassifier(
            input_layout=layout,
            units=8 if fast else 64,
            epochs=2 if fast else (150 if name == "BasicMotions" else 40),
            batch_size=8 if name == "BasicMotions" else 32,
            learning_rate=0.003,
            random_state=0,
        ),
    )
    gru.fit(X_train, y_train)
    pred = gru.predict(X_test)
    acc = accuracy_score(y_test, pred)
    print(f"GRU test accuracy: {acc:.3f} ({gru[-1].n_iter_} epochs)")

    knn = make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=1))
    knn.fit(X_train.reshape(len(X_train), -1), y_train)
    knn_acc = accuracy_score(y_test, knn.predict(X_test.reshape(len(X_test), -1)))
    print(f"1-NN (Euclidean, flattened) test accuracy: {knn_acc:.3f}")

    labels = gru.classes_
    print("GRU confusion matrix (rows: true, columns: predicted), classes:", labels.tolist())
    print(confusion_matrix(y_test, pred, labels=labels))
    return {"dataset": name, "gru_accuracy": acc, "knn_accuracy": knn_acc}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="tiny run for CI (or SKGRU_FAST=1)")
    parser.add_argument("--digits", action="store_true",
                        help="use digits even if aeon is installed")
    args = parser.parse_args()
    main(fast=args.fast or os.environ.get("SKGRU_FAST") == "1", force_digits=args.digits)
