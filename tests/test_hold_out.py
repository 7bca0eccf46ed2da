"""TunedGRU's default hold-out: stratified when it can be, never emptying a class's training side."""

import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import Ridge
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

pytest.importorskip("keras_tuner")

from skgru.tuning import TunedGRU  # noqa: E402
from skgru.tuning._hold_out import hold_out_split  # noqa: E402


def _split_quietly(estimator, y, test_size, seed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return hold_out_split(estimator, y, len(y), test_size, seed)


def _check_partition(train, test, n):
    assert len(np.intersect1d(train, test)) == 0
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(n))


def test_pairs_of_a_class_keep_one_member_in_training():
    # PigCVP's shape: 52 classes of 2 series, a 20% hold-out of 21 series
    y = np.repeat(np.arange(52), 2)
    with pytest.warns(UserWarning, match="cannot be stratified"):
        [(train, test)] = hold_out_split(DummyClassifier(), y, len(y), 0.2, 0)
    _check_partition(train, test, len(y))
    assert len(test) == 21
    assert len(np.unique(y[test])) == 21            # at most one member of a class held out
    assert set(np.unique(y[train])) == set(range(52))  # every class is trained on


def test_class_keeping_hold_out_is_seeded_and_shuffled():
    y = np.repeat(np.arange(30), 2)
    first = _split_quietly(DummyClassifier(), y, 0.25, 3)
    again = _split_quietly(DummyClassifier(), y, 0.25, 3)
    other = _split_quietly(DummyClassifier(), y, 0.25, 4)
    assert all(np.array_equal(a, b) for a, b in zip(first[0], again[0]))
    assert not np.array_equal(np.sort(first[0][1]), np.sort(other[0][1]))
    # the hold-out is drawn, not the first rows of each class
    assert not np.array_equal(np.sort(first[0][1]) % 2, np.zeros(len(first[0][1])))


def test_a_one_member_class_stays_in_training_and_big_classes_fill_the_hold_out():
    y = np.array([0] + [1] * 3 + [2] * 36)
    with pytest.warns(UserWarning, match="smallest class has 1 member"):
        [(train, test)] = hold_out_split(DummyClassifier(), y, len(y), 0.25, 0)
    _check_partition(train, test, len(y))
    assert len(test) == 10
    assert 0 in y[train]
    assert np.all(np.bincount(y[train], minlength=3) >= 1)
    # rows are held out in proportion to their class, as in a stratified split
    assert np.sum(y[test] == 2) >= 7


def test_hold_out_shrinks_rather_than_take_a_class_last_member():
    y = np.repeat(np.arange(3), 2)
    [(train, test)] = _split_quietly(DummyClassifier(), y, 0.8, 0)  # asks for 5 of 6 rows
    assert len(test) == 3
    assert np.array_equal(np.sort(y[train]), [0, 1, 2])


def test_all_singleton_classes_fall_back_to_a_plain_shuffle():
    y = np.arange(8)
    [(train, test)] = _split_quietly(DummyClassifier(), y, 0.25, 0)
    [(ref_train, ref_test)] = ShuffleSplit(n_splits=1, test_size=0.25,
                                           random_state=0).split(np.zeros(8))
    assert np.array_equal(train, ref_train) and np.array_equal(test, ref_test)


def test_stratifiable_and_regression_splits_are_sklearns():
    y = np.arange(40) % 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        [(train, test)] = hold_out_split(DummyClassifier(), y, 40, 0.25, 7)
    [(ref_train, ref_test)] = StratifiedShuffleSplit(
        n_splits=1, test_size=0.25, random_state=7).split(np.zeros(40), y)
    assert np.array_equal(train, ref_train) and np.array_equal(test, ref_test)

    y_reg = np.linspace(0, 1, 40)
    [(train, test)] = hold_out_split(Ridge(), y_reg, 40, 0.25, 7)
    [(ref_train, ref_test)] = ShuffleSplit(n_splits=1, test_size=0.25,
                                           random_state=7).split(np.zeros(40))
    assert np.array_equal(train, ref_train) and np.array_equal(test, ref_test)


class SeenClassShare(ClassifierMixin, BaseEstimator):
    """Scores the share of rows whose class it was trained on."""

    def __init__(self, alpha=1.0):
        self.alpha = alpha

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])

    def score(self, X, y, sample_weight=None):
        return float(np.mean(np.isin(y, self.classes_)))


def test_tuned_gru_trials_are_scored_only_on_classes_they_were_trained_on():
    X = np.random.RandomState(0).normal(size=(40, 3))
    y = np.repeat(np.arange(20), 2)
    y_before = y.copy()
    with pytest.warns(UserWarning, match="cannot be stratified"):
        tuned = TunedGRU(SeenClassShare(), {"alpha": [1.0, 2.0]}, tuner="grid",
                         refit=False, validation_fraction=0.25,
                         random_state=0).fit(X, y)
    assert np.array_equal(y, y_before)
    np.testing.assert_array_equal(tuned.cv_results_["mean_test_score"], [1.0, 1.0])
