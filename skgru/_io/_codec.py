"""Python values <-> a JSON tree plus a list of NumPy arrays (format version 1).

JSON nodes (documented in :mod:`skgru.io`):

* ``null``, booleans, integers, strings, finite floats and JSON lists stand for
  themselves;
* every other value is a JSON object with exactly one key, its tag:
  ``{"$float": "nan"|"inf"|"-inf"}``, ``{"$tuple": [...]}``,
  ``{"$dict": {str: node}}`` (string keys), ``{"$items": [[key, value], ...]}``
  (other keys), ``{"$array": "arrays/<i>.npy"}`` (a numeric/bool/str ndarray),
  ``{"$scalar": "arrays/<i>.npy"}`` (a NumPy scalar, stored 0-d),
  ``{"$objarray": {"shape": [...], "items": [...]}}`` (an object ndarray of plain
  values), ``{"$masked": {"data": node, "mask": node}}`` (numpy.ma arrays, as in
  ``cv_results_``), ``{"$dtype": "<f4"}``, ``{"$estimator": {"class": name, ...}}``
  (an allow-listed estimator), ``{"$keras_optimizer": "Adam"}``,
  ``{"$ufunc": "log1p"}`` (a NumPy ufunc, for FunctionTransformer) and
  ``{"$distribution": {"name": ..., "args": ..., "kwds": ...}}`` (a frozen
  scipy.stats distribution of a TunedGRU search space).

Arrays are written with ``np.save(allow_pickle=False)`` and read with
``np.load(allow_pickle=False)``.  Decoding resolves names only through the fixed
tables of ``_registry``, ``keras.optimizers``, ``numpy`` ufuncs and
``scipy.stats`` distributions; it never imports a path from the file.
"""

from __future__ import annotations

import io
import math
import re

import numpy as np

from skgru._io import _registry

ARRAY_NAME = re.compile(r"arrays/[0-9]{1,9}\.npy\Z")


class NotStorable(TypeError):
    """A value skgru.io cannot store without pickle."""


def _what(value):
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}"


# ------------------------------------------------------------------- encode


class Encoder:
    def __init__(self):
        self.arrays: dict[str, bytes] = {}
        self._ids: dict[int, int] = {}  # id(estimator) -> its number in the file
        self._keep = []  # keeps encoded objects alive, so their ids stay unique

    def _store(self, arr: np.ndarray, path: str) -> str:
        name = f"arrays/{len(self.arrays)}.npy"
        buf = io.BytesIO()
        try:
            np.save(buf, arr, allow_pickle=False)
        except ValueError as exc:
            raise NotStorable(f"{path}: array of dtype {arr.dtype} cannot be stored without pickle ({exc}).") from None
        self.arrays[name] = buf.getvalue()
        return name

    def encode(self, value, path="estimator"):
        if value is None or type(value) in (bool, int, str):
            return value  # exact types: np.str_ (a str subclass) is stored as a NumPy scalar
        if type(value) is float:
            if math.isfinite(value):
                return value
            return {"$float": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
        if type(value) is list:
            return [self.encode(v, f"{path}[{i}]") for i, v in enumerate(value)]
        if type(value) is tuple:
            return {"$tuple": [self.encode(v, f"{path}[{i}]") for i, v in enumerate(value)]}
        if type(value) is dict:
            if all(type(k) is str for k in value):
                return {"$dict": {k: self.encode(v, f"{path}[{k!r}]") for k, v in value.items()}}
            return {"$items": [[self.encode(k, f"{path}.key"), self.encode(v, f"{path}[{k!r}]")]
                               for k, v in value.items()]}
        if isinstance(value, np.ma.MaskedArray):
            return {"$masked": {"data": self.encode(np.asarray(value.data), f"{path}.data"),
                                "mask": self.encode(np.ma.getmaskarray(value), f"{path}.mask")}}
        if type(value) is np.ndarray:
            if value.dtype == object:
                return {"$objarray": {"shape": list(value.shape),
                                      "items": [self.encode(v, f"{path}[{i}]") for i, v in enumerate(value.ravel().tolist())]}}
            if value.dtype.fields is not None:
                raise NotStorable(f"{path}: structured arrays are not supported.")
            return {"$array": self._store(value, path)}
        if isinstance(value, np.generic) and type(value) is not np.object_:
            return {"$scalar": self._store(np.asarray(value), path)}
        if isinstance(value, np.dtype) and value.fields is None and value != object:
            return {"$dtype": value.str}
        if isinstance(value, np.dtype) and value == object:
            return {"$dtype": "|O"}
        if isinstance(value, np.ufunc) and getattr(np, value.__name__, None) is value:
            return {"$ufunc": value.__name__}
        name = _registry.name_of(value)
        if name is not None:
            # the same estimator twice (ConformalRegressor's estimator_ is estimators_[0]):
            # stored once, referenced after, so identity survives as with pickle
            if id(value) in self._ids:
                return {"$ref": self._ids[id(value)]}
            number = self._ids[id(value)] = len(self._ids)
            self._keep.append(value)
            return {"$estimator": {"id": number, **self._estimator(value, name, path)}}
        optimizer = _keras_optimizer_name(value)
        if optimizer is not None:
            return {"$keras_optimizer": optimizer}
        dist = _distribution(value)
        if dist is not None:
            return {"$distribution": {"name": dist[0], "args": self.encode(dist[1], f"{path}.args"),
                                      "kwds": self.encode(dist[2], f"{path}.kwds")}}
        raise NotStorable(_refusal(value, path))

    def _estimator(self, est, name, path):
        if name == "skgru.TunedGRU":
            return self._tuned(est, path)
        state = est.__getstate__()
        if not isinstance(state, dict):
            raise NotStorable(f"{path}: {name}.__getstate__() did not return a dict.")
        return {"class": name, "state": self.encode(state, f"{path}<{name}>")}

    def _tuned(self, est, path):
        # Saved through its public surface only: get_params and the public fitted
        # attributes.  scorer_ is rebuilt from `scoring` on load (check_scoring).
        params = est.get_params(deep=False)
        fitted = {k: v for k, v in vars(est).items()
                  if k.endswith("_") and not k.startswith("_") and k not in params and k != "scorer_"}
        return {"class": "skgru.TunedGRU",
                "params": self.encode(params, f"{path}<TunedGRU>.params"),
                "fitted": self.encode(fitted, f"{path}<TunedGRU>")}


def _keras_optimizer_name(value):
    if not isinstance(value, type):
        return None
    import keras

    name = value.__name__
    if getattr(keras.optimizers, name, None) is value and issubclass(value, keras.optimizers.Optimizer):
        return name
    return None


def _distribution(value):
    try:
        from scipy.stats._distn_infrastructure import rv_frozen
    except ImportError:  # scipy absent: no distribution can be in the state either
        return None
    if not isinstance(value, rv_frozen):
        return None
    name = getattr(value.dist, "name", None)
    return (name, tuple(value.args), dict(value.kwds)) if _scipy_distribution(name, strict=False) is not None else None


def _scipy_distribution(name, strict=True):
    import scipy.stats

    ok = isinstance(name, str) and name.isidentifier()
    gen = getattr(scipy.stats, name, None) if ok else None
    if not isinstance(gen, (scipy.stats.rv_continuous, scipy.stats.rv_discrete)):
        if strict:
            raise ValueError(f"Unknown scipy.stats distribution {name!r} in the file.")
        return None
    return gen


def _refusal(value, path):
    what = _what(value)
    if callable(value) and not isinstance(value, type):
        reason = "it is a callable (code), which a pickle-free file cannot hold"
    elif what.startswith(("keras.", "tensorflow.", "tf_keras.")):
        reason = "it is a Keras/TensorFlow object; pass it by name (e.g. optimizer='adam', loss='mse') instead"
    else:
        reason = "its type is not one skgru.io can store without pickle"
    return (
        f"Cannot save {path}: a {what} ({reason}). skgru.io stores parameters that are "
        "None, bool, int, float, str, lists/tuples/dicts of those, NumPy arrays, Keras "
        f"optimizer classes and the estimators {sorted(_registry.ESTIMATORS)}. For an "
        "estimator holding other objects, use joblib/pickle, and only load such files from "
        "sources you trust."
    )


# ------------------------------------------------------------------- decode


class Decoder:
    def __init__(self, read_array):
        self._read_array = read_array  # name -> bytes (raises ValueError if absent)
        self._objects: dict[int, object] = {}  # estimator number -> decoded estimator

    def _array(self, name):
        if not isinstance(name, str) or not ARRAY_NAME.match(name):
            raise ValueError(f"Invalid array reference {name!r} in the file.")
        try:
            return np.load(io.BytesIO(self._read_array(name)), allow_pickle=False)
        except ValueError as exc:
            raise ValueError(f"Array {name} in the file is invalid or would need pickle: {exc}") from None

    def decode(self, node):
        if node is None or isinstance(node, (bool, str, int, float)):
            return node
        if isinstance(node, list):
            return [self.decode(v) for v in node]
        if not isinstance(node, dict) or len(node) != 1:
            raise ValueError(f"Malformed entry in the file: {str(node)[:80]!r}.")
        (tag, body), = node.items()
        handler = _TAGS.get(tag)
        if handler is None:
            raise ValueError(f"Unknown entry {tag!r} in the file.")
        try:
            return handler(self, body)
        except (KeyError, TypeError, AttributeError, IndexError) as exc:
            raise ValueError(f"Malformed {tag} entry in the file: {exc!r}.") from None

    def _float(self, body):
        if body not in ("nan", "inf", "-inf"):
            raise ValueError(f"Invalid $float {body!r}.")
        return float(body)

    def _dict(self, body):
        if not isinstance(body, dict):
            raise TypeError("$dict needs an object")
        return {k: self.decode(v) for k, v in body.items()}

    def _items(self, body):
        out = {}
        for key, value in body:
            key = self.decode(key)
            out[key] = self.decode(value)  # TypeError for unhashable keys -> ValueError
        return out

    def _objarray(self, body):
        items = [self.decode(v) for v in body["items"]]
        shape = tuple(int(s) for s in body["shape"])
        arr = np.empty(len(items), dtype=object)
        for i, item in enumerate(items):
            arr[i] = item
        if math.prod(shape) != len(items):
            raise ValueError("$objarray shape does not match its items.")
        return arr.reshape(shape)

    def _masked(self, body):
        data, mask = self.decode(body["data"]), self.decode(body["mask"])
        if not isinstance(data, np.ndarray) or not isinstance(mask, np.ndarray) or mask.shape != data.shape:
            raise ValueError("$masked needs data and mask arrays of one shape.")
        return np.ma.MaskedArray(data, mask=mask.astype(bool))

    def _scalar(self, body):
        arr = self._array(body)
        if arr.ndim != 0:
            raise ValueError("$scalar must be a 0-d array.")
        return arr[()]

    def _dtype(self, body):
        if not isinstance(body, str):
            raise TypeError("$dtype needs a string")
        try:
            dtype = np.dtype(body)
        except TypeError as exc:
            raise ValueError(f"Invalid dtype {body!r}: {exc}") from None
        return dtype

    def _ufunc(self, body):
        func = getattr(np, body, None) if isinstance(body, str) and body.isidentifier() else None
        if not isinstance(func, np.ufunc):
            raise ValueError(f"Unknown NumPy ufunc {body!r} in the file.")
        return func

    def _keras_optimizer(self, body):
        from skgru.estimators._persistence import optimizer_class

        return optimizer_class(body)

    def _distribution(self, body):
        gen = _scipy_distribution(body["name"])
        args, kwds = self.decode(body["args"]), self.decode(body["kwds"])
        return gen(*tuple(args), **dict(kwds))

    def _estimator(self, body):
        cls = _registry.resolve(body["class"])
        number = body["id"]
        if type(number) is not int or number in self._objects:
            raise ValueError(f"Invalid or repeated estimator id {number!r} in the file.")
        if body["class"] == "skgru.TunedGRU":
            obj = self._tuned(cls, body)
        else:
            state = self.decode(body["state"])
            if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
                raise ValueError(f"The state of {body['class']} in the file is not a dict of attributes.")
            obj = cls.__new__(cls)
            obj.__setstate__(state)
        self._objects[number] = obj
        return obj

    def _ref(self, body):
        if type(body) is not int or body not in self._objects:
            raise ValueError(f"Reference to unknown estimator {body!r} in the file.")
        return self._objects[body]

    def _tuned(self, cls, body):
        from skgru.tuning._scoring import scorer_from_scoring

        params, fitted = self.decode(body["params"]), self.decode(body["fitted"])
        if not isinstance(params, dict) or not isinstance(fitted, dict):
            raise ValueError("A TunedGRU entry needs 'params' and 'fitted' dicts.")
        obj = cls(**params)
        for name, value in fitted.items():
            if not (isinstance(name, str) and name.endswith("_") and name.isidentifier() and not name.startswith("_")):
                raise ValueError(f"Invalid fitted attribute name {name!r} for TunedGRU in the file.")
            setattr(obj, name, value)
        if "cv_results_" in fitted:
            obj.scorer_ = scorer_from_scoring(fitted.get("best_estimator_", obj._base_estimator()), obj.scoring)
        return obj


_TAGS = {
    "$float": Decoder._float,
    "$tuple": lambda self, body: tuple(self.decode(v) for v in body),
    "$dict": Decoder._dict,
    "$items": Decoder._items,
    "$array": Decoder._array,
    "$scalar": Decoder._scalar,
    "$objarray": Decoder._objarray,
    "$masked": Decoder._masked,
    "$dtype": Decoder._dtype,
    "$ufunc": Decoder._ufunc,
    "$keras_optimizer": Decoder._keras_optimizer,
    "$distribution": Decoder._distribution,
    "$estimator": Decoder._estimator,
    "$ref": Decoder._ref,
}
