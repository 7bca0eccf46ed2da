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

from skgru._keras.network import set_input_statistics
from skgru.estimators import _params


class ArchitectureMixin:
    def _initialize_network(self, params, data, continuing):
        if continuing:
            return super()._initialize_network(params, data, continuing)
        params = {**params, "_padded_timesteps": data.X.shape[1]}
        X_unpadded = data.X  # before the network's own padding (unroll bucket)
        network = super()._initialize_network(params, data, continuing)
        if network.spec.normalize:
            mean, std = _params.feature_statistics(X_unpadded, network.spec.mask_value)
            set_input_statistics(network.model, mean, std)
        return network

    def _train_network(self, params, data, network, epochs):
        n_epochs, patience = _params.training_budget(params, data.X.shape[0])
        if epochs is None:  # fit (partial_fit passes epochs=1 and keeps its patience)
            params = {**params, "epochs": n_epochs, "n_iter_no_change": patience}
        else:  # an int for whatever plans by epochs (lr_schedule), never "auto"
            params = {**params, "epochs": n_epochs}
        result = super()._train_network(params, data, network, epochs)
        result.budget = None if epochs is not None else (n_epochs, patience)
        return result

    def _record(self, data, network, result):
        super()._record(data, network, result)
        self.patch_size_ = self.network_spec_.patch_size
        if result is not None and getattr(result, "budget", None) is not None:
            self.max_epochs_, self.patience_ = result.budget


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
    pooling : {"last", "mean", "max", "attention"}, default="last"
        How the last GRU layer's outputs are summarised: its final state, the
        mean or max over the valid (unmasked) steps, or a learned
        softmax-weighted sum over them.
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
    min_updates : int >= 0, default=1000
        Count optimizer updates, not epochs, on small training sets: ``fit``
        waits at least ``ceil(0.1 * min_updates / steps_per_epoch)`` epochs
        without improvement before it stops, and with ``epochs="auto"`` may run
        up to ``max(100, ceil(min_updates / steps_per_epoch))`` epochs (36
        series, batch 32: up to 500 epochs, patience 50). An int ``epochs`` is
        always the maximum. 0 keeps ``n_iter_no_change`` (and 100 epochs for
        "auto") as given. ``partial_fit`` always trains one epoch.
"""

ARCHITECTURE_ATTRS_DOC = """
    patch_size_ : int
        Patch length the network uses (``patch_size="auto"`` resolved).
    max_epochs_, patience_ : int
        Epoch budget and patience of the last full ``fit`` (``min_updates``
        applied).
"""
