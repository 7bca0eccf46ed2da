"""``refit_all_rows`` and the scored ridge start ("epoch 0") of issue 12, round 4.

With early stopping a regressor held out 20% of its rows for good; now the
validation split only chooses the number of epochs, and the final network is
trained on every row.  Early stopping may also keep the ridge start itself when
no epoch improves on it.
"""

import numpy as np
import pytest

from skgru import GRUClassifier, GRURegressor

KW = dict(units=4, min_updates=0, random_state=0)
REG = dict(KW, ensemble_size=1)  # the refit of one network


def _reg_data(n=40, t=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, t, 2))
    y = X[:, -1, 0] - 0.5 * X[:, -2, 1] + np.tanh(X[:, 0, 0] * X[:, 1, 1]) + 0.1 * rng.normal(size=n)
    return X, y


def test_refit_equals_a_fit_on_all_rows_for_the_chosen_epochs():
    """The refit is exactly a fresh fit on all rows, no stopping rule, for the
    epochs the validation split chose (same seed: same start, same shuffles)."""
    X, y = _reg_data()
    refit = GRURegressor(epochs=12, refit_all_rows=True, shrink_to_mean=False, **REG).fit(X, y)
    selection = GRURegressor(epochs=12, refit_all_rows=False, shrink_to_mean=False, **REG).fit(X, y)
    n = selection.best_epoch_
    assert n >= 1  # the fixture must train at least one epoch for this to test anything
    assert refit.n_iter_ == refit.best_epoch_ == n == len(refit.history_["refit_loss"])
    assert refit.history_["val_loss"] == selection.history_["val_loss"]  # the selection is kept
    plain = GRURegressor(epochs=n, early_stopping=False, n_iter_no_change=n + 1, shrink_to_mean=False,
                         **REG).fit(X, y)
    np.testing.assert_allclose(refit.predict(X), plain.predict(X), rtol=1e-5, atol=1e-5)
    assert not np.allclose(refit.predict(X), selection.predict(X), atol=1e-3)


def test_refit_keeps_the_shrinkage_fitted_on_the_held_out_rows():
    X, y = _reg_data()
    refit = GRURegressor(epochs=12, refit_all_rows=True, **REG).fit(X, y)
    selection = GRURegressor(epochs=12, refit_all_rows=False, **REG).fit(X, y)
    np.testing.assert_allclose(refit.shrinkage_, selection.shrinkage_)


def test_a_start_no_epoch_beats_is_kept_and_refitted_as_ridge_on_all_rows():
    """A learning rate that wrecks every epoch: early stopping keeps the ridge start
    (best epoch 0), and the refit on all rows is RidgeCV on all rows."""
    from sklearn.linear_model import RidgeCV

    from skgru.estimators._architecture import SKIP_RIDGE_ALPHAS

    X, y = _reg_data(n=60)
    kw = dict(REG, epochs=3, learning_rate=5.0, clipnorm=None, shrink_to_mean=False)
    kept = GRURegressor(refit_all_rows=False, **kw).fit(X, y)
    assert kept.best_epoch_ == 0
    refit = GRURegressor(refit_all_rows=True, **kw).fit(X, y)
    assert refit.best_epoch_ == refit.n_iter_ == 0
    flat = X.reshape(-1, 2)
    Z = ((X - flat.mean(axis=0)) / flat.std(axis=0)).reshape(len(X), -1)
    ridge = RidgeCV(alphas=SKIP_RIDGE_ALPHAS).fit(Z, (y - y.mean()) / y.std())
    np.testing.assert_allclose(refit.predict(X), ridge.predict(Z) * y.std() + y.mean(), rtol=1e-3, atol=1e-3)


def test_no_refit_without_early_stopping_or_when_continuing():
    X, y = _reg_data()
    plain = GRURegressor(epochs=3, early_stopping=False, **REG).fit(X, y)
    assert "refit_loss" not in plain.history_
    warm = GRURegressor(epochs=3, warm_start=True, **REG).fit(X, y)
    n_refit = len(warm.history_["refit_loss"])
    warm.fit(X, y)  # a continuation: trains on, never a second refit
    assert len(warm.history_["refit_loss"]) == n_refit
    with pytest.raises(ValueError, match="early_stopping"):  # as sklearn's MLPs
        warm.partial_fit(X, y)
    assert len(warm.history_["refit_loss"]) == n_refit


def test_classifier_refit_is_opt_in():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 6, 2))
    y = (X[:, :, 0].sum(axis=1) > 0).astype(int)
    default = GRUClassifier(epochs=4, early_stopping=True, **KW).fit(X, y)
    assert GRUClassifier().refit_all_rows is False and "refit_loss" not in default.history_
    refit = GRUClassifier(epochs=4, early_stopping=True, refit_all_rows=True, **KW).fit(X, y)
    assert len(refit.history_["refit_loss"]) == refit.n_iter_ == default.best_epoch_


@pytest.mark.parametrize("value", ["yes", 1.5, None])
def test_invalid_refit_all_rows(value):
    X, y = _reg_data()
    with pytest.raises(ValueError, match="refit_all_rows"):
        GRURegressor(refit_all_rows=value, **REG).fit(X, y)
