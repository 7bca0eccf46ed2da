"""skgru.io.to_onnx: onnxruntime gives predict_proba / predict (issue 15, point 4)."""

import json

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skgru.io
from skgru import GRUClassifier, GRURegressor
from skgru.preprocessing import SequencePadder, SequenceScaler, TextSequencer

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")
pytest.importorskip("tf2onnx")

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::UserWarning")

SMALL = dict(units=3, epochs=1, batch_size=16, random_state=0)
TOL = 1e-5
# ONNX runs in float32 end to end; predict() maps standardised targets back in float64.
# A regression output near 100 sits where float32's spacing is 7.6e-6, so two roundings
# already differ by ~1.4e-5 (seen on CI): the bound is relative as well as absolute, at
# ~8 float32 ulps (1e-6), far below any real conversion error.
RTOL = 1e-6


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = (rng.normal(size=(24, 5, 2)) * 3 + 1).astype("float32")
    y = (X[:, :, 0].sum(axis=1) > 5).astype(int)
    return X, y


def _run(path, X):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (inp,) = session.get_inputs()
    return session, session.run(None, {inp.name: X})[0]


def _check(est, X, X_onnx, method, tmp_path):
    path = tmp_path / "model.onnx"
    skgru.io.to_onnx(est, path)
    session, out = _run(path, X_onnx)
    expected = getattr(est, method)(X)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=RTOL, atol=TOL)
    # dynamic batch dimension: any number of rows, same rows -> same outputs
    inp = session.get_inputs()[0]
    assert inp.shape[0] == "batch"
    few = session.run(None, {inp.name: X_onnx[:3]})[0]
    np.testing.assert_allclose(few, expected[:3], rtol=RTOL, atol=TOL)
    return session


def test_classifier_short_sequences_unrolled_bucket(data, tmp_path):
    # 5 steps < the unrolled bucket of 8: the graph post-pads inside, callers pass 5 steps
    X, y = data
    clf = GRUClassifier(**SMALL).fit(X, y)
    assert clf.network_spec_.n_timesteps == 8 or clf.network_spec_.n_timesteps is None
    session = _check(clf, X, X, "predict_proba", tmp_path)
    assert session.get_inputs()[0].shape[1:] == [5, 2]
    assert session.get_outputs()[0].name == "probabilities"
    meta = session.get_modelmeta().custom_metadata_map
    assert json.loads(meta["skgru_classes"]) == clf.classes_.tolist()
    # labels: classes_[argmax]
    _, proba = _run(tmp_path / "model.onnx", X)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X))


def test_regressor_long_sequences_multioutput(data, tmp_path):
    X, _ = data
    Xl = np.repeat(X, 3, axis=1)  # 15 steps: the open time axis
    y = np.c_[Xl.sum((1, 2)), Xl.mean((1, 2))]
    reg = GRURegressor(n_layers=2, bidirectional=True, dense_units=4, **SMALL).fit(Xl, y)
    session = _check(reg, Xl, Xl, "predict", tmp_path)
    assert session.get_outputs()[0].name == "predictions"


@pytest.mark.parametrize("slope, shrunk", [(3.0, "gru_shrinkage_"), (0.5, "shrinkage_")])
def test_regressor_shrinkages_are_exported(slope, shrunk, tmp_path):
    """shrink_to_linear lives in the head's weights, shrink_to_mean in the export graph."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 10, 2)).astype("float32")
    y = slope * X[:, -1, 0] + rng.normal(size=60)  # linear signal + noise: the model is shrunk
    reg = GRURegressor(units=8, learning_rate=0.01, epochs=30, min_updates=0, random_state=0).fit(X, y)
    assert 0.0 < getattr(reg, shrunk)[0] < 1.0
    _check(reg, X, X, "predict", tmp_path)


def test_quantile_regressor_exports_its_point_prediction(data, tmp_path):
    X, _ = data
    reg = GRURegressor(quantiles=(0.1, 0.5, 0.9), **SMALL).fit(X, X.sum((1, 2)))
    _check(reg, X, X, "predict", tmp_path)


def test_pipeline_sequence_scaler_and_estimator(data, tmp_path):
    X, y = data
    pipe = make_pipeline(SequenceScaler(), GRURegressor(**SMALL)).fit(X, X.sum((1, 2)))
    _check(pipe, X, X, "predict", tmp_path)
    pipe = make_pipeline(SequenceScaler(), GRUClassifier(dropout=0.3, **SMALL)).fit(X, y)
    _check(pipe, X, X, "predict_proba", tmp_path)


def test_flattened_2d_and_channels_first_inputs(data, tmp_path):
    X, y = data
    X2 = X.reshape(len(X), -1)
    pipe = make_pipeline(SequenceScaler(n_features=2), GRUClassifier(n_features=2, **SMALL)).fit(X2, y)
    _check(pipe, X2, X2, "predict_proba", tmp_path)
    Xc = np.ascontiguousarray(np.transpose(X, (0, 2, 1)))
    clf = GRUClassifier(input_layout="nft", **SMALL).fit(Xc, y)
    _check(clf, Xc, Xc, "predict_proba", tmp_path)


def test_ragged_input_exports_with_a_dynamic_time_axis(tmp_path):
    rng = np.random.RandomState(1)
    X = [(rng.normal(size=(n, 2)) * 2 + 1).astype("float32") for n in rng.randint(3, 14, size=20)]
    y = np.arange(20) % 2  # labels need not be learnable here: outputs are compared
    pipe = make_pipeline(SequenceScaler(), GRUClassifier(**SMALL)).fit(X, y)
    # callers post-pad with the value the network masks (stored in the model's metadata)
    padded = SequencePadder(value=-1.0e9).fit_transform(X).astype("float32")
    session = _check(pipe, X, padded, "predict_proba", tmp_path)
    assert session.get_inputs()[0].shape == ["batch", "time", 2]
    assert "-1000000000.0" in session.get_modelmeta().custom_metadata_map["skgru_input"]


@pytest.mark.parametrize("mode, ragged", [("both", True), ("relative", False)])
def test_gru_input_exports(mode, ragged, tmp_path):
    # the layer that subtracts each series' last valid step (round 17 of issue 12)
    rng = np.random.RandomState(3)
    lengths = rng.randint(4, 12, size=20) if ragged else np.full(20, 7)
    X = [(rng.normal(size=(n, 2)) * 2 + 1).astype("float32") for n in lengths]
    y = np.array([s[-1, 0] for s in X])
    if ragged:
        est = GRURegressor(**SMALL, gru_input=mode, ensemble_size=1).fit(X, y)
        X_onnx = SequencePadder(value=-1.0e9).fit_transform(X).astype("float32")
    else:
        X = np.stack(X)
        est = GRURegressor(**SMALL, gru_input=mode, ensemble_size=1).fit(X, y)
        X_onnx = X
    assert "relative_to_last" in [layer.name for layer in est.model_.layers]
    _check(est, X, X_onnx, "predict", tmp_path)


def test_token_input_exports(tmp_path):
    rng = np.random.RandomState(2)
    T = rng.randint(1, 9, size=(20, 6))
    y = (T[:, 0] > 4).astype(int)
    clf = GRUClassifier(embedding_dim=3, **SMALL).fit(T, y)
    _check(clf, T, T.astype("int32"), "predict_proba", tmp_path)


def test_untranslatable_steps_and_unfitted_estimators_are_clear_errors(tmp_path):
    texts = ["good film", "bad film", "good plot", "bad plot"] * 3
    pipe = make_pipeline(TextSequencer(), GRUClassifier(embedding_dim=2, **SMALL)).fit(texts, [1, 0, 1, 0] * 3)
    with pytest.raises(ValueError, match="TextSequencer.*cannot run inside ONNX"):
        skgru.io.to_onnx(pipe, tmp_path / "x.onnx")
    with pytest.raises(ValueError, match="SequenceScaler steps"):
        skgru.io.to_onnx(make_pipeline(StandardScaler(), GRURegressor()), tmp_path / "x.onnx")
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        skgru.io.to_onnx(GRUClassifier(), tmp_path / "x.onnx")
    from sklearn.linear_model import Ridge

    with pytest.raises(ValueError, match="exports GRUClassifier, GRURegressor"):
        skgru.io.to_onnx(Ridge(), tmp_path / "x.onnx")


def test_a_per_series_scaler_is_refused_by_name(tmp_path):
    # it holds no statistics to fold: exported as constants they were NaN, and every
    # output of the graph was NaN with no error
    rng = np.random.RandomState(0)
    X = rng.normal(size=(16, 6, 2)).astype("float32")
    y = (X[:, :, 0].sum(1) > 0).astype(int)
    pipe = make_pipeline(SequenceScaler(per_series=True), GRUClassifier(**SMALL)).fit(X, y)
    with pytest.raises(ValueError, match=r"SequenceScaler\(per_series=True\)"):
        skgru.io.to_onnx(pipe, tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()


def test_a_cropped_classifier_is_refused_by_name(tmp_path):
    # its predictions average windows, which the graph cannot express
    rng = np.random.RandomState(0)
    X = rng.normal(size=(16, 40)).astype("float32")
    y = np.arange(16) % 2
    clf = GRUClassifier(crop_size=10, **SMALL).fit(X, y)
    with pytest.raises(ValueError, match="crop_size"):
        skgru.io.to_onnx(clf, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("ragged", [False, True])
def test_range_fade_exports(ragged, tmp_path):
    # windows far outside the training range predict with the linear skip alone, partly
    # outside with a blend (round 18 of issue 12): the export must fade them the same way
    rng = np.random.RandomState(4)
    lengths = rng.randint(4, 12, size=30) if ragged else np.full(30, 7)
    X = [(rng.normal(size=(n, 2))).astype("float32") for n in lengths]
    y = np.array([s[-1, 0] + s[:, 1].mean() for s in X])
    shifts = np.linspace(0.0, 1.0, len(X)).astype("float32")[:, None, None]  # 0 .. 1 range-widths above
    params = dict(SMALL, ensemble_size=2, range_fade=0.5)
    if ragged:
        est = GRURegressor(**params).fit(X, y)
        X_new = [s + 6.0 * shift[0] for s, shift in zip(X, shifts)]
        X_onnx = SequencePadder(value=-1.0e9).fit_transform(X_new).astype("float32")
    else:
        X = np.stack(X)
        est = GRURegressor(**params).fit(X, y)
        X_new = X_onnx = X + 6.0 * shifts
    from skgru.estimators._range_fade import fade_factors, range_excess

    g = fade_factors(range_excess(est.feature_encoder_.transform(X_new), est.input_range_,
                                  est.network_spec_.mask_value), 0.5)
    assert np.any(g == 0) and np.any((g > 0) & (g < 1)) and np.any(g == 1)
    _check(est, X_new, X_onnx, "predict", tmp_path)
