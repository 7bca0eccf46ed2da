"""Issue 12, round 3: the linear skip (LSTNet's autoregressive highway) and the
GRU-FCN branch beside the GRU."""

import pickle

import keras
import numpy as np
import pytest
from sklearn.base import clone

from skgru import GRUClassifier, GRURegressor
from skgru._keras.network import NetworkSpec, build_network

FAST = dict(units=8, epochs=3, min_updates=0, random_state=0)


def _xy(n=24, t=12, f=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, t, f))
    return X, X[:, -1, 0] * 2 - X[:, -3, 1]


def _ragged(n=20, seed=0):
    rng = np.random.default_rng(seed)
    X = [rng.normal(size=(int(rng.integers(5, 15)), 2)) for _ in range(n)]
    return X, np.array([x[-1, 0] for x in X])


# ------------------------------------------------------------------ linear skip


def _linear_only(spec):
    """The network of ``spec`` with the GRU head zeroed and the skip set to known weights:
    it then computes exactly ``last_w_steps.ravel() @ W + b``."""
    model = build_network(spec, seed=0)
    head = model.get_layer("gru_head")
    head.set_weights([np.zeros_like(w) for w in head.get_weights()])
    skip = model.get_layer("linear_skip")
    kernel, bias = skip.get_weights()
    W = np.random.default_rng(3).normal(size=kernel.shape).astype("float32")
    skip.set_weights([W, np.full_like(bias, 0.5)])
    return model, W


def test_linear_skip_is_a_linear_model_of_the_last_w_steps():
    spec = NetworkSpec(n_step_features=2, n_outputs=1, output_activation="linear", units=(4,), linear_skip=3)
    model, W = _linear_only(spec)
    X = np.random.default_rng(0).normal(size=(5, 7, 2)).astype("float32")
    expected = X[:, -3:, :].reshape(5, 6) @ W + 0.5
    np.testing.assert_allclose(np.asarray(model(X)), expected, atol=1e-5)
    # shorter than the window: zeros in front
    short = X[:, -2:, :]
    padded = np.concatenate([np.zeros((5, 1, 2), "float32"), short], axis=1)
    np.testing.assert_allclose(np.asarray(model(short)), padded.reshape(5, 6) @ W + 0.5, atol=1e-5)


@pytest.mark.parametrize("where", ["post", "pre"])
def test_linear_skip_uses_the_last_valid_steps_of_masked_input(where):
    spec = NetworkSpec(n_step_features=2, n_outputs=2, output_activation="linear", units=(4,),
                       linear_skip=3, mask_value=-9.0)
    model, W = _linear_only(spec)
    x = np.random.default_rng(1).normal(size=(5, 2)).astype("float32")
    pad = np.full((4, 2), -9.0, "float32")
    seq = np.vstack([x, pad]) if where == "post" else np.vstack([pad, x])
    np.testing.assert_allclose(np.asarray(model(seq[None]))[0], x[-3:].ravel() @ W + 0.5, atol=1e-5)


def test_linear_skip_parameter_builds_the_skip():
    X, y = _xy(t=12, f=2)
    reg = GRURegressor(linear_skip=4, **FAST).fit(X, y)
    assert reg.network_spec_.linear_skip == 4
    assert reg.model_.get_layer("linear_skip").kernel.shape == (4 * 2, 1)
    whole = GRURegressor(linear_skip=True, **FAST).fit(X, y)
    assert whole.model_.get_layer("linear_skip").kernel.shape == (12 * 2, 1)
    # the regressor's default is the whole window; the classifier's is no skip
    assert GRURegressor(**FAST).fit(X, y).network_spec_ == whole.network_spec_
    plain = GRURegressor(linear_skip=None, **FAST).fit(X, y)
    assert plain.network_spec_.linear_skip == 0
    assert "linear_skip" not in [layer.name for layer in plain.model_.layers]
    off = GRURegressor(linear_skip=False, **FAST).fit(X, y)
    assert off.network_spec_ == plain.network_spec_
    assert GRUClassifier(**FAST).fit(X, (y > 0).astype(int)).network_spec_.linear_skip == 0


def test_linear_skip_learns_a_linear_autoregression_the_gru_alone_misses():
    """A trend the GRU cannot extrapolate (targets beyond the training range) is linear
    in the window: the skip fits it."""
    rng = np.random.default_rng(0)
    level = np.linspace(0, 30, 160)
    X = level[:, None] + rng.normal(scale=0.1, size=(160, 6)).cumsum(axis=1)
    y = X[:, -1] + 0.5 * (X[:, -1] - X[:, -2])
    kw = dict(units=8, epochs=200, min_updates=0, n_iter_no_change=20, learning_rate=3e-3, random_state=0)
    train, test = slice(0, 120), slice(120, None)  # test levels above every training level
    skip = GRURegressor(linear_skip=True, **kw).fit(X[train], y[train])
    plain = GRURegressor(linear_skip=None, **kw).fit(X[train], y[train])
    rmse = lambda m: np.sqrt(np.mean((m.predict(X[test]) - y[test]) ** 2))  # noqa: E731
    assert rmse(skip) < 0.5 * rmse(plain), (rmse(skip), rmse(plain))


def test_regressor_starts_at_the_ridge_regression_of_the_window():
    """Before training (learning rate ~0) the regressor with a skip is RidgeCV on the
    standardised window, mapped back to the target's units."""
    from sklearn.linear_model import RidgeCV

    from skgru.estimators._architecture import SKIP_RIDGE_ALPHAS

    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 9, 2)) * [3.0, 0.5] + [10.0, -1.0]
    y = X[:, -1, 0] - 2 * X[:, -2, 1] + rng.normal(scale=0.3, size=50)
    reg = GRURegressor(linear_skip=3, units=4, epochs=1, min_updates=0, learning_rate=1e-9,
                       early_stopping=False, random_state=0).fit(X, y)
    flat = X.reshape(-1, 2)
    Z = ((X - flat.mean(axis=0)) / flat.std(axis=0))[:, -3:, :].reshape(50, 6)
    ridge = RidgeCV(alphas=SKIP_RIDGE_ALPHAS).fit(Z, (y - y.mean()) / y.std())
    np.testing.assert_allclose(reg.predict(X), ridge.predict(Z) * y.std() + y.mean(), rtol=1e-3, atol=1e-3)
    assert np.allclose(reg.model_.get_layer("gru_head").kernel, 0, atol=1e-6)


def test_linear_skip_classifier_adds_to_the_logits():
    X, y = _xy()
    clf = GRUClassifier(linear_skip=2, **FAST).fit(X, (y > 0).astype(int))
    names = [layer.name for layer in clf.model_.layers]
    assert {"gru_head", "linear_skip", "logits", "output"} <= set(names)
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1, atol=1e-5)


# ------------------------------------------------------------------ FCN branch


def test_fcn_branch_layers():
    X, y = _xy(t=20)
    clf = GRUClassifier(fcn_branch=True, **FAST).fit(X, (y > 0).astype(int))
    convs = [layer for layer in clf.model_.layers if layer.name.startswith("fcn_conv_")]
    assert [(c.filters, c.kernel_size) for c in convs] == [(128, (8,)), (256, (5,)), (128, (3,))]
    assert len([la for la in clf.model_.layers if la.name.startswith("fcn_batch_norm_")]) == 3
    small = GRUClassifier(fcn_branch=(4, 6), **FAST).fit(X, (y > 0).astype(int))
    convs = [layer for layer in small.model_.layers if layer.name.startswith("fcn_conv_")]
    assert [(c.filters, c.kernel_size) for c in convs] == [(4, (8,)), (6, (5,))]
    # the pooled branch is concatenated with the GRU summary (8 units in each of the
    # default bidirectional GRU's two directions) before the head
    assert small.model_.get_layer("output").kernel.shape == (2 * 8 + 6, 2)


def _fcn_fit(n=40):
    rng = np.random.default_rng(1)
    X = (rng.normal(size=(n, 20, 2)) * 3 + 1).astype("float32")
    y = (X[:, :, 0].mean(axis=1) > 1).astype(int)
    params = {**FAST, "epochs": 4, "dropout": 0.0, "batch_size": 16}
    return X, GRUClassifier(fcn_branch=(4, 6), **params).fit(X, y)


def test_fcn_batch_norm_predicts_with_the_training_rows_statistics():
    # After fit, every BatchNorm's moving mean and variance are the moments of its
    # inputs over the training rows (skgru._keras.batch_norm): inference equals a
    # training-mode pass over all rows at once. Left to the moving average (momentum
    # 0.99, 12 updates here), they stay near their start (0, 1) and the outputs differ.
    from skgru._keras.batch_norm import batch_norm_layers

    X, clf = _fcn_fit()
    layers = batch_norm_layers(clf.model_)
    assert len(layers) == 2 and all(la.momentum == 0.99 for la in layers)  # momentum restored
    inference = np.asarray(clf.model_(X, training=False))
    one_batch = np.asarray(clf.model_(X, training=True))  # no dropout anywhere: only BatchNorm differs
    np.testing.assert_allclose(inference, one_batch, atol=1e-4)
    np.testing.assert_allclose(clf.predict_proba(X), inference, atol=1e-5)


def test_fcn_batch_norm_statistics_averaged_over_chunks(monkeypatch):
    # rows too many for one pass: the moving mean is the mean of equal chunks' means,
    # exact for the first BatchNorm (its input does not depend on an earlier one)
    from skgru._keras import batch_norm

    monkeypatch.setattr(batch_norm, "CHUNK_VALUES", 1)
    monkeypatch.setattr(batch_norm, "MIN_CHUNK_ROWS", 10)  # 40 rows: 4 passes of 10
    X, clf = _fcn_fit()
    first = clf.model_.get_layer("fcn_batch_norm_0")
    inputs = np.asarray(keras.Model(clf.model_.inputs, first.input)(X, training=False))
    np.testing.assert_allclose(np.asarray(first.moving_mean), inputs.mean(axis=(0, 1)), rtol=1e-4, atol=1e-5)
    assert first.momentum == 0.99


def test_fcn_branch_changes_the_model():
    X, y = _xy()
    a = GRUClassifier(**FAST).fit(X, (y > 0).astype(int)).predict_proba(X)
    b = GRUClassifier(fcn_branch=(4, 4), **FAST).fit(X, (y > 0).astype(int)).predict_proba(X)
    assert not np.allclose(a, b)


# ------------------------------------------------------------------ masks, ragged, patches


@pytest.mark.parametrize("params", [dict(linear_skip=4), dict(fcn_branch=(4, 6, 4)),
                                    dict(linear_skip=True, fcn_branch=(4,), patch_size=3)])
def test_ragged_input_padding_never_reaches_the_new_paths(params):
    X, y = _ragged()
    reg = GRURegressor(**{**FAST, "shrink_to_mean": False}, **params).fit(X, y)
    x = np.random.default_rng(1).normal(size=(7, 2))
    long = np.random.default_rng(2).normal(size=(14, 2))
    alone = reg.predict([x])[0]
    np.testing.assert_allclose(reg.predict([x, long])[0], alone, atol=1e-5)


# ------------------------------------------------------------------ validation, persistence


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(linear_skip=0), "linear_skip"),
        (dict(linear_skip=-2), "linear_skip"),
        (dict(linear_skip=2.5), "linear_skip"),
        (dict(linear_skip="all"), "linear_skip"),
        (dict(fcn_branch=3), "fcn_branch"),
        (dict(fcn_branch="yes"), "fcn_branch"),
        (dict(fcn_branch=()), "fcn_branch"),
        (dict(fcn_branch=(8, 0)), "fcn_branch"),
    ],
)
def test_invalid_values(params, match):
    X, y = _xy()
    with pytest.raises(ValueError, match=match):
        GRURegressor(**{**FAST, **params}).fit(X, y)


@pytest.mark.parametrize("params", [dict(linear_skip=3), dict(fcn_branch=True)])
def test_token_input_is_rejected(params):
    tokens = np.random.default_rng(0).integers(1, 9, size=(20, 12))
    name = next(iter(params))
    with pytest.raises(ValueError, match=name):
        GRUClassifier(embedding_dim=4, **FAST, **params).fit(tokens, np.arange(20) % 2)


def test_clone_and_pickle():
    X, y = _ragged()
    reg = GRURegressor(linear_skip=5, fcn_branch=(4, 4), **FAST).fit(X, y)
    assert clone(reg).get_params()["linear_skip"] == 5 and clone(reg).fcn_branch == (4, 4)
    again = pickle.loads(pickle.dumps(reg))
    np.testing.assert_allclose(again.predict(X), reg.predict(X), atol=1e-6)
    # the unpatched view has its own copy of the training statistics
    np.testing.assert_allclose(np.asarray(reg.model_.get_layer("steps").mean),
                               np.asarray(reg.model_.get_layer("stem").mean))


def test_which_new_parameters_fuse():
    # the regressor's linear skip and refit on all rows are fused (tests/test_fused.py,
    # "the regressor's defaults"); the GRU-FCN branch is not
    from skgru.estimators._folds import can_fuse

    plain = dict(units=4, epochs=2, standardize_X=False, min_updates=0, shrink_to_mean=False, patch_size=1,
                 linear_skip=None, refit_all_rows=False)
    assert can_fuse(GRURegressor(**plain)) == (True, "fusable")
    for params in (dict(linear_skip=3), dict(refit_all_rows=True), dict(linear_skip=True, shrink_to_linear=False)):
        assert can_fuse(GRURegressor(**{**plain, **params})) == (True, "fusable")
    ok, why = can_fuse(GRURegressor(**{**plain, "fcn_branch": True}))
    assert not ok and "fcn_branch" in why


def test_a_skip_under_a_softmax_falls_back_from_fused_training():
    """The classifier's skip is added before the softmax (no ridge start): the fused
    step implements the regressor's linear output only, so the parameter check refuses
    it, and the network guard would too."""
    from sklearn.model_selection import KFold

    from skgru.estimators._folds import fuse_problem

    X, y = _xy(n=30)
    est = GRUClassifier(units=4, epochs=2, standardize_X=False, min_updates=0, patch_size=1, conv_filters=None,
                        linear_skip=True)
    assert "softmax" in fuse_problem(est, X, (y > 0).astype(int), list(KFold(2).split(X)))
    from skgru.estimators._folds import _prepare_folds

    # the guard behind it: the built network, had the parameter check let it through
    folds = _prepare_folds(est, X, (y > 0).astype(int), list(KFold(2).split(X)), None)
    assert isinstance(folds, str) and "non-linear output" in folds


def test_keras_ops_only_in_the_new_layers():
    """The new layers run eagerly on plain arrays (no TensorFlow-only call)."""
    from skgru._keras.network import _LastSteps

    x = keras.ops.convert_to_tensor(np.arange(12, dtype="float32").reshape(1, 6, 2))
    valid = keras.ops.convert_to_tensor(np.array([[True] * 4 + [False] * 2]))
    out = np.asarray(_LastSteps(2, 2)(x, valid=valid))
    np.testing.assert_allclose(out, [[4, 5, 6, 7]])
