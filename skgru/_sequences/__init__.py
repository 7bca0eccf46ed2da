"""THE input conventions of skgru: one parser for every ``X`` layout, and its errors.

Both the estimators (``convert_X``) and :mod:`skgru.preprocessing` (``sequence_list``)
read ``X`` through this package, so a convention -- or an error message -- is coded
once.  Accepted ``X``:

* 3D ``(n_samples, n_timesteps, n_features)`` arrays;
* 2D ``(n_samples, n_timesteps)`` arrays: a univariate sequence per row;
* 2D ``(n_samples, n_timesteps * k)`` arrays or DataFrames with ``n_features=k``:
  rows are flattened sequences, timestep-major (column ``j`` is timestep
  ``j // k``, feature ``j % k``), so sklearn's 2D transformers fit in front;
* a collection of sequences -- a list/tuple, a 1D object ndarray or a pandas
  Series of ``(t_i, n_features)`` (or ``(t_i,)``) arrays -- padded at the end and
  masked inside the network when the lengths differ;
* ``input_layout="nft"``: channels-first 3D arrays and ``(n_features, t_i)``
  sequences (aeon / sktime, also aeon's unequal-length lists);
* integer token matrices ``(n_samples, n_tokens)`` (or lists of token lists)
  when the estimator has ``embedding_dim`` set; id 0 is padding.

Numpy (and sklearn's validation helpers) only: no Keras or TensorFlow import.

Modules: ``_detect`` (is this a collection of sequences? the ONE detector),
``_numeric`` (numbers only: strings, complex, float32 range, token ids),
``_collection`` (a collection -> list of ``(t_i, f)`` arrays), ``_shape``
(shape checks on one array), ``_pad``
(padding/truncating), ``_convert`` (``convert_X`` and ``InputSpec`` for the
estimators).
"""

from skgru._sequences._collection import SequenceList, sequence_list
from skgru._sequences._convert import RAGGED_PAD_VALUE, VALID_LAYOUTS, InputSpec, convert_X
from skgru._sequences._detect import (
    as_table,
    container_items,
    is_pandas,
    is_sequence_collection,
    is_sparse,
    reject_empty,
    reject_non_arrays,
    sequence_items,
)
from skgru._sequences._numeric import (
    check_fits_dtype,
    check_float32_range,
    check_no_strings,
    check_token_ids,
    check_values_of,
    reject_strings,
    to_numeric,
)
from skgru._sequences._pad import pad_truncate, pad_truncate_ids
from skgru._sequences._shape import array_ndim, check_min_size

__all__ = [
    "RAGGED_PAD_VALUE",
    "VALID_LAYOUTS",
    "InputSpec",
    "SequenceList",
    "array_ndim",
    "as_table",
    "check_fits_dtype",
    "check_float32_range",
    "check_min_size",
    "check_no_strings",
    "check_token_ids",
    "check_values_of",
    "container_items",
    "convert_X",
    "is_pandas",
    "is_sequence_collection",
    "is_sparse",
    "pad_truncate",
    "pad_truncate_ids",
    "reject_empty",
    "reject_non_arrays",
    "reject_strings",
    "sequence_items",
    "sequence_list",
    "to_numeric",
]
