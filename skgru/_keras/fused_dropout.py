"""Dropout in fused folds: each fold's masks, drawn as its own Keras fit draws them.

A fold trained fused must end as its separate fit ends (``skgru.estimators._folds``),
so it must drop the units that fit drops.  Keras 3 on TensorFlow draws (3.15, read
from ``keras/src/layers/rnn``):

* for each GRU layer with ``dropout`` (each direction of a bidirectional one): ONE input mask of shape (rows, input
  features) per call of the layer, applied at every step and, with
  ``implementation=2`` (the default), to all three gates.  ``RNN.call`` prepares
  that mask on *every* call, training or not (``_maybe_config_dropout_masks``), so
  each validation batch of a fit advances the layer's seed generator as well,
  without using the mask;
* for the head's ``Dropout`` layer: one (rows, units) mask per training call only.

A draw is ``tf.nn.experimental.stateless_dropout(ones, rate, seed)``: the seed is
the layer's ``SeedGenerator`` state (an int64 pair, reduced modulo 2**31 - 2 as
``keras.src.backend.tensorflow.random._cast_seed`` does), which the draw then
advances by (0, 1).  So the n-th draw after a state s uses the seed s + (0, n), and
an epoch's masks follow from the state at its start and the sizes of its batches.
They are drawn here in one traced call per dropout layer and epoch: one eager draw
costs 0.35-0.4 ms on the 2-core VM, 17 batches x 3 folds x 2 layers of them per
digits epoch would cost what the fused epoch itself costs (~36 ms), while 50 draws
in one call take 1 ms.  A mask of fewer rows is the first rows of one drawn with
more (Philox fills the flat output in order, whatever its shape: the tests check it
against ``stateless_dropout``), so every draw is made for a full batch and cut.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import keras
import numpy as np

from skgru._keras.fused import gru_names, resolve_layer

__all__ = ["FoldMasks", "dropout_sites", "seed_states", "set_seed_states", "site_widths", "structure_problem"]

SEED_MODULUS = 2**31 - 2  # tf.int32.max - 1: _cast_seed's floormod


@dataclass(frozen=True)
class Site:
    """One layer that draws dropout masks."""

    layer: str  # its name in build_network's model
    rate: float
    every_call: bool  # True: draws on inference calls too (a GRU layer), False: training only


def dropout_sites(spec) -> list[Site]:
    """The layers of ``build_network(spec)`` that draw masks, in model order: each GRU
    layer's input dropout, then the head's Dropout (both ``spec.dropout``)."""
    if not spec.dropout > 0:
        return []
    rate = float(spec.dropout)
    return [Site(name, rate, True) for directions in gru_names(spec) for name in directions] + [
        Site("head_dropout", rate, False)]


def _generator(model, name):
    layer = resolve_layer(model, name)
    return layer.cell.seed_generator if isinstance(layer, keras.layers.GRU) else layer.seed_generator


def seed_states(model, spec) -> list[np.ndarray]:
    """The seed generator state (int64 pair) of each dropout site of ``model``."""
    return [np.asarray(_generator(model, site.layer).state.numpy(), dtype=np.int64)
            for site in dropout_sites(spec)]


def set_seed_states(model, spec, states) -> None:
    """Write :func:`seed_states`' pairs back (what a separate fit leaves in its model)."""
    for site, state in zip(dropout_sites(spec), states or ()):
        var = _generator(model, site.layer).state
        var.assign(np.asarray(state, dtype=var.dtype))


def structure_problem(model, spec) -> str | None:
    """Why ``model``'s dropout is not the one :class:`FoldMasks` replays (None: it is).

    Called by ``fused.structure_problem`` after it checked the layer names and each
    GRU cell's ``dropout`` (the network's) and ``recurrent_dropout`` (0)."""
    for site in dropout_sites(spec):
        layer = resolve_layer(model, site.layer)
        if isinstance(layer, keras.layers.GRU):
            if getattr(layer.cell, "dropout_mask_count", None) is not None:  # implementation=1: 3 masks
                return f"layer {site.layer}'s dropout is not the one the fused step replays"
        elif not (isinstance(layer, keras.layers.Dropout) and layer.rate == site.rate
                  and layer.noise_shape is None and getattr(layer, "seed_generator", None) is not None):
            return "the head's dropout layer is not the one the fused step replays"
    return None


def site_widths(model, spec) -> list[int]:
    """Each site's mask width in ``model``: a GRU's input features (its kernel's
    rows), the head's the GRU's summary (both directions of a bidirectional one)."""
    head = int(spec.units[-1]) * (2 if spec.bidirectional else 1)
    return [int(resolve_layer(model, site.layer).cell.kernel.shape[0]) if site.every_call else head
            for site in dropout_sites(spec)]


class FoldMasks:
    """The dropout seed states of k folds, drawing each epoch's training masks.

    Parameters
    ----------
    spec : NetworkSpec
        The folds' network.
    states : list of list of ndarray
        Per fold, :func:`seed_states` of its model where its fit starts.
    widths : list of int
        :func:`site_widths`.
    """

    def __init__(self, spec, states, widths):
        self.sites = dropout_sites(spec)
        self.widths = list(widths)
        self.state = np.array(states, dtype=np.int64).reshape(len(states), len(self.sites), 2)
        self._ahead = None  # (predicted state, rows, batch_size, future) of prefetch()

    def __bool__(self):
        return bool(self.sites)

    def states(self, j) -> list[np.ndarray]:
        """Fold j's seed states now (a separate fit's, after the same calls)."""
        return [s.copy() for s in self.state[j]]

    def train_masks(self, rows, batch_size) -> list[np.ndarray]:
        """One (k, steps * batch_size, width) float32 mask per site for an epoch whose
        fold j trains ``rows[j, s]`` rows at step s (0: no call), advancing each
        site by one draw per call.  Rows past a batch's real ones get 1 (they carry
        no weight).  Taken from :meth:`prefetch` when it drew these very masks."""
        rows = np.asarray(rows)
        masks = self._prefetched(rows, batch_size)
        if masks is None:
            masks = _draw_masks(self.sites, self.widths, self.state, rows, batch_size)
        self.state[:, :, 1] += (rows > 0).sum(axis=1)[:, None]
        return masks

    def prefetch(self, rows, batch_size, calls) -> None:
        """Start drawing, on a background thread, the masks :meth:`train_masks` will
        return for the next epoch if it trains ``rows`` again after ``calls[j]``
        inference calls of fold j (:meth:`skip_calls`).

        An epoch's draws wait on TensorFlow for ~10 ms (digits, 5 folds, three
        sites), ~9% of a fused epoch; drawn ahead they overlap the epoch's NumPy
        work on the other core.  The next :meth:`train_masks` uses them only when
        its seed states and rows are the ones predicted here (a fold that stopped
        meanwhile changes the rows: the masks are then drawn again), so the masks
        are exactly those of a draw in turn.
        """
        rows = np.asarray(rows)
        if rows.size * batch_size * sum(self.widths) * 4 > PREFETCH_BYTES:
            return  # a second epoch of masks held at once would cost too much memory
        state = self.state.copy()
        calls = np.asarray(calls, dtype=np.int64)
        for s, site in enumerate(self.sites):
            if site.every_call:
                state[:, s, 1] += calls
        rows = rows.copy()
        future = _background().submit(_draw_masks, self.sites, self.widths, state, rows, batch_size)
        self._ahead = (state, rows, batch_size, future)

    def _prefetched(self, rows, batch_size):
        ahead, self._ahead = self._ahead, None
        if ahead is None:
            return None
        state, ahead_rows, ahead_batch, future = ahead
        if ahead_batch != batch_size or not (np.array_equal(state, self.state) and np.array_equal(ahead_rows, rows)):
            return None
        return future.result()

    def skip_calls(self, calls) -> None:
        """Advance the sites that draw on every call (the GRU layers) by ``calls[j]``
        inference calls of fold j (its validation batches), whose masks go unused."""
        calls = np.asarray(calls, dtype=np.int64)
        for s, site in enumerate(self.sites):
            if site.every_call:
                self.state[:, s, 1] += calls


def _draw_masks(sites, widths, state, rows, batch_size) -> list[np.ndarray]:
    """:meth:`FoldMasks.train_masks`' masks for seed states ``state`` (not modified)."""
    k, steps = rows.shape
    called = rows > 0
    folds, at = np.nonzero(called)
    number = (np.cumsum(called, axis=1) - 1)[folds, at]  # each call's draw number in its fold
    masks = []
    for s, (site, width) in enumerate(zip(sites, widths)):
        mask = np.ones((k, steps, batch_size, width), np.float32)
        if folds.size:
            seeds = state[folds, s].copy()
            seeds[:, 1] += number
            uniform = _uniforms(np.mod(seeds, SEED_MODULUS).astype(np.int32), batch_size * width)
            keep = uniform.reshape(-1, batch_size, width) >= np.float32(site.rate)
            mask[folds, at] = np.where(keep, np.float32(1.0 / (1.0 - site.rate)), np.float32(0.0))
        masks.append(mask.reshape(k, steps * batch_size, width))
    return masks


# :meth:`FoldMasks.prefetch` holds a second epoch of masks while one trains: only while
# an epoch's masks take at most this much (digits, 5 folds: 6 MB)
PREFETCH_BYTES = 256 * 2**20

_lock = threading.Lock()
_draw = None
_executor = None


def _background():
    """The one thread that draws masks ahead (:meth:`FoldMasks.prefetch`)."""
    global _executor
    with _lock:
        if _executor is None:
            from concurrent.futures import ThreadPoolExecutor

            _executor = ThreadPoolExecutor(1, thread_name_prefix="skgru-dropout")
        return _executor


def _forget_executor():
    # a forked child inherits the executor but not its thread: a task submitted there
    # would never run, so the child starts its own
    global _executor, _lock
    _executor, _lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_executor)


def _uniforms(seeds: np.ndarray, n: int) -> np.ndarray:
    """(len(seeds), n) float32: ``tf.random.stateless_uniform([n], seed)`` per seed
    row, the sampler of ``stateless_dropout``, in one traced call."""
    global _draw
    with _lock:
        if _draw is None:
            import tensorflow as tf

            @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.int32), tf.TensorSpec([], tf.int32)])
            def draw(seeds, n):
                return tf.map_fn(lambda s: tf.random.stateless_uniform([n], seed=s), seeds,
                                 fn_output_signature=tf.float32)

            _draw = draw
    return _draw(seeds, np.int32(n)).numpy()
