"""The estimators' ``feature_encoder``: any accepted ``X`` -> the array the network eats.

A thin sklearn transformer over :func:`skgru._sequences.convert_X` (the one place
every input convention and input error lives), as SciKeras documents for
``feature_encoder``: the estimator's ``feature_encoder`` property returns a new,
unfitted one; ``feature_encoder_`` is the fitted one that ``predict`` uses, so
``est.model_.predict(est.feature_encoder_.transform(X))`` gives the network's raw
outputs for ``X``.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from skgru._sequences import convert_X


class SequenceEncoder(TransformerMixin, BaseEstimator):
    """Convert sequences to the network's input array.

    Parameters
    ----------
    n_features, input_layout, mask_value
        As for the estimators.
    tokens : bool, default=False
        ``X`` holds integer token ids (the estimator has ``embedding_dim`` set).
    vocab_size : int or None, default=None
        Embedding size for token input; inferred as ``max(X) + 1`` when None.
    estimator_name : str, default="estimator"
        Used in error messages.
    """

    def __init__(self, n_features=None, input_layout="ntf", mask_value=None, tokens=False,
                 vocab_size=None, estimator_name="estimator"):
        self.n_features = n_features
        self.input_layout = input_layout
        self.mask_value = mask_value
        self.tokens = tokens
        self.vocab_size = vocab_size
        self.estimator_name = estimator_name

    def _convert(self, X, fitted):
        return convert_X(
            X,
            n_features=self.n_features,
            input_layout=self.input_layout,
            tokens=self.tokens,
            mask_value=self.mask_value,
            fitted=fitted,
            estimator_name=self.estimator_name,
        )

    def fit(self, X, y=None):
        self.fit_transform(X)
        return self

    def fit_transform(self, X, y=None):
        arr, spec, _ = self._convert(X, None)
        vocab = None
        if spec.tokens:
            max_id = int(arr.max()) if arr.size else 0
            if self.vocab_size is not None and max_id >= self.vocab_size:
                raise ValueError(f"X contains token id {max_id} >= vocab_size={self.vocab_size}.")
            vocab = self.vocab_size if self.vocab_size is not None else max(max_id + 1, 2)
        self.input_spec_ = spec
        self.vocab_size_ = vocab
        self.network_timesteps_ = None  # set by the estimator once the network is known
        return arr

    def transform(self, X):
        check_is_fitted(self, "input_spec_")
        arr, _, _ = self._convert(X, self.input_spec_)
        if self.input_spec_.tokens:
            self.check_token_range(arr)
        return self.pad_to_network(arr)

    def check_token_range(self, arr) -> None:
        vocab = self.vocab_size_
        if arr.size and int(arr.max()) >= vocab:
            raise ValueError(
                f"X contains token id {int(arr.max())}, but the embedding was built for "
                f"vocab_size={vocab} (ids 0..{vocab - 1}). Map unknown tokens to the "
                "out-of-vocabulary id (TextSequencer does) or set vocab_size larger."
            )

    def pad_to_network(self, arr):
        """Post-pad short sequences to the network's fixed (unrolled) length, masked."""
        length = self.network_timesteps_
        if length is None or arr.shape[1] >= length:
            return arr
        from skgru._sequences import RAGGED_PAD_VALUE

        value = 0 if self.input_spec_.tokens else (RAGGED_PAD_VALUE if self.mask_value is None else self.mask_value)
        pad = [(0, 0), (0, length - arr.shape[1])] + [(0, 0)] * (arr.ndim - 2)
        return np.pad(arr, pad, constant_values=np.asarray(value, dtype=arr.dtype))
