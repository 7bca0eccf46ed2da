"""Issue 11: parameter validation and the bad inputs a new user finds."""

import numpy as np
import pytest

from skgru import GRUClassifier, GRURegressor


def _data(n=40):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(n, 5, 2)).astype("float32")
    return X, (X[:, :, 0].sum(axis=1) > 0).astype(int)


@pytest.mark.parametrize("kwargs", [dict(epoch=3), dict(unitz=32), dict(fit_batch_size=3)])
def test_unknown_constructor_keyword_is_a_type_error(kwargs):
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        GRUClassifier(**kwargs)


def test_routed_keywords_are_accepted_and_cloned():
    from sklearn.base import clone

    est = GRUClassifier(optimizer__beta_1=0.8, fit__shuffle=False)
    assert clone(est).get_params()["optimizer__beta_1"] == 0.8


def test_set_params_of_an_unknown_name_lists_the_parameters():
    with pytest.raises(ValueError, match=r"Invalid parameter 'unitz'.*Valid parameters are:.*'units'"):
        GRUClassifier().set_params(unitz=3)


@pytest.mark.parametrize(
    "param, value, match",
    [
        ("activation", "nope", "activation.*among"),
        ("recurrent_activation", "sigmoidd", "recurrent_activation.*among"),
        ("optimizer", "adamm", "optimizer.*among"),
        ("loss", "mse", "loss.*among"),
        ("units", True, "units"),
        ("units", 0, "units"),
        ("n_layers", False, "n_layers"),
        ("dropout", 1.0, "dropout"),
        ("class_weight", "balancedd", "class_weight"),
    ],
)
def test_closed_option_sets_name_the_parameter(param, value, match):
    X, y = _data()
    with pytest.raises(ValueError, match=match):
        GRUClassifier(epochs=1, **{param: value}).fit(X, y)


def test_regressor_loss_names_are_checked():
    X, y = _data()
    with pytest.raises(ValueError, match="loss.*among"):
        GRURegressor(epochs=1, loss="sparse_categorical_crossentropy").fit(X, y.astype(float))


def test_classifier_loss_must_fit_the_target_type():
    X, y = _data()
    with pytest.raises(ValueError, match="does not fit multilabel"):
        GRUClassifier(epochs=1, loss="categorical_crossentropy").fit(X, np.c_[y, 1 - y])
    clf = GRUClassifier(units=4, epochs=1, loss="categorical_crossentropy", random_state=0).fit(X, y)
    assert clf.predict(X).shape == (40,)


@pytest.mark.parametrize(
    "class_weight, match",
    [({0: -1.0, 1: 1.0}, "finite and >= 0"), ({0: np.nan, 1: 1.0}, "finite and >= 0"),
     ({0: 1.0, 7: 2.0}, "not in y"), ({0: "x", 1: 1.0}, "must be a number")],
)
def test_bad_class_weight_is_rejected(class_weight, match):
    X, y = _data()
    with pytest.raises((ValueError, TypeError), match=match):
        GRUClassifier(epochs=1, class_weight=class_weight).fit(X, y)


def test_regressor_targets_of_huge_scale_predict_finite_values():
    X, y = _data()
    target = (X[:, :, 0].sum(axis=1).astype("float64") + 10) * 1e200
    reg = GRURegressor(units=4, epochs=2, random_state=0).fit(X, target)
    pred = reg.predict(X)
    assert np.all(np.isfinite(pred)) and np.abs(pred).max() > 1e199
    with pytest.raises(ValueError, match="float32"):
        GRURegressor(units=4, epochs=1, standardize_y=False).fit(X, target)


def test_partial_fit_classes_message_does_not_contradict_itself():
    X, y = _data()
    with pytest.raises(ValueError, match=r"not in the classes passed to partial_fit"):
        GRUClassifier(units=4).partial_fit(X, y + 1, classes=[0, 1])
    clf = GRUClassifier(units=4, random_state=0).partial_fit(X[:5], np.zeros(5, int), classes=[0, 1])
    assert list(clf.classes_) == [0, 1]


def test_every_listed_optimizer_name_resolves_to_its_class():
    import keras

    from skgru.estimators import _params

    assert {"adam", "adamw", "sgd", "rmsprop", "lamb"} <= _params.OPTIMIZERS
    for name in _params.OPTIMIZERS:  # keras.optimizers.get("lamb") fails: skgru must not rely on it
        params = dict(optimizer=name, learning_rate=0.01, clipnorm=None)
        cls, kwargs = _params.optimizer_class_and_kwargs(params)
        assert issubclass(cls, keras.optimizers.Optimizer) and cls.__name__.lower() == name
        cls(**kwargs)  # the constructor accepts what skgru passes


def test_an_optimizer_instance_with_a_learning_rate_schedule_trains():
    import keras

    X, y = _data()
    sched = keras.optimizers.schedules.ExponentialDecay(0.01, decay_steps=2, decay_rate=0.5)
    opt = keras.optimizers.Adam(learning_rate=sched)
    est = GRUClassifier(units=4, epochs=2, optimizer=opt, random_state=0).fit(X, y)
    assert est.predict(X).shape == (40,)
    assert not opt.built  # the user's optimizer instance is a template, never trained itself
