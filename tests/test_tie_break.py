"""TunedGRU's tie_break: among trials tied at the best mean score, the lowest log loss."""

import json
import os
import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

pytest.importorskip("keras_tuner")

from skgru.tuning import TunedGRU  # noqa: E402


class CentroidClassifier(ClassifierMixin, BaseEstimator):
    """Nearest class mean.  ``sharpness`` changes only how confident the
    probabilities are (every value > 0 predicts the same labels, so trials tie on
    accuracy and differ in log loss); ``hedge=True`` always predicts the first
    class with probability 0.51 (chance accuracy, but a log loss near ln 2)."""

    def __init__(self, sharpness=1.0, hedge=False):
        self.sharpness = sharpness
        self.hedge = hedge

    def fit(self, X, y):
        X = np.asarray(X, dtype=float).reshape(len(X), -1)
        self.classes_ = np.unique(y)
        self.centers_ = np.array([X[y == c].mean(axis=0) for c in self.classes_])
        return self

    def _distances(self, X):
        X = np.asarray(X, dtype=float).reshape(len(X), -1)
        return ((X[:, None, :] - self.centers_[None]) ** 2).sum(axis=-1)

    def predict_proba(self, X):
        if self.hedge:
            p = np.full((len(X), len(self.classes_)), 0.49 / (len(self.classes_) - 1))
            p[:, 0] = 0.51
            return p
        logits = -self.sharpness * self._distances(X)
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class ConstantRegressor(RegressorMixin, BaseEstimator):
    def __init__(self, unused=0):
        self.unused = unused

    def fit(self, X, y):
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)


@pytest.fixture
def separable():
    """Two well separated classes with some overlap: every sharpness gets the same
    accuracy, and an intermediate sharpness has the lowest log loss."""
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 40)
    X = rng.normal(size=(80, 3)) + 1.2 * y[:, None]
    return X, y


SHARPNESS = [0.01, 0.3, 30.0]


def _search(X, y, **kwargs):
    params = {"cv": 4, "tuner": "grid", "max_trials": None, "random_state": 0,
              "tie_break": "log_loss", **kwargs}
    return TunedGRU(CentroidClassifier(), {"sharpness": SHARPNESS}, **params).fit(X, y)


def test_ties_go_to_the_lowest_log_loss_and_scores_are_untouched(separable):
    X, y = separable
    tuned = _search(X, y)
    res = tuned.cv_results_
    assert np.all(res["rank_test_score"] == 1)          # a three-way tie on accuracy
    losses = res["tie_break_log_loss"]
    assert np.all(np.isfinite(losses)) and np.argmin(losses) != 0   # the first is not the most calibrated
    assert tuned.best_index_ == int(np.argmin(losses))
    assert tuned.best_params_ == {"sharpness": SHARPNESS[tuned.best_index_]}
    assert tuned.best_score_ == res["mean_test_score"][0]


def test_tie_break_first_is_gridsearchcv_s_rule(separable):
    X, y = separable
    for tuned in (_search(X, y, tie_break="first"),
                  TunedGRU(CentroidClassifier(), {"sharpness": SHARPNESS}, cv=4, tuner="grid",
                           max_trials=None).fit(X, y)):  # the default
        assert tuned.best_index_ == 0
        assert "tie_break_log_loss" not in tuned.cv_results_


def test_only_ties_are_broken(separable):
    # an overconfident nearest-mean model against a hedging constant: the second has
    # the lower log loss, the first the higher accuracy, and accuracy decides
    X, y = separable
    tuned = TunedGRU(CentroidClassifier(), {"sharpness": [30.0], "hedge": [True, False]},
                     cv=4, tie_break="log_loss", tuner="grid", max_trials=None, random_state=0).fit(X, y)
    res = tuned.cv_results_
    hedging = [p["hedge"] for p in res["params"]].index(True)
    assert res["tie_break_log_loss"][hedging] < res["tie_break_log_loss"][1 - hedging]
    assert res["params"][tuned.best_index_]["hedge"] is False
    assert res["mean_test_score"][tuned.best_index_] > res["mean_test_score"][hedging]


def test_the_loss_is_the_split_mean_of_log_loss_on_each_validation_split(separable):
    from sklearn.metrics import log_loss
    from sklearn.model_selection import StratifiedKFold

    X, y = separable
    cv = StratifiedKFold(4, shuffle=True, random_state=1)
    tuned = _search(X, y, cv=cv)
    expected = [np.mean([log_loss(y[te], CentroidClassifier(s).fit(X[tr], y[tr]).predict_proba(X[te]))
                         for tr, te in cv.split(X, y)]) for s in SHARPNESS]
    np.testing.assert_allclose(tuned.cv_results_["tie_break_log_loss"], expected, rtol=1e-10)


def test_regressors_and_callable_refit_are_not_affected(separable):
    X, y = separable
    tuned = TunedGRU(ConstantRegressor(), {"unused": [0, 1, 2]}, cv=3, tuner="grid",
                     max_trials=None, tie_break="log_loss").fit(X, y.astype(float))
    assert tuned.best_index_ == 0 and "tie_break_log_loss" not in tuned.cv_results_
    tuned = _search(X, y, refit=lambda res: 2)
    assert tuned.best_index_ == 2


@pytest.mark.parametrize("bad", ["loss", None, 1])
def test_invalid_tie_break_is_named(separable, bad):
    X, y = separable
    with pytest.raises(ValueError, match="tie_break must be one of"):
        _search(X, y, tie_break=bad)


def test_resumed_search_keeps_its_losses_and_reads_older_state_files(separable, tmp_path):
    X, y = separable
    first = _search(X, y, directory=tmp_path / "a")
    again = _search(X, y, directory=tmp_path / "a")   # every trial replayed from the file
    np.testing.assert_array_equal(again.cv_results_["tie_break_log_loss"],
                                  first.cv_results_["tie_break_log_loss"])
    assert again.best_index_ == first.best_index_
    # a state file written before tie_break existed has no losses: ties go to the first
    path = os.path.join(tmp_path / "a", "skgru_search_state.json")
    with open(path) as fh:
        state = json.load(fh)
    for trial in state["trials"].values():
        del trial["tie_break_losses"]
    from skgru.tuning._state import state_checksum

    state["checksum"] = state_checksum(state)
    with open(path, "w") as fh:
        json.dump(state, fh)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        old = _search(X, y, directory=tmp_path / "a")
    assert np.all(np.isnan(old.cv_results_["tie_break_log_loss"]))
    assert old.best_index_ == 0


def test_a_gru_search_records_finite_losses_with_fused_and_separate_folds():
    from skgru import GRUClassifier

    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 24)
    X = rng.normal(size=(48, 6, 2)) + 0.8 * y[:, None, None]
    for extra in ({}, {"recurrent_dropout": 0.1}):  # the folds train fused; then one fit each
        est = GRUClassifier(units=4, epochs=2, min_updates=0, random_state=0, **extra)
        tuned = TunedGRU(est, {"learning_rate": [1e-3, 1e-2]}, tuner="grid", max_trials=None,
                         cv=3, random_state=0, tie_break="log_loss").fit(X, y)
        losses = tuned.cv_results_["tie_break_log_loss"]
        assert losses.shape == (2,) and np.all(np.isfinite(losses)) and np.all(losses > 0)
