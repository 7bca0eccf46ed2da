"""``set_output`` for sequence transformers: wrap 2D outputs only.

sklearn's ``_SetOutputMixin`` wraps *every* ``transform`` output, which fails for
the 3D arrays and lists that sequence transformers return, so these classes opt
out of the automatic wrapper (``auto_wrap_output_keys=None``) and call
:func:`wrap_2d_output` instead.
"""

from __future__ import annotations

import numpy as np
from sklearn import get_config

from skgru._sequences import is_pandas

_OUTPUT_CONTAINERS = ("default", "pandas", "polars")


def validate_output_container(transform):
    if transform is not None and transform not in _OUTPUT_CONTAINERS:
        raise ValueError(
            f"output config must be one of {_OUTPUT_CONTAINERS} or None, got {transform!r}"
        )


def wrap_2d_output(estimator, out, X):
    """Honour ``set_output`` / ``sklearn.set_config(transform_output=...)`` for 2D output.

    2D ndarrays become DataFrames named by ``get_feature_names_out()``; 3D arrays
    and lists are returned unchanged.
    """
    if not (isinstance(out, np.ndarray) and out.ndim == 2):
        return out
    config = getattr(estimator, "_sklearn_output_config", {}).get("transform", "default")
    if config == "default":
        config = get_config().get("transform_output", "default")
    if config == "default":
        return out
    columns = list(estimator.get_feature_names_out())
    if config == "pandas":
        import pandas as pd

        index = X.index if is_pandas(X) else None
        return pd.DataFrame(out, index=index, columns=columns, copy=False)
    if config == "polars":
        import polars as pl

        return pl.DataFrame(out, schema=columns, orient="row")
    raise ValueError(f"unsupported output container {config!r}")  # pragma: no cover


class SequenceOutputMixin:
    """``set_output`` for transformers whose output may be 3D or a list.

    sklearn's own ``set_output`` exists only with ``get_feature_names_out`` and
    wraps every output; these transformers opt out of it
    (``auto_wrap_output_keys=None``) and wrap 2D outputs with
    :func:`wrap_2d_output`.  Without it, ``Pipeline.set_output(transform="pandas")``
    failed on any pipeline holding one of them.
    """

    def set_output(self, *, transform=None):
        """Set the output container of ``transform`` for 2D output.

        3D arrays and lists are always returned as they are: a DataFrame cannot
        hold them.

        Parameters
        ----------
        transform : {"default", "pandas", "polars"} or None, default=None
            ``"default"``: the global ``sklearn.set_config`` setting; ``"pandas"`` /
            ``"polars"``: a DataFrame named by ``get_feature_names_out()``;
            ``None``: leave the configuration unchanged.

        Returns
        -------
        self : object
            This transformer.
        """
        validate_output_container(transform)
        if transform is not None:
            if not hasattr(self, "_sklearn_output_config"):
                self._sklearn_output_config = {}
            self._sklearn_output_config["transform"] = transform
        return self
