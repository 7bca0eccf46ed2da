"""The compile-free fused step (skgru._keras.fused_numpy): its hand-written backward
pass and update rule against TensorFlow's autodiff of the fused step's own math, the
step choice, and one end-to-end equality with separate fits.  Quick: nothing here is
compiled (tests/test_fused.py covers both steps against separate fits at length)."""

import keras
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import KFold

from skgru import GRUClassifier, TunedGRU
from skgru._keras import fused
from skgru._keras.fused_numpy import NumpyFusedTrainer, activation_problem
from skgru._keras.network import NetworkSpec
from skgru.estimators._folds import fit_folds, fused_step

pytestmark = pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                                reason="the reference is the TensorFlow fused step")


def _shapes(spec):
    """True variable shapes in model order (as fused.variable_layout lists them)."""
    shapes, width = [], spec.n_step_features * fused.stem_fold(spec)
    for filters in spec.conv_filters:
        shapes += [(spec.conv_kernel_size, width, filters), (filters,)]
        width = filters
    for u in spec.units:
        shapes += [(width, 3 * u), (u, 3 * u), (2, 3 * u)]
        width = u
    for d in spec.dense_units:
        shapes += [(width, d), (d,)]
        width = d
    return shapes + [(width, spec.n_outputs), (spec.n_outputs,)]


def _pair(spec, task, rule, k=3, seed=0):
    """The NumPy trainer and the TensorFlow one, loaded with the same random weights."""
    rng = np.random.RandomState(seed)
    initial = [[rng.normal(scale=0.4, size=s).astype("float32") for s in _shapes(spec)] for _ in range(k)]
    stats = None
    if spec.normalize:
        stats = [(rng.normal(size=spec.n_step_features).astype("float32"),
                  rng.uniform(0.5, 2.0, size=spec.n_step_features).astype("float32")) for _ in range(k)]
    ours = NumpyFusedTrainer(spec, k, rule, task)
    ours.reset(initial, rule, stats)
    ref = fused.FusedTrainer(spec, k, rule, task)
    ref.reset(initial, rule, stats)
    return ours, ref, rng


def _batch(spec, task, rng, k=3, b=7, mask_rows=True):
    t, f = spec.n_timesteps, spec.n_step_features
    x = rng.normal(size=(k, b, t, f)).astype("float32")
    if spec.mask_value is not None and mask_rows:  # ragged rows: padded tails (and one empty row)
        for j in range(k):
            for i in range(b):
                x[j, i, rng.randint(1, t + 1):] = spec.mask_value
            x[j, 0, :] = spec.mask_value
    if task == "classification":
        y = rng.randint(0, spec.n_outputs, size=(k, b)).astype("int32")
    else:
        y = rng.normal(size=(k, b, spec.n_outputs)).astype("float32")
    w = rng.uniform(0.2, 2.0, size=(k, b)).astype("float32")
    w[1, -2:] = 0.0  # padding rows of a shorter fold
    count = np.array([b, b - 2, b], "float32")
    return x, y, w, count


SPECS = {
    "stem-conv2-mask-2layers-dense-l1l2": (NetworkSpec(
        n_step_features=3, n_outputs=4, output_activation="softmax", units=(5, 4), dense_units=(6,),
        l2=1e-2, l1=1e-3, mask_value=0.0, n_timesteps=6, normalize=True, conv_filters=(4, 3),
        conv_kernel_size=4), "classification"),
    "plain-regression-relu-linear": (NetworkSpec(
        n_step_features=2, n_outputs=2, output_activation="linear", units=(6,), activation="relu",
        recurrent_activation="linear", n_timesteps=5), "regression"),
    "mask-no-stem-one-output": (NetworkSpec(
        n_step_features=2, n_outputs=1, output_activation="linear", units=(3, 3), mask_value=-1.0,
        n_timesteps=7, l2=1e-3), "regression"),
    # the classifier's defaults on long series: convolutions on every step, each patch
    # max-pooled over its valid steps (11 steps: the last patch is partial), the GRU's
    # outputs pooled; padded steps zeroed before each convolution
    "patch-max-after-2convs-mask-mean-pooling": (NetworkSpec(
        n_step_features=2, n_outputs=3, output_activation="softmax", units=(4,), mask_value=0.0,
        n_timesteps=11, normalize=True, conv_filters=(4, 3), conv_kernel_size=3, patch_size=3,
        patch_mode="max", pooling="mean"), "classification"),
    "patch-fold-mask-conv-2layers-last": (NetworkSpec(
        n_step_features=2, n_outputs=2, output_activation="linear", units=(4, 3), mask_value=0.0,
        n_timesteps=10, normalize=True, conv_filters=(3,), conv_kernel_size=2, patch_size=4,
        patch_mode="fold", l2=1e-3), "regression"),
    "patch-mean-no-conv-max-pooling": (NetworkSpec(
        n_step_features=3, n_outputs=3, output_activation="softmax", units=(5,), dense_units=(3,),
        n_timesteps=8, normalize=True, patch_size=3, patch_mode="mean", pooling="max"), "classification"),
}


@pytest.mark.parametrize("name", list(SPECS))
def test_backward_pass_equals_tensorflow_autodiff(name):
    import tensorflow as tf

    spec, task = SPECS[name]
    rule = fused.OptimizerRule("adam", 1e-3)
    ours, ref, rng = _pair(spec, task, rule)
    x, y, w, count = _batch(spec, task, rng)
    active = np.array([1.0, 1.0, 0.0], "float32")  # an inactive fold gets no gradient
    xs, mask, cols, skip = ours._prepare(x, "train")
    losses, grads = ours._losses_and_grads(xs, mask, cols, skip, y, w, count, active, True)
    with tf.GradientTape() as tape:
        ref_losses = ref._fold_losses(ref.vars, tf.constant(x), tf.constant(y), tf.constant(w), tf.constant(count))
        objective = tf.reduce_sum(ref_losses * active)
    ref_grads = tape.gradient(objective, ref.vars)
    np.testing.assert_allclose(losses, ref_losses.numpy(), rtol=1e-5, atol=1e-6)
    for i, (g, r) in enumerate(zip(ours._views(grads), ref_grads)):
        r = r.numpy()
        assert np.abs(r).max() > 0, f"variable {i} gets no gradient: the check would be vacuous"
        np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-6, err_msg=f"variable {i} {fused.variable_layout(spec)[i]}")
    assert np.all(grads[2] == 0)


def test_windows_built_per_batch_equal_the_precomputed_ones(monkeypatch):
    # large inputs: the first convolution's windows are built per batch, not once
    from skgru._keras import fused_numpy

    spec, task = SPECS["stem-conv2-mask-2layers-dense-l1l2"]
    rule = fused.OptimizerRule("adam", 1e-3)
    ours, _, rng = _pair(spec, task, rule)
    x, y, w, count = _batch(spec, task, rng)
    active = np.ones(3, "float32")
    xs, mask, cols, skip = ours._prepare(x, "train")
    assert cols is not None
    expected = ours._losses_and_grads(xs, mask, cols, skip, y, w, count, active, True)
    monkeypatch.setattr(fused_numpy, "PRECOMPUTE_BYTES", 0)
    ours._inputs = {}
    xs, mask, cols, skip = ours._prepare(x, "train")
    assert cols is None
    got = ours._losses_and_grads(xs, mask, cols, skip, y, w, count, active, True)
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])


def test_a_wrong_derivative_is_caught():
    # The check can fail: a backward pass with tanh' written as 1 - y differs.
    spec, task = SPECS["mask-no-stem-one-output"]
    rule = fused.OptimizerRule("adam", 1e-3)
    ours, ref, rng = _pair(spec, task, rule)
    x, y, w, count = _batch(spec, task, rng)
    ours.dact = lambda v: 1.0 - v
    xs, mask, cols, skip = ours._prepare(x, "train")
    _, grads = ours._losses_and_grads(xs, mask, cols, skip, y, w, count, np.ones(3, "float32"), True)
    import tensorflow as tf

    with tf.GradientTape() as tape:
        objective = tf.reduce_sum(ref._fold_losses(ref.vars, tf.constant(x), tf.constant(y), tf.constant(w),
                                                   tf.constant(count)))
    ref_grads = [g.numpy() for g in tape.gradient(objective, ref.vars)]
    assert not all(np.allclose(g, r, rtol=1e-4, atol=1e-6) for g, r in zip(ours._views(grads), ref_grads))


@pytest.mark.parametrize("rule", [
    fused.OptimizerRule("adam", 3e-2, clipnorm=0.05),
    fused.OptimizerRule("adam", 1e-2, beta_1=0.8, beta_2=0.99, epsilon=1e-5),
    fused.OptimizerRule("sgd", 5e-2, momentum=0.9, nesterov=True, clipnorm=0.2),
    fused.OptimizerRule("sgd", 5e-2, momentum=0.5),
    fused.OptimizerRule("sgd", 1e-1),
], ids=["adam-clip", "adam-betas", "sgd-nesterov-clip", "sgd-momentum", "sgd"])
def test_update_rule_equals_the_tensorflow_step(rule):
    import tensorflow as tf

    spec, task = SPECS["stem-conv2-mask-2layers-dense-l1l2"]
    ours, ref, rng = _pair(spec, task, rule)
    for step in range(3):  # optimizer state carries over; fold 1 sits out the second step
        grads = [rng.normal(scale=[0.01, 1.0, 5.0][step], size=(3, *s)).astype("float32") for s in _shapes(spec)]
        active = np.array([1.0, 0.0 if step == 1 else 1.0, 1.0], "float32")
        flat = np.empty_like(ours.flat)
        for view, g in zip(ours._views(flat), grads):
            view[...] = g
        ours._apply(flat, active)
        ref._apply([tf.constant(g) for g in grads], tf.constant(active))
    np.testing.assert_allclose(ours.iterations, ref.iterations.numpy())
    assert ours.iterations.tolist() == [3, 2, 3]
    for j in range(3):
        for a, b in zip(ours.fold_weights(j), ref.fold_weights(j)):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        sa, sb = ours.fold_optimizer_state(j), ref.fold_optimizer_state(j)
        for key in ("m", "v"):
            if sb[key] is not None:
                for a, b in zip(sa[key], sb[key]):
                    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_step_choice_and_its_switch(monkeypatch):
    monkeypatch.delenv("SKGRU_FUSED_STEP", raising=False)
    assert fused_step(GRUClassifier()) == "numpy"
    assert fused_step(GRUClassifier(activation="relu", recurrent_activation="sigmoid")) == "numpy"
    # activations whose derivative the NumPy step does not write out: the compiled step
    assert fused_step(GRUClassifier(activation="softsign")) == "xla"
    assert "softsign" in activation_problem("softsign", "sigmoid")
    assert activation_problem("tanh", "sigmoid") is None
    monkeypatch.setenv("SKGRU_FUSED_STEP", "xla")
    assert fused_step(GRUClassifier()) == "xla"
    monkeypatch.setenv("SKGRU_FUSED_STEP", "fast")
    with pytest.raises(ValueError, match="SKGRU_FUSED_STEP"):
        fused_step(GRUClassifier())
    with pytest.raises(ValueError, match="activation"):
        NumpyFusedTrainer(SPECS["mask-no-stem-one-output"][0].__class__(
            n_step_features=1, n_outputs=1, output_activation="linear", units=(2,), activation="gelu"),
            2, fused.OptimizerRule("adam", 1e-3), "regression")


def _data(n=40, t=5, f=2, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, t, f)).astype("float32")
    return X, (X[:, :, 0].sum(axis=1) > 0).astype(int)


def test_numpy_fused_folds_equal_separate_fits_after_one_epoch(monkeypatch):
    # the classifier's defaults (standardised input, Conv1D stem), one epoch, uneven folds
    monkeypatch.delenv("SKGRU_FUSED_STEP", raising=False)
    X, y = _data()
    splits = [(np.arange(0, 30), np.arange(30, 40)), (np.arange(8, 40), np.arange(0, 8))]
    est = GRUClassifier(units=4, conv_filters=5, epochs=1, batch_size=8, random_state=0)
    used = []
    real = fused.borrow_trainer
    monkeypatch.setattr(fused, "borrow_trainer", lambda *a, **k: used.append(real(*a, **k)) or used[-1])
    fm = fit_folds(est, X, y, splits)
    assert [type(t).__name__ for t in used] == ["NumpyFusedTrainer"]
    for a, (train, _) in zip(fm, splits):
        b = clone(est).fit(X[train], y[train])
        assert (a.n_iter_, a.history_.keys()) == (b.n_iter_, b.history_.keys())
        np.testing.assert_allclose(a.history_["loss"], b.history_["loss"], atol=1e-5, rtol=0)
        for u, v in zip(a.model_.get_weights(), b.model_.get_weights()):
            np.testing.assert_allclose(u, v, atol=1e-5, rtol=0)
        for u, v in zip(a.model_.optimizer.variables, b.model_.optimizer.variables):
            np.testing.assert_allclose(np.asarray(u), np.asarray(v), atol=1e-5, rtol=1e-5)
        np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), atol=1e-5, rtol=0)


def test_tuned_refit_by_the_numpy_step_equals_a_plain_fit(monkeypatch):
    monkeypatch.delenv("SKGRU_FUSED_STEP", raising=False)
    monkeypatch.delenv("SKGRU_FUSED_TRIALS", raising=False)
    X, y = _data(n=36)
    est = GRUClassifier(units=3, conv_filters=None, standardize_X=False, epochs=2, batch_size=8)
    search = TunedGRU(est, {"units": [3]}, tuner="grid", cv=2, random_state=0).fit(X, y)
    best = search.best_estimator_
    plain = clone(est).set_params(**{**search.best_params_, "random_state": best.random_state}).fit(X, y)
    assert best.n_iter_ == plain.n_iter_ == 2
    for u, v in zip(best.model_.get_weights(), plain.model_.get_weights()):
        np.testing.assert_allclose(u, v, atol=1e-5, rtol=0)
    np.testing.assert_allclose(best.predict_proba(X), plain.predict_proba(X), atol=1e-5, rtol=0)
    # with fused trials off the refit is the estimator's own fit again
    monkeypatch.setenv("SKGRU_FUSED_TRIALS", "0")
    from skgru.tuning._trial_runner import fused_refit

    assert fused_refit(clone(est), X, y, {}) is None


def test_a_subclass_or_patched_fit_is_not_fused(monkeypatch):
    # the fused path reproduces skgru's own fit: an override must run as written
    from skgru.estimators._folds import can_fuse

    class Logged(GRUClassifier):
        def fit(self, X, y, sample_weight=None):
            return super().fit(X, y, sample_weight=sample_weight)

    assert can_fuse(GRUClassifier()) == (True, "fusable")
    ok, why = can_fuse(Logged())
    assert not ok and "Logged.fit" in why
    monkeypatch.setattr(GRUClassifier, "fit", lambda self, X, y, **kw: self)
    ok, why = can_fuse(GRUClassifier())
    assert not ok and "GRUClassifier.fit" in why


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_attention_and_skip_gradients_equal_keras_autodiff_with_an_empty_row(task):
    # the layers only the NumPy step implements (attention pooling; the regressor's linear
    # skip), against TensorFlow's autodiff of the Keras network itself, on a batch with a
    # ragged row and a row that is all padding (uniform attention, no score gradient)
    import tensorflow as tf

    from skgru._keras.network import build_network

    regression = task == "regression"
    spec = NetworkSpec(n_step_features=2, n_outputs=2 if regression else 3,
                       output_activation="linear" if regression else "softmax", units=(4,),
                       dense_units=(3,), mask_value=0.0, n_timesteps=6, pooling="attention",
                       normalize=regression, linear_skip=3 if regression else 0)
    model = build_network(spec, 0)
    rng = np.random.RandomState(0)
    for v in fused.model_variables(model, spec):  # the skip and the head start at 0: move them
        v.assign(rng.normal(scale=0.4, size=v.shape).astype("float32"))
    x = rng.normal(size=(5, 6, 2)).astype("float32")
    x[0] = 0.0  # every step padding
    x[1, 4:] = 0.0
    y = rng.normal(size=(5, 2)).astype("float32") if regression else rng.randint(0, 3, size=5).astype("int32")
    stats = [(np.array([0.3, -0.2], "float32"), np.array([1.5, 0.7], "float32"))] if regression else None
    if regression:
        for name in ("stem", "steps"):
            model.get_layer(name).mean.assign(stats[0][0])
            model.get_layer(name).std.assign(stats[0][1])
    rule = fused.OptimizerRule("adam", 1e-3)
    ours = NumpyFusedTrainer(spec, 1, rule, task)
    ours.reset([[v.numpy() for v in fused.model_variables(model, spec)]], rule, stats)
    xs, mask, cols, skip = ours._prepare(x[None], "train")
    one = np.ones(1, "float32")
    losses, grads = ours._losses_and_grads(xs, mask, cols, skip, y[None], np.ones((1, 5), "float32"),
                                           np.array([5.0], "float32"), one, True)
    variables = fused.model_variables(model, spec)
    with tf.GradientTape() as tape:
        out = model(x, training=True)
        if regression:
            loss = tf.reduce_mean(keras.losses.mean_squared_error(y, out))
        else:
            loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, out))
    ref = tape.gradient(loss, variables)
    np.testing.assert_allclose(losses[0], float(loss), rtol=1e-5)
    for i, (g, r) in enumerate(zip(ours._views(grads), ref)):
        np.testing.assert_allclose(g[0], r.numpy(), rtol=1e-4, atol=1e-6, err_msg=fused.variable_layout(spec)[i])
