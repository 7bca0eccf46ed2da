"""Tests for skgru.plotting (matplotlib, Agg backend, nothing written)."""

import sys

import numpy as np
import pytest

mpl = pytest.importorskip("matplotlib")
mpl.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from skgru.plotting import plot_history, plot_search  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


class _FakeHistory:
    def __init__(self, history, best_epoch=None):
        self.history_ = history
        if best_epoch is not None:
            self.best_epoch_ = best_epoch


def test_plot_history_fake_estimator():
    est = _FakeHistory({"loss": [1.0, 0.5, 0.4], "val_loss": [1.1, 0.7, 0.8],
                        "accuracy": [0.5, 0.7, 0.8], "val_accuracy": [0.4, 0.6, 0.6]},
                       best_epoch=2)
    fig = plot_history(est)
    assert isinstance(fig, mpl.figure.Figure)
    ax_loss, ax_metric = fig.axes
    labels = [line.get_label() for line in ax_loss.get_lines()]
    assert "loss" in labels and "val_loss (validation)" in labels
    assert any("best epoch" in lab for lab in labels)
    best_line = [line for line in ax_loss.get_lines() if "best epoch" in line.get_label()][0]
    assert list(best_line.get_xdata()) == [2, 2]
    assert "accuracy" in [line.get_label() for line in ax_metric.get_lines()]

    fig2, ax = plt.subplots()
    out = plot_history(_FakeHistory({"loss": [1.0, 0.9]}), ax=ax)
    assert out is ax and len(ax.get_lines()) == 1  # no best_epoch_ line


def test_plot_history_errors():
    with pytest.raises(ValueError, match="history"):
        plot_history(object())


def test_plot_history_gru(seq_data):
    from skgru import GRUClassifier

    X, y = seq_data
    est = GRUClassifier(units=4, epochs=3, early_stopping=True, n_iter_no_change=1,
                        random_state=0).fit(X, y)
    fig = plot_history(est)
    labels = [line.get_label() for ax in fig.axes for line in ax.get_lines()]
    assert "loss" in labels
    if "val_loss" in est.history_:
        assert "val_loss (validation)" in labels


def _fit_tuned(tuner, **kw):
    from scipy.stats import uniform
    from sklearn.linear_model import RidgeClassifier

    pytest.importorskip("keras_tuner")
    from skgru.tuning import TunedGRU

    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 3))
    y = np.arange(40) % 2
    space = {"alpha": uniform(0.1, 10), "fit_intercept": [True, False],
             "solver": ["auto", "lsqr", "bogus"]}
    return TunedGRU(RidgeClassifier(), space, tuner=tuner, random_state=0, **kw).fit(X, y)


def test_plot_search_panels():
    tuned = _fit_tuned("random", max_trials=8)
    fig = plot_search(tuned)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    # score-per-trial + one panel per searched parameter
    assert len(visible) == 1 + len(tuned.searched_params_) == 4
    assert visible[1].get_xlabel() == "alpha"
    fig2, ax = plt.subplots()
    assert plot_search(tuned, ax=ax) is ax


def test_plot_search_hyperband_learning_curves():
    from scipy.stats import uniform
    from sklearn.base import BaseEstimator, ClassifierMixin

    pytest.importorskip("keras_tuner")
    from skgru.tuning import TunedGRU

    class Budget(ClassifierMixin, BaseEstimator):
        def __init__(self, epochs=1, lr=0.1, warm_start=False):
            self.epochs, self.lr, self.warm_start = epochs, lr, warm_start

        def fit(self, X, y):
            self.classes_ = np.unique(y)
            self.total_ = self.epochs + (getattr(self, "total_", 0) if self.warm_start else 0)
            return self

        def predict(self, X):
            return np.zeros(len(X), dtype=int)

        def score(self, X, y):
            return 1 - abs(self.lr - 0.3) - 1 / (1 + self.total_)

    X, y = np.zeros((30, 2)), np.arange(30) % 2
    tuned = TunedGRU(Budget(), {"lr": uniform(0, 0.6)}, tuner="hyperband",
                     max_trials=None, max_epochs=9, random_state=0).fit(X, y)
    fig = plot_search(tuned)
    hb = [ax for ax in fig.axes if ax.get_title() == "Hyperband learning curves"]
    assert len(hb) == 1
    assert any(len(line.get_xdata()) >= 2 for line in hb[0].get_lines())
    assert hb[0].get_xlabel() == "budget (epochs)"


def test_plot_search_not_fitted():
    with pytest.raises(ValueError, match="not fitted"):
        plot_search(object())


def test_missing_matplotlib_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"skgru\[plot\]"):
        plot_history(_FakeHistory({"loss": [1.0]}))


def test_plot_search_multimetric():
    pytest.importorskip("keras_tuner")
    from sklearn.linear_model import LogisticRegression

    from skgru import TunedGRU
    from skgru.plotting import plot_search

    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(40, 3)), np.arange(40) % 2
    tuned = TunedGRU(LogisticRegression(), {"C": [0.01, 0.1, 1.0]}, tuner="grid",
                     max_trials=None, scoring=["accuracy", "f1_macro"],
                     refit="f1_macro").fit(X, y)
    fig = plot_search(tuned)
    assert fig.axes[0].get_ylabel() == "mean test f1 macro"
    fig = plot_search(tuned, metric="accuracy")
    assert fig.axes[0].get_ylabel() == "mean test accuracy"
    with pytest.raises(ValueError, match="choose one of"):
        plot_search(tuned, metric="nope")
    plt.close("all")


def test_plot_importances():
    pytest.importorskip("optuna")
    pytest.importorskip("keras_tuner")
    from scipy.stats import loguniform
    from sklearn.linear_model import LogisticRegression

    from skgru import TunedGRU
    from skgru.plotting import plot_importances

    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(60, 3)), (rng.normal(size=60) > 0).astype(int)
    tuned = TunedGRU(LogisticRegression(), {"C": loguniform(1e-4, 1e2),
                                            "fit_intercept": [True, False]},
                     tuner="tpe", max_trials=10, random_state=0).fit(X, y)
    fig = plot_importances(tuned)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == list(tuned.param_importances_)[::-1]
    assert len(fig.axes[0].patches) == 2
    fig, ax = plt.subplots()
    assert plot_importances(tuned, ax=ax) is ax
    with pytest.raises(ValueError, match="param_importances_"):
        plot_importances(object())
    # Another fitted search: the advice, not Python's "object has no attribute".
    from sklearn.model_selection import GridSearchCV

    grid = GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=2).fit(X, y)
    with pytest.raises(ValueError, match=r"GridSearchCV has no param_importances_ "
                                         r"\(fit a TunedGRU first\)"):
        plot_importances(grid)
    plt.close("all")
