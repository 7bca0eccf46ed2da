"""Saving and deploying skgru models without pickle.

pickle and joblib files run code when they are loaded: a crafted file can do
anything the loading process can.  Only load them from sources you trust.  This
module offers three safer routes:

* :func:`save` / :func:`load`: skgru's own archive, which holds **data only**
  (parameters and fitted metadata as JSON, weights and other arrays as ``.npy``)
  and is read without pickle and without importing anything the file names;
* :func:`trusted_types`: the skgru class names to pass to ``skops.io.load(...,
  trusted=...)`` and to ``mlflow.sklearn.log_model(..., skops_trusted_types=...)``;
* :func:`to_onnx`: the network, with its input scaling and output decoding, as
  an ONNX graph for onnxruntime (no Python, no TensorFlow at serving time).

The skgru.io format (version 1)
-------------------------------
A zip file (any name; ``.skgru`` is a good suffix) with

``skgru.json``
    ``{"format": "skgru.io", "format_version": 1, "skgru_version": ...,
    "versions": {...}, "estimator": <node>}``.  A node is a JSON value; values
    JSON cannot express are one-key objects (``{"$tuple": [...]}``,
    ``{"$array": "arrays/3.npy"}``, ``{"$estimator": {"class":
    "skgru.GRUClassifier", "state": ...}}``, ...; the full list is in
    ``skgru._io._codec``).  ``"class"`` must be one of the allow-listed names
    below; anything else is refused.
``arrays/<i>.npy``
    NumPy arrays (network weights, optimizer state, scaler statistics, class
    labels), read with ``np.load(allow_pickle=False)``.

What it can hold: :class:`~skgru.GRUClassifier`, :class:`~skgru.GRURegressor`,
``skgru.conformal.ConformalRegressor``, a fitted :class:`~skgru.TunedGRU`
(its parameters, ``best_estimator_``,
``cv_results_`` and other public fitted attributes; ``scorer_`` is rebuilt from
``scoring``), :class:`~skgru.preprocessing.SequenceScaler`,
:class:`~skgru.preprocessing.SequencePadder`,
:class:`~skgru.preprocessing.TextSequencer`, and
:class:`~sklearn.pipeline.Pipeline` of these and of scikit-learn's
``StandardScaler``, ``MinMaxScaler``, ``MaxAbsScaler``, ``RobustScaler``,
``Normalizer``, ``PCA`` and ``FunctionTransformer`` (with ``func`` /
``inverse_func`` None or a NumPy ufunc such as ``np.log1p``).  Parameters must be
plain values (None, bool, int, float, str, lists/tuples/dicts of these, arrays,
``scipy.stats`` distributions in a search space, Keras optimizer classes):
callables, Keras callbacks/losses/optimizer instances raise a ``TypeError`` that
names the parameter.
"""

from __future__ import annotations

import os

__all__ = ["save", "load", "trusted_types", "to_onnx"]


def save(estimator, path) -> None:
    """Save a fitted or unfitted estimator to a pickle-free skgru.io archive.

    Parameters
    ----------
    estimator : estimator
        One of the estimators listed in the module docstring (or a Pipeline of them).
    path : str or path-like
        File to write (overwritten if it exists).  Nothing else is written.

    Raises
    ------
    TypeError
        If the estimator, or one of its parameters or fitted attributes, cannot
        be stored without pickle (the message names it).

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from skgru import GRUClassifier
    >>> import skgru.io
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(20, 5, 2)); y = (X[:, :, 0].sum(axis=1) > 0).astype(int)
    >>> clf = GRUClassifier(units=4, epochs=2, random_state=0).fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "clf.skgru")
    >>> skgru.io.save(clf, path)
    >>> again = skgru.io.load(path)
    >>> bool(np.array_equal(again.predict_proba(X), clf.predict_proba(X)))
    True
    """
    from skgru._io import _archive, _registry

    if _registry.name_of(estimator) is None:
        raise TypeError(
            f"skgru.io.save cannot store a {type(estimator).__module__}.{type(estimator).__qualname__}; "
            f"supported: {sorted(_registry.ESTIMATORS)}."
        )
    _archive.write(estimator, os.fspath(path) if isinstance(path, os.PathLike) else path)


def load(path):
    """Load an estimator saved with :func:`save`, without unpickling anything.

    Only data is read: JSON and ``.npy`` arrays (``allow_pickle=False``); class
    names in the file are looked up in a fixed allow-list, never imported.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save`.

    Returns
    -------
    estimator : estimator
        The estimator, with identical predictions to the one saved.

    Raises
    ------
    ValueError
        If the file is not a skgru.io archive, is truncated or damaged, has an
        unknown format version, names a class outside the allow-list, or was
        crafted (a root that is not an estimator, nesting too deep, an array
        referred to twice, arrays that would inflate more than 50-fold).
    """
    from skgru._io import _archive

    return _archive.read(os.fspath(path) if isinstance(path, os.PathLike) else path)


def trusted_types() -> list:
    """The skgru type names skops must trust to load skgru estimators.

    Pass the list as ``skops.io.load(path, trusted=skgru.io.trusted_types())`` or
    ``mlflow.sklearn.log_model(..., serialization_format="skops",
    skops_trusted_types=skgru.io.trusted_types())``.  The fitted state of every
    skgru estimator and transformer holds only builtins, NumPy arrays and these
    public classes, so no private name is needed.  (A fitted ``TunedGRU`` also
    holds ``scorer_``, a scikit-learn scorer object that skops does not trust by
    default; for it, skgru's own :func:`save` is simpler.)

    Returns
    -------
    names : list of str
        ``"<module>.<class>"`` for GRUClassifier, GRURegressor, TunedGRU,
        ConformalRegressor, SequenceScaler, SequencePadder and TextSequencer, sorted.
    """
    from skgru._io import _registry

    names = []
    for public in _registry.SKOPS_CLASSES:
        module, attr = _registry.ESTIMATORS[public]
        try:
            cls = _registry.resolve(public)
            names.append(f"{cls.__module__}.{cls.__qualname__}")
        except ImportError:  # TunedGRU without keras-tuner: its defining module is fixed
            names.append(f"{module}._tuned.{attr}")
    return sorted(names)


def to_onnx(estimator, path, *, opset=None):
    """Export a fitted estimator (or ``Pipeline(SequenceScaler, estimator)``) to ONNX.

    The ONNX graph takes the 3D float32 input ``(n_samples, n_timesteps,
    n_features)`` that ``predict`` takes (for estimators fitted on 2D input: the
    same 2D rows), with a dynamic batch dimension, and outputs

    * ``probabilities`` ``(n_samples, n_classes)`` for a classifier, equal to
      ``predict_proba`` (labels: ``classes_[argmax]``; the classes are stored
      in the model's metadata as ``skgru_classes``);
    * ``predictions`` ``(n_samples,)`` or ``(n_samples, n_outputs)`` for a
      regressor, equal to ``predict`` (for a quantile regressor: the point
      level ``predict`` returns).

    A ``SequenceScaler`` in front is folded into the graph, and short sequences
    are padded inside it to the network's fixed unrolled length, so callers pass
    exactly what they would pass to ``predict``.  Needs the ``onnx`` extra
    (``pip install skgru[onnx]``: tf2onnx, onnx, onnxruntime); the export uses
    Keras' own ``Model.export(format="onnx")``.

    Parameters
    ----------
    estimator : GRUClassifier, GRURegressor or Pipeline
        Fitted; a Pipeline may hold ``SequenceScaler`` steps before the estimator.
    path : str or path-like
        The ``.onnx`` file to write.
    opset : int or None, default=None
        ONNX opset (None: the converter's default).

    Raises
    ------
    ValueError
        For unfitted estimators, pipeline steps the graph cannot hold (strings,
        text tokenisation), and inputs the export does not support (see the message).
    """
    from skgru._io import _onnx

    return _onnx.export(estimator, os.fspath(path), opset=opset)
