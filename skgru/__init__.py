"""skgru: GRU recurrent networks as first-class scikit-learn estimators.

Public names
------------
GRUClassifier, GRURegressor
    SciKeras-based estimators; every GRU hyperparameter is a flat parameter.
TunedGRU
    A KerasTuner-backed hyperparameter search that is itself an estimator
    (needs the ``tuner`` extra; imported lazily).
ConformalRegressor
    Prediction intervals (split conformal, CV+, conformalised quantiles) around
    any skgru regressor.
skgru.preprocessing
    SequenceScaler, SequencePadder, TextSequencer, make_windows.
"""

# Before anything imports TensorFlow: keep its native logging quiet unless the user set
# TF_CPP_MIN_LOG_LEVEL or SKGRU_TF_LOGGING=1 (see skgru/_quiet.py for why and how).
from skgru import _quiet

_quiet.configure()

from skgru._version import __version__  # noqa: E402
from skgru.conformal import ConformalRegressor  # noqa: E402
from skgru.estimators import GRUClassifier, GRURegressor  # noqa: E402

__all__ = ["ConformalRegressor", "GRUClassifier", "GRURegressor", "TunedGRU", "__version__"]


def __getattr__(name):
    # TunedGRU pulls in keras-tuner (an optional extra): import it only on demand.
    if name == "TunedGRU":
        from skgru.tuning import TunedGRU

        return TunedGRU
    raise AttributeError(f"module 'skgru' has no attribute {name!r}")
