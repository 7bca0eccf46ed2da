"""Issue 11: a fitted estimator's model_ is its own; engines are borrowed per call."""

import copy
import gc
import pickle

import keras
import numpy as np
import pytest
from sklearn.base import clone

from skgru import GRUClassifier, GRURegressor
from skgru._keras import engines


def _weights(model):
    return [w.copy() for w in model.get_weights()]


def _same(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.fixture
def data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 6, 2)).astype("float32")
    y = (X[:, :, 0].sum(axis=1) > 0).astype(int)
    X2 = rng.normal(size=(50, 6, 2)).astype("float32")
    y2 = (X2[:, :, 1].sum(axis=1) > 0).astype(int)
    return X, y, X2, y2


def test_failed_refit_leaves_the_estimator_as_it_was_and_shares_nothing(data):
    X, y, X2, y2 = data
    A = GRUClassifier(units=8, epochs=3, random_state=0).fit(X, y)
    proba, model, weights = A.predict_proba(X), A.model_, _weights(A.model_)
    A.set_params(activation="nope")
    with pytest.raises(ValueError, match="activation"):
        A.fit(X, y)
    assert A.model_ is model and _same(weights, _weights(A.model_))
    B = GRUClassifier(units=8, epochs=20, random_state=1).fit(X2, y2)
    assert B.model_ is not A.model_
    np.testing.assert_array_equal(A.predict_proba(X), proba)


def test_a_fit_that_fails_in_training_keeps_the_previous_model(data, monkeypatch):
    X, y, _, _ = data
    A = GRUClassifier(units=8, epochs=3, random_state=0).fit(X, y)
    model, weights, n_iter = A.model_, _weights(A.model_), A.n_iter_
    from skgru._keras import training

    def boom(*args, **kwargs):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(training, "train", boom)
    with pytest.raises(RuntimeError, match="interrupted"):
        A.fit(X, y)
    with pytest.raises(RuntimeError, match="interrupted"):
        A.set_params(warm_start=True).fit(X, y)
    assert A.model_ is model and A.n_iter_ == n_iter and _same(weights, _weights(A.model_))


def test_a_model_taken_out_of_an_estimator_stays_the_users(data):
    X, y, X2, y2 = data
    est = GRUClassifier(units=8, epochs=5, random_state=0).fit(X, y)
    m = est.model_
    before = _weights(m)
    for seed in range(3):  # other fits of the same architecture
        GRUClassifier(units=8, epochs=5, random_state=seed).fit(X2, y2)
    est.fit(X2, y2)  # a fresh refit of the same estimator builds a new model
    assert est.model_ is not m
    assert _same(before, _weights(m))


def test_no_fit_changes_another_estimators_model_after_clone_copy_pickle_gc(data):
    X, y, X2, y2 = data
    A = GRUClassifier(units=8, epochs=3, random_state=0).fit(X, y)
    expected = A.predict_proba(X)
    copies = [copy.copy(A), copy.deepcopy(A), pickle.loads(pickle.dumps(A))]
    models = {id(A.model_)} | {id(c.model_) for c in copies}
    assert len(models) == 4  # every copy has its own model
    cloned = clone(A).fit(X2, y2)
    assert id(cloned.model_) not in models
    del A
    gc.collect()
    for seed in range(3):
        GRUClassifier(units=8, epochs=3, random_state=seed).fit(X2, y2)
    for c in copies:
        np.testing.assert_array_equal(c.predict_proba(X), expected)


def test_engines_are_never_reachable_from_an_estimator(data):
    X, y, _, _ = data
    engines.clear()
    est = GRUClassifier(units=8, epochs=2, random_state=0).fit(X, y)
    est.predict(X)
    pooled = [e.model for pool in engines._free.values() for e in pool]
    assert pooled, "the engine went back to the pool"
    assert all(m is not est.model_ for m in pooled)
    assert all(v is not m for v in vars(est).values() for m in pooled)


def test_warm_start_continues_the_own_model_and_optimizer(data):
    X, y, _, _ = data
    est = GRUClassifier(units=8, epochs=2, random_state=0, warm_start=True).fit(X, y)
    model = est.model_
    iterations = int(np.asarray(model.optimizer.iterations))
    est.fit(X, y)
    assert est.model_ is model and est.n_iter_ == 4
    assert int(np.asarray(model.optimizer.iterations)) == 2 * iterations  # Adam's state kept
    # the same four epochs in one fit give the same weights (the shuffle stream restarts per call)
    once = GRUClassifier(units=8, epochs=4, random_state=0, fit__shuffle=False).fit(X, y)
    twice = GRUClassifier(units=8, epochs=2, random_state=0, warm_start=True, fit__shuffle=False).fit(X, y).fit(X, y)
    np.testing.assert_allclose(once.predict_proba(X), twice.predict_proba(X), rtol=1e-5, atol=1e-6)


def test_pickle_keeps_optimizer_state_for_warm_start(data):
    X, y, _, _ = data
    est = GRUClassifier(units=8, epochs=2, random_state=0, warm_start=True, fit__shuffle=False).fit(X, y)
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(
        est.fit(X, y).predict_proba(X), restored.fit(X, y).predict_proba(X), rtol=1e-6, atol=1e-7
    )


def test_same_results_with_and_without_engine_reuse(data, monkeypatch):
    X, y, _, _ = data
    params = dict(units=8, epochs=3, random_state=5, dropout=0.2)
    monkeypatch.setenv("SKGRU_REUSE_MODELS", "0")
    fresh = GRURegressor(**params).fit(X, y.astype(float)).predict(X)
    monkeypatch.setenv("SKGRU_REUSE_MODELS", "1")
    for _ in range(2):
        np.testing.assert_array_equal(GRURegressor(**params).fit(X, y.astype(float)).predict(X), fresh)


def test_user_callbacks_see_the_estimators_own_model(data):
    import keras

    X, y, _, _ = data
    seen = []

    class Remember(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(self.model)

    est = GRUClassifier(units=8, epochs=2, random_state=0, callbacks=[Remember()]).fit(X, y)
    assert seen and all(m is est.model_ for m in seen)


class ReadsTheModel(keras.callbacks.Callback):
    """A callback whose set_model reads the model, as TensorBoard's does: detaching
    the model after training must not call it with None."""

    def set_model(self, model):
        super().set_model(model)
        self.n_layers = len(model.layers)


def test_a_model_fitted_with_callbacks_pickles_clones_and_copies(data):
    """Keras leaves the model on each callback after training; the user's callbacks
    are the estimator's params, so the network rode along into pickle, clone and
    deepcopy, and unpickling failed (Keras cannot rebuild skgru's custom layers).
    The callbacks are handed back detached."""
    import keras

    X, y, _, _ = data
    stop, reads = keras.callbacks.TerminateOnNaN(), ReadsTheModel()
    est = GRUClassifier(units=4, epochs=2, min_updates=0, random_state=0,
                        callbacks=[stop, reads]).fit(X, y)
    assert stop.model is None and reads.model is None and reads.n_layers > 0
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict_proba(X), est.predict_proba(X))
    copy.deepcopy(est)
    assert clone(est).get_params()["callbacks"][0].model is None


@pytest.mark.slow
def test_varying_lengths_do_not_grow_memory_or_retrace(data):
    """30 fits of random length after a warm-up: bounded RSS (generous bound; the
    tight figure is benchmarks/bench_fit_overhead.py --varying-lengths) and not one
    new trace (counted on the pooled engines' traced functions, not timed: a timing
    bound failed on the loaded 2-core VM when the scheduler stalled one fit 7 s)."""
    psutil = pytest.importorskip("psutil")
    from skgru._keras import engines

    rng = np.random.RandomState(0)
    process = psutil.Process()

    def fit(t):
        X = rng.normal(size=(40, t, 2)).astype("float32")
        y = (X[:, :, 0].sum(axis=1) > 0).astype(int)
        GRUClassifier(units=8, epochs=2, random_state=0).fit(X, y).predict(X)

    def traces():
        return {(key, i, name): fn.experimental_get_tracing_count()
                for key, pool in engines._free.items() for i, engine in enumerate(pool)
                for name, fn in engine.functions.items()}

    engines.clear()
    # warm-up: the unrolled bucket (masked and exact), the loop engine, and the two
    # patch sizes patch_size="auto" picks above 40 steps in this range (ceil(t / 25):
    # 2 for 41-50 steps, 3 for 51-59): each patch size is its own network
    for t in (5, 8, 30, 45, 55):
        fit(t)
    gc.collect()
    before, traced = process.memory_info().rss, traces()
    assert traced and all(count >= 1 for count in traced.values())
    for t in rng.randint(4, 60, size=30):
        fit(int(t))
    gc.collect()
    grown = (process.memory_info().rss - before) / 30 / 1e6
    assert grown < 6, f"RSS grew {grown:.1f} MB per fit"
    assert traces() == traced  # same engines, and no traced function traced again
