"""Engines: one per architecture whatever the sequence length; the unrolled bucket is exact."""

import numpy as np
import pytest
from sklearn.base import clone

from skgru import GRUClassifier, GRURegressor
from skgru._keras import engines
from skgru.estimators import _params


def _data(t, n=40, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, t, 2)).astype("float32")
    return X, (X[:, :, 0].sum(axis=1) > 0).astype(int)


def test_new_lengths_reuse_one_engine():
    engines.clear()
    for t in (12, 20, 37):
        X, y = _data(t)
        GRUClassifier(units=4, epochs=1, random_state=0).fit(X, y).predict(X)
    keys = list(engines._free)
    assert len(keys) == 1 and engines.pool_size() == 1, keys
    assert keys[0][1].n_timesteps is None  # the time axis is open


def test_short_sequences_share_the_unrolled_bucket_and_match_the_loop(monkeypatch):
    X, y = _data(5)
    bucket = GRUClassifier(units=4, epochs=3, random_state=0).fit(X, y)
    assert bucket.network_spec_.unroll and bucket.network_spec_.n_timesteps == _params.UNROLL_BUCKET
    assert bucket.network_spec_.mask_value is not None  # the padded tail is masked
    monkeypatch.setattr(_params, "UNROLL_BUCKET", 0)
    loop = GRUClassifier(units=4, epochs=3, random_state=0).fit(X, y)
    assert not loop.network_spec_.unroll
    np.testing.assert_allclose(bucket.predict_proba(X), loop.predict_proba(X), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("params", [dict(n_layers=2), dict(pooling="mean"), dict(pooling="attention")])
def test_a_bidirectional_gru_read_per_step_predicts_as_the_loop_does(monkeypatch, params):
    # Keras' unrolled backward layer zeroes valid outputs under the bucket's mask (5 of 8
    # steps valid): the unrolled bucket must not change what the network computes
    X, y = _data(5)
    est = GRUClassifier(units=4, bidirectional=True, epochs=3, random_state=0, **params)
    bucket = clone(est).fit(X, y)
    monkeypatch.setattr(_params, "UNROLL_BUCKET", 0)
    loop = clone(est).fit(X, y)
    assert not loop.network_spec_.unroll
    np.testing.assert_allclose(bucket.predict_proba(X), loop.predict_proba(X), rtol=1e-4, atol=1e-5)


def test_the_pool_is_bounded(monkeypatch):
    monkeypatch.setattr(engines, "MAX_FREE_ENGINES", 2)
    engines.clear()
    X, y = _data(12)
    for units in (3, 4, 5, 6):
        GRURegressor(units=units, epochs=1, random_state=0).fit(X, y.astype(float))
    assert engines.pool_size() == 2


def test_an_engine_whose_call_raised_is_not_returned():
    engines.clear()
    X, y = _data(12)
    est = GRUClassifier(units=4, epochs=1, random_state=0).fit(X, y)
    assert engines.pool_size() == 1
    with pytest.raises(ValueError):
        est.predict(X[:, :, :1])  # wrong number of features: raises before borrowing
    assert engines.pool_size() == 1
    spec, config = est.network_spec_, est._compile_config_
    with pytest.raises(RuntimeError):
        with engines.borrow(spec, config):
            raise RuntimeError("boom")
    assert engines.pool_size() == 0
