"""Reference implementations the benchmarks compare skgru against.

* a hand-written SciKeras GRU (what users write today),
* raw Keras (``keras.Model`` + ``fit``),
* skorch with a PyTorch ``nn.GRU`` (optional: skipped when torch/skorch are missing).

Each builds the same network: GRU(units) -> Dense(n_classes, softmax).
"""

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np


def rss_mb():
    """Resident set size of this process, in MB (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def digits_sequences():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X.reshape(-1, 8, 8) / 16.0).astype("float32"), y


def keras_gru(n_timesteps, n_features, n_outputs, units, learning_rate=1e-3, activation="softmax"):
    import keras

    inputs = keras.Input(shape=(n_timesteps, n_features))
    x = keras.layers.GRU(units)(inputs)
    outputs = keras.layers.Dense(n_outputs, activation=activation)(x)
    model = keras.Model(inputs, outputs)
    loss = "sparse_categorical_crossentropy" if activation == "softmax" else "mse"
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss)
    return model


def scikeras_classifier(units=16, learning_rate=1e-3, epochs=10, batch_size=32):
    """The hand-written SciKeras model a user would write (unseeded: SciKeras' seeding
    switches on process-wide op determinism, which would distort every later fit)."""
    from scikeras.wrappers import KerasClassifier

    def build(meta, units, learning_rate):
        return keras_gru(meta["X_shape_"][1], meta["X_shape_"][2], meta["n_classes_"], units, learning_rate)

    return KerasClassifier(
        model=build,
        model__units=units,
        model__learning_rate=learning_rate,
        loss="sparse_categorical_crossentropy",
        epochs=epochs,
        batch_size=batch_size,
        verbose=0,
    )


def skorch_available():
    try:
        import skorch  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def skorch_classifier(units=16, learning_rate=1e-3, epochs=10, batch_size=32, n_features=8, n_classes=10):
    import torch
    from skorch import NeuralNetClassifier
    from torch import nn

    torch.set_num_threads(os.cpu_count() or 1)

    class GRUNet(nn.Module):
        def __init__(self, units=16, n_features=8, n_classes=10):
            super().__init__()
            self.gru = nn.GRU(n_features, units, batch_first=True)
            self.out = nn.Linear(units, n_classes)

        def forward(self, X):
            seq, _ = self.gru(X)
            return self.out(seq[:, -1])

    return NeuralNetClassifier(
        GRUNet,
        module__units=units,
        module__n_features=n_features,
        module__n_classes=n_classes,
        criterion=nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=learning_rate,
        max_epochs=epochs,
        batch_size=batch_size,
        train_split=None,
        iterator_train__shuffle=True,
        verbose=0,
    )


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


def print_table(rows, columns):
    widths = [max(len(str(c)), *(len(str(r.get(c, ""))) for r in rows)) for c in columns]
    line = " | ".join(str(c).ljust(w) for c, w in zip(columns, widths))
    print(line)
    print("-|-".join("-" * w for w in widths))
    for r in rows:
        print(" | ".join(str(r.get(c, "")).ljust(w) for c, w in zip(columns, widths)))


# ------------------------------------------------------------ accuracy references
# (issue 12) Baselines beside skgru on the accuracy benchmark's data sets. ``X`` is in
# skgru's convention (see benchmarks/_datasets.py); each runner returns a fitted model
# with ``predict`` on the same kind of input.


class _AeonInput:
    """Wrap an aeon estimator so it takes skgru-convention X (2D/3D/list)."""

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X, y):
        from _datasets import to_aeon

        self.estimator.fit(to_aeon(X), y)
        return self

    def predict(self, X):
        from _datasets import to_aeon

        return self.estimator.predict(to_aeon(X))


class _Flat:
    """Wrap a tabular sklearn estimator on zero-padded flattened series."""

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X, y):
        from _datasets import flatten

        self.length = max(len(x) for x in X) if isinstance(X, list) else None
        self.estimator.fit(flatten(X, self.length), y)
        return self

    def predict(self, X):
        from _datasets import flatten

        return self.estimator.predict(flatten(X, self.length))


class _PaddedAeonInput(_AeonInput):
    """MiniRocket needs equal lengths of at least 9: zero-pad (at the end) every series
    to ``max(9, longest training series)``, truncating longer test series."""

    def _pad(self, X):
        from _datasets import to_aeon

        Xa = to_aeon(X)
        seqs = list(Xa) if not isinstance(Xa, list) else Xa
        out = np.zeros((len(seqs), seqs[0].shape[0], self.length))
        for i, x in enumerate(seqs):
            x = x[:, : self.length]
            out[i, :, : x.shape[1]] = x
        return out

    def fit(self, X, y):
        from _datasets import to_aeon

        Xa = to_aeon(X)
        self.length = max(9, max(x.shape[-1] for x in Xa))
        self.estimator.fit(self._pad(X), y)
        return self

    def predict(self, X):
        return self.estimator.predict(self._pad(X))


def minirocket(task, seed):
    """aeon MiniRocket (10,000 kernels) with its ridge head, on series zero-padded to
    one length of at least 9 (what it needs; see _PaddedAeonInput)."""
    if task == "classification":
        from aeon.classification.convolution_based import MiniRocketClassifier

        return _PaddedAeonInput(MiniRocketClassifier(random_state=seed))
    from aeon.regression.convolution_based import MiniRocketRegressor

    return _PaddedAeonInput(MiniRocketRegressor(random_state=seed))


def knn_dtw(task, seed):
    """1-NN with full-window DTW (aeon), the archive's classic baseline."""
    if task == "classification":
        from aeon.classification.distance_based import KNeighborsTimeSeriesClassifier

        return _AeonInput(KNeighborsTimeSeriesClassifier(n_neighbors=1, distance="dtw"))
    from aeon.regression.distance_based import KNeighborsTimeSeriesRegressor

    return _AeonInput(KNeighborsTimeSeriesRegressor(n_neighbors=1, distance="dtw"))


def dummy(task, seed):
    """Most frequent class / training mean."""
    from sklearn.dummy import DummyClassifier, DummyRegressor

    return _Flat(DummyClassifier(strategy="prior") if task == "classification" else DummyRegressor())


def ridge(task, seed):
    """RidgeCV (alphas 1e-3..1e3, efficient LOO) on standardised flattened series."""
    from sklearn.linear_model import RidgeClassifierCV, RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    alphas = np.logspace(-3, 3, 13)
    head = RidgeClassifierCV(alphas=alphas) if task == "classification" else RidgeCV(alphas=alphas)
    return _Flat(make_pipeline(StandardScaler(), head))


ACCURACY_REFERENCES = {"MiniRocket": minirocket, "1-NN-DTW": knn_dtw, "dummy": dummy, "Ridge": ridge}
# The network the reference libraries build (GRU -> Dense), in skgru's parameters: the
# issue-12 defaults (convolutional stem, input standardisation, update-counted epoch
# budget) change the workload, so speed comparisons switch them off.
PLAIN_GRU = {"conv_filters": None, "patch_size": 1, "standardize_X": False, "min_updates": 0, "pooling": "last",
             "linear_skip": None, "dropout": 0.0}  # dropout: the classifier's default is 0.2 since round 11


def plain_gru_params(estimator_class):
    """PLAIN_GRU restricted to the parameters ``estimator_class`` has."""
    names = estimator_class().get_params()
    return {k: v for k, v in PLAIN_GRU.items() if k in names}

