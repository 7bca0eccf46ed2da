"""Quickstart: a GRU classifier on handwritten digits read as sequences.

Each 8x8 digit image is read row by row: 8 timesteps of 8 features. The GRU is
used exactly like any scikit-learn classifier.

Run:  python examples/quickstart.py                  (well under a minute on 2 CPU cores)
      python examples/quickstart.py --plot history.png   (also draw the learning curves)
      SKGRU_FAST=1 python examples/quickstart.py     (seconds; what CI runs)
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from skgru import GRUClassifier  # noqa: E402

parser = argparse.ArgumentParser(description="skgru quickstart")
parser.add_argument("--plot", metavar="PATH", help="save the learning curves (needs matplotlib)")
args = parser.parse_args()
FAST = os.environ.get("SKGRU_FAST") == "1"

X, y = load_digits(return_X_y=True)
X = X.reshape(-1, 8, 8) / 16.0  # (n_samples, n_timesteps, n_features)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)

clf = GRUClassifier(
    units=64,
    epochs=5 if FAST else 100,
    early_stopping=True,  # hold out 10%, stop when validation loss stalls, keep the best epoch
    metrics=["accuracy"],
    random_state=0,
)
clf.fit(X_train, y_train)

print(f"epochs run: {clf.n_iter_}, best epoch: {clf.best_epoch_}")
print(f"test accuracy: {clf.score(X_test, y_test):.3f}")
print("class probabilities of the first test digit:", clf.predict_proba(X_test[:1]).round(2))

if args.plot:
    from skgru.plotting import plot_history

    plot_history(clf).savefig(args.plot, dpi=110, bbox_inches="tight")
    print(f"learning curves saved to {args.plot}")
