"""skgru: GRU recurrent networks as first-class scikit-learn estimators.

Public names
------------
GRUClassifier, GRURegressor
    SciKeras-based estimators; every GRU hyperparameter is a flat parameter.
TunedGRU
    A KerasTuner-backed hyperparameter search that is itself an estimator
    (needs the ``tuner`` extra; imported lazily).
skgru.preprocessing
    SequenceScaler, SequencePadder, TextSequencer, make_windows.
"""

from skgru._version import __version__
from skgru.estimators import GRUClassifier, GRURegressor

__all__ = ["GRUClassifier", "GRURegressor", "TunedGRU", "__version__"]


def __getattr__(name):
    # TunedGRU pulls in keras-tuner (an optional extra): import it only on demand.
    if name == "TunedGRU":
        from skgru.tuning import TunedGRU

        return TunedGRU
    raise AttributeError(f"module 'skgru' has no attribute {name!r}")
