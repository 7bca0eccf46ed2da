"""Fold-fused training (issue 14.4): k fused models == k separate fits of the same seeds."""

import keras
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import KFold

from skgru import GRUClassifier as _GRUClassifier
from skgru import GRURegressor as _GRURegressor
from skgru._keras import fused
from skgru._keras.network import NetworkSpec, build_network
from skgru.estimators._folds import can_fuse, fit_folds, fit_trial_folds, fuse_problem

# Most equality tests build the plain GRU stack (fast to trace); issue 12's defaults
# (input standardisation, convolutional stem, update-counted budget, shrinkage) have
# their own tests below, with the estimators' defaults (the regressor's linear skip and
# refit on all rows at the end of the file).  fcn_branch is not fused (separate fits).
PLAIN = dict(conv_filters=None, patch_size=1, standardize_X=False, min_updates=0, pooling="last",
             linear_skip=None)


def _Classifier(**kwargs):
    # The classifier's default dropout (0.2 since issue 12's round 11) and bidirectional
    # GRU (since round 13) are fused by the NumPy step only and have their own equality
    # tests (test_fused_dropout.py, test_fused_bidirectional.py); these tests compare both
    # steps on the unidirectional network without dropout, as they were written.
    return _GRUClassifier(**{"dropout": 0.0, "bidirectional": False, **kwargs})


def GRUClassifier(**kwargs):
    return _Classifier(**{**PLAIN, **kwargs})


def GRURegressor(**kwargs):
    # one network per fold (an ensemble fuses member by member: tests/test_ensemble.py)
    return _GRURegressor(**{**PLAIN, "shrink_to_mean": False, "early_stopping": False, "ensemble_size": 1, **kwargs})


pytestmark = pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="fused step is TF-only")


@pytest.fixture(params=["numpy", "xla"])
def step(request, monkeypatch):
    """Both fused steps: the NumPy one (the default) and the compiled XLA one."""
    monkeypatch.setenv("SKGRU_FUSED_STEP", request.param)
    return request.param

# float32, different summation order (einsum over the model axis vs per-model matmul):
# observed differences are ~1e-7 after one epoch; 1e-5 leaves room for a few epochs.
ATOL = 1e-5


def _data(n=48, t=6, f=3, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, t, f)).astype("float32")
    y = (X[:, :, 0].sum(axis=1) > 0).astype(int)
    return X, y


def _uneven_splits(n, sizes=(30, 22, 38), seed=0):
    """Folds of different training sizes (so shorter folds sit out the last steps)."""
    rng = np.random.RandomState(seed)
    out = []
    for size in sizes:
        perm = rng.permutation(n)
        out.append((np.sort(perm[:size]), np.sort(perm[size:])))
    return out


def _separate(est, X, y, splits, sample_weight=None):
    out = []
    for train, _ in splits:
        kw = {} if sample_weight is None else {"sample_weight": sample_weight[train]}
        Xtr = [X[i] for i in train] if isinstance(X, list) else X[train]
        out.append(clone(est).fit(Xtr, y[train], **kw))
    return out


def _assert_same(fused_models, separate_models, X, atol=ATOL, ignore=None):
    """Fused fold models == separate fits; ``ignore``: a variable path fragment whose
    weights (and optimizer slots) are not compared (the predictions still are)."""
    assert len(fused_models) == len(separate_models)
    for a, b in zip(fused_models, separate_models):
        assert a.n_iter_ == b.n_iter_
        assert a.best_epoch_ == b.best_epoch_
        assert set(a.history_) == set(b.history_)
        for key in b.history_:
            np.testing.assert_allclose(a.history_[key], b.history_[key], atol=atol, rtol=0)
        for u, v in zip(a.model_.weights, b.model_.weights):
            if ignore is None or ignore not in u.path:
                np.testing.assert_allclose(np.asarray(u), np.asarray(v), atol=atol, rtol=0)
        # optimizer state too (a continued fit, e.g. an ASHA promotion, continues from it)
        for u, v in zip(a.model_.optimizer.variables, b.model_.optimizer.variables):
            if ignore is None or ignore.replace("/", "_") not in u.path:
                np.testing.assert_allclose(np.asarray(u), np.asarray(v), atol=atol, rtol=1e-5)
        if hasattr(b, "predict_proba"):
            np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), atol=atol, rtol=0)
        else:
            np.testing.assert_allclose(a.predict(X), b.predict(X), atol=atol * 10, rtol=1e-5)
        assert a.n_features_in_ == b.n_features_in_
        if hasattr(b, "classes_"):
            np.testing.assert_array_equal(a.classes_, b.classes_)


def test_classifier_one_epoch_and_several_epochs_match_separate_fits(step):
    X, y = _data()
    splits = list(KFold(3, shuffle=True, random_state=0).split(X))
    for epochs in (1, 3):
        est = GRUClassifier(units=4, epochs=epochs, batch_size=8, random_state=0)
        assert fuse_problem(est, X, y, splits) is None
        _assert_same(fit_folds(est, X, y, splits), _separate(est, X, y, splits), X)


def test_a_mismatch_is_detected():
    # The comparison can fail: different seeds give different models.
    X, y = _data()
    splits = list(KFold(2, shuffle=True, random_state=0).split(X))
    est = GRUClassifier(units=4, epochs=1, batch_size=8, random_state=0)
    other = _separate(est.set_params(random_state=1), X, y, splits)
    with pytest.raises(AssertionError):
        _assert_same(fit_folds(est.set_params(random_state=0), X, y, splits), other, X)


def test_regressor_sample_weight_uneven_folds_two_layers_dense_l2(step):
    X, _ = _data(n=50)
    y = X[:, :, 1].mean(axis=1) * 3 + 1
    sw = np.random.RandomState(1).uniform(0.2, 2.0, size=len(X))
    sw[:3] = 0.0  # zero weight == absent, in each fold that holds these rows
    splits = _uneven_splits(len(X))
    # refit_all_rows (the regressor's default since issue 12 round 4) is a second,
    # unfused training: turned off here to test the fused step itself
    est = GRURegressor(units=(5, 3), dense_units=4, l2=1e-3, epochs=2, batch_size=8,
                       random_state=3, standardize_y=True, refit_all_rows=False)
    assert can_fuse(est) == (True, "fusable")
    _assert_same(fit_folds(est, X, y, splits, sample_weight=sw), _separate(est, X, y, splits, sw), X)


def test_ragged_input_with_clipnorm_and_class_weight(step):
    rng = np.random.RandomState(2)
    # 9..14 steps: beyond the unrolled bucket, so the open-length (scan) path runs with a mask
    X = [rng.normal(size=(rng.randint(9, 15), 2)).astype("float32") for _ in range(40)]
    y = np.array([int(s[:, 0].sum() > 0) + (i % 3 == 0) for i, s in enumerate(X)])
    splits = _uneven_splits(len(X), sizes=(28, 20, 33), seed=1)
    est = GRUClassifier(units=4, epochs=2, batch_size=8, clipnorm=0.05, class_weight="balanced",
                        learning_rate=0.01, random_state=5)
    assert fuse_problem(est, X, y, splits) is None
    _assert_same(fit_folds(est, X, y, splits), _separate(est, X, y, splits), X)


def test_lr_schedule_per_fold_and_l1():
    X, y = _data(n=40)
    splits = _uneven_splits(len(X), sizes=(24, 34), seed=4)
    est = GRUClassifier(units=4, epochs=3, batch_size=8, lr_schedule="exponential", lr_decay=0.5,
                        tol=0.02, learning_rate=0.01, l1=1e-3, l2=1e-3, random_state=8)
    fm, sm = fit_folds(est, X, y, splits), _separate(est, X, y, splits)
    _assert_same(fm, sm, X)
    assert [len(set(m.history_["learning_rate"])) for m in sm] == [3, 3], "the schedule must move the rates"


def test_clipnorm_is_per_fold_and_sgd_nesterov(step):
    X, y = _data(n=40)
    splits = _uneven_splits(len(X), sizes=(25, 32), seed=2)
    est = GRUClassifier(units=4, epochs=2, batch_size=6, optimizer="sgd", optimizer__momentum=0.9,
                        optimizer__nesterov=True, learning_rate=0.05, clipnorm=0.1,
                        activation="relu", random_state=7)
    assert can_fuse(est)[0]
    _assert_same(fit_folds(est, X, y, splits), _separate(est, X, y, splits), X)


def test_early_stopping_per_fold_validation_and_restore():
    X, y = _data(n=60)
    splits = list(KFold(3, shuffle=True, random_state=1).split(X))
    est = GRUClassifier(units=4, epochs=6, batch_size=8, early_stopping=True, n_iter_no_change=2,
                        tol=0.5, validation_fraction=0.25, learning_rate=0.02, random_state=11)
    fm = fit_folds(est, X, y, splits)
    sm = _separate(est, X, y, splits)
    _assert_same(fm, sm, X, atol=1e-4)
    # tol=0.5: no epoch after the first counts as an improvement -> stop after 3, restore epoch 1
    assert [(m.n_iter_, m.best_epoch_) for m in sm] == [(3, 1)] * 3


def test_stopping_on_training_loss_folds_stop_independently():
    X, y = _data(n=48)
    splits = _uneven_splits(len(X), sizes=(20, 40), seed=3)
    est = GRUClassifier(units=3, epochs=8, batch_size=8, n_iter_no_change=1, tol=0.0095,
                        learning_rate=0.01, random_state=2)
    fm, sm = fit_folds(est, X, y, splits), _separate(est, X, y, splits)
    _assert_same(fm, sm, X, atol=1e-4)
    # per-epoch loss drops: fold 0 0.0115, 0.0087 (< tol: stops after 3); fold 1 >= 0.014 (runs all 8)
    assert [m.n_iter_ for m in sm] == [3, 8], "the folds must stop at different epochs for this test to bite"


@pytest.mark.parametrize("params, reason", [
    ({"fcn_branch": True}, "fcn_branch"),
    ({"recurrent_dropout": 0.2}, "recurrent_dropout"),
    ({"optimizer": "rmsprop"}, "RMSprop"),
    ({"optimizer__amsgrad": True}, "amsgrad"),
    ({"metrics": ["accuracy"]}, "metrics"),
    ({"callbacks": [keras.callbacks.Callback()]}, "callbacks"),
    ({"verbose": 2}, "verbose"),
    ({"loss": "categorical_crossentropy"}, "loss"),
])
def test_fallback_reason_and_correct_separate_fits(params, reason):
    est = GRUClassifier(units=3, epochs=1, batch_size=8, random_state=0, **params)
    ok, why = can_fuse(est)
    assert not ok and reason in why
    if params.get("fcn_branch") or params.get("recurrent_dropout"):  # a couple of end-to-end checks (cheap enough)
        X, y = _data(n=30)
        splits = list(KFold(2, shuffle=True, random_state=0).split(X))
        for a, b in zip(fit_folds(est, X, y, splits), _separate(est, X, y, splits)):
            for u, v in zip(a.model_.get_weights(), b.model_.get_weights()):
                np.testing.assert_array_equal(u, v)  # the same separate fit: bit-identical


def test_unknown_new_parameter_is_refused():
    class WithNewKnob(_GRUClassifier):
        def get_params(self, deep=True):
            return {**super().get_params(deep), "new_knob": "on"}

    ok, why = can_fuse(WithNewKnob(**PLAIN, epochs=3))
    assert not ok and "new_knob" in why
    for pooling in ("auto", "mean", "max", "attention"):
        ok, why = can_fuse(GRUClassifier(pooling=pooling, epochs=3))
        assert ok, why
    ok, why = can_fuse(GRUClassifier(epochs=3).set_params(fit__batch_size=4))
    assert ok, why


def test_data_dependent_fallback_fold_missing_a_class():
    X, y = _data(n=30)
    y = y.copy()
    y[:3] = 2  # class 2 only in the first three rows
    splits = [(np.arange(3, 30), np.arange(3)), (np.arange(0, 20), np.arange(20, 30))]
    est = GRUClassifier(units=3, epochs=1, batch_size=8, random_state=0)
    assert "differ" in fuse_problem(est, X, y, splits)
    fm = fit_folds(est, X, y, splits)
    assert [len(m.classes_) for m in fm] == [2, 3]


def test_structure_guard_rejects_other_networks():
    plain = NetworkSpec(n_step_features=2, n_outputs=2, output_activation="softmax", units=(3,))
    assert fused.structure_problem(build_network(plain, 0), plain) is None
    bidirectional = NetworkSpec(n_step_features=2, n_outputs=2, output_activation="softmax", units=(3,),
                                bidirectional=True)
    assert fused.structure_problem(build_network(bidirectional, 0), bidirectional) is None  # NumPy step
    # a network that is not the one its spec describes, and one the steps do not implement
    assert fused.structure_problem(build_network(bidirectional, 0), plain) is not None
    assert fused.structure_problem(build_network(plain, 0), bidirectional) is not None
    fcn = NetworkSpec(n_step_features=2, n_outputs=2, output_activation="softmax", units=(3,), fcn_filters=(4,))
    assert "GRU-FCN" in fused.structure_problem(build_network(fcn, 0), fcn)


def test_non_gru_estimator_and_input_untouched():
    from sklearn.linear_model import Ridge

    X, y = _data(n=20)
    X2 = X.reshape(len(X), -1)
    X_copy = X2.copy()
    splits = list(KFold(2).split(X2))
    ok, why = can_fuse(Ridge())
    assert not ok and "GRUClassifier" in why
    models = fit_folds(Ridge(), X2, y, splits)
    assert len(models) == 2 and hasattr(models[0], "coef_")
    np.testing.assert_array_equal(X2, X_copy)
    with pytest.raises(ValueError, match="fuse"):
        fit_folds(Ridge(), X2, y, splits, fuse="yes")


def test_trial_helper_applies_params_and_only_takes_sample_weight():
    X, y = _data(n=30)
    splits = list(KFold(2, shuffle=True, random_state=0).split(X))
    base = GRUClassifier(units=3, epochs=1, batch_size=8)
    assert fit_trial_folds(base, {"random_state": 0}, X, y, splits, {"other": 1}) is None
    models = fit_trial_folds(base, {"random_state": 0, "learning_rate": 0.01}, X, y, splits)
    assert [m.learning_rate for m in models] == [0.01, 0.01] and base.learning_rate == 0.001
    _assert_same(models, _separate(base.set_params(random_state=0, learning_rate=0.01), X, y, splits), X)


# ------------------------------------------------------- issue 12's defaults


def test_default_classifier_standardize_and_conv_stem_match_separate_fits(step):
    # The estimator's defaults: standardize_X=True, conv_filters=64 (Conv1D(64, 5, "same")),
    # patch_size="auto" (1 here), min_updates=3000 (patience from each fold's size).
    rng = np.random.RandomState(0)
    X = (rng.normal(size=(45, 7, 3)) * [1.0, 5.0, 0.1] + [0.0, 3.0, -2.0]).astype("float32")
    y = (X[:, :, 0].sum(axis=1) > 0).astype(int) + (X[:, 0, 1] > 3)
    splits = _uneven_splits(len(X), sizes=(30, 36, 26), seed=5)
    est = _Classifier(units=4, conv_filters=6, epochs=1, batch_size=8, random_state=0)
    assert fuse_problem(est, X, y, splits) is None
    fm, sm = fit_folds(est, X, y, splits), _separate(est, X, y, splits)
    _assert_same(fm, sm, X)
    # each fold standardises with its own training rows' statistics
    means = [m.model_.get_layer("stem").mean.numpy() for m in fm]
    np.testing.assert_allclose(means[0], X[splits[0][0]].reshape(-1, 3).mean(axis=0), rtol=1e-5)
    assert not np.allclose(means[0], means[1])
    assert [(m.max_epochs_, m.patience_) for m in fm] == [(s.max_epochs_, s.patience_) for s in sm]


@pytest.mark.slow  # ~15 s on the shared 2-core VM (XLA compiles of two structures)
def test_default_classifier_conv_stem_ragged_input_two_epochs():
    # masks: padded steps are zeroed after standardising (the convolution sees zeros), the
    # GRU keeps its state over them; an even kernel pads one step more at the end
    rng = np.random.RandomState(3)
    X = [rng.normal(loc=1.0, size=(rng.randint(3, 11), 2)).astype("float32") for _ in range(36)]
    y = np.array([int(s[:, 0].mean() > 1.0) for s in X])
    splits = _uneven_splits(len(X), sizes=(24, 30), seed=2)
    est = _Classifier(units=3, conv_filters=(4, 3), conv_kernel_size=4, epochs=2, batch_size=8,
                     learning_rate=0.01, random_state=4)
    assert fuse_problem(est, X, y, splits) is None
    _assert_same(fit_folds(est, X, y, splits), _separate(est, X, y, splits), X)


def _shrinking_regressor_folds():
    """Data, 2 splits and the regressor's defaults (early stopping + shrink_to_mean) except
    its linear skip and its refit on all rows (those: the tests at the end of the file)."""
    X, _ = _data(n=40)
    y = X[:, :, 1].mean(axis=1) * 3 + 1
    splits = list(KFold(2, shuffle=True, random_state=0).split(X))
    est = _GRURegressor(units=3, epochs=2, batch_size=8, random_state=1, linear_skip=None, ensemble_size=1,
                        refit_all_rows=False)
    return X, y, splits, est


@pytest.mark.slow  # ~15 s on the shared 2-core VM (XLA compiles of two structures)
def test_default_regressor_early_stopping_shrinkage_match_separate_fits():
    X, y, splits, est = _shrinking_regressor_folds()
    assert fuse_problem(est, X, y, splits) is None
    fm, sm = fit_folds(est, X, y, splits), _separate(est, X, y, splits)
    _assert_same(fm, sm, X)
    for a, b in zip(fm, sm):
        np.testing.assert_allclose(a.shrinkage_, b.shrinkage_, atol=1e-4)


def test_default_classifier_on_long_series_patches_and_pools_like_separate_fits():
    # 50 steps: patch_size "auto" resolves to > 1; the defaults convolve every step,
    # max-pool each patch and max-pool the GRU's outputs (pooling "auto"), all fused
    X = np.random.RandomState(0).normal(size=(40, 50, 2)).astype("float32")
    y = (X[:, :25, 0].sum(axis=1) > 0).astype(int)
    splits = _uneven_splits(len(X), sizes=(26, 32), seed=1)
    est = _Classifier(units=4, conv_filters=5, epochs=2, batch_size=8, random_state=0)
    assert fuse_problem(est, X, y, splits) is None
    fm = fit_folds(est, X, y, splits)
    names = [layer.name for layer in fm[0].model_.layers]
    assert "patch_max_pooling" in names and "max_pooling" in names, names
    _assert_same(fm, _separate(est, X, y, splits), X)


def test_folded_patches_with_mean_pooling_match_separate_fits():
    X, y = _data(n=40, t=13, f=2)
    splits = list(KFold(2, shuffle=True, random_state=0).split(X))
    est = _Classifier(units=4, conv_filters=3, patch_size=4, patch_mode="fold", pooling="mean",
                     epochs=2, batch_size=8, random_state=0)
    assert fuse_problem(est, X, y, splits) is None
    fm = fit_folds(est, X, y, splits)
    assert fm[0].model_.get_layer("stem").patch_size == 4
    _assert_same(fm, _separate(est, X, y, splits), X)


def test_ragged_patches_pooled_after_two_convolutions(step):
    # variable lengths: padded steps zeroed before each convolution, partial patches
    # pooled over their valid steps only, the GRU's outputs mean-pooled over valid patches
    rng = np.random.RandomState(3)
    X = [rng.normal(size=(rng.randint(8, 20), 2)).astype("float32") for _ in range(36)]
    y = np.array([int(s[:, 0].mean() > 0) for s in X])
    splits = _uneven_splits(len(X), sizes=(24, 30), seed=2)
    est = _Classifier(units=3, conv_filters=(4, 3), conv_kernel_size=3, patch_size=5,
                     patch_mode="max", pooling="mean", epochs=2, batch_size=8,
                     learning_rate=0.01, random_state=4)
    assert fuse_problem(est, X, y, splits) is None
    _assert_same(fit_folds(est, X, y, splits), _separate(est, X, y, splits), X)


# ------------------------------------------------------- in a search (TunedGRU)


@pytest.mark.slow  # 4 fused + 12 separate fits, two fused structures to compile
def test_tuned_grid_with_fused_trials_matches_separate_trials(monkeypatch):
    from skgru import TunedGRU
    from skgru.estimators import _folds

    X, y = _data(n=60, t=5, f=2)
    calls = []
    real = _folds._train_fused
    monkeypatch.setattr(_folds, "_train_fused", lambda folds, **kw: calls.append(len(folds)) or real(folds, **kw))
    results = {}
    for mode in ("always", "0"):
        monkeypatch.setenv("SKGRU_FUSED_TRIALS", mode)
        search = TunedGRU(GRUClassifier(units=3, epochs=2, batch_size=16),
                          {"units": [3, 4], "learning_rate": [1e-3, 1e-2]}, tuner="grid", cv=3,
                          random_state=0, refit=False)
        results[mode] = search.fit(X, y).cv_results_
        if mode == "always":
            assert calls == [3] * 4, "every trial must train its folds fused"
            assert np.all(np.asarray(results[mode]["mean_fit_time"]) > 0)
    assert calls == [3] * 4, "SKGRU_FUSED_TRIALS=0 must fit the folds separately"
    fused_r, sep_r = results["always"], results["0"]
    assert [p for p in fused_r["params"]] == [p for p in sep_r["params"]]
    for key in [k for k in sep_r if k.startswith("split") and k.endswith("test_score")] + ["mean_test_score"]:
        np.testing.assert_allclose(fused_r[key], sep_r[key], atol=1e-6, err_msg=key)
    np.testing.assert_array_equal(fused_r["rank_test_score"], sep_r["rank_test_score"])


def test_fused_trials_auto_mode_skips_short_trials_only_for_the_compiled_step(monkeypatch):
    from skgru.tuning import _trial_runner

    monkeypatch.delenv("SKGRU_FUSED_TRIALS", raising=False)
    monkeypatch.delenv("SKGRU_FUSED_STEP", raising=False)
    assert _trial_runner.fused_trials_mode() == "auto"
    X, y = _data(n=30)
    splits = list(KFold(2).split(X))
    short = GRUClassifier(units=3, epochs=2, batch_size=8)  # 2 epochs x 2 steps
    # the NumPy step compiles nothing: even a short trial fuses
    models, _ = _trial_runner._fused_fold_models(short, {"random_state": 0}, X, y, splits, {})
    assert len(models) == 2
    # the compiled step would pay a compilation: short trials are fitted separately
    assert _trial_runner._fused_fold_models(short.set_params(activation="softsign"), {}, X, y, splits, {}) is None
    monkeypatch.setenv("SKGRU_FUSED_STEP", "xla")
    assert _trial_runner._fused_fold_models(short.set_params(activation="tanh"), {}, X, y, splits, {}) is None
    monkeypatch.setenv("SKGRU_FUSED_TRIALS", "always")
    models, seconds = _trial_runner._fused_fold_models(short, {"random_state": 0}, X, y, splits, {})
    assert len(models) == 2 and seconds > 0
    assert _trial_runner._fused_fold_models(short, {}, X, y, splits, {"other": 1}) is None


def test_fused_fold_models_continue_like_separate_ones():
    # ASHA / Hyperband promote a trial by continuing each fold's model (warm_start):
    # a fused model carries its optimizer state, so the continuation matches too.
    X, y = _data(n=40)
    splits = list(KFold(2, shuffle=True, random_state=0).split(X))
    est = GRUClassifier(units=3, epochs=1, batch_size=8, learning_rate=0.01, random_state=0)
    fm, sm = fit_folds(est, X, y, splits), _separate(est, X, y, splits)
    for models in (fm, sm):
        for m, (train, _) in zip(models, splits):
            m.set_params(warm_start=True, epochs=1).fit(X[train], y[train])
    _assert_same(fm, sm, X)
    assert [m.n_iter_ for m in fm] == [2, 2]


def test_scored_only_fold_models_skip_the_optimizer_state_and_predict_the_same():
    # a search's trial models are scored and dropped: their Adam state is not stored
    # (fit_folds(optimizer_state=False)); weights and predictions are those of the full store
    X, y = _data(n=40)
    splits = list(KFold(2, shuffle=True, random_state=0).split(X))
    est = GRUClassifier(units=3, epochs=2, batch_size=8, learning_rate=0.01, random_state=0)
    full = fit_folds(est, X, y, splits)
    light = fit_folds(est, X, y, splits, optimizer_state=False)
    for a, b in zip(full, light):
        for u, v in zip(a.model_.get_weights(), b.model_.get_weights()):
            np.testing.assert_array_equal(u, v)
        np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
        assert int(a.model_.optimizer.iterations) > 0
        assert int(b.model_.optimizer.iterations) == 0
    # the trial runner stores it only for models it keeps (Hyperband / ASHA promotions)
    from skgru.tuning import _trial_runner

    # (as arrays beside the one shared network: no optimizer variables are written)
    kept, _ = _trial_runner._fused_fold_models(est, {}, X, y, splits, {}, keep_models=True)
    dropped, _ = _trial_runner._fused_fold_models(est, {}, X, y, splits, {}, keep_models=False)
    assert kept.continuable and not dropped.continuable
    assert len({id(kept[j].model_) for j in range(2)}) == 1  # one network per kept trial, not k
    assert [kept.state(j)["optimizer"]["iterations"] for j in range(2)] == [
        int(m.model_.optimizer.iterations) for m in full]
    assert [int(kept[j].model_.optimizer.iterations) for j in range(2)] == [0, 0]


def test_activation_outside_the_numpy_step_falls_back_to_the_compiled_step(monkeypatch):
    # softsign has no written-out derivative in the NumPy step: the XLA step trains the
    # folds, and they still equal separate fits
    monkeypatch.delenv("SKGRU_FUSED_STEP", raising=False)
    X, y = _data()
    splits = list(KFold(2, shuffle=True, random_state=0).split(X))
    est = GRUClassifier(units=4, epochs=1, batch_size=8, activation="softsign", random_state=0)
    used = []
    real = fused.borrow_trainer
    monkeypatch.setattr(fused, "borrow_trainer", lambda *a, **k: used.append(real(*a, **k)) or used[-1])
    _assert_same(fit_folds(est, X, y, splits), _separate(est, X, y, splits), X)
    assert [type(t).__name__ for t in used] == ["FusedTrainer"]


def test_scored_only_fold_models_share_one_network_and_predict_as_their_own(monkeypatch):
    # fit_folds(share_network=True): the folds of a seeded search trial build ONE Keras model
    # (not k); taking models[j] loads fold j's weights and its own input statistics into it,
    # so each fold still predicts exactly as its independent fused model does.  The
    # classifier's defaults (per-fold standardisation, Conv1D stem) make the statistics matter.
    from skgru.estimators import _base
    from skgru.estimators._folds import SharedFoldModels

    X, y = _data(n=45)
    X = X * np.arange(1, 4, dtype="float32") + 5.0  # per-feature statistics far from (0, 1)
    splits = list(KFold(3, shuffle=True, random_state=0).split(X))
    est = _Classifier(units=3, epochs=2, batch_size=8, learning_rate=0.01, random_state=0)
    assert fuse_problem(est, X, y, splits) is None
    own = fit_folds(est, X, y, splits, optimizer_state=False)
    builds = []
    real = _base.build_network
    monkeypatch.setattr(_base, "build_network", lambda *a, **k: builds.append(1) or real(*a, **k))
    shared = fit_folds(est, X, y, splits, share_network=True)
    assert isinstance(shared, SharedFoldModels) and len(shared) == 3 and len(builds) == 1
    assert len({id(own[j].model_) for j in range(3)}) == 3
    assert len({id(shared[j].model_) for j in range(3)}) == 1
    expected = [m.predict_proba(X) for m in own]
    for j in (2, 0, 1, 1, -1):  # any order: the one taken last is loaded
        np.testing.assert_array_equal(shared[j].predict_proba(X), expected[j])
        assert shared[j].n_iter_ == own[j].n_iter_
    with pytest.raises(IndexError):
        shared[3]
    with pytest.raises(TypeError, match="int"):
        shared[0:2]


def test_shared_network_only_for_a_seed_and_equal_specs():
    X, y = _data(n=30)
    splits = list(KFold(2, shuffle=True, random_state=0).split(X))
    unseeded = GRUClassifier(units=3, epochs=1, batch_size=8, random_state=None)
    # without an int seed each fold's own build draws its own weights: nothing is shared
    models = fit_folds(unseeded, X, y, splits, share_network=True)
    assert isinstance(models, list) and models[0].model_ is not models[1].model_
    # a fold that misses a class has another spec: separate fits, independent models
    y = y.copy()
    y[:3] = 2
    odd = [(np.arange(3, 30), np.arange(3)), (np.arange(0, 20), np.arange(20, 30))]
    models = fit_folds(GRUClassifier(units=3, epochs=1, batch_size=8, random_state=0), X, y, odd,
                       share_network=True)
    assert [len(m.classes_) for m in models] == [2, 3] and models[0].model_ is not models[1].model_


def test_shared_network_regressor_shrinkage_uses_each_folds_weights():
    # the regressor's shrink_to_mean factor is fitted per fold on predictions of the
    # shared model: fold j's weights must be loaded when it is fitted
    X, y, splits, est = _shrinking_regressor_folds()
    own = fit_folds(est, X, y, splits)
    shared = fit_folds(est, X, y, splits, share_network=True)
    for j in range(2):
        np.testing.assert_array_equal(shared[j].shrinkage_, own[j].shrinkage_)
        np.testing.assert_array_equal(shared[j].predict(X), own[j].predict(X))
    assert own[0].shrinkage_ != own[1].shrinkage_  # otherwise the check above shows nothing


def test_optimizer_rule_is_decided_once_per_configuration(monkeypatch):
    # can_fuse builds two Keras optimizers to read their configs; a search asks ~15 times
    # per trial, so the answer is cached by (class, kwargs); unhashable options are not cached
    from skgru.estimators import _folds

    made = []
    real = keras.optimizers.Adam.__init__
    monkeypatch.setattr(keras.optimizers.Adam, "__init__", lambda self, *a, **k: made.append(1) or real(self, *a, **k))
    monkeypatch.setattr(_folds, "_RULES", {})
    est = GRUClassifier(units=3, learning_rate=0.0123)
    first = can_fuse(est)
    n = len(made)
    assert first == (True, "fusable") and n == 2
    assert can_fuse(clone(est)) == first and len(made) == n
    assert can_fuse(est.set_params(learning_rate=0.02))[0] and len(made) == n + 2
    refused = GRUClassifier(units=3, optimizer__amsgrad=True)
    assert "amsgrad" in can_fuse(refused)[1] and "amsgrad" in can_fuse(refused)[1]


# ---------------------------------------------------------------- continued folds
# ASHA / Hyperband promote a trial by training its fold models on (warm_start).  A fused
# trial keeps its folds' weights and optimizer state as arrays beside one shared network
# (SharedFoldModels), and continue_folds trains them on together.


def _optimizer_arrays(model, spec):
    """A Keras model's Adam step count and moments, in the fused variable order."""
    opt = model.optimizer
    order = {id(v): i for i, v in enumerate(model.trainable_variables)}
    found = {key: [v for v in opt.variables if name in v.name]
             for key, name in (("m", "momentum"), ("v", "velocity"))}
    out = {"iterations": int(opt.iterations.numpy())}
    for key, slots in found.items():
        out[key] = [np.asarray(slots[order[id(v)]]) for v in fused.model_variables(model, spec)]
    return out


def _warm_start_separately(models, X, y, splits, epochs, sample_weight=None):
    for m, (train, _) in zip(models, splits):
        kw = {} if sample_weight is None else {"sample_weight": sample_weight[train]}
        m.set_params(warm_start=True, epochs=epochs).fit(X[train], y[train], **kw)
    return models


def _assert_continued_same(shared, separate, X, atol=ATOL, ignore=None):
    from skgru.estimators._folds import SharedFoldModels

    assert isinstance(shared, SharedFoldModels) and shared.continuable
    for j, b in enumerate(separate):
        a = shared[j]  # loads fold j into the shared network
        assert (a.n_iter_, a.best_epoch_) == (b.n_iter_, b.best_epoch_)
        assert a.get_params()["warm_start"] and a.epochs == b.epochs
        assert set(a.history_) == set(b.history_)
        for key in b.history_:
            np.testing.assert_allclose(a.history_[key], b.history_[key], atol=atol, rtol=0)
        for u, v in zip(a.model_.weights, b.model_.weights):
            if ignore is None or ignore not in u.path:
                np.testing.assert_allclose(np.asarray(u), np.asarray(v), atol=atol, rtol=0)
        state, ref = shared.state(j)["optimizer"], _optimizer_arrays(b.model_, b.network_spec_)
        assert state["iterations"] == ref["iterations"] > 0
        compared = [ignore is None or ignore not in v.path for v in fused.model_variables(b.model_, b.network_spec_)]
        for key in ("m", "v"):
            for u, v, on in zip(state[key], ref[key], compared):
                if on:
                    np.testing.assert_allclose(u, v, atol=atol, rtol=1e-5)
        if hasattr(b, "predict_proba"):
            np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), atol=atol, rtol=0)
        else:
            np.testing.assert_allclose(a.predict(X), b.predict(X), atol=atol * 10, rtol=1e-5)
            np.testing.assert_allclose(a.shrinkage_, b.shrinkage_, atol=1e-4)


def test_continued_folds_match_separate_warm_starts(step):
    from skgru.estimators._folds import continue_folds

    X, y = _data(n=45)
    splits = list(KFold(3, shuffle=True, random_state=0).split(X))
    est = GRUClassifier(units=3, epochs=2, batch_size=8, learning_rate=0.01, random_state=0)
    shared = fit_folds(est, X, y, splits, share_network=True)
    n_steps = [shared.state(j)["optimizer"]["iterations"] for j in range(3)]
    objects = [shared.estimator(j) for j in range(3)]
    continued = continue_folds(shared, X, y, splits, 3)
    separate = _warm_start_separately(_separate(est, X, y, splits), X, y, splits, 3)
    _assert_continued_same(continued, separate, X)
    # the same estimators, trained on (the optimizer went on from its step count)
    assert [continued.estimator(j) for j in range(3)] == objects
    assert [m.n_iter_ for m in separate] == [5, 5, 5]
    assert [continued.state(j)["optimizer"]["iterations"] - n for j, n in enumerate(n_steps)] == [
        3 * int(np.ceil(30 / 8))] * 3
    # and on again, from the continued state
    continued = continue_folds(continued, X, y, splits, 1)
    _assert_continued_same(continued, _warm_start_separately(separate, X, y, splits, 1), X)


def test_continued_folds_resume_early_stopping_schedules_and_uneven_folds():
    # each fold resumes at its own epoch (early stopping ended them at different ones),
    # with its own validation split, patience and learning-rate schedule
    from skgru.estimators._folds import continue_folds

    X, y = _data(n=60)
    splits = _uneven_splits(len(X), sizes=(40, 28, 50), seed=3)
    est = GRUClassifier(units=4, epochs=4, batch_size=8, early_stopping=True, n_iter_no_change=2,
                        tol=0.01, validation_fraction=0.25, learning_rate=0.03, lr_schedule="exponential",
                        lr_decay=0.7, random_state=5)
    shared = fit_folds(est, X, y, splits, share_network=True)
    separate = _separate(est, X, y, splits)
    continued = continue_folds(shared, X, y, splits, 4)
    separate = _warm_start_separately(separate, X, y, splits, 4)
    _assert_continued_same(continued, separate, X, atol=1e-4)
    assert len({m.n_iter_ for m in separate}) > 1, "the folds should resume from different epochs"


def test_continued_regressor_folds_refit_their_shrinkage():
    from skgru.estimators._folds import continue_folds

    X, y, splits, est = _shrinking_regressor_folds()
    shared = fit_folds(est, X, y, splits, share_network=True)
    continued = continue_folds(shared, X, y, splits, 2)
    separate = _warm_start_separately(_separate(est, X, y, splits), X, y, splits, 2)
    _assert_continued_same(continued, separate, X)


def test_kept_fold_models_pickle_and_continue_the_same():
    # a worker (loky, Dask) sends a trial's kept models back and the promotion may run elsewhere
    import pickle

    from skgru.estimators._folds import continue_folds

    X, y = _data(n=40)
    splits = list(KFold(2, shuffle=True, random_state=0).split(X))
    est = _Classifier(units=3, epochs=1, batch_size=8, learning_rate=0.01, random_state=0)
    shared = fit_folds(est, X, y, splits, share_network=True)
    copy = pickle.loads(pickle.dumps(shared))
    expected = [shared[j].predict_proba(X) for j in (0, 1)]
    np.testing.assert_allclose(copy[1].predict_proba(X), expected[1], atol=1e-6)
    np.testing.assert_allclose(copy[0].predict_proba(X), expected[0], atol=1e-6)
    a, b = continue_folds(shared, X, y, splits, 2), continue_folds(copy, X, y, splits, 2)
    for j in (0, 1):
        np.testing.assert_allclose(b[j].predict_proba(X), a[j].predict_proba(X), atol=1e-6)
        assert a[j].n_iter_ == b[j].n_iter_ == 3


def test_continue_folds_only_from_kept_fused_state():
    from skgru.estimators._folds import continue_folds

    X, y = _data(n=40)
    splits = list(KFold(2, shuffle=True, random_state=0).split(X))
    est = GRUClassifier(units=3, epochs=1, batch_size=8, random_state=0)
    separate = _separate(est, X, y, splits)
    assert continue_folds(separate, X, y, splits, 1) is None  # a list: fitted separately
    scored_only = fit_folds(est, X, y, splits, share_network=True, optimizer_state=False)
    assert continue_folds(scored_only, X, y, splits, 1) is None  # no optimizer state kept
    assert [m.n_iter_ for m in separate] == [1, 1] and scored_only[0].n_iter_ == 1


@pytest.mark.parametrize("tuner", ["asha", "hyperband"])
def test_promotions_continue_the_fused_folds_and_match_separate_trials(monkeypatch, tuner):
    # ASHA / Hyperband: a fresh trial's folds train fused and are kept as arrays; a
    # promotion continues them fused (no fold is fitted on its own), and every score equals
    # the search with fused trials off (separate fits, separate warm starts)
    pytest.importorskip("keras_tuner")
    from skgru import TunedGRU
    from skgru.estimators import _folds

    X, y = _data(n=60, t=5, f=2)
    calls = []
    real_train = _folds._train_fused
    monkeypatch.setattr(_folds, "_train_fused", lambda folds, **kw: calls.append(
        [f.network.continuing for f in folds]) or real_train(folds, **kw))
    results = {}
    for mode in ("auto", "0"):
        monkeypatch.setenv("SKGRU_FUSED_TRIALS", mode)
        kw = (dict(max_trials=8, tuner_params={"min_epochs": 1, "reduction_factor": 2}) if tuner == "asha"
              else dict(max_trials=None, hyperband_factor=2))
        search = TunedGRU(GRUClassifier(units=3, batch_size=16, learning_rate=0.01),
                          {"units": [3, 4], "learning_rate": [3e-3, 1e-2, 3e-2]}, tuner=tuner,
                          max_epochs=4, cv=3, random_state=0, refit=False, **kw)
        results[mode] = search.fit(X, y).cv_results_
        if mode == "auto":
            promoted = sum(p is not None for p in results[mode]["parent_trial_id"])
            assert promoted >= 2
            assert sum(all(c) for c in calls) == promoted, "every promotion continues fused"
            assert sum(not any(c) for c in calls) == len(calls) - promoted
            n_calls = len(calls)
    assert len(calls) == n_calls, "SKGRU_FUSED_TRIALS=0 must fit the folds separately"
    fused_r, sep_r = results["auto"], results["0"]
    assert fused_r["params"] == sep_r["params"]
    assert list(fused_r["parent_trial_id"]) == list(sep_r["parent_trial_id"])
    np.testing.assert_array_equal(fused_r["epochs_trained"], sep_r["epochs_trained"])
    for key in [k for k in sep_r if k.startswith("split") and k.endswith("test_score")]:
        np.testing.assert_allclose(fused_r[key], sep_r[key], atol=1e-6, err_msg=key)


def test_kept_fused_folds_continue_fold_by_fold_when_fusing_is_off(monkeypatch):
    # a promotion whose kept fused folds cannot continue fused (here: fused trials turned
    # off between the trials) gets one network per fold, with its weights and optimizer
    # state, so the fold-by-fold warm starts still continue each fold's own model
    from sklearn.metrics import get_scorer

    from skgru.tuning._trial_runner import _fused_fold_models, evaluate_candidate

    X, y = _data(n=45)
    splits = list(KFold(3, shuffle=True, random_state=0).split(X))
    est = GRUClassifier(units=3, batch_size=8, learning_rate=0.01, random_state=0)
    kept, _ = _fused_fold_models(est, {"epochs": 2}, X, y, splits, {}, keep_models=True)
    monkeypatch.setenv("SKGRU_FUSED_TRIALS", "0")
    out = evaluate_candidate(est, {}, X, y, splits, get_scorer("accuracy"), budget_param="epochs", budget=5,
                             warm_start_param="warm_start", parents=(kept, 2), keep_models=True)
    assert out["error"] is None and out["continued"] and out["epochs_trained"] == 9
    separate = _warm_start_separately(_separate(est.set_params(epochs=2), X, y, splits), X, y, splits, 3)
    assert len({id(m.model_) for m in out["models"]}) == 3
    _assert_same(out["models"], separate, X, atol=1e-4)


def test_continued_folds_with_sample_weight_match_separate_warm_starts():
    from skgru.estimators._folds import continue_folds

    X, y = _data(n=48)
    y = X[:, :, 2].sum(axis=1)
    sw = np.random.RandomState(3).uniform(0.2, 2.0, size=len(X))
    sw[::7] = 0.0  # zero weight: the row is absent, in the continuation too
    splits = _uneven_splits(len(X), sizes=(30, 40), seed=1)
    est = GRURegressor(units=3, epochs=2, batch_size=8, learning_rate=0.01, random_state=2,
                       refit_all_rows=False)  # no second training: each fold continues its own fit
    shared = fit_folds(est, X, y, splits, sample_weight=sw, share_network=True)
    continued = continue_folds(shared, X, y, splits, 2, sample_weight=sw)
    separate = _warm_start_separately(_separate(est, X, y, splits, sample_weight=sw), X, y, splits, 2, sw)
    _assert_continued_same(continued, separate, X)


# ---------------------------------------------------------------- the regressor's defaults
# GRURegressor()'s linear skip (each fold started at its own RidgeCV fit, the start
# scored by early stopping as "epoch 0"), the GRU head's shrinkage toward it and the
# second training on every row (refit_all_rows) fuse in the NumPy step.


def _default_regressor_data(n=60, t=8, seed=0):
    """Series whose target is mostly linear in the last steps (the ridge start is hard
    to beat on some folds) plus a non-linear part (the GRU improves on others)."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, t, 2)).astype("float32")
    y = 1.5 * X[:, -1, 0] - X[:, -2, 1] + 0.8 * np.tanh(3 * X[:, :, 0].mean(axis=1)) + 0.2 * rng.normal(size=n)
    return X, y


def _default_regressor(**kwargs):
    # the defaults, with a short explicit budget (min_updates would plan hundreds of epochs),
    # one network per fold: an ensemble fuses member by member (tests/test_ensemble.py)
    return _GRURegressor(**{"units": 4, "epochs": 12, "min_updates": 0, "n_iter_no_change": 4, "batch_size": 8,
                            "learning_rate": 0.02, "random_state": 3, "ensemble_size": 1, **kwargs})


def _assert_regressor_same(fm, sm, X, atol=ATOL):
    _assert_same(fm, sm, X, atol=atol)
    for a, b in zip(fm, sm):
        np.testing.assert_allclose(a.shrinkage_, b.shrinkage_, atol=1e-4)
        np.testing.assert_allclose(a.gru_shrinkage_, b.gru_shrinkage_, atol=1e-4)
        assert (a.max_epochs_, a.patience_) == (b.max_epochs_, b.patience_)
        # range_fade (round 18): the same range recorded, the same fade where windows leave it
        np.testing.assert_array_equal(a.input_range_, b.input_range_)
        np.testing.assert_allclose(a.predict(X + 2.0), b.predict(X + 2.0), atol=atol * 10, rtol=1e-5)


def _no_fallback(monkeypatch):
    """Make a fall back to separate fits (e.g. after a fused error) fail the test."""
    from skgru.estimators import _folds

    def fail(*args, **kwargs):
        raise AssertionError("fit_folds fell back to separate fits")

    monkeypatch.setattr(_folds, "_fit_separately", fail)


def test_default_regressor_linear_skip_and_refit_match_separate_fits(monkeypatch):
    X, y = _default_regressor_data()
    splits = _uneven_splits(len(X), sizes=(40, 30, 50), seed=2)
    est = _default_regressor()
    assert est.linear_skip is True and est.refit_all_rows and est.early_stopping and est.shrink_to_linear
    assert fuse_problem(est, X, y, splits) is None
    sm = _separate(est, X, y, splits)
    _no_fallback(monkeypatch)
    fm = fit_folds(est, X, y, splits)
    _assert_regressor_same(fm, sm, X)
    for m in sm:
        assert any(key.startswith("refit_") for key in m.history_)  # the second training ran
    # what the data exercises (else the equality above shows less): a fold whose early
    # stopping kept the ridge start (no epoch beat it: refit for 0 epochs), a fold that
    # trained on, and a GRU head shrunk toward the skip
    assert min(m.n_iter_ for m in sm) == 0 < max(m.n_iter_ for m in sm)
    assert any(0 < m.gru_shrinkage_[0] < 1 for m in sm)


def test_default_regressor_multi_output_matches_separate_fits(monkeypatch):
    # two targets: the ridge start, the skip and both shrinkage factors per output
    X, y = _default_regressor_data(n=48)
    Y = np.column_stack([y, X[:, -1, 1] - 0.5 * X[:, -3, 0]])
    splits = list(KFold(2, shuffle=True, random_state=1).split(X))
    est = _default_regressor(units=3)
    sm = _separate(est, X, Y, splits)
    _no_fallback(monkeypatch)
    fm = fit_folds(est, X, Y, splits)
    _assert_regressor_same(fm, sm, X)
    assert fm[0].model_.get_layer("linear_skip").get_weights()[0].shape[1] == 2  # a column per output


def test_default_regressor_ragged_input_sample_weight_and_shared_network(monkeypatch):
    # ragged series (the skip's last valid steps under a mask) with sample weights, zeros
    # included, on one shared network: each fold's ridge start, shrinkage and refit
    rng = np.random.RandomState(4)
    X = [rng.normal(size=(int(rng.randint(4, 10)), 2)).astype("float32") for _ in range(54)]
    y = np.array([1.2 * x[-1, 0] - 0.7 * x[-2, 1] + 0.5 * np.tanh(x[:, 0].sum()) for x in X])
    sw = rng.uniform(0.3, 2.0, size=len(X))
    sw[::9] = 0.0
    splits = list(KFold(3, shuffle=True, random_state=1).split(np.zeros(len(X))))
    est = _default_regressor(mask_value=-99.0, units=3)
    assert fuse_problem(est, X, y, splits, sample_weight=sw) is None
    separate = _separate(est, X, y, splits, sample_weight=sw)
    _no_fallback(monkeypatch)
    shared = fit_folds(est, X, y, splits, sample_weight=sw, share_network=True)
    assert len({id(shared[j].model_) for j in range(3)}) == 1
    for j, b in enumerate(separate):
        a = shared[j]
        assert (a.n_iter_, a.best_epoch_) == (b.n_iter_, b.best_epoch_)
        assert set(a.history_) == set(b.history_)
        for key in b.history_:
            np.testing.assert_allclose(a.history_[key], b.history_[key], atol=ATOL, rtol=0)
        state, ref = shared.state(j)["optimizer"], _optimizer_arrays(b.model_, b.network_spec_)
        assert state["iterations"] == ref["iterations"]
        for key in ("m", "v"):
            for u, v in zip(state[key], ref[key]):
                np.testing.assert_allclose(u, v, atol=ATOL, rtol=1e-5)
        np.testing.assert_allclose(a.gru_shrinkage_, b.gru_shrinkage_, atol=1e-4)
        np.testing.assert_allclose(a.shrinkage_, b.shrinkage_, atol=1e-4)
        for u, v in zip(a.model_.get_weights(), b.model_.get_weights()):
            np.testing.assert_allclose(u, v, atol=ATOL, rtol=0)
        np.testing.assert_allclose(a.predict(X), b.predict(X), atol=ATOL * 10, rtol=1e-5)


def test_default_regressor_falls_back_under_the_compiled_step(monkeypatch):
    # the XLA step does not implement the skip: separate fits, with the reason
    monkeypatch.setenv("SKGRU_FUSED_STEP", "xla")
    X, y = _default_regressor_data(n=30)
    splits = list(KFold(2, shuffle=True, random_state=0).split(X))
    est = _default_regressor(epochs=2)
    assert "NumPy step only" in fuse_problem(est, X, y, splits)
    for a, b in zip(fit_folds(est, X, y, splits), _separate(est, X, y, splits)):
        for u, v in zip(a.model_.get_weights(), b.model_.get_weights()):
            np.testing.assert_array_equal(u, v)


def test_skip_inputs_equal_the_keras_layer_on_any_padding():
    # the NumPy step's last valid steps == network._LastSteps, valid steps anywhere
    from skgru._keras.network import _LastSteps
    from skgru._keras.network import last_steps as _last_steps

    rng = np.random.RandomState(0)
    x = rng.normal(size=(2, 5, 7, 3)).astype("float32")
    mask = rng.uniform(size=(2, 5, 7)) > 0.4
    mask[0, 0] = False  # an empty row
    mask[1, 1] = True
    x = np.where(mask[..., None], x, 0.0).astype("float32")
    for window in (1, 3, 9):
        layer = _LastSteps(window, 3)
        for m in (mask, None):
            ours = _last_steps(x, m, window)
            ref = np.stack([np.asarray(layer(x[j], valid=None if m is None else m[j])) for j in range(2)])
            np.testing.assert_array_equal(ours, ref)


def test_skip_inputs_standardise_and_mask_as_the_layers():
    # network.skip_inputs (the ridge start's features, in NumPy) == the model's own
    # steps -> last_steps layers, with input standardisation and ragged (masked) input
    from skgru._keras.network import skip_inputs

    rng = np.random.RandomState(5)
    X = [(rng.normal(size=(int(rng.randint(2, 9)), 2)) * [3.0, 0.5] + [40.0, -2.0]).astype("float32")
         for _ in range(30)]
    y = np.array([x[-1, 0] for x in X])
    m = _GRURegressor(units=3, epochs=1, min_updates=0, random_state=0, linear_skip=4).fit(X, y)
    spec = m.network_spec_
    assert spec.normalize and spec.mask_value is not None and spec.linear_skip == 4
    Xa = m.feature_encoder_.transform(X)
    layers = keras.Model(m.model_.input, m.model_.get_layer("last_steps").output)
    np.testing.assert_array_equal(skip_inputs(m.model_, Xa), np.asarray(layers(Xa)))
    assert np.abs(skip_inputs(m.model_, Xa)).max() < 10  # standardised (raw values reach 40)


def test_classifier_and_plain_regressor_refit_on_all_rows_match_separate_fits(step, monkeypatch):
    # refit_all_rows' second fused training without a skip, on both steps: a classifier
    # (its option, off by default) and a regressor without its linear skip
    X, y = _data(n=54)
    splits = _uneven_splits(len(X), sizes=(36, 30, 44), seed=4)
    clf = GRUClassifier(units=3, epochs=6, batch_size=8, early_stopping=True, n_iter_no_change=2,
                        learning_rate=0.02, refit_all_rows=True, random_state=2)
    reg = _default_regressor(units=3, epochs=6, linear_skip=None)
    for est, target in ((clf, y), (reg, X[:, :, 0].sum(axis=1))):
        assert fuse_problem(est, X, target, splits) is None
        sm = _separate(est, X, target, splits)
        assert all(any(key.startswith("refit_") for key in m.history_) for m in sm)
        with monkeypatch.context() as patch:
            _no_fallback(patch)
            fm = fit_folds(est, X, target, splits)
        _assert_same(fm, sm, X, atol=3e-5)  # two trainings at a high rate: a little more rounding


def test_continued_folds_resume_a_plateau_schedule_from_their_history():
    # a "plateau" schedule resumes from the fold's own history (as a separate warm start's)
    from skgru.estimators._folds import continue_folds

    X, y = _data(n=45)
    splits = list(KFold(3, shuffle=True, random_state=2).split(X))
    # tol=1: no epoch counts as an improvement, so the rate halves after every 2nd epoch
    # (30 rows per fold, batch 8: min_updates raises the patience from 50 to 75 epochs,
    # and lr_patience with it, from 1 to 2)
    est = GRUClassifier(units=3, epochs=3, batch_size=8, learning_rate=0.05, lr_schedule="plateau",
                        lr_patience=1, lr_decay=0.5, tol=1.0, n_iter_no_change=50, random_state=1)
    shared = fit_folds(est, X, y, splits, share_network=True)
    separate = _separate(est, X, y, splits)
    assert any(len(set(m.history_["learning_rate"])) > 1 for m in separate)  # the rate did drop
    continued = continue_folds(shared, X, y, splits, 4)
    separate = _warm_start_separately(separate, X, y, splits, 4)
    _assert_continued_same(continued, separate, X)


def test_continued_default_regressor_folds_match_separate_warm_starts():
    # an ASHA promotion of the regressor's defaults: the GRU head as its shrinkage left it
    # (baked in), no new ridge start, the shrinkage fitted again
    from skgru.estimators._folds import continue_folds

    X, y = _default_regressor_data()
    splits = list(KFold(3, shuffle=True, random_state=0).split(X))
    est = _default_regressor(epochs=3)
    shared = fit_folds(est, X, y, splits, share_network=True)
    separate = _separate(est, X, y, splits)
    for j, b in enumerate(separate):  # the kept state is the shrunk head the separate fit holds
        for u, v in zip(shared.state(j)["weights"], fused.model_variables(b.model_, b.network_spec_)):
            np.testing.assert_allclose(u, np.asarray(v), atol=ATOL, rtol=0)
    continued = continue_folds(shared, X, y, splits, 4)
    separate = _warm_start_separately(separate, X, y, splits, 4)
    _assert_continued_same(continued, separate, X)
    for j, b in enumerate(separate):
        np.testing.assert_allclose(continued[j].gru_shrinkage_, b.gru_shrinkage_, atol=1e-4)


def test_kept_skip_folds_do_not_continue_on_the_compiled_step(monkeypatch):
    # kept with the NumPy step, continued after SKGRU_FUSED_STEP=xla: the compiled step
    # has no skip, so continue_folds declines (the search then warm-starts fold by fold)
    from skgru.estimators._folds import continue_folds

    X, y = _default_regressor_data(n=36)
    splits = list(KFold(2, shuffle=True, random_state=0).split(X))
    shared = fit_folds(_default_regressor(epochs=2, units=3), X, y, splits, share_network=True)
    monkeypatch.setenv("SKGRU_FUSED_STEP", "xla")
    before = [m.get_params() for m in (shared.estimator(0), shared.estimator(1))]
    assert continue_folds(shared, X, y, splits, 2) is None
    assert [m.get_params() for m in (shared.estimator(0), shared.estimator(1))] == before



# ---------------------------------------------------------------- attention pooling
# pooling="attention" (a Dense(1) score per GRU output, softmax over the valid steps)
# fuses in the NumPy step; the compiled step falls back.  The score's bias moves every
# score alike, which the softmax ignores: its true gradient is 0, so Adam turns each
# implementation's rounding noise (~1e-9) into steps of either sign. It is left out of
# the weight comparisons (SCORE_BIAS); the predictions, which it cannot change, are not.
SCORE_BIAS = "attention_score/bias"


def test_attention_pooling_matches_separate_fits_ragged_patched_and_stacked(monkeypatch):
    rng = np.random.RandomState(6)
    X = [rng.normal(size=(rng.randint(5, 16), 2)).astype("float32") for _ in range(45)]
    y = np.array([int(s[:, 0].mean() + s[-1, 1] > 0) for s in X])
    splits = _uneven_splits(len(X), sizes=(30, 24, 36), seed=5)
    variants = [
        dict(units=4),  # masked steps: a padded step gets weight 0 and no gradient
        dict(units=3, n_layers=2, dense_units=(5,), l2=1e-3, conv_filters=3, patch_size=3,
             patch_mode="max", standardize_X=True),  # after patches pooled over the convolutions
    ]
    for params in variants:
        est = GRUClassifier(pooling="attention", epochs=3, batch_size=8, learning_rate=0.02,
                            random_state=4, **params)
        assert fuse_problem(est, X, y, splits) is None
        sm = _separate(est, X, y, splits)
        with monkeypatch.context() as patch:
            _no_fallback(patch)
            fm = fit_folds(est, X, y, splits)
        _assert_same(fm, sm, X, ignore=SCORE_BIAS)
        score = [v for v in fm[0].model_.trainable_variables if "attention_score" in v.path]
        assert len(score) == 2 and float(np.abs(np.asarray(score[0])).max()) > 0


def test_attention_pooling_regressor_with_the_skip_and_continued(monkeypatch):
    # beside the regressor's defaults (linear skip, refit on all rows), then continued
    from skgru.estimators._folds import continue_folds

    X, y = _default_regressor_data(n=48)
    splits = list(KFold(3, shuffle=True, random_state=3).split(X))
    est = _default_regressor(units=3, pooling="attention", epochs=4)
    sm = _separate(est, X, y, splits)
    with monkeypatch.context() as patch:
        _no_fallback(patch)
        shared = fit_folds(est, X, y, splits, share_network=True)
    for j, b in enumerate(sm):
        np.testing.assert_allclose(shared[j].predict(X), b.predict(X), atol=ATOL * 10, rtol=1e-5)
        assert (shared[j].n_iter_, shared[j].best_epoch_) == (b.n_iter_, b.best_epoch_)
    continued = continue_folds(shared, X, y, splits, 3)
    _assert_continued_same(continued, _warm_start_separately(sm, X, y, splits, 3), X, ignore=SCORE_BIAS)


def test_attention_pooling_falls_back_under_the_compiled_step(monkeypatch):
    monkeypatch.setenv("SKGRU_FUSED_STEP", "xla")
    ok, why = can_fuse(GRUClassifier(pooling="attention", epochs=3))
    assert not ok and "attention" in why and "NumPy step only" in why
    spec = NetworkSpec(n_step_features=2, n_outputs=2, output_activation="softmax", units=(3,),
                       pooling="attention")
    assert "NumPy step only" in fused.structure_problem(build_network(spec, 0), spec)
