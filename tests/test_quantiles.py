"""GRURegressor(quantiles=...) and predict(X, return_std=True) (MC dropout).

Small data, seconds per fit: sequences of 6 steps whose target noise grows with
the last value (so the quantile band must widen there), and AR(2) windows for MC
dropout.
"""

import pickle

import keras
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from skgru import GRURegressor
from skgru._keras.losses import PinballLoss
from skgru.estimators._scikeras import EXPECTED_FAILED_CHECKS

LEVELS = (0.1, 0.5, 0.9)


def hetero(n, seed):
    """y = sum(x) + noise whose scale is 0.3 + |last step|: the 80% band widens with it."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 6, 1)).astype("float32")
    y = X.sum(axis=(1, 2)) + rng.normal(size=n) * (0.3 + np.abs(X[:, -1, 0]))
    return X, y


def quantile_gru(**kw):
    # early_stopping=False: the training-loss rule these figures were measured with (the
    # regressor holds out a validation split by default since issue 12)
    params = dict(units=8, epochs=30, learning_rate=0.01, quantiles=LEVELS, early_stopping=False, random_state=0)
    params.update(kw)
    return GRURegressor(**params)


@pytest.fixture(scope="module")
def fitted():
    X, y = hetero(1000, seed=0)
    return quantile_gru(epochs=40, learning_rate=0.003).fit(X, y)


# ------------------------------------------------------------------ quantiles
def test_quantiles_are_sorted_monotone_and_near_their_levels(fitted):
    X_test, y_test = hetero(1000, seed=1)
    q = fitted.predict_quantiles(X_test)
    assert q.shape == (1000, 3)
    assert np.all(np.diff(q, axis=1) >= 0)  # never crossing
    below = (y_test[:, None] <= q).mean(axis=0)
    # out-of-sample share of y below each level: 3 seeds measured 0.10-0.12, 0.50-0.56,
    # 0.92-0.93 (a finite network, 40 epochs); 0.08 leaves room for platform numerics
    np.testing.assert_allclose(below, LEVELS, atol=0.08)
    # predict is the 0.5 level; score is R^2 of predict
    np.testing.assert_allclose(fitted.predict(X_test), q[:, 1])
    from sklearn.metrics import r2_score

    assert fitted.score(X_test, y_test) == pytest.approx(r2_score(y_test, q[:, 1]))
    # the band adapts: wider where the noise is larger (|last step| > 1 vs < 0.3)
    width = q[:, 2] - q[:, 0]
    last = np.abs(X_test[:, -1, 0])
    assert width[last > 1].mean() > 1.5 * width[last < 0.3].mean()


def test_unsorted_levels_and_point_level_choice():
    X, y = hetero(200, seed=2)
    reg = quantile_gru(quantiles=(0.9, 0.1, 0.5), epochs=3).fit(X, y)
    assert reg.quantiles == (0.9, 0.1, 0.5)  # the parameter is left as given
    np.testing.assert_allclose(reg.target_encoder_.levels_, [0.1, 0.5, 0.9])
    q = reg.predict_quantiles(X[:20])
    np.testing.assert_allclose(reg.predict(X[:20]), q[:, 1])
    # no 0.5 level: the middle one (lower middle for an even count)
    reg = quantile_gru(quantiles=(0.05, 0.25, 0.75, 0.95), epochs=3).fit(X, y)
    np.testing.assert_allclose(reg.predict(X[:20]), reg.predict_quantiles(X[:20])[:, 1])


def test_equal_quantile_fits_share_an_engine_and_agree():
    from skgru._keras import engines

    X, y = hetero(100, seed=11)
    engines.clear()
    a = quantile_gru(epochs=2).fit(X, y).predict_quantiles(X[:5])
    assert engines.pool_size() == 1  # PinballLoss compares by value: the engine is pooled
    b = quantile_gru(epochs=2).fit(X, y).predict_quantiles(X[:5])
    np.testing.assert_array_equal(a, b)


def test_multi_output_quantiles():
    X, y = hetero(200, seed=3)
    Y = np.column_stack([y, -3 * y])
    reg = quantile_gru(epochs=5).fit(X, Y)
    q = reg.predict_quantiles(X[:7])
    assert q.shape == (7, 2, 3)
    assert np.all(np.diff(q, axis=-1) >= 0)
    assert reg.predict(X[:7]).shape == (7, 2)
    assert reg.model_.output_shape[-1] == 6  # n_outputs * n_levels units


def test_standardize_y_maps_quantiles_back_to_y_units():
    X, y = hetero(200, seed=4)
    a = quantile_gru(epochs=5).fit(X, y).predict_quantiles(X[:10])
    b = quantile_gru(epochs=5).fit(X, 1000 * y + 5).predict_quantiles(X[:10])
    # standardised targets are the same for y and 1000 y + 5: the same network results
    np.testing.assert_allclose(b, 1000 * a + 5, rtol=1e-3, atol=1e-2)
    c = quantile_gru(epochs=5, standardize_y=False).fit(X, y).predict_quantiles(X[:10])
    assert np.all(np.diff(c, axis=1) >= 0)


def test_sample_weights_reach_the_pinball_loss():
    X, y = hetero(400, seed=5)
    plain = quantile_gru(epochs=15).fit(X, y)
    w = np.where(y > np.median(y), 10.0, 1.0)  # the upper half counts 10x
    weighted = quantile_gru(epochs=15).fit(X, y, sample_weight=w)
    X_test, _ = hetero(300, seed=6)
    assert weighted.predict(X_test).mean() > plain.predict(X_test).mean() + 0.2
    # zero weight == sample left out (same seed, same result)
    w0 = np.ones(400)
    w0[:50] = 0
    a = quantile_gru(epochs=3).fit(X, y, sample_weight=w0).predict_quantiles(X[:5])
    b = quantile_gru(epochs=3).fit(X[50:], y[50:]).predict_quantiles(X[:5])
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_early_stopping_monitors_the_validation_pinball_loss():
    X, y = hetero(300, seed=7)
    reg = quantile_gru(epochs=200, early_stopping=True, n_iter_no_change=5).fit(X, y)
    assert isinstance(reg.model_.loss, PinballLoss)
    assert reg.n_iter_ < 200 and 1 <= reg.best_epoch_ <= reg.n_iter_
    val = np.asarray(reg.history_["val_loss"])
    assert val.min() == pytest.approx(val[reg.best_epoch_ - 1])


def test_pinball_loss_values_and_serialisation():
    loss = PinballLoss((0.1, 0.9))
    y = np.array([[1.0], [0.0]], dtype="float32")
    pred = np.array([[0.0, 2.0], [1.0, -1.0]], dtype="float32")
    # sample 0: e = (1, -1): 0.1*1, (0.9-1)*(-1) = 0.1 -> mean 0.1
    # sample 1: e = (-1, 1): (0.1-1)*(-1) = 0.9, 0.9*1 = 0.9 -> mean 0.9
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loss.call(y, pred)), [0.1, 0.9], rtol=1e-6)
    assert float(loss(y, pred)) == pytest.approx(0.5)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(again, PinballLoss) and again.quantiles == (0.1, 0.9) and again == loss
    assert pickle.loads(pickle.dumps(loss)) == loss


def test_pickle_round_trip(fitted):
    X, _ = hetero(20, seed=8)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_allclose(restored.predict_quantiles(X), fitted.predict_quantiles(X), rtol=1e-6)
    assert clone(fitted).get_params()["quantiles"] == LEVELS


@pytest.mark.parametrize(
    "quantiles, match",
    [((), "non-empty"), ((0.0, 0.5), "strictly between"), ((0.5, 1.2), "strictly between"),
     ((0.5, 0.5), "distinct"), (("a", 0.5), "tuple of floats"), ("0.5", "array-like|tuple of floats")],
)
def test_bad_quantiles(quantiles, match):
    X, y = hetero(30, seed=9)
    with pytest.raises(ValueError, match=match):
        GRURegressor(units=4, epochs=1, quantiles=quantiles).fit(X, y)


def test_quantile_errors():
    X, y = hetero(30, seed=10)
    with pytest.raises(ValueError, match="pinball loss; leave loss=None"):
        GRURegressor(units=4, epochs=1, quantiles=LEVELS, loss="mae").fit(X, y)
    point = GRURegressor(units=4, epochs=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="quantiles=None"):
        point.predict_quantiles(X)


# ---------------------------------------------------------------- MC dropout
def ar2_windows(n, seed, window=10):
    rng = np.random.RandomState(seed)
    e = rng.normal(size=(n, 30 + window + 1))
    x = np.zeros_like(e)
    for t in range(2, e.shape[1]):
        x[:, t] = 0.6 * x[:, t - 1] - 0.3 * x[:, t - 2] + e[:, t]
    return x[:, 30:30 + window, None].astype("float32"), x[:, 30 + window]


@pytest.fixture(scope="module")
def dropout_gru():
    X, y = ar2_windows(500, seed=1)
    return GRURegressor(units=16, epochs=20, dropout=0.2, learning_rate=0.01, random_state=0).fit(X, y)


def test_mc_dropout_std_grows_far_outside_the_training_range(dropout_gru):
    X_test, _ = ar2_windows(200, seed=2)
    mean, std = dropout_gru.predict(X_test, return_std=True)
    assert mean.shape == std.shape == (200,)
    assert np.all(std > 0)
    _, std_far = dropout_gru.predict(X_test + 10, return_std=True)  # training inputs are ~N(0, 1.2)
    # 3 seeds measured: the far inputs' mean std is 4.3-5.2x the training-like one
    assert std_far.mean() > 2 * std.mean()
    # the MC mean is close to the deterministic prediction on training-like inputs
    assert np.mean(np.abs(mean - dropout_gru.predict(X_test))) < 0.5 * np.mean(np.abs(mean))


def test_mc_dropout_is_seeded_and_uses_mc_samples(dropout_gru):
    X_test, _ = ar2_windows(50, seed=3)
    a = dropout_gru.predict(X_test, return_std=True)
    b = dropout_gru.predict(X_test, return_std=True)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    other = clone(dropout_gru).set_params(mc_samples=5)
    other.__setstate__(dropout_gru.__getstate__())  # same network, 5 passes instead of 30
    other.set_params(mc_samples=5)
    c = other.predict(X_test, return_std=True)
    assert not np.allclose(a[1], c[1])
    # the plain predict is unchanged by MC sampling (no state is advanced)
    np.testing.assert_array_equal(dropout_gru.predict(X_test), dropout_gru.predict(X_test))
    restored = pickle.loads(pickle.dumps(dropout_gru))
    np.testing.assert_allclose(restored.predict(X_test, return_std=True)[1], a[1], rtol=1e-5)


def test_mc_dropout_needs_dropout():
    X, y = ar2_windows(40, seed=4)
    reg = GRURegressor(units=4, epochs=1, random_state=0, ensemble_size=1).fit(X, y)
    with pytest.raises(ValueError, match="dropout=0 and recurrent_dropout=0"):
        reg.predict(X, return_std=True)
    with pytest.raises(ValueError, match="'mc_samples' parameter"):
        GRURegressor(units=4, epochs=1, dropout=0.1, mc_samples=1).fit(X, y)


def test_mc_dropout_recurrent_only_quantile_and_multi_output():
    X, y = ar2_windows(60, seed=5)
    Y = np.column_stack([y, 2 * y])
    reg = GRURegressor(units=4, epochs=2, recurrent_dropout=0.3, quantiles=LEVELS, mc_samples=4,
                       random_state=0).fit(X, Y)
    mean, std = reg.predict(X[:6], return_std=True)
    assert mean.shape == std.shape == (6, 2)
    assert np.all(std > 0)


@pytest.mark.slow  # ~50 checks x 60 epochs; the plain GRURegressor's checks run in the quick subset
@parametrize_with_checks(
    [GRURegressor(units=16, epochs=60, learning_rate=0.01, quantiles=LEVELS, early_stopping=False, random_state=0)],
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_checks_quantile_regressor(estimator, check):
    check(estimator)
