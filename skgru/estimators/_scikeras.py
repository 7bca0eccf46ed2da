"""Repairs for SciKeras 0.13 on scikit-learn >= 1.6, in one place, each with its reason.

SciKeras (last released 2024) predates scikit-learn's ``__sklearn_tags__``:

* ``KerasClassifier(BaseWrapper, ClassifierMixin)`` puts ``BaseEstimator``
  before ``ClassifierMixin`` in the MRO, so ``ClassifierMixin.__sklearn_tags__``
  never runs: ``is_classifier()`` is False, ``cross_val_score`` does not
  stratify, ``VotingClassifier`` refuses the estimator, ``CalibratedClassifierCV``
  fails and sklearn runs none of its classifier checks.  The same holds for
  ``KerasRegressor``.  The functions below build the right tags explicitly.
* Its ``_more_tags`` is ignored by scikit-learn >= 1.6; the tags it meant to set
  (3D input, multi-output) are set here instead.
* SciKeras' ``random_state`` turns on process-wide op determinism; our estimators
  seed through :mod:`skgru._seeding` instead (see there).
* ``KerasClassifier.fit`` multiplies the user's ``sample_weight`` in place when
  ``class_weight`` is set; our ``fit`` never calls it (see ``skgru._base``).
* SciKeras pickles the whole Keras model through a ``.keras`` archive; our
  estimators pickle only the weights and the network spec (``__getstate__`` in
  ``skgru._base``), which also works for pooled models.

Checks that cannot pass while SciKeras' ``BaseWrapper`` is a base class are listed
in :data:`EXPECTED_FAILED_CHECKS` with the reason, for ``parametrize_with_checks``.
"""

from __future__ import annotations

from sklearn.utils import ClassifierTags, RegressorTags


def _sequence_input(tags):
    tags.input_tags.three_d_array = True
    tags.input_tags.two_d_array = True
    tags.input_tags.sparse = False
    tags.input_tags.allow_nan = False
    tags.target_tags.required = True
    return tags


def classifier_tags(tags):
    """Tags ClassifierMixin would have set, plus 3D input and multilabel support."""
    tags.estimator_type = "classifier"
    tags.classifier_tags = ClassifierTags(multi_class=True, multi_label=True)
    tags.regressor_tags = None
    tags.target_tags.multi_output = True
    return _sequence_input(tags)


def regressor_tags(tags):
    """Tags RegressorMixin would have set, plus 3D input and multi-output support."""
    tags.estimator_type = "regressor"
    tags.regressor_tags = RegressorTags()
    tags.classifier_tags = None
    tags.target_tags.multi_output = True
    tags.target_tags.single_output = True
    return _sequence_input(tags)


_BASEWRAPPER_MRO = (
    "SciKeras' KerasClassifier/KerasRegressor inherit (BaseWrapper, Mixin) with "
    "BaseWrapper deriving from BaseEstimator, so the mixin comes after BaseEstimator "
    "in every subclass's MRO; no subclass can reorder it (C3 linearisation)."
)
_BASEWRAPPER_MORE_TAGS = (
    "SciKeras' BaseWrapper defines _more_tags without __sklearn_tags__ in its own "
    "class body; the check inspects each class of the MRO, so a subclass cannot "
    "satisfy it (our tags come from __sklearn_tags__, which sklearn uses)."
)
_MINIBATCH_WEIGHTS = (
    "Minibatch SGD is not invariant to repeating a sample instead of weighting it: "
    "repeated samples change the number of batches and the update order, so the "
    "two fits differ (the same holds for sklearn's own SGD-based MLP)."
)

EXPECTED_FAILED_CHECKS = {
    "check_mixin_order": _BASEWRAPPER_MRO,
    "check_estimator_tags_renamed": _BASEWRAPPER_MORE_TAGS,
    "check_sample_weight_equivalence_on_dense_data": _MINIBATCH_WEIGHTS,
}
