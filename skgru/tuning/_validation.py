"""Validate a search's X and y once, before any trial runs.

A bad input must give one clear error up front, not "All N trials failed"
after training N models.  For an skgru estimator, ``X`` is checked with that
estimator's own input conventions (3D, 2D univariate, flattened with
``n_features``, ragged lists, ``input_layout="nft"``, token ids with
``embedding_dim``) by the same parser its ``fit`` uses.  For anything else (a
``Pipeline``, whose first steps may accept NaN, strings or 3D data; any
sklearn estimator) only what every estimator needs is checked: ``X`` is
given and has samples, and ``X``, ``y`` and ``groups`` have the same length.
``y`` is checked against the estimator type: a classifier's targets must be
classification targets, a regressor's must be finite numbers.

The validated arrays are thrown away: the trials receive the user's ``X``
(made indexable as ``GridSearchCV`` does), and each inner ``fit`` converts it
itself.  Only the padded length is kept, since the default search space's
patch sizes scale with it (:func:`sequence_length`).
"""

from __future__ import annotations

import inspect

import numpy as np
from sklearn.base import is_classifier, is_regressor
from sklearn.utils import check_array, indexable
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _num_samples, check_consistent_length

__all__ = ["convert_X", "sequence_length", "validate_search_data"]

# The inner estimator's parameters that decide how X is read.
_INPUT_PARAMS = ("n_features", "input_layout", "embedding_dim", "mask_value")


def _parser():
    """skgru's one input parser, :func:`skgru._sequences.convert_X`."""
    from skgru._sequences import convert_X as parse

    return parse


def convert_X(X, *, n_features=None, input_layout="ntf", embedding_dim=None,
              mask_value=None, estimator_name="estimator"):
    """Parse ``X`` as an skgru estimator with these input parameters would.

    The single place that knows the parser's import path and signature: only
    keyword arguments the parser accepts are passed.
    """
    parse = _parser()
    kwargs = dict(n_features=n_features, input_layout=input_layout,
                  tokens=embedding_dim is not None, embedding_dim=embedding_dim,
                  mask_value=mask_value, estimator_name=estimator_name)
    accepted = inspect.signature(parse).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
        kwargs = {k: v for k, v in kwargs.items() if k in accepted}
    return parse(X, **kwargs)


def _skgru_input_params(estimator):
    """The input parameters of an skgru estimator, or None for anything else."""
    if not type(estimator).__module__.startswith("skgru."):
        return None
    try:
        params = estimator.get_params(deep=False)
    except Exception:  # noqa: BLE001
        return None
    if "input_layout" not in params:
        return None
    return {k: params.get(k) for k in _INPUT_PARAMS if k in params}


def _check_y(estimator, y):
    if is_classifier(estimator):
        y_arr = check_array(y, ensure_2d=False, dtype=None, input_name="y",
                            ensure_all_finite=False)
        if y_arr.dtype.kind == "f" and not np.all(np.isfinite(y_arr)):
            raise ValueError("Input y contains NaN or infinity.")
        check_classification_targets(y_arr)
    elif is_regressor(estimator):
        check_array(y, ensure_2d=False, dtype="numeric", input_name="y",
                    ensure_all_finite=True)


def validate_search_data(estimator, X, y, groups=None):
    """Check ``X``, ``y`` and ``groups`` for ``estimator``.

    Returns
    -------
    X, y : indexable
        The user's ``X`` and ``y``, made indexable.
    n_timesteps : int or None
        The padded length ``estimator`` reads in ``X`` (as
        :func:`sequence_length` gives it), so that a search on a bare skgru
        estimator parses ``X`` once; None when ``estimator`` is not skgru's.

    Raises
    ------
    ValueError, TypeError
        With the message the estimator's own ``fit`` would give.
    """
    name = type(estimator).__name__
    if X is None:
        raise ValueError(f"{name} requires X; got None.")
    required = True
    try:
        from sklearn.utils import get_tags

        required = get_tags(estimator).target_tags.required
    except Exception:  # noqa: BLE001 - tags must never break validation
        pass
    if y is None and required:
        raise ValueError(
            f"{name} requires y to be passed, but the target y is None.")
    inputs = _skgru_input_params(estimator)
    n_timesteps = None
    if inputs is not None:
        array = convert_X(X, estimator_name=name, **inputs)[0]
        n_timesteps = _padded_length(array, inputs)
    else:
        _num_samples(X)  # TypeError for something that is not a collection of samples
    if y is not None:
        _check_y(estimator, y)
    X, y = indexable(X, y)
    check_consistent_length(X, y, groups)
    return X, y, n_timesteps


def _padded_length(array, inputs):
    """The timesteps axis of a parsed ``array``; None for token input (never patched)."""
    if inputs.get("embedding_dim") is not None or array.ndim < 2:
        return None
    return int(array.shape[1])


def sequence_length(step, X):
    """The padded number of timesteps ``step`` (an skgru estimator) reads in ``X``.

    What ``patch_size="auto"`` is resolved from in ``fit``: the length of the
    stacked (post-padded, for ragged input) array.  ``None`` for token input
    (never patched), for a ``step`` that is not skgru's, or when ``step``'s
    parser cannot read ``X`` as given (in a Pipeline the steps before it may
    change it); the caller then falls back to length-free choices.
    """
    inputs = _skgru_input_params(step)
    if inputs is None or inputs.get("embedding_dim") is not None:
        return None
    try:
        array = convert_X(X, estimator_name=type(step).__name__, **inputs)[0]
    except (TypeError, ValueError):
        return None
    return _padded_length(array, inputs)

