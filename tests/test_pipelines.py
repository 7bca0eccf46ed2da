"""skgru preprocessing + GRU estimators inside sklearn pipelines and searches.

Tiny data and 2 epochs: these check the wiring (shapes, masking, parameter
routing, time order), not model quality.  Each fit takes about a second.
"""

import importlib.util
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from sklearn.model_selection import GridSearchCV, KFold, TimeSeriesSplit, cross_val_score
from sklearn.pipeline import make_pipeline

from skgru import GRUClassifier, GRURegressor
from skgru.preprocessing import SequencePadder, SequenceScaler, TextSequencer, make_windows

TINY = dict(units=4, epochs=2, batch_size=16, random_state=0)


@pytest.fixture(scope="module")
def regression_data():
    rng = np.random.RandomState(0)
    X = rng.normal(loc=5.0, scale=3.0, size=(60, 5, 2))
    y = X[:, -1, 0] - 0.5 * X[:, :, 1].mean(axis=1)
    return X, y


@pytest.fixture(scope="module")
def variable_length_data():
    rng = np.random.RandomState(1)
    seqs, labels = [], []
    for i in range(40):
        label = ["down", "up"][i % 2]
        t = rng.randint(2, 7)
        drift = 1.0 if label == "up" else -1.0
        seqs.append(np.cumsum(rng.normal(drift, 0.3, size=(t, 2)), axis=0) + 3.0)
        labels.append(label)
    return seqs, np.array(labels)


def test_grid_search_over_scaler_and_gru_params(regression_data):
    X, y = regression_data
    pipe = make_pipeline(SequenceScaler(), GRURegressor(**TINY))
    grid = GridSearchCV(
        pipe,
        {"sequencescaler__with_mean": [True, False], "gruregressor__units": [2, 4]},
        cv=KFold(2),
    )
    grid.fit(X, y)
    assert set(grid.best_params_) == {"sequencescaler__with_mean", "gruregressor__units"}
    assert len(grid.cv_results_["params"]) == 4
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))
    best = grid.best_estimator_
    assert best.named_steps["gruregressor"].units == grid.best_params_["gruregressor__units"]
    assert grid.predict(X[:3]).shape == (3,)


def test_padder_and_classifier_on_variable_length_data(variable_length_data):
    seqs, labels = variable_length_data
    pipe = make_pipeline(
        SequenceScaler(),  # before the padder: padding must stay exactly `value`
        SequencePadder(value=0.0),
        GRUClassifier(mask_value=0.0, **TINY),
    )
    pipe.fit(seqs, labels)
    assert list(pipe.classes_) == ["down", "up"]
    pred = pipe.predict(seqs[:5])
    assert set(pred) <= {"down", "up"} and len(pred) == 5
    # longer-than-seen and shorter sequences at predict time
    new = [np.ones((12, 2)), np.ones((1, 2))]
    assert pipe.predict_proba(new).shape == (2, 2)

    # masking: padded timesteps are skipped, so padding before or after the real
    # steps gives the same prediction (the masked GRU state passes through them)
    scaled = pipe[0].transform(seqs[:8])
    post = pipe[1].transform(scaled)
    pre_padder = SequencePadder(max_length=pipe[1].max_length_, padding="pre", value=0.0)
    pre = pre_padder.fit_transform(scaled)
    assert not np.array_equal(pre, post)
    clf = pipe[-1]
    assert_allclose(clf.predict_proba(pre), clf.predict_proba(post), atol=1e-5)


def test_text_pipeline_with_string_labels_predicts_unseen_text():
    pos = ["a great film", "really good acting", "great fun", "good and great",
           "loved it", "wonderful good story"]
    neg = ["a bad film", "really awful acting", "boring mess", "bad and awful",
           "hated it", "terrible bad story"]
    docs, labels = pos + neg, ["positive"] * 6 + ["negative"] * 6
    pipe = make_pipeline(TextSequencer(), GRUClassifier(embedding_dim=8, **TINY))
    pipe.fit(docs, labels)
    seq = pipe.named_steps["textsequencer"]
    assert pipe.named_steps["gruclassifier"].model_.layers  # built
    # unseen words (out-of-vocabulary) and a document longer than max_length_
    unseen = ["an unseen but great movie", "awful", "zzz qqq " * 10]
    pred = pipe.predict(unseen)
    assert set(pred) <= {"positive", "negative"} and len(pred) == 3
    assert seq.transform(unseen).max() < seq.vocab_size_

    # padding id 0 is masked: moving the padding in front gives the same prediction
    post = seq.transform(docs)
    n_real = (post != 0).sum(axis=1)
    pre = np.zeros_like(post)
    for i, k in enumerate(n_real):
        pre[i, post.shape[1] - k:] = post[i, :k]
    assert not np.array_equal(pre, post)
    clf = pipe[-1]
    assert_allclose(clf.predict_proba(pre), clf.predict_proba(post), atol=1e-5)


def test_make_windows_time_series_split_and_regressor():
    t = np.arange(80)
    series = pd.DataFrame({"y": np.sin(t / 4.0) + 0.01 * t, "x": np.cos(t / 4.0)})
    X, y = make_windows(series, window=6, target="y")
    assert X.shape == (74, 6, 2) and y.shape == (74,)
    pipe = make_pipeline(SequenceScaler(), GRURegressor(**TINY))
    scores = cross_val_score(pipe, X, y, cv=TimeSeriesSplit(n_splits=2),
                             scoring="neg_mean_absolute_error")
    assert scores.shape == (2,) and np.all(np.isfinite(scores))


def test_multi_step_windows_with_regressor():
    series = np.sin(np.arange(60) / 3.0)
    X, y = make_windows(series, window=5, horizon=3)
    assert y.shape == (53, 3)
    pipe = make_pipeline(SequenceScaler(), GRURegressor(**TINY))
    cv = TimeSeriesSplit(n_splits=2, gap=2)  # gap = horizon - 1: no shared targets
    train, test = list(cv.split(X))[-1]
    pipe.fit(X[train], y[train])
    assert pipe.predict(X[test]).shape == (len(test), 3)


def test_flattened_dataframe_with_pandas_output(regression_data):
    X, y = regression_data
    cols = [f"t{t}_{f}" for t in range(5) for f in ("a", "b")]
    df = pd.DataFrame(X.reshape(60, 10), columns=cols)
    pipe = make_pipeline(SequenceScaler(n_features=2), GRURegressor(n_features=2, **TINY))
    pipe.set_output(transform="pandas")
    pipe.fit(df, y)
    scaled = pipe[0].transform(df)
    assert isinstance(scaled, pd.DataFrame) and list(scaled.columns) == cols
    assert pipe.predict(df.iloc[:4]).shape == (4,)
    assert list(pipe[-1].feature_names_in_) == cols


# ---------------------------------------------------------------------------
# the examples, in their fast mode (what CI runs); downloads and aeon are faked
# ---------------------------------------------------------------------------

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _load_example(name):
    spec = importlib.util.spec_from_file_location(f"skgru_example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_time_series_forecasting_fast():
    pytest.importorskip("statsmodels")
    result = _load_example("time_series_forecasting").main(fast=True)
    assert all(np.isfinite(v) for v in result.values())


def test_example_text_sentiment_fast():
    result = _load_example("text_sentiment").main(fast=True)
    assert 0.0 <= result["gru_accuracy"] <= 1.0


def test_example_text_sentiment_imdb_paths_with_fake_download(monkeypatch):
    import keras.datasets.imdb as imdb

    rng = np.random.RandomState(0)

    def fake_load_data(num_words=None, **kwargs):
        def part(n):
            x = [[1] + list(rng.randint(2, 40, size=rng.randint(3, 20))) for _ in range(n)]
            return np.array(x, dtype=object), rng.randint(0, 2, size=n)

        return part(450), part(250)

    monkeypatch.setattr(imdb, "load_data", fake_load_data)
    monkeypatch.setattr(imdb, "get_word_index", lambda: {f"w{i}": i for i in range(1, 40)})
    example = _load_example("text_sentiment")
    assert "bow_accuracy" in example.main(fast=True, imdb=True)
    assert "gru_accuracy" in example.main(fast=True, imdb_ids=True)


def test_example_multivariate_digits_fallback(monkeypatch):
    monkeypatch.setitem(sys.modules, "aeon", None)  # import aeon -> ImportError
    result = _load_example("multivariate_classification").main(fast=True)
    assert result["dataset"] == "digits"


def test_example_multivariate_aeon_path_with_fake_aeon(monkeypatch):
    aeon = types.ModuleType("aeon")
    datasets = types.ModuleType("aeon.datasets")
    calls = []

    def load_basic_motions(split=None, return_X_y=True, return_type="numpy3d"):
        calls.append(split)
        rng = np.random.RandomState(len(calls))
        y = np.array(["standing", "running", "walking", "badminton"] * 10)
        X = rng.normal(size=(40, 6, 100)) + np.unique(y, return_inverse=True)[1][:, None, None]
        return X, y  # channels first, like aeon

    datasets.load_basic_motions = load_basic_motions
    aeon.datasets = datasets
    monkeypatch.setitem(sys.modules, "aeon", aeon)
    monkeypatch.setitem(sys.modules, "aeon.datasets", datasets)
    result = _load_example("multivariate_classification").main(fast=True)
    assert result["dataset"] == "BasicMotions" and calls == ["TRAIN", "TEST"]
