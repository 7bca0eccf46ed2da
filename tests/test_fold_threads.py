"""The NumPy fused step's folds split over threads: same arithmetic, when it pays."""

import keras
import numpy as np
import pytest
from sklearn.model_selection import KFold

from skgru import GRUClassifier, GRURegressor
from skgru._keras import fold_threads
from skgru.estimators._folds import fit_folds

pytestmark = pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="fused step is TF-only")


@pytest.fixture(autouse=True)
def numpy_step(monkeypatch):
    monkeypatch.setenv("SKGRU_FUSED_STEP", "numpy")
    for name in ("SKGRU_FUSED_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)


def _fits(monkeypatch, threads, est, X, y, splits, **kw):
    monkeypatch.setenv("SKGRU_FUSED_THREADS", str(threads))
    return fit_folds(est, X, y, splits, **kw)


def _assert_identical(a_models, b_models):
    for a, b in zip(a_models, b_models):
        assert a.n_iter_ == b.n_iter_ and a.best_epoch_ == b.best_epoch_
        assert a.history_ == b.history_
        for u, v in zip(a.model_.get_weights(), b.model_.get_weights()):
            np.testing.assert_array_equal(u, v)
        for u, v in zip(a.model_.optimizer.variables, b.model_.optimizer.variables):
            np.testing.assert_array_equal(np.asarray(u), np.asarray(v))


def test_threads_give_bit_identical_fold_models(monkeypatch):
    """Uneven folds, early stopping (folds stop at different epochs), clipnorm, the
    default stem: every fold's weights, optimizer state and history are the same
    bits with one group of folds or three."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(90, 12, 2)).astype("float32")
    y = (X[:, :, 0].sum(axis=1) > 0).astype(int)
    splits = [(np.sort(p[:s]), np.sort(p[s:])) for p, s in
              ((rng.permutation(90), s) for s in (60, 45, 70, 52))]
    est = GRUClassifier(units=8, conv_filters=4, patch_size=1, epochs=15, batch_size=16, clipnorm=0.5,
                        learning_rate=0.05, early_stopping=True, n_iter_no_change=1, min_updates=0, random_state=0)
    one = _fits(monkeypatch, 1, est, X, y, splits)
    three = _fits(monkeypatch, 3, est, X, y, splits)
    assert len({m.n_iter_ for m in one}) > 1  # folds stopped at different epochs (6, 4, 3, 5)
    _assert_identical(one, three)
    assert all(m.history_["loss"][0] != m.history_["loss"][-1] for m in three)  # they trained


def test_threads_with_ragged_input_and_sample_weight_regressor(monkeypatch):
    rng = np.random.RandomState(1)
    X = [rng.normal(size=(int(t), 2)).astype("float32") for t in rng.randint(4, 11, size=60)]
    y = np.array([x[:, 0].sum() for x in X])
    sw = rng.uniform(0.5, 2.0, size=60)
    splits = list(KFold(4, shuffle=True, random_state=0).split(np.zeros(60)))
    est = GRURegressor(units=6, conv_filters=None, patch_size=1, epochs=3, batch_size=8, linear_skip=None,
                       refit_all_rows=False, random_state=0)
    _assert_identical(_fits(monkeypatch, 1, est, X, y, splits, sample_weight=sw),
                      _fits(monkeypatch, 2, est, X, y, splits, sample_weight=sw))


def test_small_recurrences_stay_on_one_thread(monkeypatch):
    monkeypatch.setattr(fold_threads, "_usable_cores", lambda: 8)
    assert fold_threads.n_groups(5, fold_threads.MIN_WORK - 1) == 1
    assert fold_threads.n_groups(5, fold_threads.MIN_WORK) == fold_threads.MAX_GROUPS
    assert fold_threads.n_groups(1, 10**9) == 1  # one fold: nothing to split
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # e.g. a loky worker's share of the cores
    assert fold_threads.n_groups(5, 10**9) == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "1,4")  # OpenMP's nested form: the outer level counts
    assert fold_threads.n_groups(5, 10**9) == 1
    for unreadable in ("", "auto", "0"):  # another library's setting: ignored, never an error
        monkeypatch.setenv("OMP_NUM_THREADS", unreadable)
        assert fold_threads.n_groups(5, 10**9) == fold_threads.MAX_GROUPS
    monkeypatch.setenv("SKGRU_FUSED_THREADS", "4")  # the override beats both
    assert fold_threads.n_groups(5, 0) == 4
    assert fold_threads.n_groups(3, 0) == 3


def test_fold_groups_cover_the_folds_contiguously(monkeypatch):
    monkeypatch.setenv("SKGRU_FUSED_THREADS", "2")
    assert fold_threads.fold_groups(5, 0) == [slice(0, 2), slice(2, 5)]
    monkeypatch.setenv("SKGRU_FUSED_THREADS", "3")
    groups = fold_threads.fold_groups(7, 0)
    assert groups[0].start == 0 and groups[-1].stop == 7
    assert all(a.stop == b.start for a, b in zip(groups, groups[1:]))
    assert all(g.stop - g.start in (2, 3) for g in groups)


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_bad_thread_setting_is_a_clear_error(monkeypatch, value):
    monkeypatch.setenv("SKGRU_FUSED_THREADS", value)
    with pytest.raises(ValueError, match="SKGRU_FUSED_THREADS must be a positive integer"):
        fold_threads.n_groups(5, 0)


def test_threads_with_dropout_masks_and_the_bidirectional_gru(monkeypatch):
    # each group of folds gets its folds' rows of the epoch's dropout masks (drawn once,
    # before the groups split), and the reversed recurrence runs in every group
    rng = np.random.RandomState(3)
    X = [rng.normal(size=(int(t), 2)).astype("float32") for t in rng.randint(5, 12, size=60)]
    y = np.array([int(x[0, 0] + x[-1, 1] > 0) for x in X])
    splits = list(KFold(3, shuffle=True, random_state=0).split(np.zeros(60)))
    est = GRUClassifier(units=4, n_layers=2, bidirectional=True, dropout=0.3, pooling="mean", conv_filters=None,
                        patch_size=1, epochs=3, batch_size=8, learning_rate=0.02, min_updates=0, random_state=0)
    one = _fits(monkeypatch, 1, est, X, y, splits)
    two = _fits(monkeypatch, 2, est, X, y, splits)
    _assert_identical(one, two)


def runs_in_a_forked_child(task, seconds=20.0):
    """Whether ``task()`` (which submits work to a module's thread pool and waits for it)
    completes in a child forked from this process: a pool inherited by a fork has lost
    its threads, so a stale one never runs the work (the child then exits by timeout)."""
    import os
    import signal

    pid = os.fork()
    if pid == 0:  # the child: report by exit status only
        signal.alarm(int(seconds))  # a hang ends the child (SIGALRM), as a failure
        try:
            task()
            os._exit(0)
        except BaseException:  # noqa: BLE001
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_a_forked_child_gets_its_own_fold_threads():
    assert fold_threads.run([lambda: 1, lambda: 2]) == [1, 2]  # the pool now has a thread
    assert runs_in_a_forked_child(lambda: fold_threads.run([lambda: 1, lambda: 2]), seconds=10)
