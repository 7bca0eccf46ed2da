"""Quickstart: a GRU classifier on handwritten digits read as sequences.

Each 8x8 digit image is read row by row: 8 timesteps of 8 features. The GRU is
used exactly like any scikit-learn classifier.

Run:  python examples/quickstart.py          (about a minute on 2 CPU cores)
      SKGRU_FAST=1 python examples/quickstart.py   (seconds; what CI runs)
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from skgru import GRUClassifier  # noqa: E402

FAST = os.environ.get("SKGRU_FAST") == "1"

X, y = load_digits(return_X_y=True)
X = X.reshape(-1, 8, 8) / 16.0  # (n_samples, n_timesteps, n_features)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)

clf = GRUClassifier(units=64, epochs=5 if FAST else 100, random_state=0)
clf.fit(X_train, y_train)

print(f"epochs run: {clf.n_iter_}")
print(f"test accuracy: {clf.score(X_test, y_test):.3f}")
print("class probabilities of the first test digit:", clf.predict_proba(X_test[:1]).round(2))
