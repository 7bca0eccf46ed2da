"""``tuner="asha"``'s schedule and promotion rule, as plain Python (no KerasTuner).

Asynchronous successive halving (ASHA, Li et al. 2020, "A System for Massively
Parallel Hyperparameter Tuning", algorithm 2) over epochs:

* **rungs**: the epochs a configuration has trained at each level, anchored at
  the top as Hyperband does: ``r_j = round(max_epochs / eta**(K-1-j))`` for
  ``j = 0..K-1``, with ``K = 1 + floor(log_eta(max_epochs / min_epochs))``; so
  the top rung is ``max_epochs``, neighbouring rungs differ by the factor
  ``eta`` and the bottom rung lies in ``[min_epochs, min_epochs * eta)``
  (min 1, max 27, eta 3: 1, 3, 9, 27; min 1, max 10: 1, 3, 10);
* **the rule**, asked whenever a worker is free: from the highest rung down,
  promote the best configuration that is in the top ``floor(n / eta)`` of the
  ``n`` configurations *completed at that rung so far* and was not promoted
  yet; if there is none, start a new configuration at the bottom rung.  Nothing
  waits for a rung to fill: a configuration is promoted as soon as enough
  others completed its rung;
* **cost**: a promotion continues the configuration's models, so it costs
  ``r_k - r_(k-1)`` epochs per split (``r_k`` when the models cannot be
  continued: ``continued=False``, or ``models_held(config, k - 1)`` false for
  this configuration, as when a resumed search lost the models with the process
  that trained them); a new configuration costs ``r_0``;
* **budget** (``tuner_params["max_epochs_total"]`` in TunedGRU; epochs per
  split, counted when a job starts, whether it then
  completes or fails): a job is started only if its cost fits in what is left;
  a promotion that does not fit gives way to a new configuration, and when
  nothing fits no new job starts.  Default: what synchronous successive
  halving spends on the largest bracket of ``n`` configurations whose trials
  (``sum_k floor(n / eta**k)``, promotions included) fit in ``max_trials``:
  ``sum_k floor(n / eta**k) * cost_k``; with ``max_trials=None`` the bracket
  has ``eta**(K-1)`` configurations (one reaches the top rung).  The budget
  binds: ASHA may promote more of a rung than the synchronous bracket would
  (its top ``1/eta`` changes as the rung fills, and a promotion is never
  undone), so jobs stop when the next one would not fit.

The trial count ``max_trials`` counts every job (new configurations and
promotions), as TunedGRU counts Hyperband's trials.

**Which models to keep** (:meth:`ASHAScheduler.keep_ids`): a completed job at
rung ``k < K-1`` whose configuration was not promoted can still be promoted
while its rank ``p`` (0-based, among the completed at ``k``, best first) is
below ``floor(M_k / eta)``, where ``M_k`` bounds how many jobs can ever complete
at rung ``k``: completed + running + future arrivals, bounded by the trials and
budget left and, above rung 0, by the configurations of rung ``k-1`` that could
still go up (completed there and not promoted, running there, or still to
arrive there).  Ranks only grow as others
complete, so once ``p >= floor(M_k / eta)`` the configuration is out for good
and its models can be dropped; top-rung models are never needed again.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

__all__ = ["ASHAScheduler", "Proposal", "asha_rungs"]

_INF = math.inf


def _check_int(name, value, low):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}.")
    return int(value)


def asha_rungs(min_epochs, max_epochs, reduction_factor):
    """The epochs of each rung (see the module docstring).

    Raises
    ------
    ValueError
        ``min_epochs`` or ``max_epochs`` not an int >= 1, ``min_epochs >
        max_epochs``, ``reduction_factor`` not an int >= 2.
    """
    lo = _check_int("min_epochs", min_epochs, 1)
    hi = _check_int("max_epochs", max_epochs, 1)
    eta = _check_int("reduction_factor", reduction_factor, 2)
    if lo > hi:
        raise ValueError(f"min_epochs={lo} must be <= max_epochs={hi}.")
    n_rungs = 1
    while lo * eta**n_rungs <= hi:
        n_rungs += 1
    # floor(x + 0.5), not round(): banker's rounding would make 2.5 -> 2.
    return tuple(int(math.floor(hi / eta ** (n_rungs - 1 - j) + 0.5)) for j in range(n_rungs))


@dataclass(frozen=True)
class Proposal:
    """What the scheduler would do next.

    ``kind``: ``"promote"`` (``config`` to ``rung``), ``"new"`` (a new
    configuration at rung 0), ``"wait"`` (nothing now; running jobs may make
    a promotion possible) or ``"stop"`` (nothing more will ever start).
    ``cost``: epochs per split the job trains.
    """

    kind: str
    rung: int = 0
    config: object = None
    cost: int = 0


class ASHAScheduler:
    """Asynchronous successive halving: promotion rule, budget, live models.

    Parameters
    ----------
    min_epochs, max_epochs : int
        Bounds of the rungs (see :func:`asha_rungs`).
    reduction_factor : int >= 2
        ``eta``: a rung keeps its top ``1/eta``.
    max_trials : int or None
        Jobs to start at most (new configurations and promotions).
    budget : int or None
        Epochs per split to spend at most (None: the schedule's default, see
        the module docstring).
    continued : bool
        Promotions continue the models (cost ``r_k - r_(k-1)``); False: they
        retrain from scratch (cost ``r_k``).

    Jobs are named by the caller (``start(job_id, ...)``); a new
    configuration is named by the id of the job that starts it.
    """

    def __init__(self, min_epochs, max_epochs, reduction_factor, *, max_trials=None,
                 budget=None, continued=True):
        self.rungs = asha_rungs(min_epochs, max_epochs, reduction_factor)
        self.eta = int(reduction_factor)
        self.continued = bool(continued)
        self.max_trials = None if max_trials is None else _check_int(
            "max_trials", max_trials, 1)
        self.budget = (self.default_budget() if budget is None
                       else _check_int("budget", budget, 1))
        self.spent = 0  # epochs per split committed by started jobs
        self.n_started = 0
        self.exhausted = False  # no new configuration can be drawn
        self._completed = [[] for _ in self.rungs]  # per rung: (score, seq, config)
        self._promoted = [set() for _ in self.rungs]  # configs promoted from rung k
        self._running = {}  # job_id -> (config, rung)
        self._job_at = {}  # (config, rung) -> job_id
        self._seq = 0
        # A callable (config, rung) -> bool: whether the caller still holds the models
        # the configuration trained at that rung (None: it holds all of them).
        self.models_held = None

    # ------------------------------------------------------------ schedule
    @property
    def n_rungs(self):
        return len(self.rungs)

    def cost(self, rung):
        """Epochs per split a job at ``rung`` trains."""
        if rung == 0 or not self.continued:
            return self.rungs[rung]
        return self.rungs[rung] - self.rungs[rung - 1]

    def promotion_cost(self, config, rung):
        """Epochs per split to promote ``config`` to ``rung``: :meth:`cost`, or the
        rung's whole ``r_k`` when its models at ``rung - 1`` are not held
        (``models_held``) and the promotion retrains from scratch."""
        if (self.continued and self.models_held is not None
                and not self.models_held(config, rung - 1)):
            return self.rungs[rung]
        return self.cost(rung)

    def _bracket(self, n):
        return [n // self.eta**k for k in range(self.n_rungs)]

    def default_budget(self):
        """Epochs per split of the synchronous bracket the trial limit allows."""
        if self.max_trials is None:
            n = self.eta ** (self.n_rungs - 1)
        else:
            n = 1
            while sum(self._bracket(n + 1)) <= self.max_trials:
                n += 1
        return int(sum(c * self.cost(k) for k, c in enumerate(self._bracket(n))))

    # ------------------------------------------------------------ the rule
    def _ranked(self, rung):
        return sorted(self._completed[rung], key=lambda t: (-t[0], t[1]))

    def promotable(self, rung):
        """Configurations the rule may promote from ``rung`` now, best first."""
        if rung >= self.n_rungs - 1:
            return []
        ranked = self._ranked(rung)
        top = ranked[: len(ranked) // self.eta]
        return [c for _, _, c in top if c not in self._promoted[rung]]

    def propose(self):
        """The next job by the ASHA rule within the limits (nothing is started)."""
        left = self.budget - self.spent
        if self.max_trials is not None and self.n_started >= self.max_trials:
            return Proposal("stop")
        for rung in range(self.n_rungs - 2, -1, -1):
            # The best candidate whose promotion fits: in a fresh search all cost the
            # same; after a resume one that retrains from scratch may not fit where
            # one whose models are held does.
            for config in self.promotable(rung):
                cost = self.promotion_cost(config, rung + 1)
                if cost <= left:
                    return Proposal("promote", rung + 1, config, cost)
        if not self.exhausted and self.cost(0) <= left:
            return Proposal("new", 0, None, self.cost(0))
        cheapest = min((self.cost(k) for k in range(1, self.n_rungs)), default=_INF)
        if self._running and cheapest <= left:
            return Proposal("wait")
        return Proposal("stop")

    def start(self, job_id, proposal):
        """Record that ``job_id`` runs ``proposal`` (a "promote" or "new")."""
        if proposal.kind not in ("promote", "new"):
            raise ValueError(f"cannot start a {proposal.kind!r} proposal.")
        if job_id in self._running:
            raise ValueError(f"job {job_id!r} is already running.")
        if self.spent + proposal.cost > self.budget:
            raise ValueError("the job does not fit in the remaining budget.")
        if proposal.kind == "promote":
            config = proposal.config
            if config in self._promoted[proposal.rung - 1]:
                raise ValueError(f"configuration {config!r} was promoted already.")
            self._promoted[proposal.rung - 1].add(config)
        else:
            config = job_id
        self._running[job_id] = (config, proposal.rung)
        self._job_at[(config, proposal.rung)] = job_id
        self.spent += proposal.cost
        self.n_started += 1
        return config

    def charge_restart(self, job_id):
        """The running ``job_id`` restarts from scratch (a resumed search lost its
        parent's models): charge a promotion its rung's whole ``r_k``; a new
        configuration costs the same either way."""
        config, rung = self._running[job_id]
        if rung and self.continued:
            self.spent += self.rungs[rung] - self.cost(rung)

    def report(self, job_id, score):
        """``job_id`` ended with ``score`` (None or non-finite: it failed, and its
        configuration goes no further)."""
        config, rung = self._running.pop(job_id)
        if score is not None and math.isfinite(score):
            self._completed[rung].append((float(score), self._seq, config))
            self._seq += 1

    def exhaust(self):
        """No new configuration can be drawn any more (finite space)."""
        self.exhausted = True

    # ----------------------------------------------------------- accessors
    def job_id(self, config, rung):
        """The job that ran ``config`` at ``rung``."""
        return self._job_at[(config, rung)]

    def counts(self):
        """Jobs started at each rung."""
        out = [0] * self.n_rungs
        for (_, rung) in self._job_at:
            out[rung] += 1
        return out

    @property
    def running(self):
        return dict(self._running)

    def keep_ids(self):
        """Jobs whose models a later promotion may still continue (see the
        module docstring for the rule)."""
        if self.propose().kind == "stop":  # nothing will ever start again
            return set()
        left = self.budget - self.spent
        slots = _INF if self.max_trials is None else self.max_trials - self.n_started
        running = [0] * self.n_rungs
        for _, rung in self._running.values():
            running[rung] += 1

        def afford(rung):
            return left // self.cost(rung)

        keep = set()
        below = 0  # rung k-1: configurations that may still be promoted from it
        for rung in range(self.n_rungs - 1):
            if rung == 0:
                future = 0 if self.exhausted else min(slots, afford(0))
            else:
                future = min(below, slots, afford(rung))
            bound = len(self._completed[rung]) + running[rung] + future
            waiting = sum(c not in self._promoted[rung] for _, _, c in self._completed[rung])
            below = waiting + running[rung] + future
            limit = _INF if bound == _INF else bound // self.eta  # inf // eta is nan
            for pos, (_, _, config) in enumerate(self._ranked(rung)):
                if pos >= limit:
                    break
                if config not in self._promoted[rung]:
                    keep.add(self._job_at[(config, rung)])
        return keep

    def summary(self):
        """A plain dict for ``TunedGRU.oracle_summary_``."""
        return {"max_trials": self.max_trials, "rungs": list(self.rungs),
                "reduction_factor": self.eta,
                "budget_per_split": int(self.budget), "spent_per_split": int(self.spent),
                "jobs_per_rung": self.counts(), "continued": self.continued}
