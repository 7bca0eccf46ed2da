"""ASHA ranking its rungs by validation log loss (``promote_by``, issue 14).

A stand-in classifier whose score and log loss disagree: its score peaks at
``lr=0.5``, its probabilities are best calibrated at ``lr=0.1``.  Which
configurations go up a rung then says which of the two ranked them.
"""

import copy
import sys

import cloudpickle
import numpy as np
import pytest
from scipy.stats import uniform
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

pytest.importorskip("keras_tuner")

from skgru.tuning import TunedGRU  # noqa: E402

cloudpickle.register_pickle_by_value(sys.modules[__name__])

SCORE_PEAK, LOSS_PEAK = 0.5, 0.1


class DisagreeingStub(ClassifierMixin, BaseEstimator):
    """``epochs``/``warm_start`` like a GRU.  Column 0 of ``X`` is the label, so the
    stub can put a chosen probability on the true class: ``0.9 - |lr - 0.1|``."""

    def __init__(self, epochs=3, lr=0.1, warm_start=False, random_state=None):
        self.epochs = epochs
        self.lr = lr
        self.warm_start = warm_start
        self.random_state = random_state

    def fit(self, X, y):
        continued = self.warm_start and hasattr(self, "n_iter_")
        self.n_iter_ = (self.n_iter_ if continued else 0) + self.epochs
        self.history_ = {"loss": [1.0 / (e + 1) for e in range(self.n_iter_)]}
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        truth = np.asarray(X)[:, 0].astype(int)
        p = np.clip(0.9 - abs(float(self.lr) - LOSS_PEAK), 0.05, 0.95)
        proba = np.full((len(truth), 2), 1 - p)
        proba[np.arange(len(truth)), truth] = p
        return proba

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def score(self, X, y, sample_weight=None):
        return float(1.0 - (float(self.lr) - SCORE_PEAK) ** 2 - 1.0 / (1 + self.n_iter_))


class EpochRegressor(RegressorMixin, BaseEstimator):
    def __init__(self, epochs=3, lr=0.1, warm_start=False):
        self.epochs = epochs
        self.lr = lr
        self.warm_start = warm_start

    def fit(self, X, y):
        self.history_ = {"loss": [1.0]}
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)


@pytest.fixture
def xy():
    y = np.arange(60) % 2
    X = np.column_stack([y, np.random.RandomState(0).normal(size=60)])
    return X, y


def _asha(X, y, promote_by=None, **kw):
    tp = {"min_epochs": 1, "reduction_factor": 3, "sampler": "random"}
    if promote_by is not None:
        tp["promote_by"] = promote_by
    params = dict(tuner="asha", cv=3, max_trials=40, max_epochs=9, random_state=0,
                  tuner_params=tp)
    params.update(kw)
    return TunedGRU(DisagreeingStub(), {"lr": uniform(0, 0.6)}, **params).fit(X, y)


def _distance_of_promoted(tuned, peak):
    """Mean distance to ``peak`` of the configurations promoted from rung 0, and of
    every configuration rung 0 trained."""
    res = tuned.cv_results_
    lr = np.array([p["lr"] for p in res["params"]])
    it = np.asarray(res["iter"])
    return np.mean(np.abs(lr[it == 1] - peak)), np.mean(np.abs(lr[it == 0] - peak))


def test_a_classifier_with_probabilities_is_promoted_by_log_loss(xy):
    X, y = xy
    tuned = _asha(X, y)  # promote_by="auto"
    assert tuned.oracle_summary_["promote_by"] == "log_loss"
    promoted, everyone = _distance_of_promoted(tuned, LOSS_PEAK)
    assert promoted < 0.5 * everyone, (promoted, everyone)
    res = tuned.cv_results_
    # the losses it ranked by are those of the folds' predict_proba
    p = np.clip(0.9 - np.abs(np.array([q["lr"] for q in res["params"]]) - LOSS_PEAK), 0.05, 0.95)
    np.testing.assert_allclose(res["promotion_log_loss"], -np.log(p), rtol=1e-10)
    # the search still reports its score: the best of the top rung by score
    top = np.flatnonzero(np.asarray(res["iter"]) == max(res["iter"]))
    assert tuned.best_score_ == np.max(res["mean_test_score"][top])


def test_promote_by_score_ranks_by_the_search_score(xy):
    X, y = xy
    tuned = _asha(X, y, promote_by="score")
    assert tuned.oracle_summary_["promote_by"] == "score"
    assert "promotion_log_loss" not in tuned.cv_results_
    promoted, everyone = _distance_of_promoted(tuned, SCORE_PEAK)
    assert promoted < 0.5 * everyone, (promoted, everyone)


def test_regressors_are_promoted_by_score_and_log_loss_is_refused(xy):
    X, y = xy
    y = y.astype(float)
    space = {"lr": uniform(0, 0.6)}
    tuned = TunedGRU(EpochRegressor(), space, tuner="asha", cv=2, max_trials=6,
                     max_epochs=9, tuner_params={"sampler": "random"}).fit(X, y)
    assert tuned.oracle_summary_["promote_by"] == "score"
    with pytest.raises(ValueError, match="promote_by='log_loss'.*classifier"):
        TunedGRU(EpochRegressor(), space, tuner="asha", cv=2, max_trials=6, max_epochs=9,
                 tuner_params={"sampler": "random", "promote_by": "log_loss"}).fit(X, y)
    with pytest.raises(ValueError, match="promote_by must be 'auto', 'log_loss' or 'score'"):
        _asha(X, y, promote_by="accuracy")
    # an ASHA oracle passed as such is checked too
    from skgru.tuning._asha_oracle import ASHAOracle

    oracle = ASHAOracle(max_epochs=9, sampler="random", promote_by="log_loss")
    with pytest.raises(ValueError, match="promote_by='log_loss'.*classifier"):
        TunedGRU(EpochRegressor(), space, tuner=oracle, cv=2, max_trials=6).fit(X, y)


def test_a_multilabel_target_is_promoted_by_score(xy):
    # sklearn's log_loss has no multilabel form: every trial's loss would be NaN and
    # nothing would ever be promoted
    X, y = xy
    tuned = _asha(X, np.column_stack([y, 1 - y]), max_trials=12)
    assert tuned.oracle_summary_["promote_by"] == "score"
    assert (np.asarray(tuned.cv_results_["iter"]) > 0).any()


def test_a_resumed_search_promotes_the_same_way(xy, tmp_path):
    X, y = xy
    first = _asha(X, y, directory=tmp_path / "s")
    again = _asha(X, y, directory=tmp_path / "s")  # every trial replayed from the file
    for key in ("params", "parent_trial_id", "iter"):
        assert list(again.cv_results_[key]) == list(first.cv_results_[key])
    np.testing.assert_array_equal(again.cv_results_["promotion_log_loss"],
                                  first.cv_results_["promotion_log_loss"])
    # a search ranked by score is another search: its state is not resumed as this one
    with pytest.raises(ValueError, match="differs in: .*promotion"):
        _asha(X, y, promote_by="score", directory=tmp_path / "s")


def test_a_gru_runs_its_network_once_for_the_score_and_the_log_loss(monkeypatch):
    from skgru import GRUClassifier
    from skgru.estimators._base import GRUEstimatorBase
    from skgru.tuning._trial_runner import _one_forward_pass, split_log_loss

    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(40, 5, 2)), np.arange(40) % 3
    est = GRUClassifier(units=4, epochs=2, random_state=0).fit(X, y)
    calls = []
    outputs = GRUEstimatorBase._network_outputs
    monkeypatch.setattr(GRUEstimatorBase, "_network_outputs",
                        lambda self, Xa: calls.append(1) or outputs(self, Xa))
    separate = est.score(X, y), split_log_loss(est, X, y, {})
    assert len(calls) == 2
    with _one_forward_pass(est, X, True):
        reused = est.score(X, y), split_log_loss(est, X, y, {})
        est.predict(X[:10])  # other rows: predicted as usual
        assert "_reused_outputs" not in vars(copy.copy(est))  # never copied
    assert len(calls) == 4 and reused == separate
    assert "_reused_outputs" not in vars(est)  # nothing kept after the block
    with _one_forward_pass(est, X, False):
        est.score(X, y), split_log_loss(est, X, y, {})
    assert len(calls) == 6


def test_a_class_missing_from_a_training_fold_still_gets_a_finite_loss():
    # one member of class 2: the fold that validates on it never trained on it.  Its
    # log loss is large, not NaN: a NaN for every trial would stop all promotions
    from sklearn.model_selection import StratifiedKFold

    from skgru import GRUClassifier

    rng = np.random.RandomState(0)
    y = np.r_[np.arange(47) % 2, 2]
    X = rng.normal(size=(48, 4, 1)) + y[:, None, None]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the singleton class warns in StratifiedKFold
        tuned = TunedGRU(GRUClassifier(units=4, random_state=0), {"learning_rate": uniform(1e-3, 0.1)},
                         tuner="asha", cv=StratifiedKFold(3), max_trials=12, max_epochs=9,
                         random_state=0,
                         tuner_params={"min_epochs": 1, "sampler": "random"}).fit(X, y)
    res = tuned.cv_results_
    assert tuned.oracle_summary_["promote_by"] == "log_loss"
    assert np.all(np.isfinite(res["promotion_log_loss"]))
    assert (np.asarray(res["iter"]) > 0).any()


def test_an_older_score_ranked_state_resumes_with_promote_by_score(xy, tmp_path, monkeypatch):
    from skgru.tuning import _tuned

    X, y = xy
    plan_search = _tuned.TunedGRU._plan_search

    def as_before(self, *args, **kwargs):  # a search saved before promote_by existed
        plan = plan_search(self, *args, **kwargs)
        plan.probabilistic = False
        return plan

    monkeypatch.setattr(_tuned.TunedGRU, "_plan_search", as_before)
    saved = _asha(X, y, directory=tmp_path / "s")
    assert saved.oracle_summary_["promote_by"] == "score"
    monkeypatch.setattr(_tuned.TunedGRU, "_plan_search", plan_search)
    resumed = _asha(X, y, promote_by="score", directory=tmp_path / "s")
    assert list(resumed.cv_results_["params"]) == list(saved.cv_results_["params"])
    # "auto" and an explicit "log_loss" are one search
    first = _asha(X, y, directory=tmp_path / "t")
    again = _asha(X, y, promote_by="log_loss", directory=tmp_path / "t")
    assert list(again.cv_results_["parent_trial_id"]) == list(first.cv_results_["parent_trial_id"])


def test_promotions_follow_the_log_loss_on_loky_workers(xy):
    # the losses are computed where the trials run and must reach the oracle from there
    X, y = xy
    tuned = _asha(X, y, n_jobs=2)
    assert tuned.parallel_backend_ == "loky"
    assert np.all(np.isfinite(tuned.cv_results_["promotion_log_loss"]))
    promoted, everyone = _distance_of_promoted(tuned, LOSS_PEAK)
    assert promoted < 0.5 * everyone, (promoted, everyone)
