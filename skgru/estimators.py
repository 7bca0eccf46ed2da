"""GRUClassifier and GRURegressor: thin sklearn estimators on SciKeras.

The parameters live here; the machinery lives in ``skgru._base`` (fit/predict),
``skgru._input`` (input conventions), ``skgru._network`` (the Keras network),
``skgru._targets`` (y encoding) and ``skgru._sklearn_compat`` (tags and repairs
for SciKeras on current scikit-learn).
"""

from __future__ import annotations

import numpy as np
from scikeras.wrappers import KerasClassifier, KerasRegressor
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.validation import check_is_fitted

from skgru._base import COMMON_CONSTRAINTS, GRUEstimatorMixin
from skgru._sklearn_compat import classifier_tags, regressor_tags
from skgru._targets import ClassTargets, RegressionTargets

_SHARED_PARAMS_DOC = """
    units : int or tuple of int, default=64
        Hidden units of each GRU layer; a tuple gives one size per layer (then
        ``n_layers`` must be 1 or equal its length).
    n_layers : int, default=1
        Number of stacked GRU layers when ``units`` is an int.
    dropout : float in [0, 1), default=0.0
        Fraction of each GRU layer's inputs dropped during training; also applied
        after the recurrent stack, before the head.
    recurrent_dropout : float in [0, 1), default=0.0
        Dropout on the recurrent state. Any value > 0 leaves the cuDNN kernel.
    bidirectional : bool, default=False
        Wrap each GRU layer in ``keras.layers.Bidirectional``.
    activation : str, default="tanh"
        Candidate-state activation (``"tanh"`` keeps cuDNN eligible).
    recurrent_activation : str, default="sigmoid"
        Gate activation (``"sigmoid"`` keeps cuDNN eligible).
    dense_units : None, int or tuple of int, default=None
        Hidden ReLU layers of the head between the GRU and the output layer.
    l2 : float >= 0, default=0.0
        L2 penalty on all kernels (input, recurrent, dense, embedding).
    embedding_dim : int or None, default=None
        When set, ``X`` holds integer token ids (0 = padding, masked) and an
        ``Embedding(vocab_size, embedding_dim)`` layer comes first.
    vocab_size : int or None, default=None
        Size of the token vocabulary; inferred as ``max(X) + 1`` in ``fit`` when None.
    mask_value : float or None, default=None
        Timesteps whose features all equal this value are skipped (padding). With
        None, arrays are not masked and variable-length lists are padded and
        masked internally.
    n_features : int or None, default=None
        Features per timestep of a flattened 2D ``X`` of shape
        ``(n_samples, n_timesteps * n_features)``, timestep-major. None: 2D input
        is one feature per timestep.
    input_layout : {"ntf", "nft"}, default="ntf"
        Axis order of 3D input: ``(samples, timesteps, features)`` or
        channels-first ``(samples, features, timesteps)`` as aeon/sktime use.
    optimizer : str, keras Optimizer class or instance, default="adam"
        Routed ``optimizer__<name>`` parameters are passed to its constructor.
    learning_rate : float > 0, default=0.001
        Ignored when ``optimizer`` is an instance (its own rate is used).
    clipnorm : float or None, default=None
        Clip each gradient to this norm.
    batch_size : int, default=32
        Minibatch size.
    epochs : int, default=100
        Maximum number of passes over the training data.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified for
        classifiers), stop when the validation loss has not improved by ``tol``
        for ``n_iter_no_change`` epochs, and restore the best weights. When False,
        training stops when the *training* loss stops improving, as in
        :class:`~sklearn.neural_network.MLPClassifier`.
    validation_fraction : float in (0, 1), default=0.1
        Held-out fraction for early stopping.
    n_iter_no_change : int, default=10
        Patience, in epochs.
    tol : float >= 0, default=1e-4
        Minimum loss improvement that counts.
    random_state : int, RandomState or None, default=None
        Seeds weight initialisation, dropout, shuffling and the validation split.
        The same seed gives the same predictions on CPU; the seed does not leak
        into the process's global random state.
    verbose : int, default=0
        Keras progress output (0 silent, 1 progress bar, 2 one line per epoch).
    callbacks : None, keras Callback or list, default=None
        Extra Keras callbacks for ``fit``.
    warm_start : bool, default=False
        When True and already fitted, ``fit`` continues training the current
        network for ``epochs`` more epochs instead of starting over.
    loss : str, callable or None, default=None
        Keras loss; None picks the right one for the target.
    metrics : list or None, default=None
        Keras metrics recorded in ``history_``.
"""

_FITTED_ATTRS_DOC = """
    model_ : keras.Model
        The trained network.
    history_ : dict of list
        Per-epoch Keras logs (``loss``, ``val_loss`` with early stopping, metrics).
    n_iter_ : int
        Epochs run.
    best_epoch_ : int
        1-based epoch whose weights the model holds (the best validation epoch with
        early stopping, else the last).
    n_features_in_ : int
        Number of columns of a 2D ``X`` (sklearn's meaning, what pipelines check);
        features per timestep for 3D or list input.
    feature_names_in_ : ndarray of str
        Column names, when ``X`` was a DataFrame with string column names.
    n_timesteps_ : int or None
        Sequence length seen in ``fit`` (None for variable-length input).
    n_features_per_step_ : int
        Features per timestep.
"""


class GRUClassifier(GRUEstimatorMixin, KerasClassifier):
    __doc__ = f"""GRU recurrent network classifier with a scikit-learn interface.

    Binary, multiclass (any label type) and multilabel targets; ``predict_proba``
    rows sum to 1. ``X`` may be 3D, 2D univariate, flattened 2D with
    ``n_features``, a list of variable-length sequences, channels-first with
    ``input_layout="nft"``, or token ids with ``embedding_dim``.

    Parameters
    ----------{_SHARED_PARAMS_DOC}    class_weight : dict, "balanced" or None, default=None
        Weights per class, multiplied into ``sample_weight``.

    Attributes
    ----------
    classes_ : ndarray
        Class labels (column indices for multilabel targets).{_FITTED_ATTRS_DOC}
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

    _parameter_constraints = {
        **COMMON_CONSTRAINTS,
        "class_weight": [None, dict, str],
    }

    def __init__(
        self,
        units=64,
        n_layers=1,
        dropout=0.0,
        recurrent_dropout=0.0,
        bidirectional=False,
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
        epochs=100,
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
        # SciKeras-style routed parameters (optimizer__beta_1=..., fit__shuffle=...)
        vars(self).update(kwargs)
        if kwargs:
            self._user_params = set(kwargs)

    # -- hooks for GRUEstimatorMixin
    def _make_targets(self, y, sample_weight, classes):
        return ClassTargets().fit(y, classes=classes)

    def _combined_weights(self, y, sample_weight):
        if self.class_weight is None:
            return sample_weight
        if isinstance(self.class_weight, str) and self.class_weight != "balanced":
            raise ValueError(f"class_weight must be None, a dict or 'balanced'; got {self.class_weight!r}.")
        y_arr = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
        if y_arr.ndim == 2 and y_arr.shape[1] == 1:
            y_arr = y_arr.ravel()
        cw = compute_sample_weight(self.class_weight, y_arr)
        return cw if sample_weight is None else sample_weight * cw

    @staticmethod
    def _stratify(y_enc):
        return y_enc if y_enc.ndim == 1 else None

    @property
    def classes_(self):
        check_is_fitted(self, "target_encoder_")
        return self.target_encoder_.classes_

    @classes_.setter
    def classes_(self, value):  # SciKeras assigns it; the encoder is the source of truth
        pass

    # -- public API
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

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train for one more epoch on ``(X, y)``, keeping the current weights.

        Parameters
        ----------
        X : array-like or list of arrays
            Training sequences.
        y : array-like of shape (n_samples,)
            Class labels.
        classes : array-like, default=None
            All classes, needed on the first call if ``y`` may not show them all.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights.

        Returns
        -------
        self : GRUClassifier
            The updated estimator.
        """
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
        return self.target_encoder_.probabilities(raw)

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
        return float(accuracy_score(y, self.predict(X), sample_weight=sample_weight))

    def __sklearn_tags__(self):
        return classifier_tags(super().__sklearn_tags__())


class GRURegressor(GRUEstimatorMixin, KerasRegressor):
    __doc__ = f"""GRU recurrent network regressor with a scikit-learn interface.

    Single- and multi-output targets. ``X`` conventions as for
    :class:`GRUClassifier`.

    Parameters
    ----------{_SHARED_PARAMS_DOC}    standardize_y : bool, default=True
        Train on standardised targets (predictions are mapped back), which makes
        the default learning rate work for targets of any scale.

    Attributes
    ----------{_FITTED_ATTRS_DOC}
    See Also
    --------
    GRUClassifier : The classification counterpart.

    Examples
    --------
    >>> import numpy as np
    >>> from skgru import GRURegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(40, 6))          # 40 univariate sequences of 6 steps
    >>> y = X.sum(axis=1)
    >>> reg = GRURegressor(units=8, epochs=3, random_state=0).fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints = {**COMMON_CONSTRAINTS, "standardize_y": ["boolean"]}

    def __init__(
        self,
        units=64,
        n_layers=1,
        dropout=0.0,
        recurrent_dropout=0.0,
        bidirectional=False,
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
        epochs=100,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        standardize_y=True,
        random_state=None,
        verbose=0,
        callbacks=None,
        warm_start=False,
        loss=None,
        metrics=None,
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
        self.standardize_y = standardize_y
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.loss = loss
        self.metrics = metrics
        vars(self).update(kwargs)
        if kwargs:
            self._user_params = set(kwargs)

    def _make_targets(self, y, sample_weight, classes):
        return RegressionTargets(standardize=self.standardize_y).fit(y, sample_weight)

    def _combined_weights(self, y, sample_weight):
        return sample_weight

    @staticmethod
    def _stratify(y_enc):
        return None

    def fit(self, X, y, sample_weight=None):
        """Fit the GRU network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps[, n_features]) or list of arrays
            Training sequences.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights; zero weight is the same as leaving the sample out.

        Returns
        -------
        self : GRURegressor
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, continue_training=self.warm_start)

    def partial_fit(self, X, y, sample_weight=None):
        """Train for one more epoch on ``(X, y)``, keeping the current weights.

        Parameters
        ----------
        X : array-like or list of arrays
            Training sequences.
        y : array-like
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights.

        Returns
        -------
        self : GRURegressor
            The updated estimator.
        """
        return self._fit(X, y, sample_weight, epochs=1, continue_training=True)

    def predict(self, X):
        """Predicted targets.

        Parameters
        ----------
        X : array-like or list of arrays
            Sequences, in the layout used in ``fit``.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictions, in the shape of the ``y`` seen in ``fit``.
        """
        raw = self._raw_predict(X)
        return self.target_encoder_.inverse(raw)

    def score(self, X, y, sample_weight=None):
        """Coefficient of determination R^2 of the prediction.

        Parameters
        ----------
        X : array-like or list of arrays
            Test sequences.
        y : array-like
            True targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            R^2 of ``self.predict(X)`` against ``y``.
        """
        return float(r2_score(y, self.predict(X), sample_weight=sample_weight))

    def __sklearn_tags__(self):
        return regressor_tags(super().__sklearn_tags__())
