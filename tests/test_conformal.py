"""ConformalRegressor: coverage on simulated AR(2) windows, exact quantiles, errors, sklearn API.

The coverage tests use independent AR(2) sequences (one window + its next value
per sample), so calibration and test samples are exchangeable and the conformal
guarantee applies exactly. With 1000 calibration samples the coverage of a
1000-sample test set has a standard deviation of about 0.013 around 0.90 (100
seeds of a Ridge stand-in: 0.899 +- 0.013, all inside 0.87-0.93), so the band
below fails only when the code is wrong, not by chance.
"""

import pickle

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.linear_model import Ridge
from sklearn.model_selection import TimeSeriesSplit, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import parametrize_with_checks

from skgru import GRURegressor
from skgru.conformal import ConformalRegressor
from skgru.preprocessing import SequenceScaler

WINDOW = 10


def ar2_windows(n, seed, window=WINDOW):
    """n independent AR(2) sequences x_t = 0.6 x_{t-1} - 0.3 x_{t-2} + N(0, 1).

    Returns X of shape (n, window, 1) and y = the value after the window; the
    best possible 90% interval is +-1.645 wide around the AR(2) forecast.
    """
    rng = np.random.RandomState(seed)
    burn = 30  # AR(2) roots have modulus 0.55: 30 steps forget the zero start
    e = rng.normal(size=(n, burn + window + 1))
    x = np.zeros_like(e)
    for t in range(2, e.shape[1]):
        x[:, t] = 0.6 * x[:, t - 1] - 0.3 * x[:, t - 2] + e[:, t]
    x = x[:, burn:]
    return x[:, :window, None].astype("float32"), x[:, window]


def flatten():
    return FunctionTransformer(lambda X: np.asarray(X).reshape(len(X), -1))


def small_gru(**kw):
    return GRURegressor(units=8, epochs=20, learning_rate=0.01, batch_size=32, random_state=0, **kw)


def coverage(intervals, y):
    return float(np.mean((y >= intervals[:, 0]) & (y <= intervals[:, 1])))


class QuantileStandIn(RegressorMixin, BaseEstimator):
    """A quantile regressor with skgru's quantile API (test-only, fast).

    Ridge on the flattened window plus the empirical quantiles of its training
    residuals: a homoscedastic quantile model, enough to drive the CQR code path
    (GRU quantile regression has its own tests).
    """

    def __init__(self, quantiles=(0.05, 0.5, 0.95)):
        self.quantiles = quantiles

    def fit(self, X, y):
        X = np.asarray(X).reshape(len(X), -1)
        self.ridge_ = Ridge().fit(X, y)
        self.offsets_ = np.quantile(y - self.ridge_.predict(X), np.sort(self.quantiles))
        self.n_features_in_ = X.shape[1]
        return self

    def predict_quantiles(self, X):
        X = np.asarray(X).reshape(len(X), -1)
        return self.ridge_.predict(X)[:, None] + self.offsets_

    def predict(self, X):
        return self.predict_quantiles(X)[:, len(self.quantiles) // 2]


@pytest.fixture(scope="module")
def ar2_test():
    return ar2_windows(1000, seed=2)


# ---------------------------------------------------------------- coverage
def test_split_conformal_gru_covers_90_percent(ar2_test):
    X, y = ar2_windows(2000, seed=1)
    X_test, y_test = ar2_test
    cr = ConformalRegressor(small_gru(), alpha=0.1, calibration_fraction=0.5, random_state=0).fit(X, y)
    assert cr.n_calibration_ == 1000
    intervals = cr.predict_interval(X_test)
    assert intervals.shape == (1000, 2)
    assert 0.87 <= coverage(intervals, y_test) <= 0.93
    width = intervals[:, 1] - intervals[:, 0]
    # constant width (split conformal on a point model), and not absurdly wide:
    # the oracle 90% interval is 3.29 wide; the marginal spread of y is ~1.3x that
    np.testing.assert_allclose(width, width[0], rtol=1e-5)
    assert width[0] < 4.5
    # the point forecast is the wrapped model's, and lies inside its interval
    np.testing.assert_allclose(cr.predict(X_test), cr.estimator_.predict(X_test))
    assert np.all((cr.predict(X_test) >= intervals[:, 0]) & (cr.predict(X_test) <= intervals[:, 1]))


def test_cv_plus_gru_covers_90_percent(ar2_test):
    X, y = ar2_windows(1000, seed=3)
    X_test, y_test = ar2_test
    cr = ConformalRegressor(small_gru(), method="cv_plus", cv=5, random_state=0).fit(X, y)
    assert len(cr.estimators_) == 5 and cr.n_calibration_ == 1000
    assert sorted(np.bincount(cr.fold_of_sample_)) == [200] * 5
    intervals = cr.predict_interval(X_test)
    assert 0.87 <= coverage(intervals, y_test) <= 0.93
    assert np.all(intervals[:, 1] - intervals[:, 0] < 4.5)


@pytest.mark.parametrize("method", ["split", "cv_plus"])
def test_conformalised_quantile_regression_covers_90_percent(method, ar2_test):
    X, y = ar2_windows(2000 if method == "split" else 1000, seed=4)
    X_test, y_test = ar2_test
    cr = ConformalRegressor(QuantileStandIn(), method=method, calibration_fraction=0.5, random_state=0).fit(X, y)
    assert cr.conformity_score_ == "quantile_band"
    np.testing.assert_allclose(cr.quantile_levels_, [0.05, 0.5, 0.95])
    intervals = cr.predict_interval(X_test)
    assert 0.87 <= coverage(intervals, y_test) <= 0.93


def test_cqr_with_a_quantile_gru_pipeline_covers_90_percent(ar2_test):
    X, y = ar2_windows(2000, seed=8)
    X_test, y_test = ar2_test
    qgru = make_pipeline(SequenceScaler(), small_gru(quantiles=(0.05, 0.5, 0.95)))
    cr = ConformalRegressor(qgru, calibration_fraction=0.5, random_state=0).fit(X, y)
    assert cr.conformity_score_ == "quantile_band"
    intervals = cr.predict_interval(X_test)
    assert 0.87 <= coverage(intervals, y_test) <= 0.93
    # the CQR band is the network's 5-95% band moved by one calibrated constant
    band = cr.estimator_[-1].predict_quantiles(cr.estimator_[:-1].transform(X_test))
    shift = intervals[:, 1] - band[:, 2]
    np.testing.assert_allclose(shift, shift[0], atol=1e-6)
    np.testing.assert_allclose(band[:, 0] - intervals[:, 0], shift[0], atol=1e-6)
    np.testing.assert_allclose(cr.predict(X_test), band[:, 1], rtol=1e-6)


def test_smaller_alpha_gives_wider_intervals(ar2_test):
    X, y = ar2_windows(400, seed=5)
    cr = ConformalRegressor(make_pipeline(flatten(), Ridge()), random_state=0).fit(X, y)
    w80 = np.diff(cr.predict_interval(ar2_test[0], alpha=0.2), axis=1)
    w95 = np.diff(cr.predict_interval(ar2_test[0], alpha=0.05), axis=1)
    assert np.all(w95 > w80)


# ------------------------------------------------------ exact finite-sample rule
class Zero(RegressorMixin, BaseEstimator):
    """Predicts 0 (or a fixed offset) everywhere: residuals are the targets."""

    def __init__(self, offset=0.0):
        self.offset = offset

    def fit(self, X, y):
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def predict(self, X):
        return np.full(len(X), self.offset)


def test_split_quantile_is_the_ceil_n_plus_1_rank():
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(50, 2)), rng.normal(size=50)
    cr = ConformalRegressor(Zero(), alpha=0.1, calibration_fraction=0.38, shuffle=False).fit(X, y)
    cal = np.arange(31, 50)  # ceil(0.38 * 50) = 19 last samples
    np.testing.assert_array_equal(cr.calibration_indices_, cal)
    np.testing.assert_allclose(cr.conformity_scores_, np.abs(y[cal]))
    k = int(np.ceil(20 * 0.9))  # (n + 1)(1 - alpha) = 18 exactly
    q = np.sort(np.abs(y[cal]))[k - 1]
    np.testing.assert_allclose(cr.predict_interval(X[:3]), [[-q, q]] * 3)


def test_cv_plus_matches_the_definition():
    rng = np.random.RandomState(1)
    X, y = rng.normal(size=(40, 3)), rng.normal(size=40)
    X_new = rng.normal(size=(7, 3))
    alpha = 0.2
    cr = ConformalRegressor(Ridge(), method="cv_plus", cv=4, alpha=alpha, random_state=0).fit(X, y)
    lo, hi = [], []
    for x in X_new:
        mu = np.array([cr.estimators_[cr.fold_of_sample_[i]].predict(x[None])[0] for i in range(40)])
        oof = np.array([cr.estimators_[cr.fold_of_sample_[i]].predict(X[i : i + 1])[0] for i in range(40)])
        r = np.abs(y - oof)
        lo.append(np.sort(mu - r)[int(np.floor(alpha * 41)) - 1])
        hi.append(np.sort(mu + r)[int(np.ceil((1 - alpha) * 41)) - 1])
    np.testing.assert_allclose(cr.predict_interval(X_new), np.column_stack([lo, hi]))
    # the fold models are all different (each missed another quarter of the data)
    coefs = np.array([est.coef_ for est in cr.estimators_])
    assert len(np.unique(coefs.round(8), axis=0)) == 4
    np.testing.assert_allclose(cr.predict(X_new), np.mean([e.predict(X_new) for e in cr.estimators_], axis=0))


def test_cqr_band_is_shifted_by_the_score_quantile():
    rng = np.random.RandomState(2)
    X, y = rng.normal(size=(300, 4, 1)), rng.normal(size=300)
    cr = ConformalRegressor(QuantileStandIn(quantiles=(0.1, 0.5, 0.9)), alpha=0.2, random_state=0).fit(X, y)
    q_cal = cr.estimator_.predict_quantiles(X[cr.calibration_indices_])
    y_cal = y[cr.calibration_indices_]
    scores = np.maximum(q_cal[:, 0] - y_cal, y_cal - q_cal[:, 2])
    np.testing.assert_allclose(cr.conformity_scores_, scores)
    k = int(np.ceil((len(y_cal) + 1) * 0.8))
    q = np.sort(scores)[k - 1]
    band = cr.estimator_.predict_quantiles(X[:5])
    np.testing.assert_allclose(cr.predict_interval(X[:5]), np.column_stack([band[:, 0] - q, band[:, 2] + q]))


class OverwideBand(QuantileStandIn):
    """A band whose half-width is 2 + 3 |x_0|: far wider than the noise where |x_0| is
    large, so the calibration over-covers and the conformal quantile is negative."""

    def predict_quantiles(self, X):
        X = np.asarray(X).reshape(len(X), -1)
        mid, half = self.ridge_.predict(X), 2 + 3 * np.abs(X[:, 0])
        return np.column_stack([mid - half, mid, mid + half])


@pytest.mark.parametrize("method", ["split", "cv_plus"])
def test_a_narrowed_cqr_band_never_crosses(method):
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(300, 4, 1)), rng.normal(size=300)
    kw = dict(method=method, random_state=0, **({"cv": 3} if method == "cv_plus" else {}))
    cr = ConformalRegressor(OverwideBand(), alpha=0.5, **kw).fit(X, y)
    X_new = rng.normal(size=(200, 4, 1))
    iv = cr.predict_interval(X_new)
    assert np.all(iv[:, 0] <= iv[:, 1])
    # The band was narrowed by more than its half-width on the narrowest points (so
    # the check above could fail): those collapse to the midpoint, the rest are as before.
    band = OverwideBand().fit(X.reshape(300, -1), y).predict_quantiles(X_new)
    narrow = band[:, 2] - band[:, 0] < np.median(band[:, 2] - band[:, 0])
    assert np.any(iv[:, 0] == iv[:, 1]) and np.all((iv[:, 0] == iv[:, 1]) <= narrow)
    if method == "split":
        q = np.sort(cr.conformity_scores_)[int(np.ceil((len(cr.conformity_scores_) + 1) * 0.5)) - 1]
        assert q < 0
        raw = np.column_stack([cr.estimator_.predict_quantiles(X_new)[:, 0] - q,
                               cr.estimator_.predict_quantiles(X_new)[:, 2] + q])
        crossed = raw[:, 0] > raw[:, 1]
        assert crossed.any() and np.array_equal(iv[~crossed], raw[~crossed])
        np.testing.assert_allclose(iv[crossed, 0], raw[crossed].mean(axis=1))


def test_multi_output_intervals():
    rng = np.random.RandomState(3)
    X = rng.normal(size=(200, 3))
    Y = np.column_stack([X[:, 0] + 0.1 * rng.normal(size=200), 10 * X[:, 1] + 5 * rng.normal(size=200)])
    for method in ["split", "cv_plus"]:
        cr = ConformalRegressor(Ridge(), method=method, random_state=0).fit(X, Y)
        iv = cr.predict_interval(X[:6])
        assert iv.shape == (6, 2, 2)
        assert cr.predict(X[:6]).shape == (6, 2)
        width = iv[..., 1] - iv[..., 0]
        assert np.all(width[:, 1] > 10 * width[:, 0])  # each output calibrated on its own scale
    assert cr.conformity_scores_.shape == (200, 2)


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize("alpha", [0, 1, 1.5, -0.1, "0.1", True])
def test_bad_alpha_is_rejected(alpha):
    X, y = np.zeros((30, 2)), np.arange(30.0)
    with pytest.raises(ValueError, match="alpha"):
        ConformalRegressor(Ridge(), alpha=alpha).fit(X, y)
    cr = ConformalRegressor(Ridge(), alpha=0.5).fit(X, y)
    with pytest.raises(ValueError, match="alpha must be a float in \\(0, 1\\)"):
        cr.predict_interval(X, alpha=alpha)


def test_too_few_calibration_samples():
    X, y = np.random.RandomState(0).normal(size=(20, 2)), np.arange(20.0)
    # 4 calibration samples: ceil(5 * 0.9) = 5 > 4
    with pytest.raises(ValueError, match=r"too few calibration samples for alpha=0.1.*need at least 9"):
        ConformalRegressor(Ridge(), alpha=0.1).fit(X, y)
    cr = ConformalRegressor(Ridge(), alpha=0.2, calibration_fraction=0.5).fit(X, y)  # 10 calibration samples
    assert cr.predict_interval(X).shape == (20, 2)
    with pytest.raises(ValueError, match="too few calibration samples for alpha=0.05"):
        cr.predict_interval(X, alpha=0.05)
    with pytest.raises(ValueError, match="too few calibration samples"):
        ConformalRegressor(Ridge(), method="cv_plus", cv=2, alpha=0.01).fit(X, y)


def test_estimator_without_predict():
    class NoPredict(BaseEstimator):
        def fit(self, X, y):
            return self

    with pytest.raises(ValueError, match="'estimator' parameter.*'predict'"):
        ConformalRegressor(NoPredict()).fit(np.zeros((30, 2)), np.zeros(30))


def test_quantiles_without_predict_quantiles():
    class Half(Zero):
        def __init__(self, quantiles=(0.1, 0.9)):
            self.quantiles = quantiles

    with pytest.raises(TypeError, match="no predict_quantiles"):
        ConformalRegressor(Half(), alpha=0.5).fit(np.zeros((30, 2)), np.zeros(30))
    with pytest.raises(ValueError, match="at least two quantile levels"):
        ConformalRegressor(QuantileStandIn(quantiles=(0.5,)), alpha=0.5).fit(np.zeros((30, 2)), np.zeros(30))


def test_cv_plus_needs_a_partition():
    X, y = np.random.RandomState(0).normal(size=(40, 2)), np.arange(40.0)
    with pytest.raises(ValueError, match="hold every sample out exactly once"):
        ConformalRegressor(Ridge(), method="cv_plus", cv=TimeSeriesSplit(3), alpha=0.5).fit(X, y)


def test_bad_method_and_fraction():
    X, y = np.zeros((30, 2)), np.zeros(30)
    with pytest.raises(ValueError, match="'method' parameter"):
        ConformalRegressor(Ridge(), method="jackknife").fit(X, y)
    with pytest.raises(ValueError, match="'calibration_fraction' parameter"):
        ConformalRegressor(Ridge(), calibration_fraction=1.0).fit(X, y)


# --------------------------------------------------- inputs and sklearn API
def test_time_ordered_split_and_no_mutation():
    X, y = ar2_windows(100, seed=6)
    X0, y0 = X.copy(), y.copy()
    cr = ConformalRegressor(make_pipeline(flatten(), Ridge()), shuffle=False).fit(X, y)
    np.testing.assert_array_equal(cr.calibration_indices_, np.arange(80, 100))
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)
    # shuffled split depends on random_state only
    a = ConformalRegressor(make_pipeline(flatten(), Ridge()), random_state=3).fit(X, y)
    b = ConformalRegressor(make_pipeline(flatten(), Ridge()), random_state=3).fit(X, y)
    np.testing.assert_array_equal(a.calibration_indices_, b.calibration_indices_)
    assert not np.array_equal(a.calibration_indices_, np.arange(80, 100))


def test_variable_length_sequences_with_gru():
    rng = np.random.RandomState(0)
    X = [rng.normal(size=(rng.randint(3, 9), 2)).astype("float32") for _ in range(40)]
    y = np.array([s[:, 0].sum() for s in X])
    for method in ["split", "cv_plus"]:
        cr = ConformalRegressor(
            GRURegressor(units=4, epochs=2, random_state=0), method=method, cv=2, alpha=0.5, random_state=0
        ).fit(X, y)
        iv = cr.predict_interval(X[:5])
        assert iv.shape == (5, 2) and np.all(iv[:, 0] <= iv[:, 1])
    assert isinstance(X, list) and len(X) == 40


def test_pipeline_clone_pickle_cross_val_score():
    X, y = ar2_windows(120, seed=7)
    cr = ConformalRegressor(
        make_pipeline(SequenceScaler(), GRURegressor(units=4, epochs=3, random_state=0)), alpha=0.2, random_state=0
    )
    assert clone(cr).get_params()["estimator__gruregressor__units"] == 4
    cr.fit(X, y)
    assert cr.n_features_in_ == 1
    restored = pickle.loads(pickle.dumps(cr))
    np.testing.assert_allclose(restored.predict_interval(X[:10]), cr.predict_interval(X[:10]), rtol=1e-6)
    np.testing.assert_allclose(restored.predict(X[:10]), cr.predict(X[:10]), rtol=1e-6)
    # the wrapper itself inside a Pipeline, scored by cross_val_score (R^2 of predict)
    pipe = make_pipeline(flatten(), StandardScaler(), ConformalRegressor(Ridge(), alpha=0.2, random_state=0))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and np.all(scores > 0.1)  # AR(2) one-step R^2 is ~0.3
    scores = cross_val_score(cr, X, y, cv=2)
    assert np.all(np.isfinite(scores))


def test_default_estimator_is_a_gru_regressor():
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(30, 4, 1)).astype("float32"), rng.normal(size=30)
    assert get_tags(ConformalRegressor()).input_tags.three_d_array  # the GRU's input tags
    assert ConformalRegressor().__sklearn_tags__().estimator_type == "regressor"
    cr = ConformalRegressor(alpha=0.5, random_state=0)
    cr.fit(X, y)
    assert isinstance(cr.estimator_, GRURegressor)
    assert cr.estimator is None  # params are left untouched


# calibration_fraction=0.5: check_regressors_train sets alpha=0.01 (meant for penalised
# linear models), which needs 99 calibration samples of its 200
@parametrize_with_checks([ConformalRegressor(Ridge(), alpha=0.5, calibration_fraction=0.5, random_state=0)])
def test_sklearn_checks(estimator, check):
    check(estimator)
