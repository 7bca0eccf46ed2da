"""Sequence-aware preprocessing that fits in front of skgru estimators.

scikit-learn's transformers see a 2D table; recurrent networks see sequences.
The pieces here close the gap so sequence data goes through ``Pipeline``,
``GridSearchCV`` and ``cross_val_score`` like any tabular data:

SequenceScaler
    Standardise each feature over all samples *and* timesteps, on 3D arrays
    ``(n_samples, n_timesteps, n_features)``, on flattened 2D arrays/DataFrames
    and on lists of variable-length sequences; with ``per_series=True`` each series
    by its own statistics instead (z-normalisation, the UCR archive's convention).
SequencePadder
    Turn a list of variable-length sequences into one padded 3D array, ready for
    ``GRUClassifier(mask_value=...)``.
TextSequencer
    Raw strings -> padded integer token-id matrix for ``GRUClassifier(embedding_dim=...)``.
    Pure Python/NumPy (no TensorFlow), so it pickles and is fast.
make_windows
    Slice a time series into supervised ``(X, y)`` windows for forecasting.

Data conventions (the same as the estimators'): a 3D array is
``(n_samples, n_timesteps, n_features)``; a 2D array is ``(n_samples, n_timesteps)``
(one feature) unless ``n_features=k`` says it is flattened row-major
``(n_samples, n_timesteps * k)`` (column ``j`` is timestep ``j // k``, feature
``j % k``); a list (or tuple, 1D object array, pandas Series) of
``(t_i, n_features)`` or ``(t_i,)`` arrays is a set of variable-length sequences;
``input_layout="nft"`` reads channels-first arrays and aeon's ``(n_features, t_i)``
items.  Every transformer reads ``X`` through the estimators' own parser
(``skgru._sequences``), so what a transformer accepts the estimators accept too.

One module per transformer: ``_scaler``, ``_padder``, ``_text``, ``_windows``
(and ``_output``, the ``set_output`` helper for 2D outputs).
"""

from skgru.preprocessing._padder import SequencePadder
from skgru.preprocessing._scaler import SequenceScaler
from skgru.preprocessing._text import TextSequencer
from skgru.preprocessing._windows import make_windows

__all__ = ["SequenceScaler", "SequencePadder", "TextSequencer", "make_windows"]
