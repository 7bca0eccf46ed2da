"""The SciKeras dependency, in one place: what SciKeras provides and what skgru replaces.

skgru's estimators are ``scikeras.wrappers.KerasClassifier`` / ``KerasRegressor``
subclasses (``isinstance`` holds, so code written for SciKeras accepts them).

What SciKeras provides and skgru keeps
    * the base classes and the public interface SciKeras documents: ``fit``,
      ``partial_fit``, ``initialize``, ``predict``, ``predict_proba``, ``score``,
      ``scorer``, ``current_epoch``, ``initialized_``, ``target_encoder`` /
      ``feature_encoder`` (unfitted sklearn transformers) and the fitted
      ``model_``, ``history_``, ``target_encoder_``, ``feature_encoder_``,
      ``n_outputs_expected_``, ``classes_``, ``n_classes_``, ``target_type_``,
      ``X_dtype_``, ``X_shape_``, ``y_dtype_``, ``y_ndim_``;
    * the routed-parameter convention ``optimizer__<arg>``, ``fit__<arg>``,
      ``predict__<arg>`` (the subset skgru honours is in ``_params.ROUTED``).

What skgru replaces (every public member above is implemented in skgru, which
``tests/test_scikeras_surface.py`` enumerates)
    * ``__init__`` (SciKeras' takes ``model``/``build_fn``; skgru's takes flat GRU
      parameters and raises TypeError for unknown keywords), ``_get_param_names``
      (SciKeras' counted every public attribute as a parameter) and
      ``set_params`` (its error message pointed at SciKeras' constructor);
    * ``fit`` and ``predict``: SciKeras' go through ``Model.fit``/``predict`` with
      tf.data (~0.1 s per call) and build a new model per fit (~0.8 s of tracing,
      ~15 MB never returned); skgru trains on borrowed engines
      (``skgru._keras.engines``) in its own loop (``skgru._keras.training``);
    * seeding: SciKeras' ``random_state`` turns on process-wide op determinism
      (later unseeded fits then fail); skgru seeds locally (``_seeding``);
    * ``class_weight``: ``KerasClassifier.fit`` multiplies the user's
      ``sample_weight`` in place; skgru never mutates it;
    * pickling: SciKeras saves a whole ``.keras`` archive; skgru saves the weights,
      the optimizer state and the network spec;
    * tags: SciKeras (last released 2024) predates ``__sklearn_tags__``.
      ``KerasClassifier(BaseWrapper, ClassifierMixin)`` puts ``BaseEstimator``
      before ``ClassifierMixin`` in the MRO, so ``is_classifier()`` is False,
      ``cross_val_score`` does not stratify, ``VotingClassifier`` refuses the
      estimator and sklearn runs none of its classifier checks; its ``_more_tags``
      is ignored by scikit-learn >= 1.6.  The functions below build the right tags.

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

_ROUTED_KWARGS = (
    "The check calls the constructor with every name of its signature, including "
    "`kwargs=<value>` for the `**kwargs` catch-all through which SciKeras' routed "
    "parameters (optimizer__*, fit__*, predict__*) arrive. skgru must accept those and "
    "raise TypeError for every other unknown keyword (a typo such as epoch=3 must not "
    "fit silently), so `kwargs=` is rejected; passing would mean dropping routed "
    "parameters or accepting a meaningless `kwargs` argument."
)

EXPECTED_FAILED_CHECKS = {
    "check_do_not_raise_errors_in_init_or_set_params": _ROUTED_KWARGS,
    "check_mixin_order": _BASEWRAPPER_MRO,
    "check_estimator_tags_renamed": _BASEWRAPPER_MORE_TAGS,
    "check_sample_weight_equivalence_on_dense_data": _MINIBATCH_WEIGHTS,
}
