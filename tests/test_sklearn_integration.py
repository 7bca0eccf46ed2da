"""The estimators inside scikit-learn's machinery: tags, CV, meta-estimators, searches,
pipelines, seeds, persistence and accuracy on real data."""

import pickle
import random
import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pytest
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import StackingClassifier, VotingClassifier
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, HalvingRandomSearchCV, StratifiedKFold, check_cv, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import get_tags

from skgru import GRUClassifier, GRURegressor
from skgru._keras import engines

FAST = dict(units=8, epochs=3, random_state=0)


def test_tags_make_sklearn_see_a_classifier_and_a_regressor():
    assert is_classifier(GRUClassifier()) and not is_regressor(GRUClassifier())
    assert is_regressor(GRURegressor()) and not is_classifier(GRURegressor())
    tags = get_tags(GRUClassifier())
    assert tags.input_tags.three_d_array and tags.classifier_tags.multi_label
    assert get_tags(GRURegressor()).target_tags.multi_output
    # cross-validation of a classifier is stratified
    y = np.array([0] * 10 + [1] * 10)
    assert isinstance(check_cv(3, y, classifier=is_classifier(GRUClassifier())), StratifiedKFold)


def test_calibration_voting_and_stacking(seq_data):
    X, y = seq_data
    cal = CalibratedClassifierCV(GRUClassifier(**FAST), cv=2).fit(X, y)
    np.testing.assert_allclose(cal.predict_proba(X).sum(axis=1), 1.0)

    flat = X.reshape(60, -1)
    vote = VotingClassifier(
        [("gru", GRUClassifier(n_features=2, **FAST)), ("lr", LogisticRegression())], voting="soft"
    ).fit(flat, y)
    assert vote.predict_proba(flat).shape == (60, 2)

    stack = StackingClassifier(
        [("gru", GRUClassifier(n_features=2, **FAST)), ("lr", LogisticRegression())],
        final_estimator=LogisticRegression(),
        cv=2,
    ).fit(flat, y)
    assert stack.score(flat, y) > 0.5


def test_grid_search_over_gru_hyperparameters(seq_data):
    X, y = seq_data
    grid = {"units": [4, 8], "n_layers": [1, 2], "dropout": [0.0, 0.2], "learning_rate": [0.01]}
    search = GridSearchCV(GRUClassifier(epochs=2, random_state=0), grid, cv=2).fit(X, y)
    assert len(search.cv_results_["params"]) == 8
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_estimator_.n_layers in (1, 2)


def test_halving_search_with_epochs_as_resource(seq_data):
    X, y = seq_data
    search = HalvingRandomSearchCV(
        GRUClassifier(units=4, random_state=0),
        {"learning_rate": [0.001, 0.01, 0.05], "units": [4, 8]},
        resource="epochs",
        max_resources=4,
        min_resources=1,
        n_candidates=4,
        factor=2,
        cv=2,
        random_state=0,
    ).fit(X, y)
    assert set(search.cv_results_["param_epochs"]) >= {1, 2}
    assert search.best_estimator_.epochs in (1, 2, 4)


def test_pipeline_with_standard_scaler_on_flattened_sequences(seq_data):
    X, y = seq_data
    flat = X.reshape(60, -1) * 50 + 10
    pipe = make_pipeline(StandardScaler(), GRUClassifier(n_features=2, **FAST))
    pipe.fit(flat, y)
    assert pipe.predict(flat).shape == (60,)
    search = GridSearchCV(pipe, {"gruclassifier__units": [4, 8]}, cv=2).fit(flat, y)
    assert search.best_params_["gruclassifier__units"] in (4, 8)


# --------------------------------------------------------------------------- seeds
def test_same_seed_same_predictions_and_different_seed_differs(seq_data):
    X, y = seq_data
    a = GRUClassifier(units=8, epochs=3, random_state=7).fit(X, y).predict_proba(X)
    b = GRUClassifier(units=8, epochs=3, random_state=7).fit(X, y).predict_proba(X)
    c = GRUClassifier(units=8, epochs=3, random_state=8).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_seeded_fit_leaks_no_global_random_state(seq_data):
    import keras

    X, y = seq_data
    np.random.seed(123)
    random.seed(123)
    expected_np, expected_py = np.random.rand(), random.random()
    np.random.seed(123)
    random.seed(123)
    GRUClassifier(**FAST).fit(X, y)
    assert np.random.rand() == expected_np and random.random() == expected_py
    # an unseeded fit after a seeded one works and is random
    u1 = GRUClassifier(units=8, epochs=2).fit(X, y).predict_proba(X)
    u2 = GRUClassifier(units=8, epochs=2).fit(X, y).predict_proba(X)
    assert not np.allclose(u1, u2)
    # plain Keras random ops still work unseeded
    assert keras.random.uniform((2,)).shape == (2,)


def test_random_state_instance_is_not_advanced(seq_data):
    X, y = seq_data
    rs = np.random.RandomState(3)
    state = rs.get_state()[1].copy()
    a = GRUClassifier(units=8, epochs=2, random_state=rs).fit(X, y).predict_proba(X)
    b = GRUClassifier(units=8, epochs=2, random_state=rs).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(rs.get_state()[1], state)
    np.testing.assert_array_equal(a, b)


def test_pooled_engine_gives_identical_results(seq_data, monkeypatch):
    """A fit trained on a pooled engine equals a fit on a newly built one."""
    X, y = seq_data
    params = dict(units=8, epochs=3, random_state=5, dropout=0.2)
    monkeypatch.setenv("SKGRU_REUSE_MODELS", "0")
    fresh = GRUClassifier(**params).fit(X, y).predict_proba(X)
    monkeypatch.setenv("SKGRU_REUSE_MODELS", "1")
    engines.clear()
    GRUClassifier(**params).fit(X, y)
    assert engines.pool_size() == 1  # the engine went back to the pool ...
    second = GRUClassifier(**params).fit(X, y)
    assert engines.pool_size() == 1  # ... was borrowed again and returned
    np.testing.assert_array_equal(second.predict_proba(X), fresh)  # ... in a new model's state


# --------------------------------------------------------------------- persistence
def test_clone_and_pickle_round_trip(seq_data, tmp_path):
    X, y = seq_data
    clf = GRUClassifier(optimizer__beta_1=0.8, **FAST).fit(X, y)
    unfitted = clone(clf)
    assert unfitted.get_params()["optimizer__beta_1"] == 0.8 and not hasattr(unfitted, "model_")
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    path = tmp_path / "clf.joblib"
    joblib.dump(clf, path)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "expected.npy", clf.predict_proba(X))
    script = textwrap.dedent(
        f"""
        import joblib, numpy as np
        clf = joblib.load({str(path)!r})
        X = np.load({str(tmp_path / "X.npy")!r})
        np.testing.assert_array_equal(clf.predict_proba(X), np.load({str(tmp_path / "expected.npy")!r}))
        print("identical")
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "identical" in out.stdout


def test_pickled_regressor_keeps_target_scaling(seq_data):
    X, _ = seq_data
    y = X[:, :, 0].sum(axis=1) * 1000
    reg = GRURegressor(**FAST).fit(X, y)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(reg)).predict(X), reg.predict(X))


# ------------------------------------------------------------------------ accuracy
def test_digits_as_sequences_reach_95_percent_with_defaults(digits_sequences):
    X, y = digits_sequences
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    clf = GRUClassifier(random_state=0).fit(X_train, y_train)
    assert clf.score(X_test, y_test) >= 0.95


def test_shallow_copy_does_not_share_the_model(seq_data):
    import copy

    X, y = seq_data
    clf = GRUClassifier(**FAST).fit(X, y)
    expected = clf.predict_proba(X)
    dup = copy.copy(clf)
    assert dup.model_ is not clf.model_
    del clf
    GRUClassifier(**{**FAST, "random_state": 1}).fit(X, y)  # another fit of the same architecture
    np.testing.assert_array_equal(dup.predict_proba(X), expected)
