"""Hyperparameter search for skgru estimators, driven by KerasTuner oracles.

``TunedGRU`` is an sklearn estimator that runs the search in ``fit``;
``EvolutionOracle`` is a seeded genetic search usable as ``tuner=``.
Needs the ``tuner`` extra (``pip install 'skgru[tuner]'``).

Both names are imported on first access: ``EvolutionOracle`` subclasses a
KerasTuner class, and ``skgru.parallel`` imports :mod:`skgru.tuning._dask`
without needing keras-tuner.
"""

__all__ = ["TunedGRU", "EvolutionOracle"]


def __getattr__(name):
    if name == "TunedGRU":
        from skgru.tuning._tuned import TunedGRU

        return TunedGRU
    if name == "EvolutionOracle":
        from skgru.tuning._oracles import import_kt

        import_kt()  # the install hint if keras-tuner is missing
        from skgru.tuning._evolution import EvolutionOracle

        return EvolutionOracle
    raise AttributeError(f"module 'skgru.tuning' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
