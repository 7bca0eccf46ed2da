"""skgru.io: the pickle-free archive, skops and MLflow round trips (issue 15)."""

import importlib
import io
import json
import os
import pickle
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, StandardScaler

import skgru.io
from skgru import GRUClassifier, GRURegressor
from skgru.conformal import ConformalRegressor
from skgru.preprocessing import SequencePadder, SequenceScaler, TextSequencer

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

SMALL = dict(units=3, epochs=1, batch_size=16, random_state=0)


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(24, 5, 2)).astype("float32")
    y = (X[:, :, 0].sum(axis=1) > 0).astype(int)
    return X, y


@pytest.fixture(scope="module")
def ragged():
    rng = np.random.RandomState(1)
    X = [rng.normal(size=(n, 2)).astype("float32") for n in rng.randint(3, 12, size=20)]
    y = np.array([float(x.sum()) for x in X])
    return X, y


TEXTS = ["good film", "bad film", "very good", "very bad plot", "good plot", "bad bad"] * 3
TEXT_Y = np.array([1, 0, 1, 0, 1, 0] * 3)


@pytest.fixture(scope="module")
def fitted(data, ragged):
    """name -> (fitted estimator, X to predict on, method)."""
    X, y = data
    Xr, yr = ragged
    labels = np.array(["cat", "dog"])[y]
    X2 = np.abs(X.reshape(len(X), -1))
    out = {
        "classifier_str_labels": (
            GRUClassifier(class_weight={"cat": 1.0, "dog": 2.0}, optimizer__beta_1=0.8, **SMALL).fit(X, labels),
            X, "predict_proba"),
        "regressor_multioutput": (
            GRURegressor(dense_units=(4,), l2=1e-4, **SMALL).fit(X, np.c_[X.sum((1, 2)), X.mean((1, 2))]),
            X, "predict"),
        "regressor_ragged": (GRURegressor(bidirectional=True, **SMALL).fit(Xr, yr), Xr, "predict"),
        "classifier_long_dropout": (
            GRUClassifier(dropout=0.2, n_layers=2, **SMALL).fit(np.repeat(X, 3, axis=1), y),
            np.repeat(X, 3, axis=1), "predict_proba"),
        "text_pipeline": (
            make_pipeline(TextSequencer(max_length=4), GRUClassifier(embedding_dim=3, **SMALL)).fit(TEXTS, TEXT_Y),
            TEXTS, "predict_proba"),
        "sklearn_pipeline": (
            make_pipeline(FunctionTransformer(np.log1p, inverse_func=np.expm1, check_inverse=False),
                          StandardScaler(), MinMaxScaler(),
                          GRURegressor(n_features=2, **SMALL)).fit(X2, X.sum((1, 2))),
            X2, "predict"),
        "scaler_pipeline": (make_pipeline(SequenceScaler(), GRUClassifier(**SMALL)).fit(X, y), X, "predict_proba"),
        "regressor_quantiles": (
            GRURegressor(quantiles=(0.1, 0.5, 0.9), lr_schedule="cosine", **SMALL).fit(X, X.sum((1, 2))),
            X, "predict_quantiles"),
        "conformal": (ConformalRegressor(GRURegressor(**SMALL), calibration_fraction=0.5).fit(X, X.sum((1, 2))),
                      X, "predict_interval"),
        "sequence_scaler": (SequenceScaler().fit(Xr), Xr, "transform"),
        "sequence_padder": (SequencePadder(max_length=8, value=-1.0).fit(Xr), Xr, "transform"),
        "text_sequencer": (TextSequencer(max_length=3).fit(TEXTS), TEXTS, "transform"),
    }
    return out


def _output(est, X, method):
    out = getattr(est, method)(X)
    if isinstance(out, list):  # ragged transforms: one array per sequence
        return np.concatenate([np.asarray(o).ravel() for o in out])
    return np.asarray(out)


ALL = ["classifier_str_labels", "regressor_multioutput", "regressor_ragged", "classifier_long_dropout",
       "regressor_quantiles", "conformal", "text_pipeline", "sklearn_pipeline", "scaler_pipeline", "sequence_scaler", "sequence_padder",
       "text_sequencer"]


# ------------------------------------------------------------------ round trips


@pytest.mark.parametrize("name", ALL)
def test_round_trip_gives_identical_outputs(fitted, name, tmp_path):
    est, X, method = fitted[name]
    path = tmp_path / "model.skgru"
    skgru.io.save(est, path)
    again = skgru.io.load(path)
    assert type(again) is type(est)
    np.testing.assert_array_equal(_output(again, X, method), _output(est, X, method))
    assert repr(again) == repr(est)


def test_file_is_a_zip_of_json_and_npy(fitted, tmp_path):
    est = fitted["classifier_str_labels"][0]
    path = tmp_path / "clf.skgru"
    skgru.io.save(est, path)
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        manifest = json.loads(zf.read("skgru.json"))
        assert all(n == "skgru.json" or (n.startswith("arrays/") and n.endswith(".npy")) for n in names)
        for n in names[1:]:  # every array reads without pickle
            np.load(io.BytesIO(zf.read(n)), allow_pickle=False)
    assert manifest["format"] == "skgru.io" and manifest["format_version"] == 1
    assert manifest["estimator"]["$estimator"]["class"] == "skgru.GRUClassifier"


def test_an_estimator_held_twice_is_stored_once(fitted, tmp_path):
    conformal = fitted["conformal"][0]
    assert conformal.estimator_ is conformal.estimators_[0]
    skgru.io.save(conformal, tmp_path / "c.skgru")
    again = skgru.io.load(tmp_path / "c.skgru")
    assert again.estimator_ is again.estimators_[0]  # as after pickle
    with zipfile.ZipFile(tmp_path / "c.skgru") as zf:
        manifest = zf.read("skgru.json")
    # the unfitted `estimator` parameter and the fitted estimator_ (with its two ensemble
    # members), each once; then one reference
    assert len(conformal.estimator_.ensemble_) == 2
    assert manifest.count(b'"skgru.GRURegressor"') == 4 and manifest.count(b'"$ref"') == 1


def test_unfitted_estimator_round_trips_its_params(tmp_path):
    est = GRUClassifier(units=(4, 3), dense_units=[2], class_weight={0: 1.0, 1: 3.0}, optimizer__beta_2=0.9)
    skgru.io.save(est, tmp_path / "u.skgru")
    again = skgru.io.load(tmp_path / "u.skgru")
    assert again.get_params() == est.get_params()
    assert isinstance(again.units, tuple) and isinstance(again.dense_units, list)


def test_loaded_estimator_continues_training_like_a_pickled_one(fitted, data, tmp_path):
    # the optimizer state (Adam's moments) is in the archive: partial_fit continues it
    X, y = data
    est = fitted["scaler_pipeline"][0][-1]
    skgru.io.save(est, tmp_path / "w.skgru")
    loaded, pickled = skgru.io.load(tmp_path / "w.skgru"), pickle.loads(pickle.dumps(est))
    loaded.partial_fit(X, y)
    pickled.partial_fit(X, y)
    np.testing.assert_array_equal(loaded.predict_proba(X), pickled.predict_proba(X))
    assert not np.array_equal(loaded.predict_proba(X), est.predict_proba(X))


def test_loading_never_unpickles(fitted, tmp_path, monkeypatch):
    est, X, method = fitted["classifier_str_labels"]
    path = tmp_path / "clf.skgru"
    skgru.io.save(est, path)
    expected = _output(est, X, method)

    def refuse(*args, **kwargs):
        raise AssertionError("pickle was used while loading")

    class NoUnpickler:
        def __init__(self, *args, **kwargs):
            refuse()

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "Unpickler", NoUnpickler)
    real_import = importlib.import_module
    imported = []
    monkeypatch.setattr(importlib, "import_module", lambda name, *a: imported.append(name) or real_import(name, *a))
    again = skgru.io.load(path)
    np.testing.assert_array_equal(_output(again, X, method), expected)
    # the class was resolved through the allow-list table's module, nothing the file named
    assert "skgru.estimators" in imported
    assert not {n.split(".")[0] for n in imported} & {"os", "posix", "subprocess", "builtins"}


def test_fresh_process_round_trip_is_identical(fitted, tmp_path):
    # one new interpreter loads every file (TensorFlow's import is the slow part)
    names = ("classifier_str_labels", "regressor_ragged", "text_pipeline")
    lines = ["import numpy as np, skgru.io"]
    for i, name in enumerate(names):
        est, X, method = fitted[name]
        skgru.io.save(est, tmp_path / f"{i}.skgru")
        if isinstance(X, list) and isinstance(X[0], np.ndarray):
            np.savez(tmp_path / f"{i}.npz", *X)
            load_x = f"z = np.load({str(tmp_path / f'{i}.npz')!r}); X = [z[k] for k in z.files]"
        elif isinstance(X, list):
            load_x = f"X = {X!r}"
        else:
            np.save(tmp_path / f"{i}.npy", X)
            load_x = f"X = np.load({str(tmp_path / f'{i}.npy')!r})"
        lines += [load_x, f"est = skgru.io.load({str(tmp_path / f'{i}.skgru')!r})",
                  f"np.save({str(tmp_path / f'out{i}.npy')!r}, np.asarray(est.{method}(X)))"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run([sys.executable, "-c", "\n".join(lines)], env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for i, name in enumerate(names):
        est, X, method = fitted[name]
        np.testing.assert_array_equal(np.load(tmp_path / f"out{i}.npy"), _output(est, X, method))


# ------------------------------------------------------------------ bad files


def _rewrite(path, edit_manifest=None, edit_members=None):
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    manifest = json.loads(members["skgru.json"])
    if edit_manifest:
        edit_manifest(manifest)
    members["skgru.json"] = json.dumps(manifest).encode()
    if edit_members:
        edit_members(members)
    with zipfile.ZipFile(path, "w") as zf:
        for n, b in members.items():
            zf.writestr(n, b)


@pytest.fixture
def saved(fitted, tmp_path):
    path = tmp_path / "clf.skgru"
    skgru.io.save(fitted["scaler_pipeline"][0], path)
    return path


def _state(manifest, step=1):
    # the GRUClassifier's state dict inside the saved Pipeline
    steps = manifest["estimator"]["$estimator"]["state"]["$dict"]["steps"]
    return steps[step]["$tuple"][1]["$estimator"]


def test_unknown_format_version_is_a_value_error(saved):
    _rewrite(saved, lambda m: m.update(format_version=99))
    with pytest.raises(ValueError, match="format version 99"):
        skgru.io.load(saved)


def test_truncated_or_non_zip_file_is_a_value_error(saved, tmp_path):
    data = saved.read_bytes()
    for n in (len(data) // 2, len(data) - 10, 30):
        (tmp_path / "cut.skgru").write_bytes(data[:n])
        with pytest.raises(ValueError, match="not a valid skgru.io file|truncated"):
            skgru.io.load(tmp_path / "cut.skgru")
    (tmp_path / "pickle.skgru").write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ValueError, match="not a valid skgru.io file"):
        skgru.io.load(tmp_path / "pickle.skgru")


def test_missing_array_is_a_value_error(saved):
    _rewrite(saved, edit_members=lambda m: m.pop("arrays/0.npy"))
    with pytest.raises(ValueError, match="does not contain"):
        skgru.io.load(saved)


def test_array_that_needs_pickle_is_refused(saved):
    def swap(members):
        buf = io.BytesIO()
        np.save(buf, np.array([os.system], dtype=object), allow_pickle=True)
        members["arrays/0.npy"] = buf.getvalue()
    _rewrite(saved, edit_members=swap)
    with pytest.raises(ValueError, match="pickle"):
        skgru.io.load(saved)


def test_a_root_that_is_not_an_estimator_is_refused(saved):
    # load() returned (1, 2) for this before: only an estimator is ever saved
    _rewrite(saved, lambda m: m.update(estimator={"$tuple": [1, 2]}))
    with pytest.raises(ValueError, match="not an estimator"):
        skgru.io.load(saved)


def test_a_deeply_nested_manifest_is_a_value_error(saved):
    def nest(members):
        members["skgru.json"] = ('{"format": "skgru.io", "format_version": 1, "estimator": '
                                 + "[" * 100_000 + "]" * 100_000 + "}").encode()
    _rewrite(saved, edit_members=nest)
    with pytest.raises(ValueError, match="nested too deeply"):  # was a RecursionError
        skgru.io.load(saved)


def test_an_array_that_inflates_like_a_zip_bomb_is_refused(saved):
    # 40 MB of zeros deflate to ~40 KB: before the check, load allocated it all
    with zipfile.ZipFile(saved) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    buf = io.BytesIO()
    np.save(buf, np.zeros(5_000_000))
    members["arrays/0.npy"] = buf.getvalue()
    with zipfile.ZipFile(saved, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for n, b in members.items():
            zf.writestr(n, b)
    with pytest.raises(ValueError, match="inflate.*refusing"):
        skgru.io.load(saved)


def test_arrays_that_deflate_a_thousandfold_still_round_trip(data, tmp_path):
    # runs of one value (a contiguous CV+ fold index over 100k+ rows) deflate ~1000-fold:
    # save stores such members uncompressed, so load's inflation check never refuses them
    X, y = data
    est = GRUClassifier(units=4, epochs=1, min_updates=0, random_state=0).fit(X, y)
    est.runs_ = np.repeat(np.arange(3), 100_000)  # 2.4 MB of three runs
    skgru.io.save(est, tmp_path / "m.skgru")
    np.testing.assert_array_equal(skgru.io.load(tmp_path / "m.skgru").runs_, est.runs_)


def test_an_array_referred_to_twice_is_refused(saved):
    # a crafted manifest could refer to one member of zeros millions of times
    def twice(manifest):
        state = _state(manifest)["state"]["$dict"]
        name = next(v["$array"] for v in _arrays(state))
        state["extra_"] = [{"$array": name}]
    _rewrite(saved, twice)
    with pytest.raises(ValueError, match="twice"):
        skgru.io.load(saved)


def _arrays(node):
    """Every {"$array": name} node under ``node``."""
    if isinstance(node, dict):
        if "$array" in node:
            yield node
        for v in node.values():
            yield from _arrays(v)
    elif isinstance(node, list):
        for v in node:
            yield from _arrays(v)


@pytest.mark.parametrize("target", ["os.system", "builtins.eval", "subprocess.Popen", "skgru.io.load",
                                    "sklearn.linear_model.LogisticRegression"])
def test_class_names_outside_the_allow_list_are_refused(saved, target):
    _rewrite(saved, lambda m: _state(m).update({"class": target}))
    with pytest.raises(ValueError, match="allow-list"):
        skgru.io.load(saved)


@pytest.mark.parametrize("edit, match", [
    (lambda s: s["state"]["$dict"]["_compile_config_"]["$dict"].update(optimizer="__import__"), "optimizer"),
    (lambda s: s["state"]["$dict"]["network_spec_"]["$dict"].update(__skgru__="os.system"), "kind"),
    (lambda s: s["state"]["$dict"].update(loss={"$pickle": "gASV"}), "Unknown entry"),
    (lambda s: s["state"]["$dict"].update(loss={"$ufunc": "system"}), "ufunc"),
    (lambda s: s["state"]["$dict"].update(loss={"$distribution": {"name": "os", "args": [], "kwds": {}}}),
     "distribution"),
    (lambda s: s["state"]["$dict"].update(loss={"$array": "../../etc/passwd"}), "array reference"),
    (lambda s: s["state"]["$dict"]["_pickled_weights"].pop(), "corrupt"),
])
def test_edited_contents_are_value_errors(saved, edit, match):
    _rewrite(saved, lambda m: edit(_state(m)))
    with pytest.raises(ValueError, match=match):
        skgru.io.load(saved)


@pytest.mark.parametrize("est, where", [
    (GRUClassifier(loss=lambda y, p: p), "loss"),
    (GRUClassifier(callbacks=[__import__("keras").callbacks.EarlyStopping()]), "callbacks"),
    (make_pipeline(FunctionTransformer(lambda x: x), GRURegressor()), "func"),
])
def test_unstorable_params_are_clear_type_errors(est, where, tmp_path):
    with pytest.raises(TypeError, match=f"Cannot save .*{where}.*joblib/pickle"):
        skgru.io.save(est, tmp_path / "x.skgru")
    assert not (tmp_path / "x.skgru").exists()  # everything is encoded before the file is opened


def test_unsupported_estimator_is_a_type_error(tmp_path):
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(TypeError, match="cannot store a sklearn.linear_model"):
        skgru.io.save(LogisticRegression(), tmp_path / "x.skgru")


# ------------------------------------------------------------------ TunedGRU


def test_tuned_gru_round_trip(data, tmp_path):
    pytest.importorskip("keras_tuner")
    from scipy import stats

    from skgru import TunedGRU

    X, y = data
    tuned = TunedGRU(GRUClassifier(**SMALL), {"units": [2, 3], "learning_rate": stats.loguniform(1e-3, 1e-2)},
                     max_trials=2, random_state=0).fit(X, y)
    skgru.io.save(tuned, tmp_path / "t.skgru")
    again = skgru.io.load(tmp_path / "t.skgru")
    np.testing.assert_array_equal(again.predict_proba(X), tuned.predict_proba(X))
    assert again.score(X, y) == tuned.score(X, y)  # scorer_ rebuilt from `scoring`
    assert again.best_params_ == tuned.best_params_ and again.best_index_ == tuned.best_index_
    assert set(again.cv_results_) == set(tuned.cv_results_)
    for key, value in tuned.cv_results_.items():
        got = again.cv_results_[key]
        assert type(got) is type(value)
        if isinstance(value, np.ma.MaskedArray):
            np.testing.assert_array_equal(np.ma.getmaskarray(got), np.ma.getmaskarray(value))
        np.testing.assert_array_equal(np.asarray(got), np.asarray(value))
    dist = again.search_space["learning_rate"]
    assert dist.dist.name == "loguniform" and dist.args == (1e-3, 1e-2)
    assert again.get_params()["estimator"].get_params() == tuned.get_params()["estimator"].get_params()

    # skops: scorer_ (a private sklearn class) is not stored, it is rebuilt from
    # `scoring`; the search space's scipy distributions are the user's own objects
    # (a parameter, like GridSearchCV's param_distributions): beyond skgru's names,
    # exactly those must be trusted
    sio = pytest.importorskip("skops.io")
    sio.dump(tuned, tmp_path / "t.skops")
    extra = set(sio.get_untrusted_types(file=tmp_path / "t.skops")) - set(skgru.io.trusted_types())
    assert extra == {"scipy.stats._distn_infrastructure.rv_continuous_frozen",
                     "scipy.stats._continuous_distns.reciprocal_gen"}
    via_skops = sio.load(tmp_path / "t.skops", trusted=skgru.io.trusted_types() + sorted(extra))
    np.testing.assert_array_equal(via_skops.predict_proba(X), tuned.predict_proba(X))
    assert via_skops.score(X, y) == tuned.score(X, y)


@pytest.mark.parametrize("scoring", [None, ("accuracy", "balanced_accuracy")])
def test_tuned_gru_skops_needs_only_skgru_types(data, tmp_path, scoring):
    pytest.importorskip("keras_tuner")
    sio = pytest.importorskip("skops.io")
    import pickle

    from skgru import TunedGRU

    X, y = data
    tuned = TunedGRU(GRUClassifier(**SMALL), {"units": [2, 3]}, tuner="grid", cv=2, scoring=scoring,
                     refit="accuracy" if scoring else True).fit(X, y)
    sio.dump(tuned, tmp_path / "t.skops")
    assert set(sio.get_untrusted_types(file=tmp_path / "t.skops")) <= set(skgru.io.trusted_types())
    for again in (sio.load(tmp_path / "t.skops", trusted=skgru.io.trusted_types()),
                  pickle.loads(pickle.dumps(tuned))):
        np.testing.assert_array_equal(again.predict_proba(X), tuned.predict_proba(X))
        assert again.score(X, y) == tuned.score(X, y)  # scorer_ rebuilt from `scoring`
        assert type(again.scorer_) is type(tuned.scorer_)
    assert "scorer_" in vars(tuned)  # dropping it from the state left the live object alone


# ------------------------------------------------------------------ skops


def test_trusted_types_is_the_exact_list_of_skgru_classes():
    assert skgru.io.trusted_types() == [
        "skgru.conformal.ConformalRegressor",
        "skgru.estimators.classifier.GRUClassifier",
        "skgru.estimators.regressor.GRURegressor",
        "skgru.preprocessing._padder.SequencePadder",
        "skgru.preprocessing._scaler.SequenceScaler",
        "skgru.preprocessing._text.TextSequencer",
        "skgru.tuning._tuned.TunedGRU",
    ]


@pytest.mark.parametrize("name", ALL)
def test_skops_round_trip_with_trusted_types(fitted, name, tmp_path):
    sio = pytest.importorskip("skops.io")
    est, X, method = fitted[name]
    path = tmp_path / "model.skops"
    sio.dump(est, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert set(untrusted) <= set(skgru.io.trusted_types()), untrusted  # no private or foreign type
    again = sio.load(path, trusted=skgru.io.trusted_types())
    np.testing.assert_array_equal(_output(again, X, method), _output(est, X, method))


# ------------------------------------------------------------------ MLflow


def test_mlflow_log_and_load_model(fitted, tmp_path, monkeypatch):
    mlflow = pytest.importorskip("mlflow")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    est, X, method = fitted["scaler_pipeline"]
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    # artifacts default to ./mlruns in the cwd: keep them in tmp_path
    experiment = mlflow.create_experiment("skgru-io-test", artifact_location=(tmp_path / "artifacts").as_uri())
    with mlflow.start_run(experiment_id=experiment):
        # pip_requirements given: MLflow otherwise infers them by loading the model in a
        # subprocess (~90 s here), which this test does not need
        info = mlflow.sklearn.log_model(est, name="model", serialization_format="skops",
                                        skops_trusted_types=skgru.io.trusted_types(),
                                        pip_requirements=["skgru"])
    again = mlflow.sklearn.load_model(info.model_uri)
    np.testing.assert_array_equal(again.predict_proba(X), est.predict_proba(X))
    assert not any(cwd.iterdir()), "MLflow wrote into the working directory"
