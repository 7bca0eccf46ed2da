"""scikit-learn's own estimator checks on TunedGRU, around a classifier and a regressor.

Tiny and fast: a single trial (``max_trials=1``) of an 8-unit GRU, few epochs, yet
able to reach the minimum scores sklearn's checks demand of a classifier (0.83
accuracy) and of a regressor (R^2 > 0.5): measured on sklearn's toy problems,
``GRURegressor(units=8, epochs=40, learning_rate=0.03)`` passes
``check_regressors_train`` where ``epochs=30, learning_rate=0.01`` does not.

No expected failures: every check passes.  Should one ever need listing, it goes
in ``EXPECTED_FAILED_CHECKS`` with the reason no code of ours can fix it.
"""

import pytest

pytest.importorskip("keras_tuner")

from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from skgru import GRUClassifier, GRURegressor  # noqa: E402
from skgru.tuning import TunedGRU  # noqa: E402

EXPECTED_FAILED_CHECKS = {}

CHECKED = [
    TunedGRU(GRUClassifier(units=8, epochs=20, learning_rate=0.01, random_state=0),
             {"units": [8]}, max_trials=1, random_state=0),
    TunedGRU(GRURegressor(units=8, epochs=40, learning_rate=0.03, random_state=0),
             {"units": [8]}, max_trials=1, random_state=0),
]


@parametrize_with_checks(CHECKED, expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS)
def test_tuned_gru_is_a_sklearn_estimator(estimator, check):
    check(estimator)
