"""The allow-list: every class a skgru archive may name, resolved by table lookup.

A name in a file is looked up in :data:`ESTIMATORS` (a fixed dict); a name that is
not there is a ValueError.  Nothing is ever imported from a path written in a
file: each entry's module is a constant of this table.
"""

from __future__ import annotations

import importlib

# public name written in the file -> (module to import, attribute)
ESTIMATORS = {
    "skgru.GRUClassifier": ("skgru.estimators", "GRUClassifier"),
    "skgru.GRURegressor": ("skgru.estimators", "GRURegressor"),
    "skgru.TunedGRU": ("skgru.tuning", "TunedGRU"),
    "skgru.ConformalRegressor": ("skgru.conformal", "ConformalRegressor"),
    "skgru.preprocessing.SequenceScaler": ("skgru.preprocessing", "SequenceScaler"),
    "skgru.preprocessing.SequencePadder": ("skgru.preprocessing", "SequencePadder"),
    "skgru.preprocessing.TextSequencer": ("skgru.preprocessing", "TextSequencer"),
    # scikit-learn objects whose whole state is parameters + arrays
    "sklearn.pipeline.Pipeline": ("sklearn.pipeline", "Pipeline"),
    "sklearn.preprocessing.StandardScaler": ("sklearn.preprocessing", "StandardScaler"),
    "sklearn.preprocessing.MinMaxScaler": ("sklearn.preprocessing", "MinMaxScaler"),
    "sklearn.preprocessing.MaxAbsScaler": ("sklearn.preprocessing", "MaxAbsScaler"),
    "sklearn.preprocessing.RobustScaler": ("sklearn.preprocessing", "RobustScaler"),
    "sklearn.preprocessing.Normalizer": ("sklearn.preprocessing", "Normalizer"),
    "sklearn.preprocessing.FunctionTransformer": ("sklearn.preprocessing", "FunctionTransformer"),
    "sklearn.decomposition.PCA": ("sklearn.decomposition", "PCA"),
}

# skgru classes that skops must be told to trust (their defining modules)
SKOPS_CLASSES = (
    "skgru.GRUClassifier",
    "skgru.GRURegressor",
    "skgru.TunedGRU",
    "skgru.ConformalRegressor",
    "skgru.preprocessing.SequenceScaler",
    "skgru.preprocessing.SequencePadder",
    "skgru.preprocessing.TextSequencer",
)


def resolve(name):
    """The class registered as ``name``; anything else is a ValueError."""
    if not isinstance(name, str) or name not in ESTIMATORS:
        raise ValueError(
            f"The file names the class {name!r}, which is not in skgru.io's allow-list; "
            "refusing to load it (the file may have been edited to point at other code). "
            f"Allowed: {sorted(ESTIMATORS)}."
        )
    module, attr = ESTIMATORS[name]
    try:
        return getattr(importlib.import_module(module), attr)
    except ImportError as exc:  # TunedGRU needs the tuner extra
        raise ImportError(f"Loading {name} needs {exc.name!r}: pip install skgru[tuner].") from exc


def name_of(obj):
    """The registered name of ``obj``'s class, or None (exact class match only)."""
    cls = type(obj)
    for name, (module, attr) in ESTIMATORS.items():
        if cls.__name__ == attr and (cls.__module__ == module or cls.__module__.startswith(module + ".")):
            if resolve(name) is cls:
                return name
    return None
