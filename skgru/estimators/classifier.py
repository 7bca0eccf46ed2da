"""GRUClassifier: a GRU network classifier with a scikit-learn interface, on SciKeras."""

from __future__ import annotations

import numpy as np
from scikeras.wrappers import KerasClassifier
from sklearn.base import _fit_context
from sklearn.metrics import accuracy_score
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.validation import check_is_fitted

from skgru.estimators import _params
from skgru.estimators._architecture import ARCHITECTURE_ATTRS_DOC, ARCHITECTURE_PARAMS_DOC, ArchitectureMixin
from skgru.estimators._base import GRUEstimatorBase
from skgru.estimators._crops import CropMixin
from skgru.estimators._docs import FITTED_ATTRS_DOC, SHARED_PARAMS_DOC
from skgru.estimators._scikeras import classifier_tags
from skgru.estimators._targets import ClassTargets
from skgru._doc_links import DocLinkMixin


class GRUClassifier(CropMixin, ArchitectureMixin, DocLinkMixin, GRUEstimatorBase, KerasClassifier):
    __doc__ = f"""GRU recurrent network classifier with a scikit-learn interface.

    Binary, multiclass (any label type) and multilabel targets; ``predict_proba``
    rows sum to 1. ``X`` may be 3D, 2D univariate, flattened 2D with
    ``n_features``, a list of variable-length sequences, channels-first with
    ``input_layout="nft"``, or token ids with ``embedding_dim``.

    Parameters
    ----------{SHARED_PARAMS_DOC}{ARCHITECTURE_PARAMS_DOC.lstrip(chr(10))}    class_weight : dict, "balanced" or None, default=None
        Weights per class, multiplied into ``sample_weight``.
    crop_size : int, float in (0, 1) or None, default=None
        Train on random windows of the series ("window slicing") and predict by
        averaging the class probabilities over windows that cover each series.
        An int is the window length in steps, a float a fraction of the (padded)
        training length; None, or a window as long as the series, does not crop.
        Each training series gives ``ceil(4 * t / w)`` windows (seeded by
        ``random_state``); prediction reads windows at a stride of ``w // 2``
        over each series' valid steps, the last ending at its end. Padded
        steps never start a window; ``patch_size="auto"`` and the input
        statistics are computed on the windows, and an epoch reads every
        window (about 4x the steps of an epoch over the series).
        For long series with few training series per class, where every
        window shows the class: on PigCVP's training split (2 series of 2000
        steps per class) 250-step windows (``crop_size=0.125``) lifted 2-fold
        CV accuracy from 0.18 to 0.63. Where the class is one event in the
        series (Trace, sim-long-var) crops cost accuracy, so the default is
        None and ``TunedGRU()``'s default space searches it. Not fused in
        TunedGRU's fold-fused search (its folds are fitted separately).

    Attributes
    ----------
    classes_ : ndarray
        Class labels (column indices for multilabel targets).
    crop_size_ : int or None
        Window length in steps (``crop_size`` resolved; None: no cropping).{FITTED_ATTRS_DOC}{ARCHITECTURE_ATTRS_DOC.lstrip(chr(10))}
    See Also
    --------
    GRURegressor : The regression counterpart.
    skgru.TunedGRU : Hyperparameter search around either estimator.

    Examples
    --------
    >>> import numpy as np
    >>> from skgru import GRUClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(40, 5, 2))
    >>> y = (X[:, :, 0].sum(axis=1) > 0).astype(int)
    >>> clf = GRUClassifier(units=8, epochs=3, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    >>> clf.predict(X[:2]).shape
    (2,)
    """

    _parameter_constraints = dict(_params.CLASSIFIER_CONSTRAINTS)

    def __init__(
        self,
        units=64,
        n_layers=1,
        dropout=0.2,
        recurrent_dropout=0.0,
        bidirectional=True,
        activation="tanh",
        recurrent_activation="sigmoid",
        dense_units=None,
        l2=0.0,
        embedding_dim=None,
        vocab_size=None,
        mask_value=None,
        n_features=None,
        input_layout="ntf",
        optimizer="adam",
        learning_rate=0.001,
        clipnorm=None,
        batch_size=32,
        epochs="auto",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        class_weight=None,
        random_state=None,
        verbose=0,
        callbacks=None,
        warm_start=False,
        loss=None,
        metrics=None,
        patch_size="auto",
        pooling="auto",
        standardize_X=True,
        conv_filters=64,
        conv_kernel_size=5,
        min_updates=3000,
        linear_skip=None,
        fcn_branch=False,
        l1=0.0,
        lr_schedule=None,
        lr_decay=None,
        lr_patience=5,
        weight_decay=None,
        patch_mode="max",
        refit_all_rows=False,
        crop_size=None,
        gru_input="values",
        **kwargs,
    ):
        self.units = units
        self.n_layers = n_layers
        self.dropout = dropout
        self.recurrent_dropout = recurrent_dropout
        self.bidirectional = bidirectional
        self.activation = activation
        self.recurrent_activation = recurrent_activation
        self.dense_units = dense_units
        self.l2 = l2
        self.embedding_dim = embedding_dim
        self.vocab_size = vocab_size
        self.mask_value = mask_value
        self.n_features = n_features
        self.input_layout = input_layout
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.clipnorm = clipnorm
        self.batch_size = batch_size
        self.epochs = epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.class_weight = class_weight
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.loss = loss
        self.metrics = metrics
        self.patch_size = patch_size
        self.patch_mode = patch_mode
        self.refit_all_rows = refit_all_rows
        self.crop_size = crop_size
        self.gru_input = gru_input
        self.pooling = pooling
        self.standardize_X = standardize_X
        self.conv_filters = conv_filters
        self.conv_kernel_size = conv_kernel_size
        self.min_updates = min_updates
        self.linear_skip = linear_skip
        self.fcn_branch = fcn_branch
        self.l1 = l1
        self.lr_schedule = lr_schedule
        self.lr_decay = lr_decay
        self.lr_patience = lr_patience
        self.weight_decay = weight_decay
        # SciKeras-style routed parameters (optimizer__beta_1=..., fit__shuffle=...);
        # any other unknown keyword is a TypeError, as for any Python function.
        vars(self).update(_params.split_constructor_kwargs(type(self).__name__, kwargs))

    # -- hooks for GRUEstimatorBase
    def _make_targets(self, y, sample_weight, classes):
        targets = ClassTargets().fit(y, classes=classes)
        kind = "multilabel" if targets.target_type_ == "multilabel-indicator" else "single"
        if isinstance(self.loss, str) and self.loss not in _params.CLASSIFIER_LOSSES[kind]:
            raise ValueError(
                f"loss={self.loss!r} does not fit {targets.target_type_} targets; use one of "
                f"{sorted(_params.CLASSIFIER_LOSSES[kind])} (or None for the default)."
            )
        return targets

    def _encode_for_loss(self, targets, y_enc):
        if isinstance(self.loss, str) and self.loss.startswith("categorical_"):
            return np.eye(len(targets.classes_), dtype="float32")[y_enc]  # one-hot labels
        return y_enc

    def _combined_weights(self, y, sample_weight, targets):
        if self.class_weight is None:
            return sample_weight
        y_arr = np.asarray(y)
        if y_arr.ndim == 2 and y_arr.shape[1] == 1:
            y_arr = y_arr.ravel()
        if isinstance(self.class_weight, dict) and y_arr.ndim == 2:
            # sklearn's own message asks for a list of dicts, which the parameter's
            # validation then refuses: say what works instead
            raise ValueError(
                "class_weight as a dict is not supported for multilabel y (one dict cannot "
                "weight several labels): use class_weight='balanced', which weights each "
                "label's classes, or pass sample_weight.")
        if isinstance(self.class_weight, dict):
            _check_class_weight_dict(self.class_weight, targets.classes_)
        if (isinstance(self.class_weight, str) and sample_weight is not None
                and y_arr.ndim == 1):
            cw = _balanced_weights(y_arr, np.asarray(sample_weight, dtype=float))
        else:
            cw = compute_sample_weight(self.class_weight, y_arr)
        return cw if sample_weight is None else sample_weight * cw

    @staticmethod
    def _stratify(y_enc):
        if y_enc.ndim == 1:
            return y_enc
        return None

    # -- SciKeras surface
    @property
    def target_encoder(self):
        """A new, unfitted label encoder for ``y`` (the fitted one is ``target_encoder_``)."""
        return ClassTargets()

    @staticmethod
    def scorer(y_true, y_pred, **kwargs) -> float:
        """Accuracy, the scoring function ``score`` uses (SciKeras' ``scorer``).

        Parameters
        ----------
        y_true, y_pred : array-like
            True and predicted labels.
        **kwargs : dict
            Passed to :func:`sklearn.metrics.accuracy_score`.

        Returns
        -------
        score : float
        """
        return float(accuracy_score(y_true, y_pred, **kwargs))

    @property
    def classes_(self):
        """Class labels (column indices for multilabel targets)."""
        check_is_fitted(self, "target_encoder_")
        return self.target_encoder_.classes_

    @property
    def n_classes_(self):
        """Number of classes (labels for multilabel targets)."""
        return len(self.classes_)

    @property
    def target_type_(self):
        """sklearn's ``type_of_target`` of the ``y`` seen in ``fit``."""
        check_is_fitted(self, "target_encoder_")
        return self.target_encoder_.target_type_

    # -- public API
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the GRU network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps[, n_features]) or list of arrays
            Training sequences (see the class docstring for accepted layouts).
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a binary indicator matrix for multilabel targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights; zero weight is the same as leaving the sample out.

        Returns
        -------
        self : GRUClassifier
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, continue_training=self.warm_start)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train for one more epoch on ``(X, y)``, keeping the current weights.

        Parameters
        ----------
        X : array-like or list of arrays
            Training sequences.
        y : array-like of shape (n_samples,)
            Class labels.
        classes : array-like, default=None
            All classes, needed on the first call if ``y`` may not show them all;
            on later calls, if given, they must be the fitted ``classes_``.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights.

        Returns
        -------
        self : GRUClassifier
            The updated estimator.

        Raises
        ------
        ValueError
            With ``early_stopping=True`` (as scikit-learn's ``MLPClassifier``), or
            ``classes`` other than the fitted ``classes_``.
        """
        self._check_partial_fit()
        if classes is not None and hasattr(self, "classes_"):
            # sklearn's _check_partial_fit_first_call: other classes were silently ignored
            if not np.array_equal(np.unique(np.asarray(classes)), np.unique(self.classes_)):
                raise ValueError(f"classes={list(np.asarray(classes))!r} is not the same as on the "
                                 f"first call to fit or partial_fit, {list(self.classes_)!r}.")
        return self._fit(X, y, sample_weight, epochs=1, classes=classes, continue_training=True)

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like or list of arrays
            Sequences, in the layout used in ``fit``.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Rows sum to 1 (independent label probabilities for multilabel targets).
        """
        raw = self._raw_predict(X)
        return self.target_encoder_.inverse_transform(raw, return_proba=True)

    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : array-like or list of arrays
            Sequences, in the layout used in ``fit``.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Labels of the type seen in ``fit``.
        """
        proba = self.predict_proba(X)
        return self.target_encoder_.labels(proba)

    def score(self, X, y, sample_weight=None):
        """Mean accuracy (subset accuracy for multilabel targets).

        Parameters
        ----------
        X : array-like or list of arrays
            Test sequences.
        y : array-like
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            Accuracy of ``self.predict(X)`` against ``y``.
        """
        return self.scorer(y, self.predict(X), sample_weight=sample_weight)

    def __sklearn_tags__(self):
        return classifier_tags(super().__sklearn_tags__())




def _check_class_weight_dict(class_weight: dict, classes) -> None:
    """Negative or NaN weights used to drop a class silently; unknown keys were ignored."""
    known = set(np.asarray(classes).tolist())
    unknown = [k for k in class_weight if k not in known]
    if unknown:
        raise ValueError(
            f"class_weight has entries for classes not in y: {unknown[:5]!r}; the classes are "
            f"{sorted(known, key=str)!r}."
        )
    for label, weight in class_weight.items():
        try:
            w = float(weight)
        except (TypeError, ValueError):
            raise TypeError(f"class_weight[{label!r}] must be a number; got {weight!r}.") from None
        if not np.isfinite(w) or w < 0:
            raise ValueError(
                f"class_weight[{label!r}] = {weight!r}: class weights must be finite and >= 0 "
                "(0 drops the class's samples explicitly)."
            )


def _balanced_weights(y, sample_weight):
    """``class_weight="balanced"`` per sample, with the classes counted by their
    ``sample_weight`` (as scikit-learn's ``LogisticRegression`` counts them): a row
    of weight 0 is then the same as a row left out.  Counting rows instead gave
    0.67 : 2 where leaving the rows out gives 1 : 1 (30/10 rows, 20 zero-weighted).
    A class whose rows all weigh 0 gets 0 (its rows are out anyway)."""
    classes, index = np.unique(y, return_inverse=True)
    counts = np.bincount(index, weights=sample_weight, minlength=len(classes))
    present = counts > 0
    weights = np.zeros(len(classes))
    weights[present] = counts.sum() / (present.sum() * counts[present])
    return weights[index]
