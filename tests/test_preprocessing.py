"""Tests for skgru.preprocessing (no Keras model is trained here: fast)."""

import doctest
import importlib
import math
import pickle

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import config_context
from sklearn.base import clone
from sklearn.model_selection import TimeSeriesSplit
from sklearn.preprocessing import StandardScaler
from sklearn.utils import estimator_checks
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

import skgru.preprocessing as preprocessing
from skgru.preprocessing import SequencePadder, SequenceScaler, TextSequencer, make_windows

# ---------------------------------------------------------------------------
# sklearn's estimator checks
# ---------------------------------------------------------------------------

_PADDER_XFAIL = {
    "check_n_features_in": (
        "a 2D array is a batch of univariate sequences: its width is a sequence "
        "length, so n_features_in_ is the number of features per timestep (1), "
        "not X.shape[1]"
    ),
    "check_n_features_in_after_fitting": (
        "transform pads/truncates sequences of any length to max_length_, so a "
        "2D array of another width is valid input, not an error"
    ),
    "check_transformer_general": (
        "it asserts that transform rejects a different number of columns; for the "
        "padder the columns of a 2D array are timesteps, which may differ (the rest "
        "of the check is covered by test_padder_fit_transform_equals_transform)"
    ),
}


def _expected_failed_checks(estimator):
    if isinstance(estimator, SequencePadder):
        return _PADDER_XFAIL
    return {}


@parametrize_with_checks(
    [SequenceScaler(), SequenceScaler(with_mean=False), SequenceScaler(per_series=True), SequencePadder()],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


# TextSequencer takes 1D string input (input_tags.two_d_array=False), so
# parametrize_with_checks yields no check for it; run the API checks that do not
# need numeric data directly.
_TEXT_API_CHECKS = [
    "check_estimator_cloneable",
    "check_estimator_repr",
    "check_no_attributes_set_in_init",
    "check_do_not_raise_errors_in_init_or_set_params",
    "check_parameters_default_constructible",
    "check_get_params_invariance",
    "check_set_params",
    "check_estimator_tags_renamed",
    "check_valid_tag_types",
    "check_mixin_order",
    "check_estimator_sparse_tag",
    "check_transformers_unfitted",
]


@pytest.mark.parametrize("check_name", _TEXT_API_CHECKS)
def test_text_sequencer_api_checks(check_name):
    check = getattr(estimator_checks, check_name, None)
    if check is None:  # pragma: no cover - older/newer sklearn
        pytest.skip(f"{check_name} not in this scikit-learn")
    check("TextSequencer", TextSequencer())


def test_text_sequencer_tags():
    tags = TextSequencer().__sklearn_tags__()
    assert tags.input_tags.string and tags.input_tags.one_d_array
    assert not tags.input_tags.two_d_array


@pytest.mark.parametrize("module", ["_scaler", "_padder", "_text", "_windows"])
def test_doctests(module):
    # one module per transformer: each documents its public name with an example
    result = doctest.testmod(
        importlib.import_module(f"skgru.preprocessing.{module}"),
        optionflags=doctest.NORMALIZE_WHITESPACE,
    )
    assert result.attempted > 0
    assert result.failed == 0


def test_public_names_are_the_submodules_classes():
    # the import path users know stays skgru.preprocessing; the home is one module each
    for name in preprocessing.__all__:
        assert getattr(preprocessing, name).__module__.startswith("skgru.preprocessing._")


# ---------------------------------------------------------------------------
# SequenceScaler
# ---------------------------------------------------------------------------


@pytest.fixture
def X3d():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(6, 4, 3)) * [1.0, 10.0, 0.1] + [0.0, 5.0, -2.0]
    X[:, :, 2] = 7.0  # a constant feature
    return X


def test_scaler_3d_matches_standard_scaler_over_timesteps(X3d):
    scaler = SequenceScaler().fit(X3d)
    ref = StandardScaler().fit(X3d.reshape(-1, 3))
    assert_allclose(scaler.mean_, ref.mean_)
    assert_allclose(scaler.var_, ref.var_)
    assert_allclose(scaler.scale_, ref.scale_)
    Xt = scaler.transform(X3d)
    assert Xt.shape == X3d.shape
    assert_allclose(Xt.reshape(-1, 3), ref.transform(X3d.reshape(-1, 3)))
    assert scaler.n_sequence_features_ == 3 and scaler.n_features_in_ == 3
    assert scaler.n_samples_seen_ == 24
    assert not hasattr(scaler, "feature_names_in_")


def test_scaler_constant_feature_is_not_divided_by_zero(X3d):
    Xt = SequenceScaler().fit_transform(X3d)
    assert np.all(np.isfinite(Xt))
    assert_allclose(Xt[:, :, 2], 0.0)


def test_scaler_flattened_2d_matches_3d(X3d):
    flat = X3d.reshape(6, 12)
    Xt = SequenceScaler(n_features=3).fit_transform(flat)
    assert Xt.shape == (6, 12)
    assert_allclose(Xt, SequenceScaler().fit_transform(X3d).reshape(6, 12))
    scaler = SequenceScaler(n_features=3).fit(flat)
    assert scaler.n_features_in_ == 12 and scaler.n_sequence_features_ == 3
    # a scaler fitted on flattened data also transforms the 3D form
    assert_allclose(scaler.transform(X3d), SequenceScaler().fit_transform(X3d))


def test_scaler_2d_without_n_features_is_univariate():
    X = np.arange(12.0).reshape(3, 4)
    scaler = SequenceScaler().fit(X)
    assert scaler.n_sequence_features_ == 1
    assert_allclose(scaler.mean_, [5.5])
    assert_allclose(scaler.transform(X), (X - 5.5) / X.std())


@pytest.mark.parametrize("with_mean,with_std", [(True, True), (False, True), (True, False),
                                                (False, False)])
def test_scaler_inverse_transform_roundtrip(X3d, with_mean, with_std):
    scaler = SequenceScaler(with_mean=with_mean, with_std=with_std).fit(X3d)
    Xt = scaler.transform(X3d)
    assert_allclose(scaler.inverse_transform(Xt), X3d)
    if not with_std:
        assert scaler.scale_ is None
    if not with_mean and not with_std:
        assert_allclose(Xt, X3d)
    flat = SequenceScaler(with_mean=with_mean, with_std=with_std, n_features=3)
    Xf = flat.fit_transform(X3d.reshape(6, 12))
    assert_allclose(flat.inverse_transform(Xf), X3d.reshape(6, 12))


def test_scaler_variable_length_list():
    rng = np.random.RandomState(1)
    seqs = [rng.normal(size=(t, 2)) * [1, 3] + [1, -1] for t in (3, 5, 1)]
    scaler = SequenceScaler().fit(seqs)
    stacked = np.concatenate(seqs)
    assert_allclose(scaler.mean_, stacked.mean(axis=0))
    assert_allclose(scaler.scale_, stacked.std(axis=0))
    out = scaler.transform(seqs)
    assert isinstance(out, list) and [o.shape for o in out] == [(3, 2), (5, 2), (1, 2)]
    assert_allclose(np.concatenate(out), StandardScaler().fit_transform(stacked))
    back = scaler.inverse_transform(out)
    for a, b in zip(back, seqs):
        assert_allclose(a, b)


def test_scaler_list_of_1d_sequences_keeps_shapes():
    seqs = [np.array([1.0, 2.0, 3.0]), np.array([4.0]), np.array([5.0, 6.0])]
    out = SequenceScaler().fit_transform(seqs)
    assert [o.shape for o in out] == [(3,), (1,), (2,)]
    assert_allclose(np.concatenate(out), (np.arange(1, 7) - 3.5) / np.arange(1, 7).std())


def test_scaler_preserves_float32_and_does_not_mutate(X3d):
    X32 = X3d.astype(np.float32)
    before = X32.copy()
    Xt = SequenceScaler().fit_transform(X32)
    assert Xt.dtype == np.float32
    assert_array_equal(X32, before)
    seqs = [X3d[0].copy(), X3d[1, :2].copy()]
    copies = [s.copy() for s in seqs]
    SequenceScaler().fit(seqs).transform(seqs)
    for s, c in zip(seqs, copies):
        assert_array_equal(s, c)


def test_scaler_dataframe_feature_names_and_pandas_output():
    df = pd.DataFrame(
        np.arange(12.0).reshape(3, 4), columns=["t0_a", "t0_b", "t1_a", "t1_b"],
        index=[10, 11, 12],
    )
    scaler = SequenceScaler(n_features=2).fit(df)
    assert_array_equal(scaler.feature_names_in_, df.columns)
    assert_array_equal(scaler.get_feature_names_out(), df.columns)
    scaler.set_output(transform="pandas")
    out = scaler.transform(df)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(df.columns) and list(out.index) == [10, 11, 12]
    # the 3D form cannot be a DataFrame: it comes back as an array
    out3 = scaler.transform(df.to_numpy().reshape(3, 2, 2))
    assert isinstance(out3, np.ndarray) and out3.shape == (3, 2, 2)
    # numpy input gets generic names
    plain = SequenceScaler().fit(np.ones((2, 3)))
    assert_array_equal(plain.get_feature_names_out(), ["x0", "x1", "x2"])


def test_scaler_global_pandas_output_config():
    X = np.arange(8.0).reshape(2, 4)
    with config_context(transform_output="pandas"):
        out = SequenceScaler().fit_transform(X)
    assert isinstance(out, pd.DataFrame) and out.shape == (2, 4)
    assert isinstance(SequenceScaler().fit_transform(X), np.ndarray)
    with pytest.raises(ValueError, match="output config"):
        SequenceScaler().set_output(transform="xarray")


def test_scaler_refit_on_3d_forgets_feature_names():
    df = pd.DataFrame(np.arange(6.0).reshape(2, 3), columns=list("abc"))
    scaler = SequenceScaler().fit(df)
    assert hasattr(scaler, "feature_names_in_")
    scaler.fit(np.ones((2, 3, 2)))
    assert not hasattr(scaler, "feature_names_in_") and scaler.n_features_in_ == 2


def test_scaler_transform_checks_feature_names():
    df = pd.DataFrame(np.arange(6.0).reshape(2, 3), columns=list("abc"))
    scaler = SequenceScaler().fit(df)
    with pytest.raises(ValueError, match="feature names"):
        scaler.transform(df.rename(columns={"a": "z"}))


@pytest.mark.parametrize(
    "fit_X, bad_X, error, match",
    [
        (np.ones((3, 4, 2)), np.ones((3, 4, 3)), ValueError, "fitted with 2"),
        (np.ones((3, 4)), np.ones((3, 5)), ValueError, "expecting 4 features"),
        (np.ones((3, 4, 2)), [np.ones((2, 3))], ValueError, "fitted with 2"),
        (np.ones((3, 4)), np.ones((3,)), ValueError, "Reshape your data"),
    ],
)
def test_scaler_transform_rejects_wrong_shape(fit_X, bad_X, error, match):
    scaler = SequenceScaler().fit(fit_X)
    with pytest.raises(error, match=match):
        scaler.transform(bad_X)


@pytest.mark.parametrize(
    "X, kwargs, error, match",
    [
        (np.array([[[1.0], [np.nan]]]), {}, ValueError, "NaN"),
        ([np.ones((2, 1)), np.array([[np.inf]])], {}, ValueError, "infinity"),
        ([], {}, ValueError, "empty"),
        (np.empty((0, 3, 2)), {}, ValueError, "0 sample"),
        (np.ones((3, 5)), {"n_features": 2}, ValueError, "not a multiple of n_features=2"),
        ([np.ones((2, 2)), np.ones((3, 3))], {}, ValueError, "same number of features"),
        (np.ones((2, 2, 2, 2)), {}, ValueError, r"4D input of shape \(2, 2, 2, 2\); it accepts a 3D"),
        ("abc", {}, TypeError, "string"),
        (np.array([["a", "b"]]), {}, ValueError, "bytes/strings"),
        (np.array([["1", "2"]]), {}, ValueError, "bytes/strings"),
        ([["1", "2"], ["3", "4"]], {}, ValueError, "bytes/strings"),
        (np.array([[1.0, "2"]], dtype=object), {}, ValueError, "bytes/strings"),
        (np.ones((3, 2)), {"n_features": 0}, InvalidParameterError, "n_features"),
        (np.ones((3, 2)), {"with_mean": "yes"}, InvalidParameterError, "with_mean"),
    ],
)
def test_scaler_rejects_bad_input(X, kwargs, error, match):
    with pytest.raises(error, match=match):
        SequenceScaler(**kwargs).fit(X)


def test_scaler_unfitted_and_pickle(X3d):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        SequenceScaler().transform(X3d)
    scaler = SequenceScaler().fit(X3d)
    again = pickle.loads(pickle.dumps(scaler))
    assert_allclose(again.transform(X3d), scaler.transform(X3d))
    assert clone(scaler).get_params() == scaler.get_params()


# ---------------------------------------------------------------------------
# SequencePadder
# ---------------------------------------------------------------------------


def test_padder_post_padding_and_learned_length():
    seqs = [np.array([[1.0, 1.0], [2.0, 2.0]]), np.array([[3.0, 3.0]]), np.ones((4, 2))]
    padder = SequencePadder(value=-1.0).fit(seqs)
    assert padder.max_length_ == 4 and padder.n_features_in_ == 2
    out = padder.transform(seqs)
    assert out.shape == (3, 4, 2) and out.dtype == np.float32
    assert_array_equal(out[0, :2], seqs[0])
    assert np.all(out[0, 2:] == -1.0) and np.all(out[1, 1:] == -1.0)
    assert_array_equal(out[2], 1.0)
    # padded timesteps are exactly the ones a mask_value=-1 estimator masks
    masked = np.all(out == -1.0, axis=-1)
    assert_array_equal(masked.sum(axis=1), [2, 3, 0])


def test_padder_pre_padding_and_truncating():
    seqs = [[1.0, 2.0, 3.0, 4.0, 5.0], [6.0]]
    post = SequencePadder(max_length=3).fit_transform(seqs)[..., 0]
    assert_array_equal(post, [[1, 2, 3], [6, 0, 0]])
    pre = SequencePadder(max_length=3, padding="pre", truncating="pre").fit_transform(seqs)
    assert_array_equal(pre[..., 0], [[3, 4, 5], [0, 0, 6]])


def test_padder_truncates_longer_sequences_at_transform():
    padder = SequencePadder().fit([[1.0, 2.0], [3.0]])
    out = padder.transform([[1.0, 2.0, 3.0, 4.0]])
    assert out.shape == (1, 2, 1)
    assert_array_equal(out[0, :, 0], [1.0, 2.0])


def test_padder_arrays_pass_through():
    X3 = np.arange(24.0).reshape(2, 4, 3)
    assert_array_equal(SequencePadder().fit_transform(X3), X3.astype(np.float32))
    X2 = np.arange(8.0).reshape(2, 4)
    out = SequencePadder().fit_transform(X2)
    assert out.shape == (2, 4, 1)
    assert_array_equal(out[..., 0], X2)
    # a fitted padder pads shorter equal-length arrays
    padder = SequencePadder().fit(X2)
    assert_array_equal(padder.transform(X2[:, :2])[..., 0], [[0, 1, 0, 0], [4, 5, 0, 0]])


def test_padder_fit_transform_equals_transform():
    seqs = [np.ones((3, 2)), np.zeros((1, 2)) + 4]
    padder = SequencePadder()
    assert_array_equal(padder.fit_transform(seqs), padder.transform(seqs))


def test_padder_dtype_and_no_mutation():
    seqs = [np.array([1, 2, 3]), np.array([4])]
    copies = [s.copy() for s in seqs]
    out = SequencePadder(dtype=None, value=0).fit_transform(seqs)
    assert out.dtype == np.int64 or out.dtype.kind == "i"
    assert SequencePadder(dtype="float64").fit_transform(seqs).dtype == np.float64
    for s, c in zip(seqs, copies):
        assert_array_equal(s, c)
    with pytest.raises(TypeError, match="dtype"):
        SequencePadder(dtype="no-such-dtype").fit(seqs)


def test_padder_empty_sequences():
    out = SequencePadder().fit_transform([[1.0, 2.0], []])
    assert_array_equal(out[..., 0], [[1.0, 2.0], [0.0, 0.0]])
    with pytest.raises(ValueError, match="all sequences are empty"):
        SequencePadder().fit([np.empty((0, 2)), np.empty((0, 2))])
    empty = [np.empty((0, 1)), np.empty((0, 1))]
    assert SequencePadder(max_length=2).fit_transform(empty).shape == (2, 2, 1)


@pytest.mark.parametrize(
    "X, error, match",
    [
        ([], ValueError, "empty"),
        ([np.ones((2, 2)), np.ones((3, 1))], ValueError, "same number of features"),
        (np.ones(5), ValueError, "1D array"),
        (np.ones((2, 2, 2, 2)), ValueError, "4D"),
        ("abc", TypeError, "string"),
        ([["a", "b"], ["c"]], ValueError, "convert|could not|numeric"),
    ],
)
def test_padder_rejects_bad_input(X, error, match):
    with pytest.raises(error, match=match):
        SequencePadder().fit(X)


def test_padder_transform_checks_features_and_params():
    padder = SequencePadder().fit([np.ones((2, 3))])
    with pytest.raises(ValueError, match="fitted with 3"):
        padder.transform([np.ones((2, 2))])
    with pytest.raises(InvalidParameterError, match="padding"):
        SequencePadder(padding="middle").fit([[1.0]])
    with pytest.raises(InvalidParameterError, match="max_length"):
        SequencePadder(max_length=0).fit([[1.0]])


def test_padder_pickle():
    padder = SequencePadder(value=-5.0).fit([[1.0, 2.0], [3.0]])
    again = pickle.loads(pickle.dumps(padder))
    assert_array_equal(again.transform([[9.0]]), padder.transform([[9.0]]))


# ---------------------------------------------------------------------------
# TextSequencer
# ---------------------------------------------------------------------------

CORPUS = [
    "The movie was great, really great!",
    "The plot was bad.",
    "Great acting; bad ending",
    "I didn't like it",
]


def test_text_vocabulary_is_frequency_then_alphabetical():
    seq = TextSequencer().fit(CORPUS)
    vocab = seq.vocabulary_
    # great x3 > bad, the, was x2 (alphabetical) > singletons (alphabetical)
    assert list(vocab)[:4] == ["great", "bad", "the", "was"]
    assert vocab["great"] == 2 and min(vocab.values()) == 2
    assert sorted(vocab.values()) == list(range(2, seq.vocab_size_))
    assert seq.vocab_size_ == len(vocab) + 2
    assert "didnt" in vocab  # apostrophes are dropped, not split
    assert seq.get_vocabulary()[:3] == ["", "[UNK]", "great"]
    # refitting gives the same vocabulary (deterministic)
    assert TextSequencer().fit(list(reversed(CORPUS))).vocabulary_ == vocab


def test_text_transform_ids_padding_and_oov():
    seq = TextSequencer().fit(CORPUS)
    assert seq.max_length_ == 6
    out = seq.transform(["great unknownword", ""])
    assert out.dtype == np.int32 and out.shape == (2, 6)
    assert_array_equal(out[0], [2, 1, 0, 0, 0, 0])
    assert_array_equal(out[1], 0)
    assert seq.inverse_transform(out) == ["great [UNK]", ""]


def test_text_fit_transform_max_id_is_vocab_size_minus_one():
    # the estimator infers vocab_size as max id + 1 from its training matrix
    for kwargs in [{}, {"max_length": 2}, {"max_length": 0.5}, {"max_tokens": 5}]:
        seq = TextSequencer(**kwargs)
        ids = seq.fit_transform(CORPUS)
        assert ids.max() + 1 == seq.vocab_size_, kwargs


def test_text_max_tokens_includes_reserved_ids():
    seq = TextSequencer(max_tokens=4).fit(CORPUS)
    assert seq.vocab_size_ == 4 and list(seq.vocabulary_) == ["great", "bad"]
    assert seq.transform(["the great"]).tolist()[0][:2] == [1, 2]
    assert TextSequencer(max_tokens=None).fit(CORPUS).vocab_size_ == 15


def test_text_max_length_options():
    docs = ["a", "a b", "a b c", "a b c d e f g h i j"]
    assert TextSequencer().fit(docs).max_length_ == 10
    assert TextSequencer(max_length=3).fit(docs).max_length_ == 3
    q = TextSequencer(max_length=0.5).fit(docs)
    assert q.max_length_ == math.ceil(np.quantile([1, 2, 3, 10], 0.5))
    # vocabulary counted on truncated documents: "d".."j" are never seen in training
    assert "d" not in q.vocabulary_
    assert TextSequencer(max_length=1.0).fit(docs).max_length_ == 10
    assert TextSequencer().fit(["", "a"]).max_length_ == 1


def test_text_pre_padding_and_truncating():
    seq = TextSequencer(max_length=2, padding="pre", truncating="pre").fit(["a b c", "b"])
    out = seq.transform(["a b c", "b"])
    ids = seq.vocabulary_
    assert_array_equal(out, [[ids["b"], ids["c"]], [0, ids["b"]]])


def test_text_standardization_options():
    assert "Great" in TextSequencer(lowercase=False).fit(["Great movie"]).vocabulary_
    raw = TextSequencer(standardize=None).fit(["don't stop!"]).vocabulary_
    assert set(raw) == {"don't", "stop!"}
    chars = TextSequencer(standardize=lambda s: list(s.replace(" ", ""))).fit(["ab ba"])
    assert set(chars.vocabulary_) == {"a", "b"}
    upper = TextSequencer(lowercase=False, standardize=str.upper).fit(["ab cd"])
    assert set(upper.vocabulary_) == {"AB", "CD"}


def test_text_accepts_series_and_arrays_and_pickles():
    s = pd.Series(CORPUS, index=[5, 6, 7, 8])
    a = TextSequencer().fit_transform(s)
    b = TextSequencer().fit_transform(np.array(CORPUS))
    c = TextSequencer().fit_transform(np.array(CORPUS, dtype=object))
    assert_array_equal(a, b)
    assert_array_equal(a, c)
    seq = TextSequencer().fit(CORPUS)
    again = pickle.loads(pickle.dumps(seq))
    assert_array_equal(again.transform(CORPUS), seq.transform(CORPUS))


def test_text_does_not_mutate_input():
    docs = list(CORPUS)
    TextSequencer().fit(docs).transform(docs)
    assert docs == CORPUS


@pytest.mark.parametrize(
    "X, error, match",
    [
        ("just one string", TypeError, "single string"),
        (["ok", 3], TypeError, "document 1 is int"),
        (["ok", None], TypeError, "missing value"),
        (["ok", float("nan")], TypeError, "missing value"),
        (pd.Series(["ok", pd.NA], dtype="string"), TypeError, "missing value"),
        ([], ValueError, "empty"),
        (np.array([["a"], ["b"]]), ValueError, "1D iterable"),
        (pd.DataFrame({"text": ["a", "b"]}), ValueError, "scalar name"),
        (["", "  ", "!!!"], ValueError, "empty vocabulary"),
        (42, TypeError, "iterable of strings"),
    ],
)
def test_text_rejects_bad_input(X, error, match):
    with pytest.raises(error, match=match):
        TextSequencer().fit(X)


def test_text_param_validation_and_unfitted():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(InvalidParameterError, match="max_tokens"):
        TextSequencer(max_tokens=2).fit(CORPUS)
    with pytest.raises(InvalidParameterError, match="max_length"):
        TextSequencer(max_length=1.5).fit(CORPUS)
    with pytest.raises(InvalidParameterError, match="standardize"):
        TextSequencer(standardize="lower").fit(CORPUS)
    with pytest.raises(NotFittedError):
        TextSequencer().transform(CORPUS)
    seq = TextSequencer().fit(CORPUS)
    with pytest.raises(TypeError, match="integers"):
        seq.inverse_transform(np.ones((1, 2)))
    with pytest.raises(ValueError, match="token ids must lie"):
        seq.inverse_transform(np.array([[999]]))


# ---------------------------------------------------------------------------
# make_windows
# ---------------------------------------------------------------------------


def test_windows_univariate():
    X, y = make_windows(np.arange(10.0), window=4)
    assert X.shape == (6, 4, 1) and y.shape == (6,)
    assert_array_equal(X[:, :, 0], [np.arange(i, i + 4) for i in range(6)])
    assert_array_equal(y, np.arange(4, 10))


def test_windows_horizon_and_stride():
    X, y = make_windows(list(range(10)), window=3, horizon=2, stride=2)
    n = (10 - 3 - 2) // 2 + 1
    assert X.shape == (n, 3, 1) and y.shape == (n, 2)
    assert X.dtype == np.float64
    assert_array_equal(X[:, 0, 0], [0, 2, 4])
    assert_array_equal(y, [[3, 4], [5, 6], [7, 8]])


def test_windows_multivariate_targets():
    data = np.column_stack([np.arange(8.0), 100 + np.arange(8.0), -np.arange(8.0)])
    X, y = make_windows(data, window=3)
    assert X.shape == (5, 3, 3) and y.shape == (5, 3)
    assert_array_equal(y[0], data[3])
    _, y1 = make_windows(data, window=3, target=1)
    assert_array_equal(y1, 100 + np.arange(3.0, 8.0))
    _, y_last = make_windows(data, window=3, target=-1)
    assert_array_equal(y_last, -np.arange(3.0, 8.0))
    _, y_list = make_windows(data, window=3, target=[1])
    assert y_list.shape == (5, 1)
    _, y_multi = make_windows(data, window=3, horizon=2, target=[0, 2])
    assert y_multi.shape == (4, 4)  # step-major: (t+1: col0, col2), (t+2: col0, col2)
    assert_array_equal(y_multi[0], [3.0, -3.0, 4.0, -4.0])


def test_windows_pandas_by_name():
    df = pd.DataFrame({"load": np.arange(6.0), "temp": np.arange(6.0) * 2},
                      index=pd.date_range("2024-01-01", periods=6, freq="h"))
    X, y = make_windows(df, window=2, target="temp")
    assert X.shape == (4, 2, 2)
    assert_array_equal(y, df["temp"].to_numpy()[2:])
    _, y2 = make_windows(df, window=2, target=["temp", "load"])
    assert_array_equal(y2[:, 1], df["load"].to_numpy()[2:])
    Xs, ys = make_windows(df["load"], window=2)
    assert Xs.shape == (4, 2, 1) and ys.shape == (4,)


def test_windows_integer_column_names_resolve_by_name():
    df = pd.DataFrame({10: np.arange(5.0), 20: -np.arange(5.0)})
    _, y = make_windows(df, window=2, target=20)
    assert_array_equal(y, -np.arange(2.0, 5.0))
    _, y0 = make_windows(df, window=2, target=0)  # not a name: a position
    assert_array_equal(y0, np.arange(2.0, 5.0))


def test_windows_are_copies():
    series = np.arange(6.0)
    X, y = make_windows(series, window=3)
    X[:] = -1
    y[:] = -1
    assert_array_equal(series, np.arange(6.0))


def test_windows_exact_fit_gives_one_window():
    X, y = make_windows(np.arange(4.0), window=3)
    assert X.shape == (1, 3, 1) and y.tolist() == [3.0]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"window": 10}, ValueError, "too few for window=10"),
        ({"window": 3, "horizon": 8}, ValueError, "window \\+ horizon = 11"),
        ({"window": 0}, InvalidParameterError, "window"),
        ({"window": 3, "horizon": 0}, InvalidParameterError, "horizon"),
        ({"window": 3, "stride": 0}, InvalidParameterError, "stride"),
        ({"window": 2.5}, InvalidParameterError, "window"),
        ({"window": 3, "target": 5}, ValueError, "out of range"),
        ({"window": 3, "target": "price"}, ValueError, "no column names"),
        ({"window": 3, "target": []}, ValueError, "empty"),
        ({"window": 3, "target": [0, 0]}, ValueError, "more than once"),
    ],
)
def test_windows_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_windows(np.arange(10.0), **kwargs)


def test_windows_bad_series():
    with pytest.raises(ValueError, match="NaN"):
        make_windows(np.array([1.0, np.nan, 3.0, 4.0]), window=2)
    with pytest.raises(ValueError, match="3D"):
        make_windows(np.ones((5, 2, 2)), window=2)
    with pytest.raises(ValueError, match="not a column"):
        make_windows(pd.DataFrame({"a": np.arange(5.0)}), window=2, target="b")
    with pytest.raises(ValueError):
        make_windows(np.array([]), window=1)
    with pytest.raises((TypeError, InvalidParameterError)):
        make_windows("abcdef", window=2)


@pytest.mark.parametrize("horizon, stride", [(1, 1), (3, 1), (4, 2)])
def test_windows_time_series_split_without_leakage(horizon, stride):
    series = np.arange(60.0)
    X, y = make_windows(series, window=5, horizon=horizon, stride=stride)
    # the target timesteps of each window, recovered from the values themselves
    y_steps = y.reshape(len(y), -1)
    gap = math.ceil(horizon / stride) - 1
    for train, test in TimeSeriesSplit(n_splits=3, gap=gap).split(X):
        assert train.max() < test.min()  # windows stay in time order
        assert y_steps[train].max() < y_steps[test].min()  # no shared target step
        assert X[test].min() >= X[train].min()


# ---------------------------------------------------------------------------
# channels-first layout (aeon / sktime)
# ---------------------------------------------------------------------------


def test_channels_first_layout(X3d):
    nft = np.ascontiguousarray(X3d.transpose(0, 2, 1))
    scaler = SequenceScaler(input_layout="nft").fit(nft)
    assert_allclose(scaler.mean_, SequenceScaler().fit(X3d).mean_)
    out = scaler.transform(nft)
    assert out.shape == nft.shape
    assert_allclose(out, SequenceScaler().fit_transform(X3d).transpose(0, 2, 1))
    assert_allclose(scaler.inverse_transform(out), nft)
    seqs = [np.arange(6.0).reshape(2, 3), np.arange(4.0).reshape(2, 2)]  # (f, t_i)
    scaled = SequenceScaler(input_layout="nft").fit_transform(seqs)
    assert [s.shape for s in scaled] == [(2, 3), (2, 2)]
    padded = SequencePadder(input_layout="nft").fit_transform(seqs)
    assert padded.shape == (2, 2, 3)
    assert_array_equal(padded[1], [[0, 1, 0], [2, 3, 0]])
    assert SequencePadder(input_layout="nft").fit_transform(nft).shape == nft.shape


def test_global_pandas_output_leaves_3d_and_token_outputs_alone():
    with config_context(transform_output="pandas"):
        padded = SequencePadder().fit_transform([[1.0, 2.0], [3.0]])
        ids = TextSequencer().fit_transform(CORPUS)
        scaled3d = SequenceScaler().fit_transform(np.ones((2, 3, 2)))
    assert isinstance(padded, np.ndarray) and padded.shape == (2, 2, 1)
    assert isinstance(ids, np.ndarray) and ids.dtype == np.int32
    assert isinstance(scaled3d, np.ndarray)


def test_pipelines_with_any_sequence_transformer_take_set_output():
    """Pipeline.set_output(transform="pandas") failed on a SequencePadder or a
    TextSequencer (they had no set_output); their 3D and token outputs stay arrays,
    and the token matrix's columns have names for ColumnTransformer."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline

    seqs = [[1.0, 2.0], [3.0], [4.0, 5.0, 6.0]]
    pipe = make_pipeline(SequenceScaler(), SequencePadder()).set_output(transform="pandas")
    out = pipe.fit_transform(seqs)
    assert isinstance(out, np.ndarray) and out.shape == (3, 3, 1)
    text = make_pipeline(TextSequencer()).set_output(transform="pandas")
    ids = text.fit_transform(CORPUS)
    assert isinstance(ids, np.ndarray) and ids.dtype == np.int32
    names = text[0].get_feature_names_out()
    assert list(names) == [f"textsequencer{i}" for i in range(ids.shape[1])]
    ct = ColumnTransformer([("t", TextSequencer(), "doc")]).fit(pd.DataFrame({"doc": CORPUS}))
    assert list(ct.get_feature_names_out()) == [f"t__{n}" for n in names]
    with pytest.raises(ValueError, match="output config must be one of"):
        SequencePadder().set_output(transform="xml")


# ---------------------------------------------------------------------------
# one input layer: the transformers read collections like the estimators do
# ---------------------------------------------------------------------------


def _object_array(items):
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


@pytest.mark.parametrize("wrap", [_object_array, pd.Series, tuple], ids=["object-ndarray", "Series", "tuple"])
def test_collections_read_like_the_list(wrap):
    rng = np.random.RandomState(0)
    seqs = [rng.normal(size=(t, 2)) for t in (3, 5, 4)]
    scaler = SequenceScaler().fit(seqs)
    other = SequenceScaler().fit(wrap(seqs))
    assert_allclose(other.mean_, scaler.mean_)
    for a, b in zip(other.transform(wrap(seqs)), scaler.transform(seqs)):
        assert_allclose(a, b)
    assert_array_equal(SequencePadder().fit_transform(wrap(seqs)), SequencePadder().fit_transform(seqs))
    # equal-length 1D rows: a 2D table (n_samples, n_timesteps), as the list of rows is
    rows = [rng.normal(size=4) for _ in range(3)]
    assert_allclose(SequenceScaler().fit_transform(wrap(rows)), SequenceScaler().fit_transform(rows))
    assert_array_equal(SequencePadder().fit_transform(wrap(rows)), SequencePadder().fit_transform(rows))


def test_aeon_unequal_length_list_in_both_transformers():
    rng = np.random.RandomState(0)
    aeon = [rng.normal(size=(3, t)) for t in (4, 6, 5)]  # 3 channels: first axes all equal
    ntf = [a.T for a in aeon]
    scaler = SequenceScaler(input_layout="nft").fit(aeon)
    assert scaler.n_sequence_features_ == 3
    assert_allclose(scaler.mean_, SequenceScaler().fit(ntf).mean_)
    assert [s.shape for s in scaler.transform(aeon)] == [(3, 4), (3, 6), (3, 5)]
    padded = SequencePadder(input_layout="nft").fit_transform(aeon)
    assert padded.shape == (3, 3, 6)
    assert_array_equal(padded, SequencePadder().fit_transform(ntf).transpose(0, 2, 1))


def test_scaler_4d_input_names_the_accepted_shapes():
    with pytest.raises(ValueError, match=r"got 4D input.*3D array.*2D array.*list of"):
        SequenceScaler().fit(np.ones((2, 3, 4, 5)))
    scaler = SequenceScaler().fit(np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match="got 4D input"):
        scaler.transform(np.ones((2, 3, 4, 5)))


@pytest.mark.parametrize(
    "X, kwargs, match",
    [
        ([[300.0, 1.0], [2.0]], {"dtype": "int8"}, r"300.*int8.*\[-128, 127\]"),
        (np.array([[300, 1]]), {"dtype": "int8"}, "int8"),
        ([[1.5, 2.0]], {"dtype": "int32"}, "1.5"),
        ([[np.nan, 2.0]], {"dtype": "int32"}, "nan"),
        ([[1e39, 2.0]], {"dtype": "float32"}, "float32"),
        ([[1.0, 2.0], [3.0]], {"dtype": "uint8", "value": -1}, "value holds"),
    ],
)
def test_padder_refuses_a_dtype_that_cannot_hold_the_values(X, kwargs, match):
    with pytest.raises(ValueError, match=match):
        SequencePadder(**kwargs).fit_transform(X)


def test_padder_integer_dtype_that_fits_is_exact():
    out = SequencePadder(dtype="int8").fit_transform([[-128, 127], [5]])
    assert out.dtype == np.int8
    assert_array_equal(out[..., 0], [[-128, 127], [5, 0]])


def test_padder_rejects_numeric_strings():
    with pytest.raises(ValueError, match="bytes/strings"):
        SequencePadder().fit([["1", "2"], ["3"]])
    with pytest.raises(ValueError, match="bytes/strings"):
        SequencePadder().fit(np.array([["1", "2"]]))


@pytest.mark.parametrize("X", [{"a": "good movie", "b": "bad"}, {}])
def test_text_rejects_a_dict(X):
    with pytest.raises(TypeError, match="collection of documents.*got a dict"):
        TextSequencer().fit(X)


@pytest.mark.parametrize(
    "standardize, match",
    [
        (lambda s: None, "returned NoneType"),
        (len, "standardize=len must return a string.*returned int 3"),
        (lambda s: [1, 2], "list holding int 1"),
        (lambda s: s.encode(), "returned bytes"),
    ],
)
def test_text_standardize_must_return_strings(standardize, match):
    with pytest.raises(TypeError, match=match):
        TextSequencer(standardize=standardize).fit(CORPUS)
    ok = TextSequencer(standardize=lambda s: tuple(s.split())).fit(["a b"])
    assert ok.vocabulary_ == {"a": 2, "b": 3}


def test_make_windows_rejects_numeric_strings():
    with pytest.raises(ValueError, match="bytes/strings"):
        make_windows(pd.Series(["1", "2", "3", "4"], dtype=object), window=2)


# ------------------------------------------------------- SequenceScaler(per_series=True)


def test_per_series_scaler_standardises_each_series_and_feature_by_its_own_statistics():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(5, 9, 2)) * np.array([3.0, 0.5]) + rng.normal(size=(5, 1, 2)) * 100
    X[2, :, 1] = 7.0  # a constant feature of one series: scale 1, centred at 0
    Xt = SequenceScaler(per_series=True).fit_transform(X)
    for i in range(5):
        for k in range(2):
            if (i, k) == (2, 1):
                assert_allclose(Xt[i, :, k], 0.0)
                continue
            assert_allclose(Xt[i, :, k], (X[i, :, k] - X[i, :, k].mean()) / X[i, :, k].std())
    # stateless: a series is transformed the same alone, in any batch, or after fitting on other data
    other = SequenceScaler(per_series=True).fit(rng.normal(size=(3, 4, 2)))
    assert_allclose(other.transform(X[1:2]), Xt[1:2])
    # a level and a scale added to a series change nothing
    assert_allclose(SequenceScaler(per_series=True).fit_transform(X * 4.0 + 1e4), Xt, atol=1e-8)


def test_per_series_scaler_on_ragged_lists_flattened_2d_and_without_mean_or_std():
    rng = np.random.RandomState(1)
    seqs = [rng.normal(size=(n, 2)) * 5 + 3 for n in (4, 7, 5)]
    out = SequenceScaler(per_series=True).fit_transform(seqs)
    assert [o.shape for o in out] == [s.shape for s in seqs]
    for o, s in zip(out, seqs):
        assert_allclose(o, (s - s.mean(axis=0)) / s.std(axis=0))
    X = rng.normal(size=(4, 6, 3)) + 2.0
    flat = SequenceScaler(per_series=True, n_features=3).fit_transform(X.reshape(4, 18))
    assert_allclose(flat, SequenceScaler(per_series=True).fit_transform(X).reshape(4, 18))
    assert_allclose(SequenceScaler(per_series=True, with_std=False).fit_transform(X), X - X.mean(axis=1, keepdims=True))
    assert_allclose(SequenceScaler(per_series=True, with_mean=False).fit_transform(X), X / X.std(axis=1, keepdims=True))


def test_per_series_scaler_learns_no_statistics_and_has_no_inverse():
    X = np.arange(24.0).reshape(2, 4, 3)
    scaler = SequenceScaler(per_series=True).fit(X)
    assert scaler.mean_ is None and scaler.var_ is None and scaler.scale_ is None
    assert not hasattr(scaler, "inverse_transform")
    assert hasattr(SequenceScaler().fit(X), "inverse_transform")
    before = X.copy()
    scaler.transform(X)
    assert_array_equal(X, before)  # the input is not modified
