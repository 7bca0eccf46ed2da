"""The estimators: GRUClassifier and GRURegressor (SciKeras subclasses).

Layout: ``classifier.py`` / ``regressor.py`` hold the parameters, docs and the
public methods; ``_base.py`` the fit template (validate -> initialize -> train ->
record); ``_params.py`` the parameter constraints and what they derive;
``_features.py`` / ``_targets.py`` the X / y encoders; ``_seeding.py`` the seeds;
``_scikeras.py`` what SciKeras provides and what skgru replaces.
"""

from skgru.estimators.classifier import GRUClassifier
from skgru.estimators.regressor import GRURegressor

__all__ = ["GRUClassifier", "GRURegressor"]
