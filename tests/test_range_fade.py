"""``range_fade`` (issue 12, round 18): the regressor's GRU part fades out for windows that
leave the range of the input seen in fit, leaving the linear skip."""

import pickle

import numpy as np
import pytest

from skgru import GRURegressor
from skgru.estimators import _range_fade
from skgru.estimators._ensemble import members
from skgru.estimators.regressor import gru_head_zeroed

FAST = dict(units=4, epochs=3, min_updates=0, batch_size=16, random_state=0)


@pytest.fixture(scope="module")
def trend():
    """Windows of a drifting walk: the later windows rise above the earlier ones' range."""
    rng = np.random.RandomState(0)
    s = np.cumsum(rng.normal(size=160) + 0.4)
    X = np.lib.stride_tricks.sliding_window_view(s[:-1], 8)
    y = s[8:]
    return X[:100], y[:100], X[100:], y[100:]


def _skip_alone(est, X):
    out = []
    for m in members(est):
        with gru_head_zeroed(m.model_):
            out.append(m._network_prediction(X))
    return np.mean(out, axis=0)


def test_range_is_every_valid_step_seen_in_fit(trend):
    X, y, _, _ = trend
    est = GRURegressor(**FAST).fit(X, y)
    np.testing.assert_allclose(est.input_range_, [[X.min()], [X.max()]])
    for m in est.ensemble_:  # every member knows its range
        np.testing.assert_allclose(m.input_range_, est.input_range_)


def test_inside_the_range_nothing_changes(trend):
    X, y, _, _ = trend
    faded = GRURegressor(**FAST, ensemble_size=2, range_fade=0.1).fit(X, y)
    plain = GRURegressor(**FAST, ensemble_size=2, range_fade=None).fit(X, y)
    np.testing.assert_array_equal(faded.predict(X), plain.predict(X))


@pytest.mark.parametrize("margin", [0.0, 0.1, 0.5])
def test_outside_the_range_the_gru_part_fades_to_the_skip(trend, margin):
    X, y, X_new, _ = trend
    # unshrunk, so that the GRU part is as trained (shrink_to_linear pulls it to ~0 on this linear target)
    kw = dict(FAST, ensemble_size=2, learning_rate=0.01, shrink_to_linear=False)
    faded = GRURegressor(**kw, range_fade=margin).fit(X, y)
    plain = GRURegressor(**kw, range_fade=None).fit(X, y)
    network, skip = plain.predict(X_new), _skip_alone(plain, X_new)
    assert np.max(np.abs(network - skip)) > 1e-2  # the GRU part matters on these rows
    excess = (X_new.max(axis=1) - X.max()) / (X.max() - X.min())
    g = np.clip(1.0 - excess / margin, 0.0, 1.0) if margin else (excess <= 0).astype(float)
    assert np.any(g < 1)
    np.testing.assert_allclose(faded.predict(X_new), skip + g * (network - skip), rtol=1e-5, atol=1e-5)


def test_excess_is_measured_per_feature_in_range_widths_and_ignores_padding():
    fit = np.array([[[0.0, 10.0], [1.0, 30.0]]])  # feature 0 in [0, 1], feature 1 in [10, 30]
    value_range = _range_fade.input_range(fit, None)
    np.testing.assert_array_equal(value_range, [[0.0, 10.0], [1.0, 30.0]])
    new = np.array([
        [[0.5, 20.0], [1.0, 30.0]],   # inside
        [[1.2, 20.0], [0.0, 10.0]],   # feature 0 by 0.2 widths
        [[0.5, 4.0], [0.5, 20.0]],    # feature 1 by 6/20 = 0.3 widths below
        [[0.5, 20.0], [-9.0, -9.0]],  # a padded step (mask_value -9) never counts
    ])
    np.testing.assert_allclose(_range_fade.range_excess(new, value_range, -9.0), [0.0, 0.2, 0.3, 0.0])
    np.testing.assert_allclose(_range_fade.fade_factors(np.array([0.0, 0.05, 0.1, 0.3]), 0.1),
                               [1.0, 0.5, 0.0, 0.0])
    # a feature constant in fit has no width to measure by: never scored
    flat = _range_fade.input_range(np.array([[[0.0, 5.0], [1.0, 5.0]]]), None)
    np.testing.assert_allclose(_range_fade.range_excess(np.array([[[0.5, 7.0]]]), flat, None), [0.0])


def test_ragged_padding_is_not_part_of_the_range():
    rng = np.random.RandomState(1)
    X = [rng.uniform(2.0, 3.0, size=(n, 1)) for n in (4, 7, 9, 5) * 5]
    est = GRURegressor(**FAST, ensemble_size=1).fit(X, np.array([s.sum() for s in X]))
    lo, hi = est.input_range_[:, 0]
    assert 2.0 <= lo < hi <= 3.0


def test_partial_fit_widens_the_range(trend):
    X, y, X_new, y_new = trend
    est = GRURegressor(**FAST, ensemble_size=1).fit(X, y)
    est.set_params(early_stopping=False).partial_fit(X_new, y_new)  # partial_fit refuses it
    np.testing.assert_allclose(est.input_range_, [[min(X.min(), X_new.min())], [max(X.max(), X_new.max())]])
    refit = GRURegressor(**FAST, ensemble_size=1).fit(X_new, y_new)  # a fresh fit starts over
    np.testing.assert_allclose(refit.input_range_, [[X_new.min()], [X_new.max()]])


def test_without_linear_skip_nothing_fades(trend):
    X, y, X_new, _ = trend
    faded = GRURegressor(**FAST, ensemble_size=1, linear_skip=None, range_fade=0.0).fit(X, y)
    plain = GRURegressor(**FAST, ensemble_size=1, linear_skip=None, range_fade=None).fit(X, y)
    np.testing.assert_array_equal(faded.predict(X_new), plain.predict(X_new))


def test_return_std_and_quantiles_fade_too(trend):
    X, y, X_new, _ = trend
    est = GRURegressor(**FAST, ensemble_size=1, dropout=0.3, range_fade=0.0, mc_samples=5).fit(X, y)
    far = X_new + 100.0  # every window far outside: the skip alone, which dropout does not reach
    mean, std = est.predict(far, return_std=True)
    np.testing.assert_allclose(mean, _skip_alone(est, far), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(std, 0.0, atol=1e-5)
    q = GRURegressor(**FAST, ensemble_size=1, quantiles=(0.1, 0.5, 0.9), range_fade=0.0).fit(X, y)
    with gru_head_zeroed(q.model_):
        expected = q.predict_quantiles(far)
    np.testing.assert_allclose(q.predict_quantiles(far), expected, rtol=1e-5, atol=1e-5)


def test_pickle_keeps_the_fade_and_old_pickles_predict_as_before(trend):
    X, y, X_new, _ = trend
    est = GRURegressor(**FAST, ensemble_size=1, range_fade=0.0).fit(X, y)
    clone = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(clone.predict(X_new), est.predict(X_new))
    state = est.__getstate__()
    state.pop("range_fade")  # as pickled before the parameter existed
    old = GRURegressor.__new__(GRURegressor)
    old.__setstate__(state)
    assert old.range_fade is None
    plain = GRURegressor(**FAST, ensemble_size=1, range_fade=None).fit(X, y)
    np.testing.assert_allclose(old.predict(X_new), plain.predict(X_new), rtol=1e-6)


@pytest.mark.parametrize("bad", [-0.1, "0.1", True])
def test_bad_range_fade_is_a_clear_error(trend, bad):
    X, y, _, _ = trend
    with pytest.raises((ValueError, TypeError), match="range_fade"):
        GRURegressor(**FAST, range_fade=bad).fit(X, y)
