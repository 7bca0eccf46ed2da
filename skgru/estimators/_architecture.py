"""What issue 12's parameters need from the fit template, as one mixin.

``ArchitectureMixin`` sits before ``GRUEstimatorBase`` in both estimators' bases and
wraps two of its steps, so the template itself is unchanged:

* initialize: the padded training length decides ``patch_size="auto"``, and the
  network's input standardisation gets the training data's per-feature statistics
  (padded/masked steps excluded);
* train: a full fit's epoch budget and patience count optimizer updates
  (``min_updates``, see ``_params.training_budget``); ``partial_fit`` is untouched.
"""

from __future__ import annotations

import numpy as np

from skgru._keras.network import set_input_statistics, skip_inputs
from skgru.estimators import _params, _persistence


class ArchitectureMixin:
    def _initialize_network(self, params, data, continuing, reuse=None):
        if continuing:
            return super()._initialize_network(params, data, continuing)
        params = {**params, "_padded_timesteps": data.X.shape[1]}
        X_unpadded = data.X  # before the network's own padding (unroll bucket)
        network = super()._initialize_network(params, data, continuing, reuse=reuse)
        if network.spec.normalize:
            mean, std = _params.feature_statistics(X_unpadded, network.spec.mask_value)
            set_input_statistics(network.model, mean, std)
        return network

    def _train_network(self, params, data, network, epochs):
        # the linear skip is initialised in _validation_split, on the training part only
        data.skip_network = network if network.spec.linear_skip and not network.continuing else None
        budget = _params.run_budget(params, data.X.shape[0])
        n_epochs, patience = budget["epochs"], budget["n_iter_no_change"]
        if epochs is None:  # fit (partial_fit passes epochs=1 and keeps its patience)
            params = {**params, **budget}
        else:  # an int for whatever plans by epochs (lr_schedule), never "auto"
            params = {**params, "epochs": n_epochs}
        refit = bool(params["refit_all_rows"] and params["early_stopping"]) and epochs is None and not network.continuing
        # the whole start state, random-generator states included: the refit then draws the
        # same dropout masks whether the model trained in place or on a pooled engine (the
        # two paths advance the owner's generators differently during the selection)
        start = _persistence.snapshot_model(network.model) if refit else None
        result = super()._train_network(params, data, network, epochs)
        self._after_selection(params, data, network, result)
        if refit:
            result = self._refit_all_rows(params, data, network, result, start)
        result.budget = None if epochs is not None else (n_epochs, patience)
        return result

    def _after_selection(self, params, data, network, result):
        """Hook after the (early-stopped) training, while the validation split is
        still held out (the regressor fits its shrinkage here)."""

    def _refit_all_rows(self, params, data, network, selection, start):
        """``refit_all_rows``: train again from the starting weights on every row for the
        epochs early stopping chose (0: the start itself, e.g. the regressor's ridge,
        refitted on every row), without the stopping rule."""
        _persistence.restore_model(network.model, start)
        n = int(selection.best_epoch - network.n_iter)
        again = {**params, "early_stopping": False, "epochs": n, "n_iter_no_change": n + 1}
        result = super()._train_network(again, data, network, None)  # the template's step: no new budget
        result.history = {**selection.history, **{f"refit_{k}": v for k, v in result.history.items()}}
        result.fit_time += selection.fit_time
        return result

    def _validation_split(self, params, data, seeds):
        split = super()._validation_split(params, data, seeds)
        network = getattr(data, "skip_network", None)
        if network is not None and network.spec.output_activation == "linear":
            Xt, yt, swt, _ = split if SKIP_RIDGE_ROWS == "train" else (data.X, data.y, data.sample_weight, None)
            started = init_linear_skip(network.model, Xt, yt, swt)
            # the ridge start is a fitted model: early stopping may keep it ("epoch 0")
            data.score_start = started and SCORE_RIDGE_START
        return split

    def _record(self, data, network, result):
        super()._record(data, network, result)
        self.patch_size_ = self.network_spec_.patch_size
        self.pooling_ = self.network_spec_.pooling
        if result is not None and getattr(result, "budget", None) is not None:
            self.max_epochs_, self.patience_ = result.budget


# Ridge penalties the linear skip's starting point is chosen from (RidgeCV's
# efficient leave-one-out), on standardised inputs and targets.
SKIP_RIDGE_ALPHAS = tuple(np.logspace(-3, 3, 13))
# Whether the GRU's head starts at zero (the network starts exactly at the ridge model).
SKIP_ZERO_HEAD = True
# Which rows the starting ridge is fitted on: "train" (the training part of the
# validation split) or "all" (every training row; RidgeCV's own leave-one-out picks alpha).
SKIP_RIDGE_ROWS = "train"
# Whether early stopping scores the ridge start on the validation split before the
# first epoch and keeps it when no epoch beats it.
SCORE_RIDGE_START = True


def init_linear_skip(model, X, y, sample_weight=None):
    """Start a regression network at the ridge regression of its (encoded) targets on
    the linear skip's inputs, with the GRU head at zero.

    Trained from zero, the skip moved too slowly under the default Adam rate and early
    stopping to reach a linear autoregression (round 3 CV on the forecasting windows,
    benchmarks/README.md); starting there, training can only refine it.
    """
    from sklearn.linear_model import RidgeCV

    n_outputs = model.get_layer("linear_skip").kernel.shape[1]
    y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    if y.shape[1] != n_outputs or len(y) < 2:  # e.g. quantile levels: keep the zero start
        return False
    # the skip's inputs in NumPy (the layers' own float32 operations): a Keras sub-model
    # and its eager calls cost ~5 ms per fit, k + 1 times per fused trial
    Z = skip_inputs(model, X).astype(np.float64)
    ridge = RidgeCV(alphas=SKIP_RIDGE_ALPHAS).fit(Z, y, sample_weight=sample_weight)
    coef = np.atleast_2d(ridge.coef_).reshape(n_outputs, -1).T
    model.get_layer("linear_skip").set_weights([coef.astype("float32"),
                                                 np.atleast_1d(ridge.intercept_).astype("float32")])
    if SKIP_ZERO_HEAD:
        head = model.get_layer("gru_head")
        head.set_weights([np.zeros_like(w) for w in head.get_weights()])
    return SKIP_ZERO_HEAD  # the network is then exactly the ridge model


# numpydoc of the issue-12 parameters, shared by both estimators' docstrings.
ARCHITECTURE_PARAMS_DOC = """
    patch_size : int or "auto", default="auto"
        Fold ``p`` consecutive timesteps into one step of ``p * n_features``
        features inside the network, so a long series becomes a short recurrence
        (a 250-step series read as 25 steps of 10). The last, partial patch is
        zero-padded; padded (masked) steps of variable-length input are zeroed
        and a patch is masked only when all its steps are padding. ``"auto"``
        patches sequences whose (padded) length ``t`` exceeds 40 steps with
        ``p = ceil(t / 25)`` and leaves shorter ones, and token input, alone.
    patch_mode : {"fold", "max", "mean"}, default="max" (classifier), "fold" (regressor)
        How a patch of ``patch_size`` steps becomes one GRU step. ``"fold"``
        concatenates the patch's steps (``p * n_features`` features) and the
        convolutional stem (``conv_filters``) then runs on the patches.
        ``"max"`` and ``"mean"`` run the stem on every step and max- or
        mean-pool its outputs over each patch (a CNN's pooling layer: a
        pattern counts wherever it falls inside a patch); without a stem they
        pool the standardised input itself. Padded steps never enter a pool;
        a patch with no valid step is masked. No effect when no patching
        happens (``patch_size`` 1, or "auto" on 40 steps or fewer).
    pooling : {"auto", "last", "mean", "max", "attention"}, default="auto" (classifier), "last" (regressor)
        How the last GRU layer's outputs are summarised: its final state, the
        mean or max over the valid (unmasked) steps, or a learned
        softmax-weighted sum over them. ``"auto"`` is ``"max"`` where the
        series is read as patches (``patch_size`` resolves to more than 1: a
        long series, where the pattern that decides may fall anywhere) and
        ``"last"`` otherwise; the resolved value is ``pooling_``.
    standardize_X : bool, default=True
        Standardise each input feature inside the network with the training
        data's mean and standard deviation (padded/masked steps excluded), as
        ``standardize_y`` does for a regressor's targets. Ignored for tokens.
    conv_filters : None, int or tuple of int, default=64 (classifier), None (regressor)
        Convolutional stem in the spirit of GRU-FCN: one
        ``Conv1D(filters, conv_kernel_size, padding="same", activation="relu")``
        per entry, applied to the (patched) sequence before the GRU. None: no stem.
    conv_kernel_size : int, default=5
        Kernel length of the convolutional stem.
    min_updates : int >= 0, default=3000
        Count optimizer updates, not epochs, on small training sets: ``fit``
        waits at least ``ceil(0.1 * min_updates / steps_per_epoch)`` epochs
        without improvement before it stops, and with ``epochs="auto"`` may run
        up to ``max(100, ceil(min_updates / steps_per_epoch))`` epochs (36
        series, batch 32, 3000: up to 1500 epochs, patience 150; ``lr_patience``
        and the exponential schedule's decay are stretched in the same
        proportion, see ``lr_schedule``). Training
        sets of more than ~1000 rows (~1200 for the regressor, whose early
        stopping holds out 20%) are not affected. An int ``epochs`` is
        always the maximum. 0 keeps ``n_iter_no_change`` (and 100 epochs for
        "auto") as given. ``partial_fit`` always trains one epoch.
    linear_skip : None, bool or int, default=None (classifier), True (regressor)
        A linear model beside the GRU (LSTNet's autoregressive "highway"): a
        ``Dense`` layer on the last ``w`` input steps (standardised with
        ``standardize_X``, unpatched, flattened to ``w * n_features`` values) is
        added to the output's pre-activation, so the network can represent
        any linear function of those steps (a linear autoregression on
        forecasting windows) plus what the GRU learns. In a regressor the
        network starts as the ridge regression of the (standardised) targets
        on those steps (``RidgeCV`` on the training part of the validation
        split) with the GRU's head at zero, and training refines both; in a
        classifier the skip starts at zero. An int is ``w``; True uses the whole (padded) training length;
        None or False: no skip. Sequences shorter than ``w`` get zeros (the
        mean) in front; on masked or ragged input the last ``w`` valid steps
        are used. Not for token input.
    fcn_branch : bool or tuple of int, default=False
        A parallel fully-convolutional branch, as in GRU-FCN / LSTM-FCN: per
        entry ``Conv1D(filters, kernel, padding="same")`` + batch
        normalisation + ReLU with kernels 8, 5, 3 (3 for any further block)
        on the standardised, unpatched sequence, global average pooling over
        the valid steps, concatenated with the GRU's summary before the head.
        True: the published 128-256-128 filters; a tuple sets the filters per
        block; False: no branch. Not for token input. The convolutions cost
        about ``t * sum(k_i * f_(i-1) * f_i)`` multiply-adds per series (1.1e8
        for 275 steps at 128-256-128): far more than the GRU on long series.
    gru_input : {"values", "relative", "both"}, default="values"
        What the GRU reads at each step (after the standardisation, patching
        and convolutions): ``"values"`` the steps as they are; ``"relative"``
        each step minus the series' last valid step (patch, with patching);
        ``"both"`` the two side by side (twice the GRU's input features).
        Read relative to it, every step carries the last value, which a GRU
        otherwise sees once, at its last update. On forecasting windows whose
        target is a nonlinear function of the latest values it learns what the
        plain reading does not: in 3-fold CV on training splits (round 17 of
        issue 12, benchmarks/README.md), ``"both"`` lifted the regressor's
        R^2 from 0.18 to 0.89 where the target is the square of the last step,
        and lost 0.07 on airline passengers, which is why it is not the
        default. The linear skip and the FCN branch read the values either
        way. Not for token input.
"""

ARCHITECTURE_ATTRS_DOC = """
    patch_size_ : int
        Patch length the network uses (``patch_size="auto"`` resolved).
    pooling_ : str
        Pooling the network uses (``pooling="auto"`` resolved).
    max_epochs_, patience_ : int
        Epoch budget and patience of the last full ``fit`` (``min_updates``
        applied).
"""
