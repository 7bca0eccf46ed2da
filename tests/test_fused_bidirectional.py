"""The bidirectional GRU in fold-fused training (NumPy step): equal to separate fits.

Keras' ``Bidirectional`` runs a second GRU over the reversed sequence (padding first,
so its state stays 0 until the first valid step from the end), flips its outputs
back in time and concatenates them with the forward GRU's.
"""

import keras
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import KFold

from skgru import GRUClassifier as Default
from skgru._keras import fused
from skgru._keras.network import NetworkSpec, build_network
from skgru.estimators._folds import can_fuse, continue_folds, fit_folds, fuse_problem

from test_fused import (
    GRUClassifier,
    _data,
    _assert_continued_same,
    _assert_regressor_same,
    _assert_same,
    _default_regressor,
    _default_regressor_data,
    _no_fallback,
    _separate,
    _uneven_splits,
)

pytestmark = pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="fused step is TF-only")


def _ragged(n=45, seed=6):
    rng = np.random.RandomState(seed)
    X = [rng.normal(size=(rng.randint(5, 14), 2)).astype("float32") for _ in range(n)]
    # the first steps decide the class: the backward recurrence reads them last
    y = np.array([int(s[0, 0] + s[1, 1] > 0) for s in X])
    return X, y


@pytest.mark.parametrize("params", [
    dict(units=4),  # the last states of both directions
    dict(units=3, n_layers=2, pooling="mean", dense_units=(5,), l2=1e-3),  # stacked: d input from both
    dict(units=3, pooling="attention", dropout=0.2),  # each direction draws its own mask
])
def test_bidirectional_folds_on_ragged_series_match_separate_fits(monkeypatch, params):
    X, y = _ragged()
    splits = _uneven_splits(len(X), sizes=(30, 24, 36), seed=5)
    est = GRUClassifier(bidirectional=True, epochs=3, batch_size=8, learning_rate=0.02, random_state=4, **params)
    assert can_fuse(est) == (True, "fusable") and fuse_problem(est, X, y, splits) is None
    sm = _separate(est, X, y, splits)
    _no_fallback(monkeypatch)
    fm = fit_folds(est, X, y, splits)
    _assert_same(fm, sm, X, ignore="attention_score/bias")  # its true gradient is 0 (test_fused.py)
    backward = fm[0].model_.get_layer("bidirectional_0").backward_layer
    assert backward.go_backwards and float(np.abs(np.asarray(backward.cell.kernel)).sum()) > 0


def test_bidirectional_default_classifier_and_regressor_match_separate_fits(monkeypatch):
    # the defaults' stem (standardised input, Conv1D, patches pooled after it) in front
    X, y = _ragged(n=42, seed=2)
    X = [np.repeat(s, 3, axis=0) for s in X]  # 15-42 steps: patched
    splits = list(KFold(3, shuffle=True, random_state=0).split(np.zeros(len(X))))
    est = Default(units=3, conv_filters=3, patch_size=3, bidirectional=True, epochs=3, min_updates=0, batch_size=8,
                  learning_rate=0.02, random_state=1)
    sm = _separate(est, X, y, splits)
    with monkeypatch.context() as patch:
        _no_fallback(patch)
        fm = fit_folds(est, X, y, splits)
    _assert_same(fm, sm, X)
    # the regressor's linear skip, ridge start, shrinkage and refit beside it
    X, y = _default_regressor_data()
    splits = _uneven_splits(len(X), sizes=(40, 30, 50), seed=2)
    est = _default_regressor(bidirectional=True)
    sm = _separate(est, X, y, splits)
    _no_fallback(monkeypatch)
    _assert_regressor_same(fit_folds(est, X, y, splits), sm, X)
    assert max(m.n_iter_ for m in sm) > 0


def test_continued_bidirectional_folds_match_separate_warm_starts(monkeypatch):
    X, y = _ragged(n=45)
    splits = list(KFold(3, shuffle=True, random_state=0).split(np.zeros(len(X))))
    est = GRUClassifier(units=3, bidirectional=True, epochs=2, batch_size=8, learning_rate=0.01, random_state=0)
    with monkeypatch.context() as patch:
        _no_fallback(patch)
        shared = fit_folds(est, X, y, splits, share_network=True)
        continued = continue_folds(shared, X, y, splits, 2)
    separate = _separate(est, X, y, splits)
    for m, (train, _) in zip(separate, splits):  # ragged rows: _warm_start_separately indexes arrays
        m.set_params(warm_start=True, epochs=2).fit([X[i] for i in train], y[train])
    _assert_continued_same(continued, separate, X)


def test_bidirectional_falls_back_under_the_compiled_step(monkeypatch):
    monkeypatch.setenv("SKGRU_FUSED_STEP", "xla")
    est = GRUClassifier(units=3, bidirectional=True, epochs=1, batch_size=8, random_state=0)
    ok, why = can_fuse(est)
    assert not ok and "bidirectional GRU is fused by the NumPy step only" in why
    spec = NetworkSpec(n_step_features=3, n_outputs=2, output_activation="softmax", units=(3,), bidirectional=True)
    assert "NumPy step only" in fused.structure_problem(build_network(spec, 0), spec)
    X, y = _ragged(n=30)
    splits = list(KFold(2, shuffle=True, random_state=0).split(np.zeros(len(X))))
    for a, b in zip(fit_folds(est, X, y, splits), _separate(est, X, y, splits)):  # the same separate fits
        for u, v in zip(a.model_.get_weights(), b.model_.get_weights()):
            np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("params", [dict(n_layers=2), dict(pooling="mean")])
def test_short_masked_series_read_per_step_take_the_loop_form_and_fuse(monkeypatch, params):
    # 6-step series are padded to the unrolled bucket of 8 and masked. Keras' unrolled
    # backward layer zeroes its outputs with the mask in input order while they are in
    # reversed order (valid steps come out 0), so where the backward outputs are read per
    # step the network takes the loop form, which the NumPy step follows: it fuses
    X, y = _data(n=40, t=6)
    splits = list(KFold(2, shuffle=True, random_state=0).split(X))
    est = GRUClassifier(units=3, bidirectional=True, epochs=2, batch_size=8, random_state=0, **params)
    assert not clone(est).fit(X, y).network_spec_.unroll
    assert fuse_problem(est, X, y, splits) is None
    sm = _separate(est, X, y, splits)
    _no_fallback(monkeypatch)
    _assert_same(fit_folds(est, X, y, splits), sm, X)


def test_short_masked_series_read_by_the_last_state_stay_unrolled_and_fuse(monkeypatch):
    # one layer, pooling "last": the last states of the unrolled form agree with the loop's
    X, y = _data(n=40, t=6)
    splits = list(KFold(2, shuffle=True, random_state=0).split(X))
    est = GRUClassifier(units=3, bidirectional=True, epochs=2, batch_size=8, learning_rate=0.02, random_state=0)
    fitted = clone(est).fit(X, y)
    assert fitted.network_spec_.unroll and fitted.network_spec_.mask_value is not None
    assert fuse_problem(est, X, y, splits) is None
    sm = _separate(est, X, y, splits)
    _no_fallback(monkeypatch)
    _assert_same(fit_folds(est, X, y, splits), sm, X)
