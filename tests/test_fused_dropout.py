"""Dropout in fold-fused training: each fold draws the masks its own Keras fit draws.

The fused folds must equal separate fits (issue 14.4), so with ``dropout`` the NumPy
step replays Keras' masks from each fold's seed states
(:mod:`skgru._keras.fused_dropout`); these tests compare weights, histories, Adam
state and the seed states the fits leave behind.
"""

import keras
import numpy as np
import pytest
from sklearn.model_selection import KFold

from skgru._keras import fused, fused_dropout
from skgru._keras.network import NetworkSpec, build_network
from skgru.estimators._folds import can_fuse, continue_folds, fit_folds, fuse_problem

from test_fused import (
    ATOL,
    GRUClassifier,
    _assert_continued_same,
    _assert_regressor_same,
    _assert_same,
    _data,
    _default_regressor,
    _default_regressor_data,
    _no_fallback,
    _separate,
    _uneven_splits,
    _warm_start_separately,
)

pytestmark = pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="fused step is TF-only")


def _seed_states(est):
    return [s.tolist() for s in fused_dropout.seed_states(est.model_, est.network_spec_)]


def _assert_seeds_same(fused_models, separate_models):
    """The dropout layers' seed generators end where the separate fits leave them (a
    continued fit draws on from there)."""
    for a, b in zip(fused_models, separate_models):
        assert _seed_states(a) == _seed_states(b)
        assert all(state[1] > 0 for state in _seed_states(b))  # masks were drawn


def test_replayed_masks_are_the_ones_keras_draws():
    # FoldMasks against Keras' own draws from a SeedGenerator: full batches and a short
    # last one, two folds from different states, a GRU site (draws on inference calls
    # too) and the head's site (training calls only)
    spec = NetworkSpec(n_step_features=3, n_outputs=2, output_activation="softmax", units=(4,), dropout=0.3)
    states = [[np.array([11, 5]), np.array([7, 0])], [np.array([2**40 + 3, 9]), np.array([5, 2])]]
    masks = fused_dropout.FoldMasks(spec, states, widths=[3, 4])
    rows = np.array([[8, 8, 3], [8, 0, 0]])  # fold 1 has one call
    drawn = masks.train_masks(rows, batch_size=8)
    masks.skip_calls([2, 1])  # validation calls
    for j, fold in enumerate(states):
        for s, (state, width) in enumerate(zip(fold, [3, 4])):
            generator = keras.random.SeedGenerator(0)
            generator.state.assign(state)
            for step, n in enumerate(rows[j]):
                if n == 0:
                    continue
                expected = keras.ops.convert_to_numpy(keras.random.dropout(np.ones((n, width), "float32"), 0.3,
                                                                           seed=generator))
                np.testing.assert_array_equal(drawn[s][j, step * 8 : step * 8 + n], expected)
        calls = (rows[j] > 0).sum()
        assert masks.states(j)[0].tolist() == [fold[0][0], fold[0][1] + calls + [2, 1][j]]
        assert masks.states(j)[1].tolist() == [fold[1][0], fold[1][1] + calls]  # not on inference


def _two_fold_masks():
    spec = NetworkSpec(n_step_features=3, n_outputs=2, output_activation="softmax", units=(4,), dropout=0.3)
    states = [[np.array([11, 5]), np.array([7, 0])], [np.array([2**40 + 3, 9]), np.array([5, 2])]]
    return fused_dropout.FoldMasks(spec, states, widths=[3, 4])


@pytest.mark.parametrize("next_rows", [[[8, 8, 3], [8, 0, 0]], [[8, 8, 3], [0, 0, 0]]],
                         ids=["as-predicted", "a-fold-stopped"])
def test_masks_drawn_ahead_are_the_masks_drawn_in_turn(monkeypatch, next_rows):
    # the next epoch's masks are drawn on a thread while this epoch trains; they must be
    # what train_masks would draw then, and be used only when the prediction held
    rows, next_rows = np.array([[8, 8, 3], [8, 0, 0]]), np.array(next_rows)
    in_turn, ahead = _two_fold_masks(), _two_fold_masks()
    for masks in (in_turn, ahead):
        masks.train_masks(rows, batch_size=8)
    ahead.prefetch(rows, 8, calls=[2, 1])
    ahead._ahead[3].result()  # drawn
    drawn_here = []
    real_draw = fused_dropout._draw_masks
    monkeypatch.setattr(fused_dropout, "_draw_masks", lambda *a: drawn_here.append(1) or real_draw(*a))
    for masks in (in_turn, ahead):
        masks.skip_calls([2, 1])
    expected = in_turn.train_masks(next_rows, batch_size=8)
    drawn_here.clear()
    got = ahead.train_masks(next_rows, batch_size=8)
    assert drawn_here == ([] if np.array_equal(next_rows, rows) else [1])  # used only when predicted
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)
    assert all(np.array_equal(a, b) for j in range(2) for a, b in zip(ahead.states(j), in_turn.states(j)))


def test_masks_are_not_drawn_ahead_past_the_memory_cap(monkeypatch):
    rows = np.array([[8, 8, 3], [8, 0, 0]])  # 2 x 3 steps x 8 rows x (3 + 4) widths x 4 bytes = 1344
    masks = _two_fold_masks()
    monkeypatch.setattr(fused_dropout, "PREFETCH_BYTES", 1343)
    masks.prefetch(rows, 8, calls=[0, 0])
    assert masks._ahead is None
    monkeypatch.setattr(fused_dropout, "PREFETCH_BYTES", 1344)
    masks.prefetch(rows, 8, calls=[0, 0])
    assert masks._ahead is not None


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_a_forked_child_draws_ahead_on_its_own_thread():
    from test_fold_threads import runs_in_a_forked_child

    assert fused_dropout._background().submit(lambda: 7).result() == 7  # the thread exists
    assert runs_in_a_forked_child(lambda: fused_dropout._background().submit(lambda: 7).result(timeout=5),
                                  seconds=10)


@pytest.mark.parametrize("params", [
    dict(units=4, batch_size=8),
    # two GRU layers (a mask on each layer's input, gradient through the upper one's),
    # mean pooling, a dense layer, early stopping (each validation batch draws a GRU
    # mask that goes unused)
    dict(units=3, n_layers=2, pooling="mean", dense_units=(5,), early_stopping=True, n_iter_no_change=20,
         batch_size=7),
])
def test_dropout_folds_match_separate_fits(monkeypatch, params):
    X, y = _data(n=50)
    splits = _uneven_splits(len(X), sizes=(30, 22, 38), seed=1)
    est = GRUClassifier(dropout=0.3, epochs=3, learning_rate=0.02, random_state=5, **params)
    assert can_fuse(est) == (True, "fusable") and fuse_problem(est, X, y, splits) is None
    sm = _separate(est, X, y, splits)
    _no_fallback(monkeypatch)
    fm = fit_folds(est, X, y, splits)
    _assert_same(fm, sm, X)
    _assert_seeds_same(fm, sm)


def test_dropout_with_the_default_classifier_stem_on_ragged_patched_series(monkeypatch):
    # the classifier's defaults (standardised input, Conv1D stem, auto pooling) on ragged
    # series folded into patches: the GRU's input mask multiplies the stem's output, and
    # its gradient flows back into the convolution through the mask
    rng = np.random.RandomState(2)
    X = [rng.normal(size=(rng.randint(9, 20), 2)).astype("float32") for _ in range(42)]
    y = np.array([int(s[:, 0].mean() > 0) for s in X])
    splits = _uneven_splits(len(X), sizes=(30, 22, 38), seed=0)  # 4, 3 and 5 draws per epoch
    from skgru import GRUClassifier as Default

    est = Default(units=4, conv_filters=3, patch_size=3, dropout=0.2, epochs=3, min_updates=0, batch_size=8,
                  learning_rate=0.02, random_state=1)
    sm = _separate(est, X, y, splits)
    _no_fallback(monkeypatch)
    fm = fit_folds(est, X, y, splits, share_network=True)
    for j, b in enumerate(sm):
        a = fm[j]
        assert (a.n_iter_, a.best_epoch_) == (b.n_iter_, b.best_epoch_)
        for u, v in zip(a.model_.weights, b.model_.weights):
            np.testing.assert_allclose(np.asarray(u), np.asarray(v), atol=ATOL, rtol=0)
        np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), atol=ATOL, rtol=0)
        assert _seed_states(a) == _seed_states(b)  # loading fold j loads its seed states too


def test_dropout_regressor_defaults_refit_draws_from_the_restored_seeds(monkeypatch):
    # the regressor's defaults: the ridge start scored before training (a validation pass
    # that draws), early stopping, shrinkage, and the refit on all rows, which restores
    # the snapshot taken before training, seed states included
    X, y = _default_regressor_data()
    splits = _uneven_splits(len(X), sizes=(40, 30, 50), seed=2)
    est = _default_regressor(dropout=0.2)
    sm = _separate(est, X, y, splits)
    _no_fallback(monkeypatch)
    fm = fit_folds(est, X, y, splits)
    _assert_regressor_same(fm, sm, X)
    trained = [b for b in sm if b.n_iter_ > 0]
    assert trained, "a fold must train on for the refit to draw masks"
    _assert_seeds_same([a for a, b in zip(fm, sm) if b.n_iter_ > 0], trained)
    for a, b in zip(fm, sm):
        if b.n_iter_ == 0:  # kept its ridge start: refit for 0 epochs from the snapshot's seeds
            assert _seed_states(a) == _seed_states(b) and all(s[1] == 0 for s in _seed_states(b))


def test_continued_dropout_folds_draw_on_from_their_kept_seeds(monkeypatch):
    X, y = _data(n=45)
    splits = list(KFold(3, shuffle=True, random_state=0).split(X))
    est = GRUClassifier(units=3, dropout=0.25, epochs=2, batch_size=8, learning_rate=0.01, random_state=0)
    with monkeypatch.context() as patch:
        _no_fallback(patch)
        shared = fit_folds(est, X, y, splits, share_network=True)
        continued = continue_folds(shared, X, y, splits, 3)
    separate = _warm_start_separately(_separate(est, X, y, splits), X, y, splits, 3)
    _assert_continued_same(continued, separate, X)
    for j, b in enumerate(separate):
        assert _seed_states(continued[j]) == _seed_states(b)
        assert continued.state(j)["seeds"][0][1] == 5 * 4  # 5 epochs of 4 batches (30 rows / 8)
    # detached copies (a fold-by-fold continuation) carry their fold's seeds
    detached = continued.detach()
    assert [_seed_states(d) for d in detached] == [_seed_states(b) for b in separate]


def test_dropout_falls_back_under_the_compiled_step_and_recurrent_dropout_everywhere(monkeypatch):
    X, y = _data(n=30)
    splits = list(KFold(2, shuffle=True, random_state=0).split(X))
    ok, why = can_fuse(GRUClassifier(dropout=0.2, epochs=1))
    assert ok, why
    ok, why = can_fuse(GRUClassifier(recurrent_dropout=0.2, epochs=1))
    assert not ok and "recurrent_dropout" in why
    monkeypatch.setenv("SKGRU_FUSED_STEP", "xla")
    est = GRUClassifier(units=3, dropout=0.2, epochs=1, batch_size=8, random_state=0)
    ok, why = can_fuse(est)
    assert not ok and "dropout is fused by the NumPy step only" in why
    spec = NetworkSpec(n_step_features=3, n_outputs=2, output_activation="softmax", units=(3,), dropout=0.2)
    assert "NumPy step only" in fused.structure_problem(build_network(spec, 0), spec)
    for a, b in zip(fit_folds(est, X, y, splits), _separate(est, X, y, splits)):  # the same separate fits
        for u, v in zip(a.model_.get_weights(), b.model_.get_weights()):
            np.testing.assert_array_equal(u, v)


def test_predictions_leave_seed_states_alone_so_own_model_engines_fuse_too(monkeypatch):
    # Keras' GRU draws a dropout mask on every call, inference included. With
    # SKGRU_REUSE_MODELS=0 a fit's own model is its engine, so before training.predict
    # restored them, each predict moved its seed states (here the regressor's shrinkage
    # predictions and the scoring before a promotion), which fused folds cannot follow
    monkeypatch.setenv("SKGRU_REUSE_MODELS", "0")
    X, y = _default_regressor_data()
    splits = _uneven_splits(len(X), sizes=(40, 30, 50), seed=2)
    est = _default_regressor(dropout=0.2, refit_all_rows=False)
    sm = _separate(est, X, y, splits)
    before = [_seed_states(m) for m in sm]
    for m in sm:
        m.predict(X)  # as a search scores a fold
    assert [_seed_states(m) for m in sm] == before
    with monkeypatch.context() as patch:
        _no_fallback(patch)
        shared = fit_folds(est, X, y, splits, share_network=True)
        for j in range(3):
            shared[j].predict(X)
        continued = continue_folds(shared, X, y, splits, 2)
    separate = _warm_start_separately(sm, X, y, splits, 2)
    _assert_continued_same(continued, separate, X)
    for j, b in enumerate(separate):
        assert _seed_states(continued[j]) == _seed_states(b)


def test_kept_folds_without_seed_states_continue_fold_by_fold():
    # kept fold models from before seed states were kept (or damaged) cannot replay the
    # masks: continue_folds declines (the caller continues each fold separately)
    X, y = _data(n=45)
    splits = list(KFold(3, shuffle=True, random_state=0).split(X))
    for dropout, continues in ((0.25, False), (0.0, True)):
        est = GRUClassifier(units=3, dropout=dropout, epochs=1, batch_size=8, random_state=0)
        shared = fit_folds(est, X, y, splits, share_network=True)
        for j in range(3):
            shared.state(j).pop("seeds")
        assert (continue_folds(shared, X, y, splits, 1) is not None) == continues
