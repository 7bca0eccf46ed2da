"""Issue 11: every public SciKeras member works as SciKeras documents it."""

import inspect

import numpy as np
import pytest
import scikeras.wrappers as sk
from sklearn.base import BaseEstimator
from sklearn.preprocessing import FunctionTransformer

from skgru import GRUClassifier, GRURegressor


def _public(cls):
    return {n for n in dir(cls) if not n.startswith("_")}


SKLEARN_OWN = {n for n in _public(BaseEstimator)} | {
    "set_fit_request", "set_partial_fit_request", "set_score_request", "get_metadata_routing",
}


@pytest.mark.parametrize("ours, theirs", [(GRUClassifier, sk.KerasClassifier), (GRURegressor, sk.KerasRegressor)])
def test_every_public_scikeras_member_is_implemented_by_skgru(ours, theirs):
    """No public member falls through to SciKeras' own (unused, broken for us) code."""
    for name in sorted(_public(theirs) - SKLEARN_OWN):
        owner = next(c for c in ours.__mro__ if name in vars(c))
        assert owner.__module__.startswith("skgru"), f"{name} is inherited from {owner.__module__}"
        doc = inspect.getdoc(getattr(ours, name))
        assert doc, f"{name} has no docstring"


def _data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 5, 2)).astype("float32")
    return X, (X[:, :, 0].sum(axis=1) > 0).astype(int)


def test_initialize_builds_without_training_and_partial_fit_continues():
    X, y = _data()
    est = GRUClassifier(units=4, random_state=0)
    assert not est.initialized_ and est.current_epoch == 0
    est.initialize(X, y)
    assert est.initialized_ and est.current_epoch == 0 and est.history_ == {}
    assert est.predict_proba(X).shape == (40, 2)
    est.partial_fit(X, y)
    assert est.current_epoch == 1 and len(est.history_["loss"]) == 1


def test_encoders_are_sklearn_transformers_and_round_trip():
    X, y = _data()
    est = GRUClassifier(units=4, epochs=1, random_state=0)
    assert not hasattr(est.target_encoder, "classes_")  # a new, unfitted transformer
    est.fit(X, np.array(["a", "b"])[y])
    enc = est.target_encoder_
    np.testing.assert_array_equal(enc.inverse_transform(np.eye(2)[enc.transform(np.array(["a", "b"])[y])]),
                                  np.array(["a", "b"])[y])
    Xa = est.feature_encoder_.transform(X)
    raw = np.asarray(est.model_(Xa))
    np.testing.assert_allclose(enc.inverse_transform(raw, return_proba=True), est.predict_proba(X), rtol=1e-5)
    assert not isinstance(est.feature_encoder, FunctionTransformer)
    assert est.n_outputs_expected_ == 1 and est.n_classes_ == 2 and est.target_type_ == "binary"
    assert est.X_shape_ == (40, 5, 2) and est.y_ndim_ == 1


def test_scorer_is_the_score_metric():
    X, y = _data()
    clf = GRUClassifier(units=4, epochs=1, random_state=0).fit(X, y)
    assert clf.score(X, y) == GRUClassifier.scorer(y, clf.predict(X))
    reg = GRURegressor(units=4, epochs=1, random_state=0).fit(X, y.astype(float))
    assert reg.score(X, y) == pytest.approx(GRURegressor.scorer(y, reg.predict(X)))


def test_help_shows_skgru_docs_not_scikeras_ones():
    text = inspect.getdoc(GRUClassifier.initialize)
    assert "Build the network" in text
    assert "BaseWrapper" not in (inspect.getdoc(GRUClassifier.set_params) or "")
