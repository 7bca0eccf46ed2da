"""One test per accessor in skgru._keras.private: each private Keras, KerasTuner or
TensorFlow name skgru relies on.  When a new release removes or renames one, the
test fails naming the attribute, instead of a search or fit degrading silently."""

import inspect
import sys

import numpy as np
import pytest

from skgru._keras import private


def _need(obj, attr, where):
    assert hasattr(obj, attr), (
        f"{where}.{attr} no longer exists in this version: skgru._keras.private "
        "must be updated")
    return getattr(obj, attr)


def test_every_accessor_has_a_test():
    accessors = {n for n, f in vars(private).items()
                 if inspect.isfunction(f) and f.__module__ == private.__name__
                 and not n.startswith("_")}
    tested = {n[len("test_"):] for n in globals() if n.startswith("test_")}
    assert accessors <= tested, f"accessors without a test: {sorted(accessors - tested)}"


# ----------------------------------------------------------------------- Keras
def _compiled_model():
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    return model


def test_has_symbolic_build():
    model = _compiled_model()
    assert private.has_symbolic_build(model), (
        "keras.Model._symbolic_build no longer exists in this Keras version")


def test_symbolic_build():
    model = _compiled_model()
    _need(model, "_symbolic_build", "keras.Model")
    x, y = np.zeros((4, 3), "float32"), np.zeros((4, 2), "float32")
    private.symbolic_build(model, (x, y))
    assert model.optimizer.built, "Model._symbolic_build did not build the optimizer"
    assert len(model.optimizer.variables) > 0


# ------------------------------------------------------------------ TensorFlow
def test_tf_context_initialized():
    pytest.importorskip("tensorflow")
    from tensorflow.python.eager import context

    ctx = context.context()
    _need(ctx, "_context_handle", "tensorflow.python.eager.context.Context")
    import tensorflow as tf

    tf.constant(1.0)  # starts the eager context
    assert private.tf_context_initialized() is True


def test_tf_context_initialized_never_imports_tensorflow(monkeypatch):
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    assert private.tf_context_initialized() is False
    assert "tensorflow" not in sys.modules


# ------------------------------------------------------------------ KerasTuner
kt = pytest.importorskip("keras_tuner")


def _oracle():
    oracle = kt.oracles.RandomSearchOracle(
        objective=kt.Objective("score", "max"), max_trials=5, seed=1)
    private.kt_disable_trial_saving(oracle, lambda *a, **k: None)
    oracle.verbose = 0
    hp = oracle.get_space()
    hp.Choice("a", [1, 2, 3])
    oracle.update_space(hp)
    return oracle


def test_kt_oracle_module():
    module = private.kt_oracle_module()
    _need(module, "Oracle", "keras_tuner.src.engine.oracle")
    _need(module, "LOCKS", "keras_tuner.src.engine.oracle")
    _need(module, "THREADS", "keras_tuner.src.engine.oracle")
    assert module.Oracle is kt.Oracle


def test_kt_hyperparameters_module():
    module = private.kt_hyperparameters_module()
    for name in ("Fixed", "Int", "Float", "Choice", "HyperParameters"):
        _need(module, name, "keras_tuner.src.engine.hyperparameters")
    assert module.HyperParameters is kt.HyperParameters


def test_kt_trial_module():
    module = private.kt_trial_module()
    status = _need(module, "TrialStatus", "keras_tuner.src.engine.trial")
    for name in ("RUNNING", "COMPLETED", "STOPPED", "FAILED"):
        _need(status, name, "keras_tuner.src.engine.trial.TrialStatus")


def test_kt_release_oracle():
    module = private.kt_oracle_module()
    oracle = _oracle()
    oracle.create_trial("t")  # registers the oracle's lock in LOCKS
    assert oracle in module.LOCKS, (
        "keras_tuner no longer keeps per-Oracle locks in oracle.LOCKS: "
        "kt_release_oracle may be unnecessary or must change")
    private.kt_release_oracle(oracle)
    assert oracle not in module.LOCKS and oracle not in module.THREADS


def test_kt_disable_trial_saving(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    oracle = kt.oracles.RandomSearchOracle(
        objective=kt.Objective("score", "max"), max_trials=2, seed=1)
    _need(oracle, "_save_trial", "keras_tuner.Oracle")
    private.kt_disable_trial_saving(oracle, lambda *a, **k: None)
    oracle.verbose = 0
    trial = oracle.create_trial("t")
    oracle.update_trial(trial.trial_id, {"score": 1.0})
    trial.status = "COMPLETED"
    oracle.end_trial(trial)
    assert list(tmp_path.iterdir()) == [], "the Oracle still writes to disk"


def test_kt_hyperband_brackets():
    oracle = kt.oracles.HyperbandOracle(
        objective=kt.Objective("score", "max"), max_epochs=3, factor=3, seed=1)
    found = private.kt_hyperband_brackets(oracle)
    assert found is not None, (
        "HyperbandOracle._brackets or ._get_size no longer exists in this version")
    brackets, get_size = found
    assert isinstance(brackets, list) and callable(get_size)
    assert isinstance(get_size(0, 0), int)
    assert private.kt_hyperband_brackets(_oracle()) is None  # not a Hyperband oracle


def test_kt_random_values():
    oracle = _oracle()
    _need(oracle, "_random_values", "keras_tuner.Oracle")
    values = private.kt_random_values(oracle)
    assert values is not None and values["a"] in (1, 2, 3)


def test_kt_is_duplicate():
    oracle = _oracle()
    _need(oracle, "_duplicate", "keras_tuner.Oracle")
    trial = oracle.create_trial("t")
    assert private.kt_is_duplicate(oracle, dict(trial.hyperparameters.values))


def test_kt_max_collisions():
    oracle = _oracle()
    _need(oracle, "_max_collisions", "keras_tuner.Oracle")
    assert private.kt_max_collisions(oracle) >= 1
