"""The fit / predict template shared by GRUClassifier and GRURegressor.

One explicit sequence, in the spirit of skorch's initialise-then-fit and
imbalanced-learn's template method.  Each step takes values and returns values;
nothing is written to ``self`` before the last step, so a fit that raises leaves
the estimator exactly as it was:

1. **validate** (:meth:`GRUEstimatorBase._validate_fit_data`): parameters
   (``_parameter_constraints`` via ``_fit_context``), routed parameters, ``X``
   (``skgru._sequences`` through the feature encoder), ``y`` (the target encoder),
   ``sample_weight`` and ``class_weight`` -> :class:`FitData`;
2. **initialize** (:meth:`GRUEstimatorBase._initialize_network`): the network spec,
   the compile configuration and the estimator's *own* Keras model -> :class:`Network`;
3. **train** (:meth:`GRUEstimatorBase._train_network`): borrow a compiled engine
   (``skgru._keras.engines``), load the own weights, run the epoch loop with the
   stopping rule, store the result back into the own model -> :class:`TrainResult`;
4. **record** (:meth:`GRUEstimatorBase._record`): set the fitted attributes.

Ownership (see ``skgru._keras.engines``): ``model_`` belongs to its estimator
alone; engines are borrowed for one call and never stored on the estimator.
"""

from __future__ import annotations

import contextlib
import inspect
import time
import warnings
from dataclasses import dataclass, field

import keras
import numpy as np
from sklearn.base import BaseEstimator, is_regressor
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import _check_feature_names, _check_sample_weight, _get_feature_names, check_is_fitted

from skgru._keras import engines, training
from skgru._keras.batch_norm import recalibrate_batch_norm
from skgru._keras.devices import visible_gpus
from skgru._keras.network import NetworkSpec, build_network, cudnn_eligible
from skgru._keras.stopping import EpochTracker
from skgru.estimators import _params, _persistence, _training_knobs
from skgru.estimators._features import SequenceEncoder
from skgru.estimators._seeding import FitSeeds

# Which rows a regressor holds out for early stopping: "random" (a seeded draw, as
# scikit-learn's MLPRegressor does) or "last" (the final ``validation_fraction`` of the
# rows, Keras's ``validation_split``). A benchmark constant (benchmarks/README.md, round 13).
VALIDATION_ROWS = "random"


@dataclass
class FitData:
    """Step 1's output: validated, converted training data."""

    X: np.ndarray
    y: np.ndarray  # encoded targets
    sample_weight: np.ndarray | None
    features: SequenceEncoder
    targets: object
    feature_names: np.ndarray | None
    X_raw_dtype: object
    X_shape: tuple  # of the converted input, before any padding to the network's length
    y_raw: np.ndarray


@dataclass
class Network:
    """Step 2's output: what will be trained, owned by the estimator being fitted."""

    spec: NetworkSpec
    compile_config: engines.CompileConfig
    model: keras.Model
    continuing: bool
    history: dict = field(default_factory=dict)
    n_iter: int = 0


@dataclass
class TrainResult:
    history: dict
    n_iter: int
    best_epoch: int
    fit_time: float


class GRUEstimatorBase:
    """Shared machinery; placed before SciKeras' wrapper in each estimator's bases.

    Subclasses provide ``_make_targets``, ``_combined_weights``, ``_stratify`` and
    ``_encode_for_loss``.
    """

    # ----------------------------------------------------------- parameters
    @classmethod
    def _constructor_param_names(cls):
        sig = inspect.signature(cls.__init__)
        return sorted(
            p.name for p in sig.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        )

    def _get_param_names(self):
        # The constructor's parameters plus the routed ones this instance was given
        # (SciKeras' version took every public attribute, so a stray attribute
        # became a "parameter").
        routed = sorted(k for k in vars(self) if k.startswith(_params.ROUTED_PREFIXES))
        return self._constructor_param_names() + routed

    def set_params(self, **params):
        """Set the parameters of this estimator.

        Routed parameters (``optimizer__<arg>``, ``fit__<arg>``, ``predict__<arg>``)
        are accepted as in SciKeras; any other unknown name raises a ValueError
        that lists the valid parameters.

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : estimator instance
            Estimator instance.
        """
        plain = {}
        for name, value in params.items():
            if name.startswith(_params.ROUTED_PREFIXES):
                setattr(self, name, value)
            else:
                plain[name] = value
        if plain:
            BaseEstimator.set_params(self, **plain)
        return self

    def _params_dict(self):
        return self.get_params(deep=False)

    # ------------------------------------------------------- SciKeras surface
    @property
    def initialized_(self) -> bool:
        """True once the estimator has a network (after ``fit`` or ``initialize``)."""
        return "model_" in vars(self)

    @property
    def current_epoch(self) -> int:
        """Number of epochs trained so far (0 before the first fit)."""
        return int(vars(self).get("n_iter_", 0))

    @property
    def feature_encoder(self):
        """A new, unfitted transformer that turns ``X`` into the network's input.

        The fitted one is ``feature_encoder_``.
        """
        return SequenceEncoder(
            n_features=self.n_features,
            input_layout=self.input_layout,
            mask_value=self.mask_value,
            tokens=self.embedding_dim is not None,
            vocab_size=self.vocab_size,
            estimator_name=type(self).__name__,
        )

    def initialize(self, X, y):
        """Build the network for ``(X, y)`` without training it (every member's, for
        ``GRURegressor(ensemble_size > 1)``).

        As in SciKeras: afterwards the estimator can predict (with its initial
        weights) and ``partial_fit`` continues from there.

        Parameters
        ----------
        X : array-like or list of arrays
            Sequences, in any accepted layout.
        y : array-like
            Targets.

        Returns
        -------
        self : estimator instance
            The initialized estimator.
        """
        self._validate_params()
        return self._initialize(X, y)

    def _initialize(self, X, y):
        return self._fit(X, y, None, train=False)

    # ------------------------------------------------------------------ fit
    def _fit(self, X, y, sample_weight=None, *, epochs=None, classes=None, continue_training=False, train=True):
        params = self._params_dict()
        _params.check_routed(params)
        continuing = bool(continue_training and self.initialized_)
        data = self._validate_fit_data(X, y, sample_weight, classes, continuing)
        network = self._initialize_network(params, data, continuing)
        result = self._train_network(params, data, network, epochs) if train else None
        self._record(data, network, result)
        return self

    # step 1
    def _validate_fit_data(self, X, y, sample_weight, classes, continuing) -> FitData:
        name = type(self).__name__
        if continuing:
            features = self.feature_encoder_
            Xa = features.transform(X)
            _check_feature_names(self, X, reset=False)
        else:
            features = self.feature_encoder
            Xa = features.fit_transform(X)
        if y is None:
            raise ValueError(f"{name} requires y to be passed, but the target y is None.")
        y = y.to_numpy() if hasattr(y, "to_numpy") else np.asarray(y)
        if y.ndim == 0 or y.shape[0] != Xa.shape[0]:
            raise ValueError(
                f"Found input variables with inconsistent numbers of samples: X has "
                f"{Xa.shape[0]} samples, y has {y.shape[0] if y.ndim else 'a scalar'}."
            )
        sw = None
        if sample_weight is not None:
            sw = _check_sample_weight(sample_weight, Xa, dtype=np.float64, ensure_non_negative=True)
            if not np.any(sw > 0):
                raise ValueError("All sample weights are zero; there is nothing to train on.")
        targets = self.target_encoder_ if continuing else self._make_targets(y, sw, classes)
        y_enc = self._encode_for_loss(targets, targets.transform(y))
        sw = self._combined_weights(y, sw, targets)
        if sw is not None:  # zero weight == sample absent (as in sklearn), also for minibatching
            keep = sw > 0
            if not np.all(keep):
                Xa, y_enc, sw = Xa[keep], y_enc[keep], sw[keep]
            sw = sw.astype("float32")
        return FitData(
            X=Xa, y=y_enc, sample_weight=sw, features=features, targets=targets,
            feature_names=_get_feature_names(X), X_raw_dtype=getattr(X, "dtype", None),
            X_shape=tuple(Xa.shape), y_raw=y,
        )

    # step 2
    def _initialize_network(self, params, data: FitData, continuing, reuse: Network | None = None) -> Network:
        """The network to train.  ``reuse``: a fresh network built under the same
        ``random_state`` (an int) whose model is taken instead of building one when its
        spec equals this fit's (:func:`skgru.estimators._folds.fit_folds` lets the
        scored-only fold models of a search share one; a model is only built state, so
        the same seed and spec give the same initial weights)."""
        if continuing:
            return Network(
                spec=self.network_spec_, compile_config=self._compile_config_, model=self.model_,
                continuing=True, history=self.history_, n_iter=self.n_iter_,
            )
        output = data.targets.output_
        spec = _params.network_spec(
            params, data.features.input_spec_, output, data.features.vocab_size_, on_gpu=visible_gpus() > 0
        )
        data.features.network_timesteps_ = spec.n_timesteps
        data.X = data.features.pad_to_network(data.X)
        self._warn_if_not_cudnn(spec)
        config = _params.compile_config(params, params["loss"] or output.loss)
        if reuse is not None and reuse.spec == spec:
            return Network(spec=spec, compile_config=config, model=reuse.model, continuing=False)
        seeds = FitSeeds.from_random_state(params["random_state"])
        model = config.compile(build_network(spec, seeds.network))
        return Network(spec=spec, compile_config=config, model=model, continuing=False)

    # step 3
    def _train_network(self, params, data: FitData, network: Network, epochs) -> TrainResult:
        seeds = FitSeeds.from_random_state(params["random_state"])
        n_epochs = int(params["epochs"] if epochs is None else epochs)
        fit_kwargs = _params.routed(params, "fit__")
        batch_size = int(fit_kwargs.get("batch_size", params["batch_size"]))
        user_callbacks = _params.callbacks_list(params["callbacks"])
        Xt, yt, swt, validation_data = self._validation_split(params, data, seeds)
        tracker = EpochTracker(
            monitor="val_loss" if params["early_stopping"] else "loss",
            patience=params["n_iter_no_change"],
            tol=params["tol"],
            restore_best=params["early_stopping"],
            initial_epoch=network.n_iter,
        )
        lr_callback = _training_knobs.epoch_schedule(
            params, network.compile_config.optimizer_kwargs, network.history, network.n_iter
        )
        model = network.model
        start = time.perf_counter()
        with engines.borrow(network.spec, network.compile_config, owner_model=model,
                            shareable=not user_callbacks) as engine:
            in_place = engine.model is model
            backup = _snapshot(model) if in_place and network.continuing else None
            try:
                training.prepare(engine, Xt, yt, swt, batch_size)
                engine.load(model, optimizer="copy" if network.continuing else "reset",
                            learning_rate=network.compile_config.optimizer_kwargs.get("learning_rate"))
                history = training.train(
                    engine, Xt, yt, swt,
                    batch_size=batch_size,
                    epochs=network.n_iter + n_epochs,
                    initial_epoch=network.n_iter,
                    rng=seeds.shuffle,
                    validation_data=validation_data,
                    callbacks=[tracker, lr_callback, *user_callbacks],
                    verbose=min(int(params["verbose"]), 2),
                    shuffle=bool(fit_kwargs.get("shuffle", True)),
                    score_start=bool(getattr(data, "score_start", False)),
                )
                if tracker.diverged_at is not None:
                    raise ValueError(
                        f"Training diverged: the loss became NaN or infinite at epoch {tracker.diverged_at}. "
                        "Lower learning_rate, set clipnorm, or scale the inputs (SequenceScaler)."
                    )
            except BaseException:
                if backup is not None:
                    _restore(model, backup)
                raise
            engine.store(model)
        # the moving statistics of BatchNorm (the GRU-FCN branch) from the training rows
        # and the weights the model now holds: see skgru._keras.batch_norm
        recalibrate_batch_norm(model, Xt)
        history["learning_rate"] = lr_callback.rates
        return TrainResult(
            history=history,
            n_iter=network.n_iter + tracker.epochs_run,
            best_epoch=tracker.best_epoch,
            fit_time=time.perf_counter() - start,
        )

    def _check_partial_fit(self):
        """``partial_fit`` trains one epoch on every row it is given: early stopping
        would hold ``validation_fraction`` of each call's rows out of training (the
        same rows on every call, its split being seeded) and could restore the
        weights from before the epoch, silently; scikit-learn's MLPs refuse it too."""
        if self.early_stopping:
            raise ValueError(
                "partial_fit does not support early_stopping=True: it would train on only "
                f"{1 - self.validation_fraction:g} of the rows of every call, the same ones "
                "each time. Set early_stopping=False (GRURegressor's default is True) to "
                "train incrementally, or use fit with warm_start=True.")

    def _validation_split(self, params, data: FitData, seeds):
        X, y, sw = data.X, data.y, data.sample_weight
        if not params["early_stopping"]:
            return X, y, sw, None
        n = X.shape[0]
        n_val = int(np.ceil(params["validation_fraction"] * n))
        if n_val < 1 or n - n_val < 1:
            raise ValueError(
                f"early_stopping needs at least 2 samples to split off a validation "
                f"fraction of {params['validation_fraction']}; got {n} sample(s)."
            )
        idx = np.arange(n)
        if VALIDATION_ROWS == "last" and is_regressor(self):
            tr, va = idx[: n - n_val], idx[n - n_val:]
        else:
            try:
                tr, va = train_test_split(idx, test_size=n_val, random_state=seeds.split, stratify=self._stratify(y))
            except ValueError:  # a class too small to stratify: fall back to a plain split
                tr, va = train_test_split(idx, test_size=n_val, random_state=seeds.split)
        validation = (X[va], y[va]) if sw is None else (X[va], y[va], sw[va])
        return X[tr], y[tr], None if sw is None else sw[tr], validation

    # step 4
    def _record(self, data: FitData, network: Network, result: TrainResult | None) -> None:
        history = {k: list(v) for k, v in network.history.items()}
        if result is not None:
            for key, values in result.history.items():
                history.setdefault(key, []).extend(values)
        self.model_ = network.model
        self._compile_config_ = network.compile_config
        self.history_ = history
        self.n_iter_ = network.n_iter if result is None else result.n_iter
        self.best_epoch_ = self.n_iter_ if result is None else result.best_epoch
        self.fit_time_ = 0.0 if result is None else result.fit_time
        if network.continuing:
            return
        spec = data.features.input_spec_
        self.network_spec_ = network.spec
        self.feature_encoder_ = data.features
        self.target_encoder_ = data.targets
        self.input_spec_ = spec
        self.n_features_in_ = spec.n_columns if spec.n_columns is not None else spec.n_step_features
        if data.feature_names is not None:
            self.feature_names_in_ = data.feature_names
        elif "feature_names_in_" in vars(self):
            del self.feature_names_in_
        self.n_timesteps_ = spec.n_timesteps
        self.n_features_per_step_ = spec.n_step_features
        self.n_outputs_expected_ = 1
        self.X_dtype_ = data.X_raw_dtype
        self.X_shape_ = data.X_shape
        self.y_dtype_ = data.y_raw.dtype
        self.y_ndim_ = data.y_raw.ndim

    def _warn_if_not_cudnn(self, spec):
        if not cudnn_eligible(spec) and visible_gpus():
            warnings.warn(
                "These parameters leave the cuDNN GRU kernel (it needs activation='tanh', "
                "recurrent_activation='sigmoid', recurrent_dropout=0); training will be "
                "several times slower on GPU.",
                UserWarning,
                stacklevel=5,
            )

    # -------------------------------------------------------------- predict
    def _raw_predict(self, X):
        reused = vars(self).get("_reused_outputs")
        if reused is not None and reused[0] is X and reused[1] is not None:
            return reused[1].copy()  # a copy: a caller may change its array in place
        check_is_fitted(self, ("model_", "target_encoder_"))
        _check_feature_names(self, X, reset=False)
        out = self._network_outputs(self.feature_encoder_.transform(X))
        if not np.all(np.isfinite(out)):
            raise ValueError("The network produced non-finite outputs; the model has diverged. Refit with a lower learning_rate.")
        if reused is not None and reused[0] is X:
            self._reused_outputs = (X, out.copy())
        return out

    @contextlib.contextmanager
    def _outputs_reused_for(self, X):
        """Within the block, the network runs once for ``X`` (this very object):
        a search scoring a fold model and then taking its log loss on the same
        rows (ASHA's ``promote_by="log_loss"``, ``tie_break``) reuses the
        outputs.  A prediction borrows an engine and loads the weights into it,
        about 3 ms of a 4 ms digits split; nothing is kept after the block."""
        self._reused_outputs = (X, None)
        try:
            yield self
        finally:
            vars(self).pop("_reused_outputs", None)

    def _network_outputs(self, Xa):
        """The network's outputs for converted input ``Xa`` (``crop_size`` averages over windows)."""
        batch = int(_params.routed(self._params_dict(), "predict__").get("batch_size", _params.PREDICT_BATCH_SIZE))
        with engines.borrow(self.network_spec_, self._compile_config_, owner_model=self.model_) as engine:
            engine.load(self.model_, optimizer="skip")
            return training.predict(engine, Xa, batch)

    # ---------------------------------------------------------- persistence
    def __getstate__(self):
        return _persistence.get_state(self)

    def __setstate__(self, state):
        _persistence.set_state(self, state)

    def __copy__(self):
        # A shallow copy gets its own model: no two estimators ever share one.
        new = type(self).__new__(type(self))
        new.__setstate__(self.__getstate__())
        return new

    def __repr__(self, N_CHAR_MAX=700):
        return BaseEstimator.__repr__(self, N_CHAR_MAX=N_CHAR_MAX)


_snapshot = _persistence.snapshot_model
_restore = _persistence.restore_model
