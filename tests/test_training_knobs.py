"""Issue 18: l1, learning-rate schedules, weight decay, SGD momentum."""

import math

import keras
import numpy as np
import pytest

from skgru import GRUClassifier, GRURegressor
from skgru._keras import engines, schedules
from skgru.estimators import _params, _training_knobs

BASE = 0.01


def _data(n=60, t=6, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, t, 2)).astype("float32")
    return X, (X[:, :, 0].sum(axis=1) > 0).astype(int)


def _clf(**kw):
    # the plain GRU stack these schedules were measured on (issue 12's stem, input
    # standardisation, update-counted patience and the classifier's default dropout and
    # bidirectional GRU change the loss curve)
    params = dict(units=4, epochs=5, learning_rate=BASE, random_state=0, n_iter_no_change=100,
                  conv_filters=None, standardize_X=False, min_updates=0, dropout=0.0, bidirectional=False)
    params.update(kw)
    return GRUClassifier(**params)


def _rates(est):
    return np.asarray(est.history_["learning_rate"])


def _kernels(model):
    return np.concatenate([np.ravel(v) for v in model.trainable_weights if "kernel" in v.path])


# ------------------------------------------------------------------------- l1


def test_l1_gives_more_near_zero_kernel_weights():
    X, y = _data()
    plain = _clf(units=8, epochs=30).fit(X, y)
    sparse = _clf(units=8, epochs=30, l1=0.01).fit(X, y)
    near_zero = [float(np.mean(np.abs(_kernels(m.model_)) < 1e-2)) for m in (plain, sparse)]
    # measured: 0.04 without, 0.70 with l1=0.01 (Adam oscillates around 0 by ~lr)
    assert near_zero[1] > 0.3 and near_zero[1] > 5 * near_zero[0], near_zero
    assert sparse.network_spec_.l1 == 0.01


@pytest.mark.parametrize("l1, l2, kind", [(0.01, 0.0, keras.regularizers.L1), (0.0, 0.01, keras.regularizers.L2),
                                          (0.01, 0.02, keras.regularizers.L1L2)])
def test_l1_and_l2_cover_the_same_kernels(l1, l2, kind):
    X, y = _data(n=20)
    est = _clf(epochs=1, dense_units=3, l1=l1, l2=l2).fit(X, y)
    gru = est.model_.get_layer("gru_0")
    for layer_reg in (gru.cell.kernel_regularizer, gru.cell.recurrent_regularizer,
                      est.model_.get_layer("dense_0").kernel_regularizer,
                      est.model_.get_layer("output").kernel_regularizer):
        assert type(layer_reg) is kind
        cfg = layer_reg.get_config()
        assert math.isclose(cfg.get("l1", 0.0), l1, rel_tol=1e-6) and math.isclose(cfg.get("l2", 0.0), l2, rel_tol=1e-6)


# ------------------------------------------------------------------ schedules


def test_without_a_schedule_every_epoch_records_the_constant_rate():
    X, y = _data()
    est = _clf(epochs=4).fit(X, y)
    np.testing.assert_allclose(_rates(est), [BASE] * 4, rtol=1e-6)


def test_exponential_schedule_follows_its_formula():
    X, y = _data()
    est = _clf(lr_schedule="exponential", lr_decay=0.5).fit(X, y)
    np.testing.assert_allclose(_rates(est), BASE * 0.5 ** np.arange(5), rtol=1e-6)
    default = _clf(lr_schedule="exponential", epochs=3).fit(X, y)
    np.testing.assert_allclose(_rates(default), BASE * 0.95 ** np.arange(3), rtol=1e-6)


@pytest.mark.parametrize("epochs, decay", [(6, 0.1), (5, None), (2, 0.5)])
def test_cosine_reaches_its_minimum_at_the_last_planned_epoch(epochs, decay):
    X, y = _data()
    est = _clf(lr_schedule="cosine", lr_decay=decay, epochs=epochs).fit(X, y)
    floor = 0.01 if decay is None else decay
    e = np.arange(epochs)
    expected = BASE * (floor + (1 - floor) * 0.5 * (1 + np.cos(np.pi * e / (epochs - 1))))
    rates = _rates(est)
    np.testing.assert_allclose(rates, expected, rtol=1e-6)
    assert np.argmin(rates) == epochs - 1 and math.isclose(rates[-1], floor * BASE, rel_tol=1e-6)
    assert np.all(np.diff(rates) < 0)


def test_cosine_of_one_planned_epoch_keeps_the_rate():
    X, y = _data()
    np.testing.assert_allclose(_rates(_clf(lr_schedule="cosine", epochs=1).fit(X, y)), [BASE], rtol=1e-6)


def _plateau_reference(values, base, decay, patience, tol):
    """An independent statement of the rule: the rate of each epoch given the values before it."""
    rates, rate, best, wait = [], base, math.inf, 0
    for v in values:
        rates.append(rate)
        if v < best - tol:
            best, wait = v, 0
        else:
            wait += 1
            if wait >= patience:
                rate, wait = rate * decay, 0
    return rates


def test_plateau_reduces_after_lr_patience_epochs_without_improvement():
    X, y = _data()
    # tol=1e9: no epoch after the first counts as an improvement, so the rate drops
    # after every 2nd epoch: b b b b/2 b/2 b/4 b/4
    est = _clf(lr_schedule="plateau", lr_decay=0.5, lr_patience=2, tol=1e9, epochs=7).fit(X, y)
    np.testing.assert_allclose(_rates(est), BASE * np.array([1, 1, 1, .5, .5, .25, .25]), rtol=1e-6)


@pytest.mark.parametrize("early_stopping", [False, True])
def test_plateau_watches_the_stopping_rules_quantity(early_stopping):
    X, y = _data()
    est = _clf(lr_schedule="plateau", lr_decay=0.5, lr_patience=2, tol=0.02, epochs=12, learning_rate=0.05,
               early_stopping=early_stopping, validation_fraction=0.25).fit(X, y)
    watched = est.history_["val_loss" if early_stopping else "loss"]
    assert len(_rates(est)) == est.n_iter_ == len(watched)
    expected = _plateau_reference(watched, 0.05, 0.5, 2, 0.02)
    np.testing.assert_allclose(_rates(est), expected, rtol=1e-6)
    assert min(expected) < 0.05  # the setting does reach a plateau (else this test shows nothing)


def test_warm_start_and_partial_fit_continue_the_schedule():
    X, y = _data()
    est = _clf(lr_schedule="exponential", lr_decay=0.5, epochs=3, warm_start=True).fit(X, y).fit(X, y)
    np.testing.assert_allclose(_rates(est), BASE * 0.5 ** np.arange(6), rtol=1e-6)
    est.partial_fit(X, y)
    assert math.isclose(_rates(est)[-1], BASE * 0.5 ** 6, rel_tol=1e-6) and est.n_iter_ == 7

    stream = _clf(lr_schedule="exponential", lr_decay=0.5)
    for _ in range(3):
        stream.partial_fit(X, y, classes=[0, 1])
    np.testing.assert_allclose(_rates(stream), BASE * 0.5 ** np.arange(3), rtol=1e-6)

    # cosine anneals over the planned epochs, then stays at its floor
    cos = _clf(lr_schedule="cosine", lr_decay=0.1, epochs=4, warm_start=True).fit(X, y).fit(X, y)
    np.testing.assert_allclose(_rates(cos)[3:], [0.1 * BASE] * 5, rtol=1e-6)


def test_plateau_patience_counts_updates_as_the_stopping_rule_does():
    """On a small training set ``min_updates`` raises the stopping rule's patience; the
    plateau schedule's ``lr_patience`` is raised in the same proportion.  Unscaled, a
    rate cut tenfold every 5 updates sat at chance on 28-50 series (round 12)."""
    X, y = _data(n=20)  # batch 32: one update per epoch
    kw = dict(lr_schedule="plateau", lr_decay=0.5, lr_patience=2, n_iter_no_change=4, tol=1e9, epochs=14)
    est = _clf(min_updates=100, **kw).fit(X, y)
    # patience: ceil(0.1 * 100 updates / 1 update per epoch) = 10 epochs, 2.5x the 4 set;
    # lr_patience: ceil(2 * 10 / 4) = 5 epochs; tol=1e9: only the first epoch improves
    assert est.patience_ == 10 and est.n_iter_ == 11
    np.testing.assert_allclose(_rates(est), BASE * np.array([1] * 6 + [.5] * 5), rtol=1e-6)
    # without min_updates both keep the values given: the rate halves every 2nd epoch
    plain = _clf(min_updates=0, **kw).fit(X, y)
    assert plain.patience_ == 4 and plain.n_iter_ == 5
    np.testing.assert_allclose(_rates(plain), BASE * np.array([1, 1, 1, .5, .5]), rtol=1e-6)


def test_exponential_decay_is_stretched_as_the_patience_is():
    """The per-epoch factor follows updates on a small training set: with the patience
    raised 2.5x (4 to 10 epochs), the rate halves every 2.5 epochs instead of every one."""
    X, y = _data(n=20)  # one update per epoch
    kw = dict(lr_schedule="exponential", lr_decay=0.5, n_iter_no_change=4, epochs=6)
    est = _clf(min_updates=100, **kw).fit(X, y)
    assert est.patience_ == 10
    np.testing.assert_allclose(_rates(est), BASE * 0.5 ** (np.arange(6) / 2.5), rtol=1e-6)
    plain = _clf(min_updates=0, **kw).fit(X, y)
    np.testing.assert_allclose(_rates(plain), BASE * 0.5 ** np.arange(6), rtol=1e-6)


def test_plateau_state_continues_across_warm_starts():
    X, y = _data()
    kw = dict(lr_schedule="plateau", lr_decay=0.5, lr_patience=3, tol=1e9)
    once = _clf(epochs=8, **kw).fit(X, y)
    twice = _clf(epochs=4, warm_start=True, **kw).fit(X, y).fit(X, y)
    # a warm start that restarted the plateau count would give b at epoch 5 and b/2 at 8
    np.testing.assert_allclose(_rates(once), BASE * np.array([1, 1, 1, 1, .5, .5, .5, .25]), rtol=1e-6)
    np.testing.assert_allclose(_rates(twice), _rates(once), rtol=1e-6)


def test_same_seed_same_result_and_engine_reuse_is_exact(monkeypatch):
    X, y = _data()
    kw = dict(lr_schedule="cosine", lr_decay=0.2, l1=0.001, weight_decay=0.05, epochs=4)
    monkeypatch.setenv("SKGRU_REUSE_MODELS", "0")
    fresh = _clf(**kw).fit(X, y).predict_proba(X)
    monkeypatch.setenv("SKGRU_REUSE_MODELS", "1")
    engines.clear()
    _clf(**{**kw, "lr_schedule": "exponential", "lr_decay": 0.5}).fit(X, y)  # the pooled engine's last rate is low
    pooled = [_clf(**kw).fit(X, y).predict_proba(X) for _ in range(2)]
    np.testing.assert_array_equal(pooled[0], pooled[1])
    np.testing.assert_array_equal(fresh, pooled[0])


def test_schedules_share_one_engine_and_one_trace():
    if keras.backend.backend() != "tensorflow":
        pytest.skip("traced epochs are TensorFlow-only")
    X, y = _data()
    engines.clear()
    for kind in (None, "cosine", "exponential", "plateau"):
        _clf(lr_schedule=kind, epochs=3).fit(X, y)
    (pool,) = engines._free.values()
    (engine,) = pool
    assert engine.functions["epoch"].experimental_get_tracing_count() == 1


def test_a_float_schedule_and_a_keras_learning_rate_schedule_do_not_mix():
    X, y = _data()
    keras_schedule = keras.optimizers.schedules.ExponentialDecay(0.01, decay_steps=2, decay_rate=0.5)
    with pytest.raises(ValueError, match="lr_schedule='cosine'.*float learning_rate"):
        _clf(lr_schedule="cosine", optimizer__learning_rate=keras_schedule).fit(X, y)


def test_learning_rate_is_recorded_with_early_stopping_and_not_plotted():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from skgru.plotting import plot_history

    X, y = _data()
    est = _clf(epochs=30, early_stopping=True, n_iter_no_change=2, lr_schedule="exponential").fit(X, y)
    assert len(est.history_["learning_rate"]) == len(est.history_["loss"]) == est.n_iter_
    fig = plot_history(est)
    assert not any("learning_rate" in line.get_label() for ax in fig.axes for line in ax.get_lines())
    matplotlib.pyplot.close(fig)


def test_schedule_rates_as_pure_functions():
    assert schedules.cosine_rate(1.0, 0, 11, 0.0) == 1.0
    assert math.isclose(schedules.cosine_rate(1.0, 5, 11, 0.0), 0.5)
    assert schedules.cosine_rate(1.0, 99, 11, 0.2) == pytest.approx(0.2)
    assert schedules.exponential_rate(2.0, 3, 0.5) == 0.25


# --------------------------------------------------------------- weight decay


def _optimizer_classes():
    return {name: next(getattr(keras.optimizers, n) for n in dir(keras.optimizers) if n.lower() == name)
            for name in sorted(_params.OPTIMIZERS)}


@pytest.mark.parametrize("name", sorted(_params.OPTIMIZERS))
def test_which_optimizers_apply_weight_decay(name):
    """Re-measures Keras: every optimizer but those in IGNORES_WEIGHT_DECAY shrinks the weights."""
    cls = _optimizer_classes()[name]
    after = {}
    for wd in (0.0, 0.5):
        var = keras.Variable(np.ones((3, 3), "float32"))
        opt = cls(learning_rate=0.1, weight_decay=wd)
        grad = keras.ops.convert_to_tensor(np.full((3, 3), 0.01, "float32"))
        for _ in range(5):
            opt.apply([grad], [var])
        after[wd] = float(np.mean(np.asarray(var)))
    shrink = after[0.0] - after[0.5]
    if cls.__name__ in _training_knobs.IGNORES_WEIGHT_DECAY:
        assert abs(shrink) < 1e-3, f"{name} now applies weight_decay ({shrink:.4f}): allow it in skgru"
    else:
        assert shrink > 0.05, f"{name} ignores weight_decay ({shrink:.5f}): add it to IGNORES_WEIGHT_DECAY"


def test_weight_decay_reaches_the_optimizer_and_shrinks_the_weights():
    X, y = _data()
    plain = _clf(optimizer="adamw", weight_decay=0.0, epochs=20).fit(X, y)
    decayed = _clf(optimizer="adamw", weight_decay=2.0, epochs=20).fit(X, y)
    assert decayed.model_.optimizer.weight_decay == 2.0 and plain.model_.optimizer.weight_decay == 0.0
    assert np.linalg.norm(_kernels(decayed.model_)) < 0.8 * np.linalg.norm(_kernels(plain.model_))
    # None keeps the optimizer's default; a routed argument takes precedence
    assert _clf(optimizer="adamw", epochs=1).fit(X, y).model_.optimizer.weight_decay == 0.004
    assert _clf(optimizer="adam", epochs=1).fit(X, y).model_.optimizer.weight_decay is None
    routed = _clf(optimizer="sgd", weight_decay=0.1, optimizer__weight_decay=0.3, epochs=1).fit(X, y)
    assert routed.model_.optimizer.weight_decay == 0.3
    inst = _clf(optimizer=keras.optimizers.RMSprop(0.01), weight_decay=0.2, epochs=1).fit(X, y)
    assert isinstance(inst.model_.optimizer, keras.optimizers.RMSprop) and inst.model_.optimizer.weight_decay == 0.2


def test_weight_decay_on_an_optimizer_that_ignores_it_is_an_error():
    X, y = _data()
    with pytest.raises(ValueError, match="weight_decay=0.1 would be silently ignored by Ftrl"):
        _clf(optimizer="ftrl", weight_decay=0.1).fit(X, y)
    with pytest.raises(ValueError, match="ignored by Ftrl"):
        _clf(optimizer="ftrl", optimizer__weight_decay=0.1).fit(X, y)
    _clf(optimizer="ftrl", weight_decay=0.0, epochs=1).fit(X, y)  # 0 decays nothing: fine

    class NoDecaySGD(keras.optimizers.SGD):
        def __init__(self, learning_rate=0.01):
            super().__init__(learning_rate=learning_rate)

    with pytest.raises(ValueError, match="NoDecaySGD takes no weight_decay argument"):
        _clf(optimizer=NoDecaySGD, weight_decay=0.1).fit(X, y)


def test_sgd_momentum_and_nesterov_reach_the_sgd_instance():
    X, y = _data()
    engines.clear()
    est = _clf(optimizer="sgd", optimizer__momentum=0.9, optimizer__nesterov=True, epochs=2).fit(X, y)
    own = est.model_.optimizer
    assert isinstance(own, keras.optimizers.SGD) and own.momentum == 0.9 and own.nesterov is True
    pooled = [e.model.optimizer for pool in engines._free.values() for e in pool]
    assert pooled and all(isinstance(o, keras.optimizers.SGD) and o.momentum == 0.9 and o.nesterov for o in pooled)
    # momentum changes the training (it is not silently dropped)
    plain = _clf(optimizer="sgd", epochs=2).fit(X, y)
    assert not np.allclose(plain.predict_proba(X), est.predict_proba(X))


# --------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "param, value, match",
    [
        ("l1", -0.1, "'l1' parameter"),
        ("l1", "big", "'l1' parameter"),
        ("lr_schedule", "linear", "'lr_schedule' parameter.*among"),
        ("lr_decay", 0.0, "'lr_decay' parameter"),
        ("lr_decay", 1.5, "'lr_decay' parameter"),
        ("lr_patience", 0, "'lr_patience' parameter"),
        ("lr_patience", 2.5, "'lr_patience' parameter"),
        ("weight_decay", -1.0, "'weight_decay' parameter"),
    ],
)
def test_bad_values_are_rejected_in_fit(param, value, match):
    X, y = _data(n=20)
    with pytest.raises(ValueError, match=match):
        _clf(epochs=1, **{param: value}).fit(X, y)
    with pytest.raises(ValueError, match=match):
        GRURegressor(units=4, epochs=1, **{param: value}).fit(X, y.astype(float))


def test_new_params_are_plain_sklearn_params():
    from sklearn.base import clone

    est = GRURegressor(l1=0.1, lr_schedule="plateau", lr_decay=0.3, lr_patience=2, weight_decay=0.01)
    params = clone(est).get_params()
    assert {k: params[k] for k in ("l1", "lr_schedule", "lr_decay", "lr_patience", "weight_decay")} == dict(
        l1=0.1, lr_schedule="plateau", lr_decay=0.3, lr_patience=2, weight_decay=0.01)
    assert GRUClassifier().get_params()["lr_schedule"] is None


def test_tuned_gru_searches_the_new_params():
    pytest.importorskip("keras_tuner")
    from skgru.tuning import TunedGRU

    X, y = _data()
    space = {"l1": [0.0, 1e-3], "lr_schedule": [None, "cosine", "plateau"], "lr_decay": [0.5, 0.9],
             "weight_decay": [None, 0.01]}
    search = TunedGRU(_clf(epochs=2), space, max_trials=2, random_state=0).fit(X, y)
    assert set(space) <= set(search.best_params_)
    assert len(search.best_estimator_.history_["learning_rate"]) == search.best_estimator_.n_iter_


def test_the_traced_epoch_trains_with_the_assigned_rate():
    """A rate assigned between epochs must reach the (already traced, pooled) epoch function."""
    X, y = _data()
    engines.clear()
    sgd = dict(optimizer="sgd", learning_rate=0.1)
    one = _clf(epochs=1, **sgd).fit(X, y)  # also traces the pooled engine's epoch
    # rates 0.1, 1e-10, 1e-19: epochs 2 and 3 change (next to) nothing
    frozen = _clf(epochs=3, lr_schedule="exponential", lr_decay=1e-9, **sgd).fit(X, y)
    moving = _clf(epochs=3, **sgd).fit(X, y)
    np.testing.assert_allclose(frozen.predict_proba(X), one.predict_proba(X), atol=1e-6)
    assert not np.allclose(moving.predict_proba(X), one.predict_proba(X), atol=1e-3)


def test_user_callbacks_see_the_scheduled_rate():
    class Recorder(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.rates = []

        def on_epoch_end(self, epoch, logs=None):
            self.rates.append(logs.get("learning_rate"))

    X, y = _data()
    plain, scheduled = Recorder(), Recorder()
    _clf(epochs=2, callbacks=[plain]).fit(X, y)
    est = _clf(epochs=3, lr_schedule="exponential", lr_decay=0.5, callbacks=[scheduled]).fit(X, y)
    assert plain.rates == [None, None]  # no schedule: the logs are Keras' own
    assert scheduled.rates == est.history_["learning_rate"]
    np.testing.assert_allclose(scheduled.rates, BASE * 0.5 ** np.arange(3), rtol=1e-6)
