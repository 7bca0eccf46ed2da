"""Translate sklearn-style search spaces into KerasTuner ``HyperParameters``.

A search space is either

* a dict ``{param_name: spec}`` where ``spec`` is

  - a ``list`` (or 1-D ``numpy`` array, or a ``range``) of candidate values -> ``hp.Choice``.
    Lists of plain ``int``, ``float`` or ``str`` map directly; anything else
    (mixed types, ``None``, booleans, tuples, objects) is *index-encoded*: the
    oracle searches over ``hp.Choice(name, [0, 1, ...], ordered=False)`` and
    the index is decoded back to the original value.  A one-element list is a
    fixed value;
  - a frozen ``scipy.stats`` distribution: ``randint`` -> ``hp.Int``,
    ``uniform`` -> ``hp.Float``, ``loguniform``/``reciprocal`` ->
    ``hp.Float(sampling="log")``; any other distribution with a ``ppf`` is
    searched through its quantile (``hp.Float`` in (0, 1), decoded with
    ``ppf``), which keeps its shape for random search;
  - anything else (``int``, ``float``, ``None``, a ``tuple`` such as
    ``units=(32, 16)``, an object) -> a fixed value applied to every trial.
    Note that, unlike ``ParameterGrid``, a *tuple* is a single value: wrap
    tuples in a list to search over them (``"units": [(32,), (32, 16)]``);

* or a callable ``space(hp) -> dict`` receiving a KerasTuner
  ``HyperParameters`` object, for conditional spaces
  (``hp.conditional_scope``) or anything the dict form cannot express.

Parameter names are estimator parameter names, including nested ones
(``gruclassifier__units``): they are applied with ``set_params``.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import numbers
import re

import numpy as np

__all__ = ["SearchSpace", "callable_source_identity", "default_search_space", "gru_step",
           "patch_size_choices"]

_RESERVED_PREFIX = "tuner/"


def _plain(value):
    """numpy scalars -> Python scalars (KerasTuner and JSON want those)."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def _is_distribution(value):
    return hasattr(value, "rvs") and callable(value.rvs)


def _describe(value):
    """A stable, process-independent description (for fingerprints)."""
    if _is_distribution(value):
        dist = getattr(value, "dist", None)
        return [
            "dist",
            getattr(dist, "name", type(value).__name__),
            [_describe(a) for a in getattr(value, "args", ())],
            {k: _describe(v) for k, v in sorted(getattr(value, "kwds", {}).items())},
        ]
    if isinstance(value, (list, tuple)):
        return [type(value).__name__, [_describe(v) for v in value]]
    if isinstance(value, np.ndarray):
        return ["ndarray", [_describe(v) for v in value.tolist()]]
    if isinstance(value, dict):
        return {str(k): _describe(v) for k, v in sorted(value.items(), key=str)}
    value = _plain(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "get_params"):
        return [type(value).__module__ + "." + type(value).__qualname__,
                _describe(value.get_params(deep=False))]
    if callable(value):
        return ["callable", getattr(value, "__module__", ""),
                getattr(value, "__qualname__", type(value).__qualname__)]
    # Strip memory addresses from default reprs.
    return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))


class _Spec:
    """One entry of a dict search space."""

    def __init__(self, name, spec):
        if not isinstance(name, str) or not name:
            raise ValueError(f"Search space keys must be non-empty strings, got {name!r}.")
        if name.startswith(_RESERVED_PREFIX):
            raise ValueError(
                f"Search space key {name!r} uses the prefix {_RESERVED_PREFIX!r}, "
                "which KerasTuner reserves for Hyperband."
            )
        self.name = name
        self.kind = "fixed"
        self.value = spec
        if isinstance(spec, range):
            # GridSearchCV reads any sequence of candidates; a range was a fixed value
            # here, so units=range(4, 6) set units to the range and every trial failed
            spec = list(spec)
        if isinstance(spec, np.ndarray):
            if spec.ndim != 1:
                raise ValueError(
                    f"Search space entry {name!r}: arrays of candidates must be "
                    f"1-D, got shape {spec.shape}."
                )
            spec = spec.tolist()
        if isinstance(spec, list):
            if len(spec) == 0:
                raise ValueError(f"Search space entry {name!r} is an empty list.")
            values = [_plain(v) for v in spec]
            if len(values) == 1:
                self.kind, self.value = "fixed", values[0]
                return
            self.values = values
            types = {type(v) for v in values}
            # KerasTuner's GridSearchOracle loops forever on duplicate Choice
            # values: lists with duplicates are index-encoded (which also keeps
            # sklearn's "duplicates weigh more" sampling semantics).
            if (len(types) == 1 and types.pop() in (int, float, str)
                    and len(set(values)) == len(values)):
                self.kind = "choice"
            else:
                self.kind = "indexed"
        elif _is_distribution(spec):
            self._init_distribution(spec)

    def _init_distribution(self, dist):
        name = getattr(getattr(dist, "dist", None), "name", None)
        self.dist = dist
        if name in ("randint", "uniform", "loguniform", "reciprocal"):
            low, high = (float(v) for v in dist.support())
            if not (np.isfinite(low) and np.isfinite(high)) or high < low:
                raise ValueError(
                    f"Search space entry {self.name!r}: bad support {(low, high)}."
                )
            self.low, self.high = low, high
            self.kind = {"randint": "int", "uniform": "float"}.get(name, "logfloat")
            if self.kind == "logfloat" and low <= 0:
                raise ValueError(
                    f"Search space entry {self.name!r}: loguniform needs a positive "
                    f"lower bound, got {low}."
                )
            if self.kind == "int" and low == high:
                self.kind, self.value = "fixed", int(low)
        elif hasattr(dist, "ppf"):
            self.kind = "quantile"
            self.discrete = hasattr(getattr(dist, "dist", None), "pmf")
        else:
            raise ValueError(
                f"Search space entry {self.name!r}: {dist!r} has `rvs` but no "
                "`ppf`; KerasTuner needs a bounded range. Use a scipy.stats "
                "distribution, a list, or a callable search space."
            )

    def declare(self, hp):
        """Register with ``hp`` and return the decoded value for this trial."""
        k = self.kind
        if k == "fixed":
            return self.value
        if k == "choice":
            return hp.Choice(self.name, self.values)
        if k == "indexed":
            idx = hp.Choice(self.name, list(range(len(self.values))), ordered=False)
            return None if idx is None else self.values[int(idx)]
        if k == "int":
            return hp.Int(self.name, int(self.low), int(self.high))
        if k == "float":
            return hp.Float(self.name, self.low, self.high)
        if k == "logfloat":
            return hp.Float(self.name, self.low, self.high, sampling="log")
        # quantile encoding
        q = hp.Float(self.name, 0.0, 1.0)
        q = min(max(float(q), 1e-3), 1.0 - 1e-3)
        value = float(self.dist.ppf(q))
        return int(round(value)) if self.discrete else value

    @property
    def searched(self):
        return self.kind != "fixed"

    def describe(self):
        return [self.kind, _describe(self.value if self.kind == "fixed" else
                                     getattr(self, "values", None) or self.dist)]


class SearchSpace:
    """A search space, as a function ``hp -> params`` with a fingerprint.

    Parameters
    ----------
    space : dict or callable
        See the module docstring.
    """

    def __init__(self, space):
        if callable(space) and not isinstance(space, dict):
            self.fn = space
            self.specs = None
        elif isinstance(space, dict):
            if not space:
                raise ValueError("search_space is an empty dict.")
            self.fn = None
            self.specs = [_Spec(name, spec) for name, spec in space.items()]
            if not any(s.searched for s in self.specs):
                # Still valid (one trial), but almost certainly a mistake with
                # several trials; the oracle stops when the space is exhausted.
                pass
        else:
            raise TypeError(
                "search_space must be a dict {param: list | scipy.stats "
                "distribution | value}, a callable hp -> dict, or None; got "
                f"{type(space).__name__}."
            )

    def declare(self, hp):
        """Register the space on ``hp`` and return the params for its values."""
        if self.fn is None:
            return {spec.name: spec.declare(hp) for spec in self.specs}
        params = self.fn(hp)
        if not isinstance(params, dict):
            raise TypeError(
                "A callable search_space must return a dict of estimator "
                f"parameters, got {type(params).__name__}."
            )
        return dict(params)

    def param_names(self):
        if self.specs is not None:
            return [s.name for s in self.specs]
        return None

    def describe(self):
        """A JSON-able, process-independent description of the space."""
        if self.fn is None:
            return {s.name: s.describe() for s in self.specs}
        return {"callable": callable_source_identity(self.fn)}


def callable_source_identity(fn):
    """``[module, qualname, sha256 of the source]`` of a callable: what identifies a
    function across processes (an edited body is another function).  Used for
    callable search spaces and for scorers (the resume fingerprint)."""
    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError):
        source = ""
    return [getattr(fn, "__module__", ""), getattr(fn, "__qualname__", type(fn).__qualname__),
            hashlib.sha256(source.encode()).hexdigest()]


def populate_initial_space(space, oracle):
    """Register every hyperparameter (all conditional branches) with ``oracle``.

    Mirrors ``BaseTuner._activate_all_conditions`` from KerasTuner: declare the
    space repeatedly, each time activating a conditional scope that was never
    active, until every scope was seen once.
    """
    import copy

    hp = oracle.get_space()
    space.declare(hp)
    oracle.update_space(hp)
    never, once = [], []
    hp = oracle.get_space()
    for _ in range(1000):
        space.declare(hp)
        oracle.update_space(hp)
        for conditions in hp.active_scopes:
            if conditions not in once:
                once.append(copy.deepcopy(conditions))
            if conditions in never:
                never.remove(conditions)
        for conditions in hp.inactive_scopes:
            if conditions not in once and conditions not in never:
                never.append(copy.deepcopy(conditions))
        if not never:
            break
        hp = oracle.get_space()
        for condition in never[0]:
            hp.values[condition.name] = condition.values[0]
        hp.ensure_active_values()


def _find_prefix(estimator, required):
    """Return the prefix ('' or 'step__') under which ``required`` params live."""
    params = estimator.get_params(deep=True)
    candidates = [""] + sorted(
        {k[: -len(required[0])] for k in params if k.endswith("__" + required[0])}
    )
    for prefix in candidates:
        if all(prefix + r in params for r in required):
            return prefix
    return None


# The longest recurrences the default space's two integer patch sizes may leave.
PATCHED_STEPS_LIMITS = (100, 50)
PATCH_SIZE_CHOICES = (5, 10)
# crop_size fractions of the default space (a classifier on series longer than 40 steps)
CROP_FRACTIONS = (0.25, 0.125)
# The longest series on which the default space offers a classifier's GRU-FCN branch:
# its convolutions cost ~2.6e5 multiply-adds per step and series (128-256-128 filters),
# whatever the patching: on PigCVP's 2000 steps the first trial of TunedGRU's seed-0
# search (32 units, 2 layers, 1/4 windows) took 1227 s with the branch and 22 s without
# it, on one core (round 8 of issue 12). The same bound as the patch sizes': every other
# data set the defaults were chosen on has at most 500 steps.
FCN_MAX_STEPS = 500


def patch_size_choices(n_timesteps=None):
    """The default space's integer patch sizes for series of ``n_timesteps`` steps.

    5 and 10, each raised as far as needed to leave at most 100 and 50 GRU steps
    (``None``: unknown length, 5 and 10).
    """
    if n_timesteps is None:
        return list(PATCH_SIZE_CHOICES)
    return [max(p, -(-int(n_timesteps) // limit))
            for p, limit in zip(PATCH_SIZE_CHOICES, PATCHED_STEPS_LIMITS)]


def offers_crops(n_timesteps) -> bool:
    """Whether the default space searches ``crop_size``: on series the defaults patch
    (longer than ``AUTO_PATCH_MAX_STEPS``, 40 steps) and of known length."""
    from skgru.estimators._params import AUTO_PATCH_MAX_STEPS

    return n_timesteps is not None and int(n_timesteps) > AUTO_PATCH_MAX_STEPS


def offers_fcn_branch(n_timesteps) -> bool:
    """Whether the default space searches a classifier's ``fcn_branch``: on series of
    at most ``FCN_MAX_STEPS`` (500) steps, or of unknown length."""
    return n_timesteps is None or int(n_timesteps) <= FCN_MAX_STEPS


def gru_step(estimator):
    """The GRU estimator whose parameters the default space sets: ``estimator``
    itself or the Pipeline step holding them (None when there is none)."""
    prefix = _find_prefix(estimator, ["units", "patch_size"])
    if prefix is None:
        return None
    return estimator if prefix == "" else estimator.get_params(deep=True)[prefix[:-2]]


def default_search_space(estimator, tuner="random", n_timesteps=None):
    """The default GRU search space for ``estimator``.

    ``units`` {32, 64, 128}, ``n_layers`` {1, 2}, ``bidirectional`` {False, True},
    ``dropout`` U(0, 0.4), ``learning_rate`` logU(3e-4, 1e-2), ``batch_size``
    {16, 32}, and the architecture choices of issue 12: ``patch_size``
    {"auto", 5, 10} (see below), ``patch_mode`` {"max", "fold"}, ``pooling``
    {"auto", "mean", "attention"} for a classifier, {"last", "mean", "attention"} for a
    regressor (see below), ``conv_filters`` {None, 64}, and ``linear_skip``
    {None, True} for a regressor or ``fcn_branch`` {False, True} for a classifier
    (on series of at most 500 steps or of unknown length: see below),
    and for a classifier on series longer than 40 steps (those ``patch_size="auto"``
    patches) ``crop_size`` {None, 0.25, 0.125} (see below). Every entry keeps the
    cuDNN kernel usable (no recurrent dropout).  With ``tuner="grid"`` the
    continuous entries become short lists.  Works for a GRU estimator or a
    Pipeline ending in one (names are prefixed).

    ``n_timesteps`` (the padded training length, when known) scales the two
    integer patch sizes so that neither leaves a longer recurrence than 100 and
    50 GRU steps: they are ``max(5, ceil(t / 100))`` and ``max(10, ceil(t / 50))``,
    i.e. 5 and 10 up to 500 steps, 20 and 40 on a 2000-step series.  Why: on
    PigCVP's 2000 steps, 5 and 10 meant 400- and 200-step recurrences (``"auto"``
    aims at 25 steps, chosen by cross-validation over 50), and ``TunedGRU()`` with
    them had not finished its 10 trials on 104 series after 105 minutes on one core.

    A classifier's ``pooling`` offers its default ``"auto"`` in the place of ``"last"``
    (round 6 of issue 12): the last state where the series is not patched, the max
    over the GRU's outputs where it is. Over the 11 classification training splits,
    3-fold CV scored "auto" 0.885, "max" 0.882, "last" 0.868 and "attention" 0.848; on
    the regression sets "auto" was level with "last", the regressor's default, which
    its space keeps.

    ``crop_size`` (round 7 of issue 12) trains on random windows of 1/4 or 1/8 of the
    series and predicts by averaging over windows. Its 3-fold CV gain on the training
    splits depends on the set (PigCVP 0.18 to 0.63 with 1/8, sim-warp and sim-cbf up,
    sim-long-var and Coffee down), so no default crops and the search decides. It is
    not offered on series of 40 steps or fewer, where a window would be 1-10 steps,
    nor when the length is unknown.

    A classifier's ``fcn_branch`` is not searched on series longer than 500 steps
    (round 8 of issue 12; the estimator's own value then stays): its convolutions read
    every step, so on PigCVP's 2000 steps a trial with the branch took 20 minutes on
    one core where one without it took under one, and the 10-trial search without it
    (782 s) reached a hold-out accuracy of 0.667 where the two trials with it that
    finished scored 0.048 and 0.286 and the former space's best was 0.238.

    Left at the estimator's value (issue 12's parameter screen, 2-fold CV on four
    training splits): ``standardize_X`` (False lost 0.055 R^2 on raw-unit input, nothing
    elsewhere), ``conv_kernel_size`` (3 moved no set by 0.05), ``min_updates`` (the
    stopping rule of small sets: 0 lost 0.26 on GunPoint) and ``gru_input`` (round 17,
    not adopted).
    """
    required = ["units", "n_layers", "dropout", "learning_rate", "batch_size",
                "patch_size", "pooling", "conv_filters"]
    prefix = _find_prefix(estimator, required)
    if prefix is None:
        raise ValueError(
            "search_space=None needs a GRU estimator (or a Pipeline containing "
            f"one) with the parameters {required}; {type(estimator).__name__} "
            "lacks some of them. Pass an explicit search_space."
        )
    from scipy.stats import loguniform, uniform
    from sklearn.base import is_regressor

    regressor = is_regressor(estimator)
    architecture = {
        "patch_size": ["auto", *patch_size_choices(n_timesteps)],
        # round 6 of issue 12: a classifier's "auto" (its default) is the last state on
        # an unpatched series and the max over the GRU's outputs on a patched one; it
        # took the place of "last", which CV on the 11 training splits put below it
        # (0.868 vs 0.885), so the list keeps its length and a seeded search draws the
        # same trials. The regressor keeps "last", its default (auto was level there).
        "pooling": ["last" if regressor else "auto", "mean", "attention"],
        "conv_filters": [None, 64],
        "bidirectional": [False, True],
    }
    # round 3 of issue 12: the task's own extra path (a regressor's linear skip, a
    # classifier's GRU-FCN branch), when the estimator has it
    extra = "linear_skip" if regressor else "fcn_branch"
    # round 8: not the FCN branch on series longer than 500 steps (see FCN_MAX_STEPS)
    if _find_prefix(estimator, [extra]) == prefix and (regressor or offers_fcn_branch(n_timesteps)):
        architecture[extra] = [None, True] if extra == "linear_skip" else [False, True]
    # round 4 of issue 12: how a patch of a long series becomes a GRU step
    if _find_prefix(estimator, ["patch_mode"]) == prefix:
        architecture["patch_mode"] = ["max", "fold"]
    # round 7 of issue 12: a classifier trained on windows of a long series (window
    # slicing); the training-split CV gain is set-dependent (PigCVP 0.18 -> 0.63 with
    # 1/8 windows, sim-warp +0.05, sim-cbf +0.03 with 1/4; sim-long-var -0.06 to -0.10,
    # Coffee -0.19 with 1/8), so the search decides, and only where series are patched
    if _find_prefix(estimator, ["crop_size"]) == prefix and offers_crops(n_timesteps):
        architecture["crop_size"] = [None, *CROP_FRACTIONS]
    if tuner == "grid":
        space = {
            "units": [32, 64],
            "n_layers": [1, 2],
            "dropout": [0.0, 0.2],
            "learning_rate": [1e-3, 3e-3],
            "batch_size": [32],
            **architecture,
        }
    else:
        space = {
            "units": [32, 64, 128],
            "n_layers": [1, 2],
            "dropout": uniform(0.0, 0.4),
            "learning_rate": loguniform(3e-4, 1e-2),
            "batch_size": [16, 32],
            **architecture,
        }
    return {prefix + k: v for k, v in space.items()}


def stable_hash(obj):
    """sha256 of a JSON dump of a ``_describe``-d object."""
    return hashlib.sha256(
        json.dumps(_describe(obj), sort_keys=True, default=str).encode()
    ).hexdigest()


def is_number(x):
    return isinstance(x, numbers.Number) and not isinstance(x, bool)
