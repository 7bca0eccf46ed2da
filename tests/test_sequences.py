"""Tests for skgru._sequences: every input convention and every input error.

Most tests call ``convert_X`` directly (no Keras model, fast); the last ones fit a
tiny ``GRUClassifier`` end to end on the collections that used to fail (a ragged
object ndarray, a Series of arrays, aeon's unequal-length ``(channels, t_i)`` list).
"""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from skgru._sequences import (
    RAGGED_PAD_VALUE,
    InputSpec,
    check_fits_dtype,
    convert_X,
    is_sequence_collection,
    sequence_list,
)


def _object_array(items):
    """A 1D object ndarray holding ``items`` (np.array(items, dtype=object) may go 2D)."""
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


@pytest.fixture
def ragged():
    rng = np.random.RandomState(0)
    return [rng.normal(size=(t, 2)) for t in (3, 5, 4)]


# ---------------------------------------------------------------------------
# conventions
# ---------------------------------------------------------------------------


def test_3d_array_is_samples_timesteps_features():
    X = np.arange(24.0).reshape(2, 4, 3)
    arr, spec, names = convert_X(X)
    assert arr.dtype == np.float32 and arr.flags.c_contiguous
    assert_array_equal(arr, X)
    assert spec == InputSpec(n_columns=None, n_timesteps=4, n_step_features=3, tokens=False, ragged=False)
    assert names is None


def test_2d_array_is_univariate():
    X = np.arange(6.0).reshape(2, 3)
    arr, spec, _ = convert_X(X)
    assert arr.shape == (2, 3, 1)
    assert_array_equal(arr[:, :, 0], X)
    assert spec == InputSpec(3, 3, 1, False, False)


def test_flattened_rows_with_n_features_are_timestep_major():
    X3 = np.arange(24.0).reshape(2, 4, 3)
    arr, spec, _ = convert_X(X3.reshape(2, 12), n_features=3)
    assert_array_equal(arr, X3)
    assert spec == InputSpec(12, 4, 3, False, False)


def test_flattened_dataframe_keeps_feature_names():
    X3 = np.arange(24.0).reshape(2, 4, 3)
    df = pd.DataFrame(X3.reshape(2, 12), columns=[f"t{t}_f{f}" for t in range(4) for f in range(3)])
    arr, spec, names = convert_X(df, n_features=3)
    assert_array_equal(arr, X3)
    assert list(names) == list(df.columns)
    assert spec.n_columns == 12
    _, _, names = convert_X(pd.DataFrame(X3.reshape(2, 12)), n_features=3)
    assert names is None  # integer column names are not feature names (sklearn)


def test_ragged_list_is_post_padded_with_the_mask_value(ragged):
    arr, spec, _ = convert_X(ragged)
    assert arr.shape == (3, 5, 2)
    assert spec == InputSpec(None, None, 2, False, True)
    assert_allclose(arr[0, :3], ragged[0].astype(np.float32))
    assert np.all(arr[0, 3:] == RAGGED_PAD_VALUE)
    arr, _, _ = convert_X(ragged, mask_value=0.0)
    assert np.all(arr[0, 3:] == 0.0)


def test_ragged_univariate_lists():
    arr, spec, _ = convert_X([[1.0, 2.0, 3.0], [4.0]])
    assert arr.shape == (2, 3, 1) and spec.ragged
    assert_array_equal(arr[1, :, 0], [4.0, RAGGED_PAD_VALUE, RAGGED_PAD_VALUE])


@pytest.mark.parametrize(
    "wrap",
    [_object_array, lambda s: np.array(s, dtype=object), pd.Series, tuple],
    ids=["object-ndarray", "np.array-object", "Series", "tuple"],
)
def test_other_collections_read_exactly_like_the_list(ragged, wrap):
    expected, spec, _ = convert_X(ragged)
    arr, spec2, _ = convert_X(wrap(ragged))
    assert_array_equal(arr, expected)
    assert spec2 == spec


def test_equal_length_collections():
    rng = np.random.RandomState(1)
    seqs = [rng.normal(size=(4, 2)) for _ in range(3)]
    arr, spec, _ = convert_X(seqs)  # list of 2D arrays == the 3D array
    assert_array_equal(arr, np.stack(seqs).astype(np.float32))
    assert spec == InputSpec(None, 4, 2, False, False)
    # a list of equal-length rows stays a 2D table (it may be flattened rows)
    rows = [[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]
    arr, spec, _ = convert_X(rows, n_features=2)
    assert arr.shape == (2, 2, 2) and spec.n_columns == 4
    # ... and so does an object array / Series of equal-length 1D arrays
    objs = _object_array([np.array(r) for r in rows])
    for X in (objs, pd.Series(list(objs))):
        arr2, spec2, _ = convert_X(X, n_features=2)
        assert_array_equal(arr2, arr)
        assert spec2 == spec


def test_nft_3d_is_transposed():
    X = np.arange(24.0).reshape(2, 3, 4)  # (n, channels, t)
    arr, spec, _ = convert_X(X, input_layout="nft")
    assert_array_equal(arr, X.transpose(0, 2, 1))
    assert spec == InputSpec(None, 4, 3, False, False)


def test_nft_ragged_list_aeon_style():
    rng = np.random.RandomState(0)
    aeon = [rng.normal(size=(2, t)) for t in (3, 5, 4)]  # (channels, t_i), 2 channels each
    arr, spec, _ = convert_X(aeon, input_layout="nft")
    assert arr.shape == (3, 5, 2)
    assert spec == InputSpec(None, None, 2, False, True)
    for i, seq in enumerate(aeon):
        assert_allclose(arr[i, : seq.shape[1]], seq.T.astype(np.float32))
        assert np.all(arr[i, seq.shape[1] :] == RAGGED_PAD_VALUE)
    # equal lengths: the same as the 3D channels-first array
    equal = [rng.normal(size=(2, 4)) for _ in range(3)]
    assert_array_equal(convert_X(equal, input_layout="nft")[0], convert_X(np.stack(equal), input_layout="nft")[0])
    # the old bug: channels (2, 2, 2) were read as equal lengths and X as one array
    assert is_sequence_collection(aeon)
    # a Series of channels-first arrays too
    assert_array_equal(convert_X(pd.Series(aeon), input_layout="nft")[0], arr)


def test_token_matrix_and_token_lists():
    ids = np.array([[2, 3, 0], [4, 0, 0]])
    arr, spec, _ = convert_X(ids, tokens=True)
    assert arr.dtype == np.int32 and arr.shape == (2, 3)
    assert spec == InputSpec(3, 3, 1, True, False)
    arr, spec, _ = convert_X([[2, 3, 5], [4]], tokens=True)
    assert_array_equal(arr, [[2, 3, 5], [4, 0, 0]])  # token lists are padded with id 0
    assert spec == InputSpec(None, None, 1, True, True)
    assert_array_equal(convert_X(_object_array([[2, 3, 5], [4]]), tokens=True)[0], arr)


def test_input_is_not_modified(ragged):
    copies = [s.copy() for s in ragged]
    convert_X(ragged)
    convert_X(_object_array(ragged))
    for s, c in zip(ragged, copies):
        assert_array_equal(s, c)
    X = np.arange(12.0).reshape(2, 3, 2)
    before = X.copy()
    convert_X(X, input_layout="nft")
    assert_array_equal(X, before)


def test_predict_time_checks_against_the_fit(ragged):
    _, fitted, _ = convert_X(np.zeros((2, 4, 3)))
    with pytest.raises(ValueError, match="3 features per timestep.*fitted with 3|fitted with 3 features"):
        convert_X(np.zeros((2, 4, 2)), fitted=fitted)
    with pytest.raises(ValueError, match="fitted on sequences of 4 timesteps"):
        convert_X(np.zeros((2, 5, 3)), fitted=fitted)
    with pytest.raises(ValueError, match="got variable-length sequences"):
        convert_X([np.zeros((4, 3)), np.zeros((2, 3))], fitted=fitted)
    _, fitted2d, _ = convert_X(np.zeros((2, 6)), n_features=2)
    with pytest.raises(ValueError, match="X has 8 features, but GRUClassifier is expecting 6"):
        convert_X(np.zeros((2, 8)), n_features=2, fitted=fitted2d, estimator_name="GRUClassifier")
    # ragged fit: any length at predict time
    _, fitted_ragged, _ = convert_X(ragged)
    assert convert_X([np.zeros((9, 2))], fitted=fitted_ragged)[0].shape == (1, 9, 2)


# ---------------------------------------------------------------------------
# the one detector
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "X, expected",
    [
        ([[1.0, 2.0], [3.0]], True),  # ragged univariate
        ([np.ones((3, 2)), np.ones((3, 2))], True),  # 2D items
        ([np.ones((2, 3)), np.ones((2, 5))], True),  # aeon (channels, t_i): same first axis
        (_object_array([np.ones(3), np.ones(2)]), True),
        (pd.Series([np.ones(3), np.ones(2)]), True),
        ([[1.0, 2.0], [3.0, 4.0]], False),  # a 2D table
        (np.ones((3, 4)), False),
        (np.ones((3, 4, 2)), False),
        (pd.Series([1.0, 2.0]), False),
        (pd.DataFrame(np.ones((2, 2))), False),
        (["ab", "c"], False),  # documents, not sequences
        ([1.0, 2.0], False),
        ([], False),
        ({"a": [1, 2]}, False),
    ],
)
def test_is_sequence_collection(X, expected):
    assert is_sequence_collection(X) is expected


def test_sequence_list_restores_the_items_shapes():
    items = [np.ones((2, 3)), np.ones((2, 5))]  # nft: 2 channels, 3 and 5 timesteps
    seqs = sequence_list(items, input_layout="nft")
    assert [a.shape for a in seqs.arrays] == [(3, 2), (5, 2)]
    assert seqs.ragged and seqs.n_features == 2 and seqs.lengths == [3, 5]
    assert [b.shape for b in seqs.restore(seqs.arrays)] == [(2, 3), (2, 5)]
    flat = sequence_list([np.ones(3), np.ones(4)])
    assert [a.shape for a in flat.arrays] == [(3, 1), (4, 1)]
    assert [b.shape for b in flat.restore(flat.arrays)] == [(3,), (4,)]
    assert sequence_list(np.ones((2, 3))) is None
    assert sequence_list([[1.0, 2.0], [3.0, 4.0]]) is None  # a table


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "X, kwargs, error, match",
    [
        (None, {}, ValueError, "requires X"),
        (sp.csr_matrix(np.ones((2, 2))), {}, TypeError, "sparse"),
        ({"a": [1.0, 2.0]}, {}, TypeError, "got a dict"),
        ([], {}, ValueError, "X is empty"),
        (pd.Series([], dtype=object), {}, ValueError, "X is empty"),
        (np.ones(3), {}, ValueError, "got a 1D array.*reshape"),
        (np.ones((2, 2, 2, 2)), {}, ValueError, "got 4D"),
        (np.empty((0, 3)), {}, ValueError, "0 sample"),
        (np.empty((2, 0)), {}, ValueError, "0 feature"),
        (np.array([[1.0, np.nan]]), {}, ValueError, "NaN"),
        (np.array([[1.0, np.inf]]), {}, ValueError, "infinity"),
        (np.ones((2, 3), dtype=complex), {}, ValueError, "Complex"),
        # float32 range: 1e39 would become inf in the network
        (np.full((2, 3), 1e39), {}, ValueError, "float32 range"),
        ([np.ones(2), np.array([1.0, -1e39, 2.0])], {}, ValueError, "sequence 1 of X.*float32 range"),
        # numeric strings are strings (sklearn rejects them too)
        (np.array([["1", "2"]]), {}, ValueError, "dtype='numeric' is not compatible with arrays of bytes/strings"),
        ([["1", "2"], ["3", "4"]], {}, ValueError, "bytes/strings"),
        (np.array([[1.0, "2"]], dtype=object), {}, ValueError, "bytes/strings"),
        (pd.DataFrame({"a": ["1", "2"], "b": [1.0, 2.0]}), {}, ValueError, "bytes/strings"),
        ([np.ones(2), np.array(["1", "2", "3"])], {}, ValueError, "sequence 1 of X contains strings"),
        (np.array([[b"1", b"2"]]), {}, ValueError, "bytes/strings"),
        (np.array([[1.0, {"a": 1}]], dtype=object), {}, TypeError, "must contain numbers"),
        # shapes
        (np.ones((2, 5)), {"n_features": 2}, ValueError, "not a multiple of n_features=2"),
        (np.ones((2, 4, 3)), {"n_features": 2}, ValueError, "3 features per timestep, but n_features=2"),
        ([np.ones((2, 2)), np.ones((3, 3))], {}, ValueError, "same number of features"),
        ([np.ones((2, 3)), np.ones((3, 4))], {"input_layout": "nft"}, ValueError, r"\(n_features, t\)"),
        ([np.ones((2, 2, 2)), np.ones((3, 2, 2))], {}, ValueError, r"1D \(t,\) or 2D \(t, n_features\)"),
        ([np.ones(2), np.ones(0)], {}, ValueError, "Sequence 1 of X is empty"),
        ([[1.0, 2.0], [3.0]], {"input_layout": "ntc"}, ValueError, "input_layout"),
        # tokens
        (np.array([[1, 2**31]]), {"tokens": True}, ValueError, r"< 2\*\*31"),
        ([[1, 2], [2**40]], {"tokens": True}, ValueError, r"< 2\*\*31"),
        (np.array([[1, -1]]), {"tokens": True}, ValueError, ">= 0"),
        (np.array([[1.5, 2.0]]), {"tokens": True}, ValueError, "integer token ids"),
        (np.ones((2, 3, 1)), {"tokens": True}, ValueError, "2D matrix of token ids"),
        ([np.ones((2, 2)), np.ones((3, 2))], {"tokens": True}, ValueError, "1D lists of token ids"),
    ],
)
def test_bad_input_gets_a_clear_error(X, kwargs, error, match):
    with pytest.raises(error, match=match):
        convert_X(X, **kwargs)


def test_float32_data_and_huge_tokens_within_range_pass():
    big = np.full((1, 2), np.finfo(np.float32).max, dtype=np.float64)
    assert np.isfinite(convert_X(big)[0]).all()
    assert convert_X(np.array([[2**31 - 1, 0]]), tokens=True)[0].max() == 2**31 - 1


@pytest.mark.parametrize(
    "arr, dtype, match",
    [
        (np.array([300.0]), "int8", r"300.*int8.*\[-128, 127\]"),
        (np.array([300]), "int8", "int8"),
        (np.array([-1.0]), "uint8", "uint8"),
        (np.array([1.5]), "int32", "1.5"),
        (np.array([np.nan]), "int32", "nan"),
        (np.array([1e39]), "float32", "float32"),
        (np.array([2.0]), "bool", "0 or 1"),
    ],
)
def test_check_fits_dtype_rejects_values_the_dtype_cannot_hold(arr, dtype, match):
    with pytest.raises(ValueError, match=match):
        check_fits_dtype(arr, dtype)


def test_check_fits_dtype_accepts_values_that_fit():
    check_fits_dtype(np.array([-128.0, 127.0]), "int8")
    check_fits_dtype(np.array([1.1, np.nan, np.inf]), "float32")  # rounding and NaN are fine
    check_fits_dtype(np.array([3], dtype=np.int8), "int64")


# ---------------------------------------------------------------------------
# end to end: the estimators take every collection
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ragged_problem():
    rng = np.random.RandomState(0)
    lengths = rng.randint(3, 8, size=16)
    y = np.arange(16) % 2
    seqs = [rng.normal(size=(t, 2)) + 2.0 * label for t, label in zip(lengths, y)]
    return seqs, y


def test_classifier_fits_and_predicts_on_a_ragged_object_array(ragged_problem):
    from skgru import GRUClassifier

    seqs, y = ragged_problem
    X_obj = _object_array(seqs)
    clf = GRUClassifier(units=4, epochs=2, random_state=0).fit(X_obj, y)
    proba = clf.predict_proba(X_obj)
    assert proba.shape == (16, 2) and np.isfinite(proba).all()
    assert clf.predict(pd.Series(seqs)).shape == (16,)
    # exactly like the list: the same network input, so the same predictions
    assert_allclose(clf.predict_proba(seqs), proba)
    listed = GRUClassifier(units=4, epochs=2, random_state=0).fit(seqs, y)
    assert_allclose(listed.predict_proba(seqs), proba, rtol=1e-5, atol=1e-6)
    # values beyond float32 are refused at predict time too, naming the range
    with pytest.raises(ValueError, match="float32 range"):
        clf.predict([seqs[0], np.full((3, 2), 1e39)])


def test_classifier_fits_and_predicts_on_aeon_unequal_length_nft(ragged_problem):
    from skgru import GRUClassifier

    seqs, y = ragged_problem
    aeon = [s.T.copy() for s in seqs]  # aeon: a list of (n_channels, t_i) arrays
    clf = GRUClassifier(units=4, epochs=2, random_state=0, input_layout="nft").fit(aeon, y)
    pred = clf.predict(aeon)
    assert pred.shape == (16,) and set(pred) <= {0, 1}
    assert clf.n_features_per_step_ == 2 and clf.n_timesteps_ is None
    # the same data in ntf order gives the same predictions
    ntf = GRUClassifier(units=4, epochs=2, random_state=0).fit(seqs, y)
    assert_allclose(clf.predict_proba(aeon), ntf.predict_proba(seqs), rtol=1e-5, atol=1e-6)
