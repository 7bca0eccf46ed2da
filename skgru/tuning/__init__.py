"""Hyperparameter search for skgru estimators, driven by KerasTuner oracles.

``TunedGRU`` is an sklearn estimator that runs the search in ``fit``;
``EvolutionOracle`` is a seeded genetic search usable as ``tuner=``.
Needs the ``tuner`` extra (``pip install 'skgru[tuner]'``).
"""

from skgru.tuning._evolution import EvolutionOracle
from skgru.tuning._tuned import TunedGRU

__all__ = ["TunedGRU", "EvolutionOracle"]
