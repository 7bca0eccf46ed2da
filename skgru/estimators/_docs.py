"""Parameter and attribute documentation shared by GRUClassifier and GRURegressor."""

SHARED_PARAMS_DOC = """
    units : int or tuple of int, default=64
        Hidden units of each GRU layer; a tuple gives one size per layer (then
        ``n_layers`` must be 1 or equal its length).
    n_layers : int, default=1
        Number of stacked GRU layers when ``units`` is an int.
    dropout : float in [0, 1), default=0.2 (classifier), 0.0 (regressor)
        Fraction of each GRU layer's inputs dropped during training; also applied
        after the recurrent stack, before the head. The classifier's 0.2 was chosen
        by cross-validation on the training splits of eleven offline sets, three
        seeds (mean accuracy 0.904, against 0.901 with 0.1 and 0.889 without; no
        set more than 0.007 lower than with either: benchmarks/README.md, "Round 11").
    recurrent_dropout : float in [0, 1), default=0.0
        Dropout on the recurrent state. Any value > 0 leaves the cuDNN kernel.
    bidirectional : bool, default=True (classifier), False (regressor)
        Wrap each GRU layer in ``keras.layers.Bidirectional``: a second GRU reads
        the series backwards and the two directions' outputs are concatenated.
        The classifier's True was chosen by cross-validation on the training
        splits of eleven offline sets, three seeds (mean accuracy 0.910 against
        0.901; no set more than 0.007 lower) at about 1.7x the fit time
        (benchmarks/README.md, "Round 13"). A whole series is known when it is
        classified, so both directions can be read.
    activation : str, default="tanh"
        Candidate-state activation, a Keras activation name (``"tanh"`` keeps
        cuDNN eligible); an unknown name raises a ValueError listing the valid ones.
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
        A Keras optimizer name ("adam", "adamw", "sgd", "rmsprop", "nadam", ...;
        an unknown name raises a ValueError listing them), class or instance.
        Routed ``optimizer__<name>`` parameters are passed to its constructor,
        e.g. ``optimizer="sgd", optimizer__momentum=0.9, optimizer__nesterov=True``.
    learning_rate : float > 0, default=0.001
        Ignored when ``optimizer`` is an instance (its own rate is used).
    clipnorm : float or None, default=None
        Clip each gradient to this norm.
    batch_size : int, default=32
        Minibatch size.
    epochs : int or "auto", default="auto"
        Maximum number of passes over the training data. ``"auto"``: 100, or
        more on small training sets so that ``min_updates`` optimizer updates fit
        in (see ``min_updates``).
    early_stopping : bool, default=False (classifier), True (regressor)
        Hold out ``validation_fraction`` of the training data (stratified for
        classifiers), stop when the validation loss has not improved by ``tol``
        for ``n_iter_no_change`` epochs, and restore the best weights. When False,
        training stops when the *training* loss stops improving, as in
        :class:`~sklearn.neural_network.MLPClassifier`.
    validation_fraction : float in (0, 1), default=0.1 (classifier), 0.2 (regressor)
        Held-out fraction for early stopping.
    refit_all_rows : bool, default=False (classifier), True (regressor)
        With ``early_stopping``, train once more from the same starting weights
        on *all* training rows (the validation rows included) for the number of
        epochs the validation split chose; the stopping rule is not applied
        again. On 50-100 series, 20% held out is a fifth of the data lost for
        the final model (issue 12). Costs a second training; no effect without
        ``early_stopping`` or on a ``warm_start``/``partial_fit`` continuation.
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
        Keras loss; None picks the right one for the target. Names are checked
        against the losses that fit the target encoding (see each estimator).
    metrics : list or None, default=None
        Keras metrics recorded in ``history_``.
"""

# -- issue 18: training knobs (kept as one block; appended to the shared parameters)
TRAINING_KNOBS_DOC = """    l1 : float >= 0, default=0.0
        L1 penalty on the same kernels as ``l2``; with both > 0 the penalty is an
        elastic net (``keras.regularizers.L1L2``). Drives small weights to zero.
    lr_schedule : {None, "cosine", "exponential", "plateau"}, default=None
        How the learning rate changes from epoch to epoch (epochs counted over
        the estimator's life: ``warm_start`` fits and ``partial_fit`` calls
        continue the schedule). With ``r = learning_rate``, epoch ``e`` (from 0)
        and ``d = lr_decay``:

        - None: ``r`` throughout.
        - ``"exponential"``: ``r * d**(e / s)``, with ``s = 1`` unless
          ``min_updates`` raised the stopping rule's patience on a small
          training set, then the factor it was raised by (28 rows with batch
          32: ``s = 30``), so that the decay follows updates as the patience does.
        - ``"cosine"``: ``r * (d + (1 - d) * (1 + cos(pi * e / (epochs - 1))) / 2)``,
          from ``r`` at the first epoch to its minimum ``d * r`` at the last
          planned epoch (``epochs``); later epochs stay at ``d * r``.
        - ``"plateau"``: ``r``, multiplied by ``d`` whenever ``lr_patience``
          epochs in a row have not improved the quantity the stopping rule
          watches (``val_loss`` with ``early_stopping``, else ``loss``) by more
          than ``tol``. Keep ``lr_patience < n_iter_no_change`` so that the rate
          drops before training stops.

        The rate of every epoch is recorded in ``history_["learning_rate"]``.
    lr_decay : float in (0, 1] or None, default=None
        The factor of the schedule: per epoch for ``"exponential"`` (None: 0.95),
        per plateau for ``"plateau"`` (None: 0.1), the final rate as a fraction
        of ``learning_rate`` for ``"cosine"`` (None: 0.01). Unused without a
        schedule.
    lr_patience : int >= 1, default=5
        Epochs without improvement before ``"plateau"`` lowers the rate. Where
        ``min_updates`` raises the stopping rule's patience (small training sets),
        ``lr_patience`` is raised in the same proportion, so that both count
        updates: on 28 rows with batch 32, ``n_iter_no_change=10`` becomes 300
        epochs and ``lr_patience=5`` becomes 150.
    weight_decay : float >= 0 or None, default=None
        Decoupled (AdamW-style) weight decay: each step multiplies every
        trainable weight by ``1 - weight_decay * rate``, apart from the gradient
        (so it follows ``lr_schedule``). Applied by every Keras optimizer except
        ``"ftrl"``, which raises a ValueError. None keeps the optimizer's default
        (``"adamw"``: 0.004, the others: none); ``optimizer__weight_decay``
        takes precedence.
"""
SHARED_PARAMS_DOC = SHARED_PARAMS_DOC + TRAINING_KNOBS_DOC


FITTED_ATTRS_DOC = """
    model_ : keras.Model
        The trained network.
    history_ : dict of list
        Per-epoch Keras logs (``loss``, ``val_loss`` with early stopping, metrics)
        and the ``learning_rate`` each epoch used.
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
    feature_encoder_ : SequenceEncoder
        Fitted transformer from ``X`` to the network's input array.
    target_encoder_ : transformer
        Fitted transformer from ``y`` to the network's targets (and back).
    n_outputs_expected_ : int
        Number of network outputs (SciKeras' meaning: always 1 here).
    X_dtype_, X_shape_, y_dtype_, y_ndim_
        Dtype/shape of the training data seen in ``fit`` (as in SciKeras).
"""


