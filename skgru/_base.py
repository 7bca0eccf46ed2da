"""The shared fit / predict machinery of GRUClassifier and GRURegressor.

One clear sequence, in the spirit of skorch's ``initialize``-then-``fit``:

1. validate parameters (``_parameter_constraints``);
2. convert ``X`` (``skgru._input``) and ``y`` (``skgru._targets``);
3. derive the :class:`~skgru._network.NetworkSpec` and get a compiled model for it
   (``skgru._model_cache``: a model of the same architecture is reused, its weights
   and optimizer state re-initialised from the seed, instead of rebuilt and retraced);
4. train with sklearn-style stopping (``skgru._callbacks``) under a seed that does
   not leak (``skgru._seeding``);
5. record fitted attributes (trailing underscore).
"""

from __future__ import annotations

import functools
import numbers
import time
import warnings

import keras
import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_feature_names, _check_sample_weight, check_is_fitted

from skgru import _model_cache, _training_loop
from skgru._callbacks import EpochTracker
from skgru._sequences import RAGGED_PAD_VALUE, convert_X
from skgru._network import NetworkSpec, cudnn_eligible
from skgru._seeding import FitSeeds

# Longest fixed-length input whose recurrence is unrolled on CPU (see NetworkSpec.unroll).
UNROLL_MAX_TIMESTEPS = 32

# Rows per predict step. Fixed, so that predictions do not depend on batch composition.
PREDICT_BATCH_SIZE = 256

_positive_int = Interval(numbers.Integral, 1, None, closed="left")

# Parameters shared by both estimators, with their sklearn-style constraints.
COMMON_CONSTRAINTS = {
    "units": [_positive_int, tuple, list],
    "n_layers": [_positive_int],
    "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
    "recurrent_dropout": [Interval(numbers.Real, 0, 1, closed="left")],
    "bidirectional": ["boolean"],
    "activation": [str],
    "recurrent_activation": [str],
    "dense_units": [None, _positive_int, tuple, list],
    "l2": [Interval(numbers.Real, 0, None, closed="left")],
    "embedding_dim": [None, _positive_int],
    "vocab_size": [None, Interval(numbers.Integral, 2, None, closed="left")],
    "mask_value": [None, numbers.Real],
    "n_features": [None, _positive_int],
    "input_layout": [StrOptions({"ntf", "nft"})],
    "optimizer": [str, keras.optimizers.Optimizer, type],
    "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
    "clipnorm": [None, Interval(numbers.Real, 0, None, closed="neither")],
    "batch_size": [_positive_int],
    "epochs": [_positive_int],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
    "n_iter_no_change": [_positive_int],
    "tol": [Interval(numbers.Real, 0, None, closed="left")],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
    "callbacks": [None, list, tuple, keras.callbacks.Callback],
    "warm_start": ["boolean"],
    "loss": [None, str, callable],
    "metrics": [None, list, tuple],
}


def _layer_sizes(units, n_layers, name="units"):
    if isinstance(units, (tuple, list)):
        sizes = tuple(units)
        if not sizes or not all(isinstance(u, numbers.Integral) and u >= 1 for u in sizes):
            raise ValueError(f"{name} must be a positive int or a non-empty tuple of positive ints; got {units!r}.")
        if n_layers not in (1, len(sizes)):
            raise ValueError(
                f"units={units!r} gives one size per layer ({len(sizes)} layers) but "
                f"n_layers={n_layers}; leave n_layers=1 or make them agree."
            )
        return tuple(int(u) for u in sizes)
    return (int(units),) * int(n_layers)


def _dense_sizes(dense_units):
    if dense_units is None:
        return ()
    if isinstance(dense_units, numbers.Integral):
        return (int(dense_units),)
    sizes = tuple(dense_units)
    if not all(isinstance(u, numbers.Integral) and u >= 1 for u in sizes):
        raise ValueError(f"dense_units must be None, a positive int or a tuple of positive ints; got {dense_units!r}.")
    return tuple(int(u) for u in sizes)


class GRUEstimatorMixin:
    """Fit/predict logic shared by the classifier and the regressor.

    Subclasses provide ``_make_targets``, ``_encode_y`` hooks and ``_validation_stratify``.
    """

    # ---------------------------------------------------------------- params
    def _network_spec(self, input_spec, output) -> NetworkSpec:
        tokens = input_spec.tokens
        vocab_size = None
        if tokens:
            vocab_size = self.vocab_size if self.vocab_size is not None else self._fit_vocab_size
        mask_value = None
        if not tokens:
            if self.mask_value is not None:
                mask_value = float(self.mask_value)
            elif input_spec.ragged:
                mask_value = RAGGED_PAD_VALUE
        unroll = (
            not input_spec.ragged
            and input_spec.n_timesteps is not None
            and input_spec.n_timesteps <= UNROLL_MAX_TIMESTEPS
            and _visible_gpus() == 0
        )
        return NetworkSpec(
            n_timesteps=input_spec.n_timesteps if unroll else None,
            unroll=unroll,
            n_step_features=input_spec.n_step_features,
            n_outputs=output.n_outputs,
            output_activation=output.activation,
            units=_layer_sizes(self.units, self.n_layers),
            dropout=float(self.dropout),
            recurrent_dropout=float(self.recurrent_dropout),
            bidirectional=bool(self.bidirectional),
            activation=self.activation,
            recurrent_activation=self.recurrent_activation,
            dense_units=_dense_sizes(self.dense_units),
            l2=float(self.l2),
            embedding_dim=self.embedding_dim,
            vocab_size=vocab_size,
            mask_value=mask_value,
        )

    def _optimizer_config(self):
        """(optimizer class or instance, kwargs), honouring SciKeras ``optimizer__*`` routing."""
        routed = self._routed("optimizer__")
        opt = self.optimizer
        if isinstance(opt, keras.optimizers.Optimizer):
            return type(opt), {**opt.get_config(), **routed}
        if isinstance(opt, str):
            opt = type(keras.optimizers.get(opt))
        if not (isinstance(opt, type) and issubclass(opt, keras.optimizers.Optimizer)):
            raise ValueError(f"optimizer must be a Keras optimizer name, class or instance; got {self.optimizer!r}.")
        kwargs = {"learning_rate": float(self.learning_rate)}
        if self.clipnorm is not None:
            kwargs["clipnorm"] = float(self.clipnorm)
        kwargs.update(routed)
        return opt, kwargs

    def _callbacks_list(self):
        cbs = self.callbacks
        if cbs is None:
            return []
        if isinstance(cbs, keras.callbacks.Callback):
            return [cbs]
        out = []
        for cb in cbs:
            if isinstance(cb, type) and issubclass(cb, keras.callbacks.Callback):
                cb = cb()
            if not isinstance(cb, keras.callbacks.Callback):
                raise TypeError(f"callbacks must be Keras Callback instances or classes; got {cb!r}.")
            out.append(cb)
        return out

    # SciKeras-style routed parameters that skgru honours (others would be silently
    # ignored, so they are rejected): optimizer__<any constructor argument>,
    # fit__batch_size, fit__shuffle and predict__batch_size.
    _ROUTED = {"optimizer__": None, "fit__": {"batch_size", "shuffle"}, "predict__": {"batch_size"}}

    def _check_routed_params(self):
        for name in self.get_params():
            if "__" not in name:
                continue
            prefix, _, arg = name.partition("__")
            allowed = self._ROUTED.get(prefix + "__", set())
            if allowed is not None and arg not in allowed:
                raise ValueError(
                    f"Unsupported routed parameter {name!r}: skgru builds and compiles the network "
                    "itself and routes optimizer__<arg>, fit__batch_size, fit__shuffle and "
                    "predict__batch_size only. Use the estimator's own parameters instead."
                )

    # ------------------------------------------------------------------- fit
    def _fit(self, X, y, sample_weight=None, *, epochs=None, classes=None, continue_training=False):
        self._validate_params()
        self._check_routed_params()
        name = type(self).__name__
        continue_training = continue_training and getattr(self, "model_", None) is not None
        tokens = self.embedding_dim is not None
        Xa, input_spec, _ = convert_X(
            X,
            n_features=self.n_features,
            input_layout=self.input_layout,
            tokens=tokens,
            mask_value=self.mask_value,
            fitted=self.input_spec_ if continue_training else None,
            estimator_name=name,
        )
        _check_feature_names(self, X, reset=not continue_training)
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

        if continue_training:
            targets = self.target_encoder_
        else:
            targets = self._make_targets(y, sw, classes)
        y_enc = targets.transform(y)
        sw = self._combined_weights(y, sw)
        if sw is not None:  # zero weight == sample absent (as in sklearn), also for minibatching
            keep = sw > 0
            if not np.all(keep):
                Xa, y_enc, sw = Xa[keep], y_enc[keep], sw[keep]
            sw = sw.astype("float32")

        if tokens and not continue_training:
            max_id = int(Xa.max()) if Xa.size else 0
            if self.vocab_size is not None and max_id >= self.vocab_size:
                raise ValueError(f"X contains token id {max_id} >= vocab_size={self.vocab_size}.")
            self._fit_vocab_size = max(max_id + 1, 2)
        if tokens:
            self._check_token_range(Xa)

        seeds = FitSeeds.from_random_state(self.random_state)
        n_epochs = int(self.epochs if epochs is None else epochs)
        start = time.perf_counter()
        if not continue_training:
            spec = self._network_spec(input_spec, targets.output_)
            self._warn_if_not_cudnn(spec)
            opt_cls, opt_kwargs = self._optimizer_config()
            self.model_ = _model_cache.acquire(
                self, spec, opt_cls, opt_kwargs, self.loss or targets.output_.loss, self.metrics, seeds.network
            )
            self.network_spec_ = spec
            self.input_spec_ = input_spec
            self.target_encoder_ = targets
            self.n_features_in_ = input_spec.n_columns if input_spec.n_columns is not None else input_spec.n_step_features
            self.n_timesteps_ = input_spec.n_timesteps
            self.n_features_per_step_ = input_spec.n_step_features
            self.history_ = {}
            self.n_iter_ = 0
        tracker = self._train(Xa, y_enc, sw, n_epochs, seeds)
        self.fit_time_ = time.perf_counter() - start
        if tracker.diverged_at is not None:
            raise ValueError(
                f"Training diverged: the loss became NaN or infinite at epoch {tracker.diverged_at}. "
                "Lower learning_rate, set clipnorm, or scale the inputs (SequenceScaler)."
            )
        return self

    def _train(self, Xa, y_enc, sw, n_epochs, seeds):
        initial_epoch = self.n_iter_
        validation_data = None
        Xt, yt, swt = Xa, y_enc, sw
        if self.early_stopping:
            n = Xa.shape[0]
            n_val = int(np.ceil(self.validation_fraction * n))
            if n_val < 1 or n - n_val < 1:
                raise ValueError(
                    f"early_stopping needs at least 2 samples to split off a validation "
                    f"fraction of {self.validation_fraction}; got {n} sample(s)."
                )
            idx = np.arange(n)
            try:
                tr, va = train_test_split(idx, test_size=n_val, random_state=seeds.split, stratify=self._stratify(y_enc))
            except ValueError:  # a class too small to stratify: fall back to a plain split
                tr, va = train_test_split(idx, test_size=n_val, random_state=seeds.split)
            Xt, yt = Xa[tr], y_enc[tr]
            swt = None if sw is None else sw[tr]
            validation_data = (Xa[va], y_enc[va]) if sw is None else (Xa[va], y_enc[va], sw[va])
        tracker = EpochTracker(
            monitor="val_loss" if self.early_stopping else "loss",
            patience=self.n_iter_no_change,
            tol=self.tol,
            restore_best=self.early_stopping,
            initial_epoch=initial_epoch,
        )
        fit_kwargs = self._routed("fit__")
        history = _training_loop.train(
            self.model_,
            Xt,
            yt,
            swt,
            batch_size=int(fit_kwargs.get("batch_size", self.batch_size)),
            epochs=initial_epoch + n_epochs,
            initial_epoch=initial_epoch,
            rng=seeds.shuffle,
            validation_data=validation_data,
            callbacks=[tracker, *self._callbacks_list()],
            verbose=min(int(self.verbose), 2),
            shuffle=bool(fit_kwargs.get("shuffle", True)),
        )
        for key, values in history.items():
            self.history_.setdefault(key, []).extend(values)
        self.n_iter_ = initial_epoch + tracker.epochs_run
        self.best_epoch_ = tracker.best_epoch
        return tracker

    def _routed(self, prefix):
        return {k[len(prefix):]: v for k, v in self.get_params().items() if k.startswith(prefix)}

    def _check_token_range(self, Xa):
        vocab = self.network_spec_.vocab_size if hasattr(self, "network_spec_") else self._fit_vocab_size
        if Xa.size and int(Xa.max()) >= vocab:
            raise ValueError(
                f"X contains token id {int(Xa.max())}, but the embedding was built for "
                f"vocab_size={vocab} (ids 0..{vocab - 1}). Map unknown tokens to the "
                "out-of-vocabulary id (TextSequencer does) or set vocab_size larger."
            )

    def _warn_if_not_cudnn(self, spec):
        if not cudnn_eligible(spec) and keras.backend.backend() != "numpy":
            if _visible_gpus():
                warnings.warn(
                    "These parameters leave the cuDNN GRU kernel (it needs activation='tanh', "
                    "recurrent_activation='sigmoid', recurrent_dropout=0); training will be "
                    "several times slower on GPU.",
                    UserWarning,
                    stacklevel=4,
                )

    # --------------------------------------------------------------- predict
    def _network_input(self, X):
        check_is_fitted(self, ("model_", "target_encoder_"))
        _check_feature_names(self, X, reset=False)
        Xa, _, _ = convert_X(
            X,
            n_features=self.n_features,
            input_layout=self.input_layout,
            tokens=self.input_spec_.tokens,
            mask_value=self.mask_value,
            fitted=self.input_spec_,
            estimator_name=type(self).__name__,
        )
        if self.input_spec_.tokens:
            self._check_token_range(Xa)
        return Xa

    def _raw_predict(self, X):
        Xa = self._network_input(X)
        batch = int(self._routed("predict__").get("batch_size", PREDICT_BATCH_SIZE))
        out = _training_loop.predict(self.model_, Xa, batch)
        if not np.all(np.isfinite(out)):
            raise ValueError("The network produced non-finite outputs; the model has diverged. Refit with a lower learning_rate.")
        return out

    # ------------------------------------------------------------ persistence
    def __getstate__(self):
        state = self.__dict__.copy()
        model = state.pop("model_", None)
        if model is not None:
            state["_pickled_weights"] = [np.asarray(w) for w in model.get_weights()]
        return state

    def __setstate__(self, state):
        weights = state.pop("_pickled_weights", None)
        self.__dict__.update(state)
        if weights is not None:
            opt_cls, opt_kwargs = self._optimizer_config()
            model = _model_cache.build_compiled(
                self.network_spec_, opt_cls, opt_kwargs, self.loss or self.target_encoder_.output_.loss, self.metrics
            )
            model.set_weights(weights)
            self.model_ = model

    def __copy__(self):
        # A shallow copy must not share model_: the original returns its model to the
        # pool when it is garbage collected, and another fit could then take it over.
        new = type(self).__new__(type(self))
        new.__setstate__(self.__getstate__())
        return new

    def __del__(self):
        try:
            _model_cache.release(self)
        except Exception:  # interpreter shutdown
            pass

    def __repr__(self, N_CHAR_MAX=700):
        from sklearn.base import BaseEstimator

        return BaseEstimator.__repr__(self, N_CHAR_MAX=N_CHAR_MAX)


@functools.lru_cache(maxsize=None)
def _visible_gpus() -> int:
    """Number of GPUs the Keras backend sees (0 when the query fails)."""
    try:
        return _count_gpus()
    except Exception:  # pragma: no cover - device query is best effort
        return 0


def _count_gpus() -> int:
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return len(tf.config.list_physical_devices("GPU"))
    if backend == "jax":
        import jax

        return sum(d.platform == "gpu" for d in jax.devices())
    if backend == "torch":
        import torch

        return torch.cuda.device_count()
    return 0
