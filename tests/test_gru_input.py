"""``gru_input`` (round 17 of issue 12): what the GRU reads at each step.

The layer's meaning (every step minus the last valid one, with or without the values
beside it), its NumPy twin and gradient, the fused NumPy step against separate fits,
and the parameter's validation.
"""
import keras
import numpy as np
import pytest
from sklearn.model_selection import KFold

from skgru import GRUClassifier, GRURegressor
from skgru._keras.network import _RelativeToLast, relative_to_last, relative_to_last_backward
from skgru.estimators._folds import fit_folds, fuse_problem

from test_fused import _assert_regressor_same, _assert_same, _separate, _uneven_splits

TF = keras.backend.backend() == "tensorflow"


def _ragged_batch(seed=0):
    """(4, 6, 2) rows with 6, 4, 1 and 3 valid steps, post- and pre-padded."""
    rng = np.random.RandomState(seed)
    x = rng.normal(size=(4, 6, 2)).astype("float32")
    valid = np.zeros((4, 6), bool)
    valid[0, :] = True
    valid[1, :4] = True   # post-padded
    valid[2, 2] = True    # one valid step
    valid[3, 3:] = True   # pre-padded
    return x, valid


@pytest.mark.parametrize("mode", ["relative", "both"])
def test_layer_subtracts_the_last_valid_step_and_zeroes_padding(mode):
    x, valid = _ragged_batch()
    out = np.asarray(_RelativeToLast(mode)(x, valid=valid))
    last_index = [5, 3, 2, 5]
    expected = np.stack([(x[i] - x[i, j]) * valid[i][:, None] for i, j in enumerate(last_index)])
    rel = out if mode == "relative" else out[..., 2:]
    np.testing.assert_allclose(rel, expected, atol=1e-6)
    if mode == "both":
        np.testing.assert_array_equal(out[..., :2], x)
    # the NumPy twin gives the same, and the last valid step's difference is 0
    twin, _ = relative_to_last(x, valid, mode)
    np.testing.assert_allclose(twin, out, atol=1e-6)
    assert np.all(rel[np.arange(4), last_index] == 0)
    # no mask: the last step of every row
    unmasked = np.asarray(_RelativeToLast(mode)(x))
    np.testing.assert_allclose(relative_to_last(x, None, mode)[0], unmasked, atol=1e-6)
    np.testing.assert_allclose(unmasked[..., -2:] if mode == "both" else unmasked, x - x[:, -1:, :], atol=1e-6)


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("mode", ["relative", "both"])
def test_numpy_gradient_matches_finite_differences(mode, masked):
    x, valid = _ragged_batch(1)
    x = x.astype(np.float64)
    valid = valid if masked else None
    g = np.random.RandomState(2).normal(size=relative_to_last(x, valid, mode)[0].shape)

    def loss(z):
        return float((relative_to_last(z, valid, mode)[0] * g).sum())

    _, is_last = relative_to_last(x, valid, mode)
    analytic = relative_to_last_backward(g, valid, is_last, mode)
    numeric = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        e = np.zeros_like(x)
        e[idx] = 1e-6
        numeric[idx] = (loss(x + e) - loss(x - e)) / 2e-6
    np.testing.assert_allclose(analytic, numeric, atol=1e-6)


def test_a_series_and_its_shifted_copy_give_the_gru_the_same_input():
    # "relative": a level added to a whole series changes nothing the GRU reads
    x = np.random.RandomState(0).normal(size=(3, 7, 2)).astype("float32")
    layer = _RelativeToLast("relative")
    np.testing.assert_allclose(np.asarray(layer(x + 5.0)), np.asarray(layer(x)), atol=1e-5)


@pytest.mark.skipif(not TF, reason="fused step is TF-only")
def test_fused_folds_match_separate_fits_with_conv_stem_on_ragged_patches():
    # the layer after two convolutions and max-pooled patches: the NumPy step's
    # backward pass runs through it into the convolutions
    rng = np.random.RandomState(3)
    X = [rng.normal(size=(rng.randint(8, 20), 2)).astype("float32") for _ in range(36)]
    y = np.array([int(s[-1, 0] > s[0, 0]) for s in X])
    splits = _uneven_splits(len(X), sizes=(24, 30), seed=2)
    est = GRUClassifier(units=3, conv_filters=(4, 3), conv_kernel_size=3, patch_size=5, patch_mode="max",
                        pooling="mean", epochs=2, batch_size=8, learning_rate=0.01, random_state=4,
                        dropout=0.0, bidirectional=False, gru_input="both")
    assert fuse_problem(est, X, y, splits) is None
    fm = fit_folds(est, X, y, splits)
    assert "relative_to_last" in [layer.name for layer in fm[0].model_.layers]
    _assert_same(fm, _separate(est, X, y, splits), X)


@pytest.mark.skipif(not TF, reason="fused step is TF-only")
@pytest.mark.parametrize("mode", ["relative", "both"])
def test_fused_folds_match_separate_fits_for_the_default_regressor(mode):
    # the regressor's defaults (standardised input, linear skip from its ridge start,
    # early stopping, shrinkage, refit on all rows), one network per fold
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 8, 1)).astype("float32")
    y = X[:, -1, 0] ** 2 + 0.1 * rng.normal(size=60)
    splits = list(KFold(2, shuffle=True, random_state=0).split(X))
    est = GRURegressor(units=3, epochs=3, batch_size=16, min_updates=0, ensemble_size=1, random_state=1,
                       gru_input=mode)
    assert fuse_problem(est, X, y, splits) is None
    # weights, histories, both shrink factors and the update-counted budget
    _assert_regressor_same(fit_folds(est, X, y, splits), _separate(est, X, y, splits), X)


def test_gru_input_changes_what_is_learned_and_values_is_the_plain_network():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 6, 1)).astype("float32")
    y = X[:, -1, 0]
    # no linear skip or early stopping: the GRU's part alone decides the prediction (with
    # them, 2 epochs may keep the ridge start, where the GRU's head is zero)
    common = dict(units=4, epochs=2, ensemble_size=1, min_updates=0, random_state=0, linear_skip=None,
                  early_stopping=False)
    plain = GRURegressor(**common).fit(X, y)
    both = GRURegressor(**common, gru_input="both").fit(X, y)
    assert "relative_to_last" not in [layer.name for layer in plain.model_.layers]
    assert both.model_.get_layer("gru_0").cell.kernel.shape[0] == 2  # the values and their difference
    assert not np.allclose(plain.predict(X), both.predict(X))


def test_gru_input_is_validated():
    X = np.zeros((10, 4, 1), "float32")
    y = np.arange(10.0)
    with pytest.raises(ValueError, match="gru_input"):
        GRURegressor(gru_input="last", epochs=1).fit(X, y)
    tokens = np.random.RandomState(0).randint(1, 5, size=(10, 4))
    with pytest.raises(ValueError, match="gru_input='both' is not supported for token input"):
        GRUClassifier(gru_input="both", embedding_dim=3, vocab_size=6, epochs=1).fit(tokens, np.arange(10) % 2)


def test_save_load_and_pickle_keep_the_layer(tmp_path):
    import pickle

    import skgru.io

    rng = np.random.RandomState(1)
    X = [rng.normal(size=(n, 1)).astype("float32") for n in rng.randint(4, 9, size=16)]
    y = np.array([s[-1, 0] for s in X])
    est = GRURegressor(units=3, epochs=2, ensemble_size=2, min_updates=0, random_state=0, gru_input="both").fit(X, y)
    skgru.io.save(est, tmp_path / "m.skgru")
    for again in (skgru.io.load(tmp_path / "m.skgru"), pickle.loads(pickle.dumps(est))):
        assert again.gru_input == "both"
        np.testing.assert_array_equal(again.predict(X), est.predict(X))
