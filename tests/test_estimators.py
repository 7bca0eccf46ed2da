"""GRUClassifier / GRURegressor: input conventions, targets, fitted state, errors."""

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import cross_val_score

from skgru import GRUClassifier, GRURegressor

FAST = dict(units=8, epochs=3, random_state=0)


# ----------------------------------------------------------------- input conventions
def test_3d_input_fit_predict_and_fitted_attributes(seq_data):
    X, y = seq_data
    clf = GRUClassifier(**FAST).fit(X, y)
    assert clf.predict(X).shape == (60,)
    assert clf.n_timesteps_ == 6 and clf.n_features_per_step_ == 2 and clf.n_features_in_ == 2
    assert clf.n_iter_ == 3 and clf.best_epoch_ == 3
    assert len(clf.history_["loss"]) == 3
    assert set(clf.classes_) == {0, 1}


def test_2d_input_is_univariate(seq_data):
    X, y = seq_data
    X2 = X[:, :, 0]
    clf = GRUClassifier(**FAST).fit(X2, y)
    assert clf.n_timesteps_ == 6 and clf.n_features_per_step_ == 1 and clf.n_features_in_ == 6
    # same data as an explicit (n, t, 1) array gives the same network and predictions
    clf3 = GRUClassifier(**FAST).fit(X2[:, :, None], y)
    np.testing.assert_allclose(clf.predict_proba(X2), clf3.predict_proba(X2[:, :, None]), rtol=1e-6)


def test_flattened_2d_with_n_features_and_dataframe_names(seq_data):
    X, y = seq_data
    flat = X.reshape(60, -1)  # timestep-major: (t0f0, t0f1, t1f0, ...)
    cols = [f"t{t}_f{f}" for t in range(6) for f in range(2)]
    df = pd.DataFrame(flat, columns=cols)
    clf = GRUClassifier(n_features=2, **FAST).fit(df, y)
    assert list(clf.feature_names_in_) == cols
    assert clf.n_features_in_ == 12 and clf.n_timesteps_ == 6
    ref = GRUClassifier(**FAST).fit(X, y)
    np.testing.assert_allclose(clf.predict_proba(df), ref.predict_proba(X), rtol=1e-6)
    with pytest.raises(ValueError, match="not a multiple of n_features=5"):
        GRUClassifier(n_features=5, **FAST).fit(flat, y)


def test_variable_length_list_is_padded_masked_and_cv_works():
    rng = np.random.RandomState(1)
    lengths = rng.randint(3, 9, size=40)
    X = [rng.normal(size=(n, 2)) for n in lengths]
    y = np.array([int(x[:, 0].mean() > 0) for x in X])
    clf = GRUClassifier(**FAST).fit(X, y)
    assert clf.n_timesteps_ is None
    proba = clf.predict_proba(X)
    assert proba.shape == (40, 2)
    # masking: padding is invisible, so a sequence predicts the same alone or in a padded batch
    np.testing.assert_allclose(clf.predict_proba([X[0]]), proba[:1], rtol=1e-5, atol=1e-6)
    # longer sequences than seen in fit are fine for a variable-length model
    assert clf.predict([rng.normal(size=(15, 2))]).shape == (1,)
    scores = cross_val_score(GRUClassifier(**FAST), X, y, cv=3)
    assert scores.shape == (3,)


def test_channels_first_layout_matches_channels_last(seq_data):
    X, y = seq_data
    nft = np.transpose(X, (0, 2, 1)).copy()
    a = GRUClassifier(input_layout="nft", **FAST).fit(nft, y)
    b = GRUClassifier(**FAST).fit(X, y)
    np.testing.assert_allclose(a.predict_proba(nft), b.predict_proba(X), rtol=1e-6)
    assert a.n_timesteps_ == 6 and a.n_features_per_step_ == 2


def test_token_matrix_with_embedding():
    rng = np.random.RandomState(0)
    X = rng.randint(1, 20, size=(50, 7))
    X[:, -2:] = 0  # padding
    y = (X[:, 0] > 10).astype(int)
    clf = GRUClassifier(embedding_dim=4, **FAST).fit(X, y)
    assert clf.network_spec_.vocab_size == 20
    assert clf.model_.get_layer("embedding") is not None
    assert clf.predict(X[:5]).shape == (5,)
    with pytest.raises(ValueError, match="token id 25"):
        clf.predict(np.full((1, 7), 25))
    with pytest.raises(ValueError, match="integer token ids"):
        GRUClassifier(embedding_dim=4, **FAST).fit(X + 0.5, y)


# ------------------------------------------------------------------------- targets
def test_multiclass_string_labels_and_probabilities(seq_data):
    X, _ = seq_data
    y = np.array(["cat", "dog", "emu"])[np.arange(60) % 3]
    clf = GRUClassifier(**FAST).fit(X, y)
    assert list(clf.classes_) == ["cat", "dog", "emu"]
    proba = clf.predict_proba(X)
    assert proba.shape == (60, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert set(clf.predict(X)) <= {"cat", "dog", "emu"}


def test_multilabel(seq_data):
    X, y = seq_data
    Y = np.column_stack([y, 1 - y, (X[:, 0, 1] > 0).astype(int)])
    clf = GRUClassifier(**FAST).fit(X, Y)
    assert clf.predict(X).shape == (60, 3)
    proba = clf.predict_proba(X)
    assert proba.shape == (60, 3) and np.all((proba >= 0) & (proba <= 1))


def test_regression_single_and_multi_output(seq_data):
    X, _ = seq_data
    y = X[:, :, 0].sum(axis=1) * 100 + 5  # large scale: standardize_y handles it
    reg = GRURegressor(units=16, epochs=40, learning_rate=0.01, random_state=0).fit(X, y)
    assert reg.predict(X).shape == (60,)
    assert reg.score(X, y) > 0.5
    Y = np.column_stack([y, -y])
    reg2 = GRURegressor(**FAST).fit(X, Y)
    assert reg2.predict(X).shape == (60, 2)


def test_sample_weight_and_class_weight_do_not_mutate_input(seq_data):
    X, y = seq_data
    sw = np.linspace(0.5, 1.5, 60)
    X_copy, y_copy, sw_copy = X.copy(), y.copy(), sw.copy()
    GRUClassifier(class_weight="balanced", **FAST).fit(X, y, sample_weight=sw)
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(y, y_copy)
    np.testing.assert_array_equal(sw, sw_copy)


def test_class_weight_balanced_favours_minority():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 5, 1)).astype("float32")
    y = (X[:, :, 0].mean(axis=1) > 0.35).astype(int)  # ~22% positives
    params = dict(units=8, epochs=15, learning_rate=0.01, random_state=0)
    plain = GRUClassifier(**params).fit(X, y).predict_proba(X)[:, 1].mean()
    balanced = GRUClassifier(class_weight="balanced", **params).fit(X, y).predict_proba(X)[:, 1].mean()
    assert balanced > plain
    with pytest.raises(ValueError, match="class_weight"):
        GRUClassifier(class_weight="heavy", **FAST).fit(X, y)


def test_zero_sample_weight_equals_dropping_samples(seq_data):
    X, y = seq_data
    sw = np.ones(60)
    sw[40:] = 0
    a = GRUClassifier(**FAST).fit(X, y, sample_weight=sw)
    b = GRUClassifier(**FAST).fit(X[:40], y[:40])
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-6)


def test_pandas_missing_values_get_the_nan_message():
    # pd.NA in a nullable column read as an object of NAType: "X must contain numbers
    # ... use TextSequencer"; now the NaN message, and NA-free nullable columns work
    pd = pytest.importorskip("pandas")
    from skgru.preprocessing import SequenceScaler

    df = pd.DataFrame({"a": pd.array([1.0, None, 3.0, 4.0], dtype="Float64"), "b": [1.0, 2, 3, 4]})
    for est in (GRUClassifier(**FAST), SequenceScaler()):
        with pytest.raises(ValueError, match="contains NaN"):
            est.fit(df, [0, 1, 0, 1])
    ints = pd.DataFrame({"a": pd.array([1, 2, 3, 4], dtype="Int64"), "b": [1.0, 2, 3, 4]})
    assert GRUClassifier(**FAST).fit(ints, [0, 1, 0, 1]).predict(ints).shape == (4,)


def test_a_dataframe_column_of_sequences_says_to_pass_the_column():
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    seqs = [rng.normal(size=(n, 2)) for n in (3, 5, 4, 6)]
    df = pd.DataFrame({"seq": seqs})
    with pytest.raises(ValueError, match=r"pass the column itself \(X\['seq'\]"):
        GRUClassifier(**FAST).fit(df[["seq"]], [0, 1, 0, 1])
    GRUClassifier(**FAST).fit(df["seq"], [0, 1, 0, 1])  # what the message offers


def test_a_class_weight_dict_with_multilabel_y_says_what_works(seq_data):
    # sklearn's message asked for a list of dicts, which the parameter then refused
    X, y = seq_data
    Y = np.column_stack([y, 1 - y])
    with pytest.raises(ValueError, match="not supported for multilabel y.*'balanced'"):
        GRUClassifier(class_weight={0: 1.0, 1: 2.0}, **FAST).fit(X, Y)
    GRUClassifier(class_weight="balanced", **FAST).fit(X, Y)  # what the message offers


def test_balanced_class_weight_counts_classes_by_their_sample_weight(seq_data):
    """With class_weight="balanced" too, a zero weight is a row left out: the classes
    are counted by weight (as LogisticRegression counts them), not by rows."""
    X, y = seq_data
    y = np.r_[np.zeros(45, int), np.ones(15, int)]  # 3:1, and 30 of the 0s weigh nothing
    sw = np.r_[np.zeros(30), np.ones(30)]
    kw = dict(FAST, class_weight="balanced")
    a = GRUClassifier(**kw).fit(X, y, sample_weight=sw)
    b = GRUClassifier(**kw).fit(X[30:], y[30:])
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-6)
    from skgru.estimators.classifier import _balanced_weights

    np.testing.assert_allclose(_balanced_weights(y, sw)[[30, 59]], [1.0, 1.0])  # 15 : 15
    np.testing.assert_allclose(_balanced_weights(y, np.ones(60))[[0, 59]], [60 / 90, 60 / 30])


# ------------------------------------------------------------------ training control
def test_early_stopping_restores_best_epoch():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(80, 5, 2)).astype("float32")
    y = rng.randint(0, 2, size=80)  # noise: validation loss soon rises
    # min_updates=1000 (the classifier's former default): patience 50 epochs on 60 rows stops within 60
    params = dict(units=16, learning_rate=0.05, random_state=0, early_stopping=True, validation_fraction=0.25,
                  min_updates=1000)
    clf = GRUClassifier(epochs=60, n_iter_no_change=5, **params).fit(X, y)
    val = clf.history_["val_loss"]
    assert clf.n_iter_ == len(val) < 60
    assert clf.best_epoch_ == int(np.argmin(val)) + 1
    # the kept weights are those of best_epoch_: retraining for exactly that many epochs
    # (same seed, same split, same shuffles) reproduces them
    again = GRUClassifier(epochs=clf.best_epoch_, n_iter_no_change=1000, **params).fit(X, y)
    np.testing.assert_allclose(clf.predict_proba(X), again.predict_proba(X), rtol=1e-5, atol=1e-6)


def test_training_loss_plateau_stops_like_mlp(seq_data):
    X, y = seq_data
    # min_updates=0: the patience is n_iter_no_change epochs exactly (the default raises it on tiny data)
    clf = GRUClassifier(units=8, epochs=200, tol=10.0, n_iter_no_change=2, min_updates=0, random_state=0).fit(X, y)
    assert clf.n_iter_ == 3  # epoch 1 sets the best; 2 epochs without a 10.0 improvement stop
    assert "val_loss" not in clf.history_


def test_warm_start_and_partial_fit_continue_training(seq_data):
    X, y = seq_data
    clf = GRUClassifier(warm_start=True, **FAST).fit(X, y)
    first = np.asarray(clf.model_.trainable_weights[0]).copy()
    clf.fit(X, y)
    assert clf.n_iter_ == 6 and len(clf.history_["loss"]) == 6
    assert not np.allclose(first, np.asarray(clf.model_.trainable_weights[0]))
    clf.partial_fit(X, y)
    assert clf.n_iter_ == 7
    reg = GRURegressor(early_stopping=False, **FAST).partial_fit(X, y.astype(float))
    assert reg.n_iter_ == 1


def test_partial_fit_refuses_early_stopping_and_other_classes(seq_data):
    """Early stopping held the same validation_fraction of every partial_fit call out
    of training, silently (GRURegressor's default); classes other than the fitted
    ones were ignored. Both are errors, as in scikit-learn's MLPs."""
    X, y = seq_data
    for est in (GRURegressor(**FAST), GRUClassifier(early_stopping=True, **FAST)):
        with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
            est.partial_fit(X, y)
        assert not hasattr(est, "model_")
    clf = GRUClassifier(**FAST).fit(X, y)
    clf.partial_fit(X, y, classes=[1, 0])  # the same classes, in any order
    with pytest.raises(ValueError, match="not the same as on the first call"):
        clf.partial_fit(X, y, classes=[0, 1, 2])


def test_routed_optimizer_params_reach_the_optimizer(seq_data):
    X, y = seq_data
    clf = GRUClassifier(optimizer="adam", optimizer__beta_1=0.5, learning_rate=0.02, clipnorm=1.0, **FAST)
    assert clf.get_params()["optimizer__beta_1"] == 0.5
    clf.fit(X, y)
    opt = clf.model_.optimizer
    assert opt.beta_1 == 0.5 and opt.clipnorm == 1.0
    assert float(np.asarray(opt.learning_rate)) == pytest.approx(0.02)


def test_architecture_parameters_shape_the_network(seq_data):
    X, y = seq_data
    clf = GRUClassifier(
        units=(8, 4), bidirectional=True, dense_units=5, dropout=0.1, l2=1e-3, mask_value=0.0,
        conv_filters=None, standardize_X=False,  # the plain stack: masking by a Masking layer
        **{k: v for k, v in FAST.items() if k != "units"}
    ).fit(X, y)
    names = [layer.name for layer in clf.model_.layers]
    assert "masking" in names and "bidirectional_0" in names and "bidirectional_1" in names
    assert "dense_0" in names and "head_dropout" in names
    assert clf.model_.get_layer("bidirectional_1").forward_layer.units == 4
    assert clf.model_.losses  # l2 penalties registered


# ---------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "params, match",
    [
        (dict(units=0), "units"),
        (dict(dropout=1.5), "dropout"),
        (dict(input_layout="tnf"), "input_layout"),
        (dict(units=(8, 4), n_layers=3), "n_layers=3"),
        (dict(epochs=0), "epochs"),
        (dict(learning_rate=-1.0), "learning_rate"),
        (dict(optimizer="no-such-optimizer"), "no-such-optimizer"),
    ],
)
def test_invalid_params_rejected_in_fit(seq_data, params, match):
    X, y = seq_data
    clf = GRUClassifier(**{**FAST, **params})  # construction never raises
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)


def test_bad_input_gets_clear_errors(seq_data):
    X, y = seq_data
    clf = GRUClassifier(**FAST)
    Xnan = X.copy()
    Xnan[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        clf.fit(Xnan, y)
    Xinf = X.copy()
    Xinf[1, 2, 1] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        clf.fit(Xinf, y)
    with pytest.raises(ValueError, match="1D array"):
        clf.fit(X[:, 0, 0], y)
    with pytest.raises(ValueError, match="0 sample"):
        clf.fit(X[:0], y[:0])
    with pytest.raises(ValueError, match="one class"):
        clf.fit(X, np.zeros(60))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        clf.fit(X, y[:50])
    with pytest.raises(ValueError, match="Unknown label type"):
        clf.fit(X, np.linspace(0, 1, 60))
    with pytest.raises(TypeError, match="sparse"):
        import scipy.sparse as sp

        clf.fit(sp.csr_matrix(X[:, :, 0]), y)

    clf.fit(X, y)
    with pytest.raises(ValueError, match="X has 4 timesteps, but GRUClassifier was fitted on sequences of 6"):
        clf.predict(X[:, :4])
    with pytest.raises(ValueError, match="X has 3 features per timestep"):
        clf.predict(np.concatenate([X, X[:, :, :1]], axis=2))
    with pytest.raises(ValueError, match="NaN"):
        clf.predict(Xnan)

    reg = GRURegressor(**FAST).fit(X[:, :, 0], y.astype(float))
    with pytest.raises(ValueError, match="X has 5 features, but GRURegressor is expecting 6"):
        reg.predict(X[:, :5, 0])
    with pytest.raises(ValueError, match="NaN"):
        GRURegressor(**FAST).fit(X, np.where(y > 0, np.nan, 1.0))


def test_divergence_is_reported_not_silent(seq_data):
    X, y = seq_data
    with pytest.raises(ValueError, match="diverged"):
        GRURegressor(units=8, epochs=5, learning_rate=1e12, standardize_y=False, activation="relu", random_state=0).fit(
            X * 1e6, y * 1e12
        )


def test_nothing_written_to_working_directory(seq_data, tmp_path, monkeypatch):
    X, y = seq_data
    monkeypatch.chdir(tmp_path)
    clf = GRUClassifier(**FAST).fit(X, y)
    clf.predict(X)
    assert list(tmp_path.iterdir()) == []


def test_unsupported_routed_parameters_are_rejected_not_ignored(seq_data):
    X, y = seq_data
    with pytest.raises(TypeError, match="model__units"):  # not a routed prefix skgru knows
        GRUClassifier(model__units=3, **FAST)
    with pytest.raises(ValueError, match="fit__class_weight"):
        GRUClassifier(fit__class_weight={0: 1}, **FAST).fit(X, y)
    clf = GRUClassifier(fit__batch_size=7, fit__shuffle=False, predict__batch_size=5, **FAST).fit(X, y)
    assert clf.predict(X).shape == (60,)


def test_keras_callbacks_and_verbose_progress(seq_data, capsys):
    import keras

    X, y = seq_data

    class Recorder(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.epochs = []

        def on_epoch_end(self, epoch, logs=None):
            self.epochs.append((epoch, sorted(logs)))

    rec = Recorder()
    stopper = keras.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=100.0)
    GRUClassifier(units=8, epochs=5, verbose=2, metrics=["accuracy"], callbacks=[rec, stopper], random_state=0).fit(X, y)
    assert rec.epochs[0] == (0, ["accuracy", "loss"])
    assert len(rec.epochs) == 2  # Keras' own EarlyStopping stopped our loop
    assert "loss" in capsys.readouterr().out  # verbose=2 prints one line per epoch


def test_other_keras_backend_in_a_subprocess(seq_data, tmp_path):
    """The package uses Keras 3 APIs only: it trains on the torch backend too (when installed)."""
    import subprocess
    import sys

    pytest.importorskip("torch")
    script = (
        "import numpy as np, keras; from skgru import GRUClassifier\n"
        "assert keras.backend.backend() == 'torch'\n"
        "rng = np.random.RandomState(0); X = rng.normal(size=(40, 5, 2)).astype('float32')\n"
        "y = (X[:, :, 0].sum(1) > 0).astype(int)\n"
        "a = GRUClassifier(units=8, epochs=3, dropout=0.1, random_state=0).fit(X, y).predict_proba(X)\n"
        "b = GRUClassifier(units=8, epochs=3, dropout=0.1, random_state=0).fit(X, y).predict_proba(X)\n"
        "assert np.array_equal(a, b); print('torch ok')\n"
    )
    env = {**__import__("os").environ, "KERAS_BACKEND": "torch"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "torch ok" in out.stdout


def test_batch_level_callbacks_see_every_batch_and_train_the_same(seq_data):
    """A callback with batch hooks switches to the per-step loop; the result is the same model."""
    import keras

    X, y = seq_data

    class BatchCounter(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.batches = 0

        def on_train_batch_end(self, batch, logs=None):
            self.batches += 1

    counter = BatchCounter()
    stepwise = GRUClassifier(callbacks=[counter], **FAST).fit(X, y)
    assert counter.batches == 3 * 2  # 3 epochs x ceil(60 / 32) batches
    whole_epochs = GRUClassifier(**FAST).fit(X, y)
    np.testing.assert_allclose(stepwise.predict_proba(X), whole_epochs.predict_proba(X), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(stepwise.history_["loss"], whole_epochs.history_["loss"], rtol=1e-4)
