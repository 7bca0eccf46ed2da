"""scikit-learn's own estimator checks on both estimators.

Expected failures are only those no code of ours can fix; each carries its reason
(see skgru.estimators._scikeras.EXPECTED_FAILED_CHECKS).
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skgru import GRUClassifier, GRURegressor
from skgru.estimators._scikeras import EXPECTED_FAILED_CHECKS

# Small, fast, but able to learn sklearn's toy problems (its checks require a minimum score).
CHECKED = [
    GRUClassifier(units=16, epochs=30, learning_rate=0.01, random_state=0),
    GRURegressor(units=16, epochs=60, learning_rate=0.01, early_stopping=False, random_state=0),
]


@parametrize_with_checks(CHECKED, expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
