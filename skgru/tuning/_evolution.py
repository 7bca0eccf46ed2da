"""A seeded evolutionary search, written as a KerasTuner ``Oracle``."""

from __future__ import annotations

import random

import numpy as np

from skgru._keras.private import (
    kt_hyperparameters_module,
    kt_is_duplicate,
    kt_max_collisions,
    kt_oracle_module,
    kt_random_values,
    kt_trial_module,
)

hp_module = kt_hyperparameters_module()
oracle_module = kt_oracle_module()
trial_module = kt_trial_module()

__all__ = ["EvolutionOracle"]

_COMPLETED = trial_module.TrialStatus.COMPLETED
_RUNNING = trial_module.TrialStatus.RUNNING
_STOPPED = trial_module.TrialStatus.STOPPED


class EvolutionOracle(oracle_module.Oracle):
    """Steady-state genetic search (tournament selection, crossover, mutation,
    elitism) as a KerasTuner ``Oracle``.

    The first ``population_size`` trials are random.  After that, every new
    trial is a child: two parents are picked by tournament selection from the
    current population, their values are mixed by uniform crossover (with
    probability ``crossover_rate``, else the child copies the first parent),
    then each hyperparameter mutates with probability ``mutation_rate``
    (numeric hyperparameters and ordered choices move by a Gaussian step of
    ``mutation_scale`` in KerasTuner's [0, 1) probability space; unordered
    choices and booleans are resampled).  A child always differs from every
    configuration already tried (extra mutations are applied if needed).

    The population is the ``elitism`` best completed trials plus the most
    recent completed trials up to ``population_size`` ("aging" as in
    regularized evolution, Real et al. 2019), so the search keeps exploring
    while never losing its best configurations.  Failed trials never become
    parents.

    Every random draw comes from ``random.Random(f"{seed}-{trial_id}")``: the
    search is reproducible for a given seed and history, and stateless (safe to
    replay for resuming).  Conditional hyperparameters are supported: only
    active values are populated, inactive parent genes are sampled fresh.

    Parameters
    ----------
    objective, max_trials, seed, hyperparameters, allow_new_entries, \
tune_new_entries, max_retries_per_trial, max_consecutive_failed_trials :
        As for ``keras_tuner.Oracle``.
    population_size : int, default=10
    tournament_size : int, default=3
    mutation_rate : float, default=0.2
        Per-hyperparameter mutation probability.
    mutation_scale : float, default=0.15
        Standard deviation of numeric mutations in probability space.
    crossover_rate : float, default=0.5
    elitism : int, default=1
        Number of best trials always kept in the population.
    """

    def __init__(
        self,
        objective=None,
        max_trials=10,
        population_size=10,
        tournament_size=3,
        mutation_rate=0.2,
        mutation_scale=0.15,
        crossover_rate=0.5,
        elitism=1,
        seed=None,
        hyperparameters=None,
        allow_new_entries=True,
        tune_new_entries=True,
        max_retries_per_trial=0,
        max_consecutive_failed_trials=3,
    ):
        super().__init__(
            objective=objective,
            max_trials=max_trials,
            hyperparameters=hyperparameters,
            allow_new_entries=allow_new_entries,
            tune_new_entries=tune_new_entries,
            seed=seed,
            max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials,
        )
        if int(population_size) < 2:
            raise ValueError(f"population_size must be >= 2, got {population_size}.")
        if int(tournament_size) < 1:
            raise ValueError(f"tournament_size must be >= 1, got {tournament_size}.")
        for name, val in (("mutation_rate", mutation_rate),
                          ("crossover_rate", crossover_rate)):
            if not 0.0 <= float(val) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {val}.")
        if not 0 <= int(elitism) < int(population_size):
            raise ValueError(
                f"elitism must be in [0, population_size), got {elitism}."
            )
        self.population_size = int(population_size)
        self.tournament_size = int(tournament_size)
        self.mutation_rate = float(mutation_rate)
        self.mutation_scale = float(mutation_scale)
        self.crossover_rate = float(crossover_rate)
        self.elitism = int(elitism)

    # -- the GA --------------------------------------------------------------
    def _completed(self):
        order = [tid for tid in self.end_order if tid in self.trials]
        trials = [self.trials[tid] for tid in order]
        return [t for t in trials if t.status == _COMPLETED and t.score is not None
                and np.isfinite(t.score)]

    def _sign(self):
        return 1.0 if self.objective.direction == "max" else -1.0

    def population(self):
        """The current population: elites + most recent completed trials."""
        done = self._completed()
        sign = self._sign()
        elites = sorted(done, key=lambda t: -sign * t.score)[: self.elitism]
        ids = {t.trial_id for t in elites}
        recent = [t for t in reversed(done) if t.trial_id not in ids]
        recent = recent[: self.population_size - len(elites)]
        return elites + recent

    def _tournament(self, rng, population):
        k = min(self.tournament_size, len(population))
        contenders = rng.sample(population, k)
        sign = self._sign()
        return max(contenders, key=lambda t: sign * t.score)

    def _mutate_value(self, rng, hp, value):
        if isinstance(hp, hp_module.Fixed):
            return hp.value
        numeric = isinstance(hp, (hp_module.Int, hp_module.Float)) or (
            isinstance(hp, hp_module.Choice) and hp.ordered
        )
        if numeric and value is not None:
            try:
                prob = hp.value_to_prob(value)
            except Exception:  # value outside the current range
                prob = rng.random()
            prob = prob + rng.gauss(0.0, self.mutation_scale)
            prob = min(max(prob, 0.0), 1.0 - 1e-9)
            new = hp.prob_to_value(prob)
            if new == value:  # a step too small to move: resample
                new = hp.prob_to_value(rng.random())
            return new
        return hp.prob_to_value(rng.random())

    def _child(self, rng, parent_a, parent_b, force_mutations):
        va = parent_a.hyperparameters.values
        vb = parent_b.hyperparameters.values
        cross = rng.random() < self.crossover_rate
        hps = hp_module.HyperParameters()
        space = list(self.hyperparameters.space)
        forced = set()
        if force_mutations:
            mutable = [hp.name for hp in space if not isinstance(hp, hp_module.Fixed)]
            if mutable:
                forced = set(rng.sample(mutable, min(force_mutations, len(mutable))))
        for hp in space:
            hps.merge([hp])
            if not hps.is_active(hp):
                continue
            src = vb if (cross and rng.random() < 0.5) else va
            if hp.name in src:
                value = src[hp.name]
            elif hp.name in va:
                value = va[hp.name]
            else:
                value = hp.prob_to_value(rng.random())
            if hp.name in forced or rng.random() < self.mutation_rate:
                value = self._mutate_value(rng, hp, value)
            hps.values[hp.name] = value
        hps.ensure_active_values()
        return hps.values

    def populate_space(self, trial_id):
        population = self.population()
        started = len(self.start_order)
        if started < self.population_size or len(population) < 2:
            values = kt_random_values(self)
            if values is None:
                return {"status": _STOPPED, "values": None}
            return {"status": _RUNNING, "values": values}

        rng = random.Random(f"{self.seed}-{trial_id}")
        for attempt in range(kt_max_collisions(self) + 1):
            parent_a = self._tournament(rng, population)
            parent_b = self._tournament(rng, population)
            values = self._child(rng, parent_a, parent_b, force_mutations=attempt)
            if not kt_is_duplicate(self, values):
                return {"status": _RUNNING, "values": values}
        values = kt_random_values(self)
        if values is None:
            return {"status": _STOPPED, "values": None}
        return {"status": _RUNNING, "values": values}

    def get_state(self):
        state = super().get_state()
        state.update(
            {
                "population_size": self.population_size,
                "tournament_size": self.tournament_size,
                "mutation_rate": self.mutation_rate,
                "mutation_scale": self.mutation_scale,
                "crossover_rate": self.crossover_rate,
                "elitism": self.elitism,
            }
        )
        return state

    def set_state(self, state):
        super().set_state(state)
        for key in ("population_size", "tournament_size", "mutation_rate",
                    "mutation_scale", "crossover_rate", "elitism"):
            setattr(self, key, state[key])
