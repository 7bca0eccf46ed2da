"""Per-epoch learning-rate schedules, applied by assigning the optimizer's rate.

Why a callback that *assigns* ``optimizer.learning_rate``: in Keras 3 the rate of
an optimizer built from a float is a variable, and the traced epoch of a pooled
engine (``skgru._keras.engines``) reads that variable.  Assigning it each epoch
changes the rate without rebuilding the optimizer or retracing the epoch (a
retrace costs 0.8-3 s and ~15 MB of RSS that TensorFlow never returns), so fits
with and without a schedule, and with different schedules, share one engine.

Where the state lives: nowhere in the engine.  The rate of an epoch is a pure
function of the epoch's index (``n_iter_`` before it, counted over every fit,
warm start and ``partial_fit`` call) and, for ``"plateau"``, of the monitored
values of the epochs before it, which the estimator keeps in ``history_``.  A
continued fit rebuilds the schedule from those (:meth:`Schedule.resume`), so it
continues where the last call stopped, and a pooled engine carries nothing over
from the fit that used it before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import keras
import numpy as np

SCHEDULES = ("cosine", "exponential", "plateau")

# lr_decay=None: the value used by each schedule.
DEFAULT_DECAY = {
    # per-epoch factor: after 20 epochs 0.36x, after 100 epochs 0.006x the initial rate
    "exponential": 0.95,
    # factor at each plateau: the default of Keras' and PyTorch's ReduceLROnPlateau
    "plateau": 0.1,
    # the rate of the last planned epoch, as a fraction of the initial one: not 0, so
    # that the last epoch still trains (Keras' CosineDecay reaches alpha * rate)
    "cosine": 0.01,
}


def cosine_rate(base: float, epoch: int, planned: int, final_fraction: float) -> float:
    """Half a cosine from ``base`` (epoch 0) to ``final_fraction * base`` (epoch ``planned - 1``).

    Epochs past the planned end stay at the floor; with one planned epoch the
    rate is ``base``.
    """
    if planned <= 1:
        return float(base)
    t = min(epoch, planned - 1) / (planned - 1)
    return float(base) * (final_fraction + (1.0 - final_fraction) * 0.5 * (1.0 + math.cos(math.pi * t)))


def exponential_rate(base: float, epoch: float, decay: float) -> float:
    """``base * decay ** epoch`` (``epoch`` may be a fraction: see ``Schedule.epoch_scale``)."""
    return float(base) * float(decay) ** epoch


@dataclass
class Schedule:
    """The learning rate of each epoch (epochs counted from 0 over the estimator's life).

    ``kind`` None keeps ``base`` (the optimizer's own rate is then only read, not
    assigned, see :class:`EpochLearningRate`).  For ``"plateau"`` the rate is
    multiplied by ``decay`` once ``patience`` epochs in a row have not improved
    ``monitor`` by more than ``tol`` (the stopping rule's quantity and tolerance);
    the count then restarts.  ``"exponential"`` decays once per ``epoch_scale``
    epochs: the factor by which ``min_updates`` stretched the stopping rule's patience
    on a small training set (1 otherwise), so that the decay follows updates as the
    patience does (on 28 series the rate fell to 0.006x within 100 updates:
    benchmarks/README.md, "Round 12").
    """

    kind: str | None
    base: float
    decay: float = 1.0
    patience: int = 1
    planned_epochs: int = 1
    monitor: str = "loss"
    tol: float = 0.0
    epoch_scale: float = 1.0
    # plateau state, after the epochs observed so far
    rate: float = field(init=False)
    best: float = field(init=False, default=math.inf)
    wait: int = field(init=False, default=0)

    def __post_init__(self):
        self.rate = float(self.base)

    def rate_for(self, epoch: int) -> float:
        if self.kind == "cosine":
            return cosine_rate(self.base, epoch, self.planned_epochs, self.decay)
        if self.kind == "exponential":
            return exponential_rate(self.base, epoch / self.epoch_scale, self.decay)
        return self.rate  # None or plateau

    def observe(self, logs: dict) -> None:
        """Update the plateau state with one finished epoch's logs."""
        if self.kind != "plateau":
            return
        value = logs.get(self.monitor, logs.get("loss"))
        if value is None or not math.isfinite(float(value)):
            return  # a diverged epoch: the stopping rule ends training
        value = float(value)
        if value < self.best - self.tol:
            self.best, self.wait = value, 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.rate *= self.decay
            self.wait = 0

    def resume(self, history: dict, n_epochs: int) -> "Schedule":
        """Replay the ``n_epochs`` epochs recorded in ``history`` (a warm start or partial_fit)."""
        if self.kind != "plateau" or n_epochs == 0:
            return self
        key = self.monitor if len(history.get(self.monitor, ())) == n_epochs else "loss"
        for value in history.get(key, ())[:n_epochs]:
            self.observe({"loss": value})
        return self


def current_rate(optimizer) -> float:
    """The rate the optimizer applies now (also for a Keras LearningRateSchedule)."""
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


class EpochLearningRate(keras.callbacks.Callback):
    """Sets the rate of each epoch from a :class:`Schedule`; logs it as ``learning_rate``.

    The logged value is the optimizer's (float32) rate, so
    :attr:`rates` (which the estimator stores as ``history_["learning_rate"]``)
    holds the rate each epoch really used.  Only
    epoch hooks are defined, so the traced whole-epoch path stays in use.
    """

    def __init__(self, schedule: Schedule):
        super().__init__()
        self.schedule = schedule
        self.rates: list = []  # one per finished epoch (Keras hands callbacks a copy of the logs)
        self._rate = None

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        if self.schedule.kind is None:
            # read back: a user callback or a Keras LearningRateSchedule may set it (~0.1 ms)
            self._rate = current_rate(optimizer)
            return
        rate = float(np.asarray(self.schedule.rate_for(epoch), dtype=keras.backend.floatx()))
        if rate != self._rate:  # an assign costs ~0.4 ms; a plateau keeps the rate for epochs
            optimizer.learning_rate = rate  # assigns the variable: no new optimizer, no retrace
        self._rate = rate  # what the variable now holds (same rounding)

    def on_epoch_end(self, epoch, logs=None):
        self.rates.append(self._rate)
        if logs is None:
            return
        if self.schedule.kind is not None:
            # as Keras' own LearningRateScheduler / ReduceLROnPlateau do, later callbacks
            # (CSVLogger, TensorBoard, ...) see the rate; without a schedule the logs stay as Keras makes them
            logs["learning_rate"] = self._rate
        self.schedule.observe(logs)
