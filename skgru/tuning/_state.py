"""The search state TunedGRU saves in ``directory``, and the fingerprint that
decides whether a saved search may be resumed.

The state is one JSON file, ``skgru_search_state.json``: the fingerprint, the
seed the search drew, the oracle's create/end events in order (and where the
search was resumed), and the result of every trial.  It is written atomically
(a temporary file, then a rename) after every trial, so a search killed at any
moment (SIGKILL included) leaves the last complete state.

Loading is strict: the file must be valid JSON of the expected structure
(checked field by field, so a damaged file gives a ``ValueError`` naming the
field, never a ``KeyError``), and its ``checksum`` (SHA-256 over the canonical
JSON of everything else) must match, so an edited score cannot silently decide
``best_params_``.  The checksum detects corruption and hand edits; it is not a
signature (anyone can recompute it).
"""

from __future__ import annotations

import functools
import hashlib
import json
import numbers
import os
import tempfile

import numpy as np

from skgru.tuning._search_space import _describe, callable_source_identity

__all__ = ["STATE_FILE", "STATE_VERSION", "SearchStateFile", "json_values",
           "search_fingerprint"]

STATE_FILE = "skgru_search_state.json"
STATE_VERSION = 2  # 2: multi-metric scores, checksum

# The fields of a trial record that are saved, in this order.
_SAVED_RECORD_KEYS = (
    "trial_id", "tuner_id", "created_values", "status", "error", "scores",
    "train_scores", "multimetric", "fit_times", "score_times", "budget",
    "epochs_trained", "parent_id", "bracket", "round", "seed", "continued",
)


def check_directory(directory):
    """Reject a ``directory`` that cannot hold a search state, before any training."""
    path = os.fspath(directory)
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(
            f"directory={path!r} exists and is not a directory (a regular file?); "
            "TunedGRU saves its search state in a directory: pass a directory path.")
    parent = os.path.dirname(os.path.abspath(path))
    while parent and not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if parent and not os.path.isdir(parent):
        raise ValueError(f"directory={path!r} cannot be created: {parent!r} is a file.")


def state_checksum(state):
    """SHA-256 of the canonical JSON of ``state`` without its ``checksum``."""
    body = {k: v for k, v in state.items() if k != "checksum"}
    return hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()


class _Bad(ValueError):
    pass


def _need(cond, what):
    if not cond:
        raise _Bad(what)


def _is_num_or_none(v):
    return v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))


def _check_scores(name, scores, n_splits, optional=False):
    if optional and scores is None:
        return
    _need(isinstance(scores, dict), f"{name} must be an object of metric -> scores")
    for metric, values in scores.items():
        _need(isinstance(values, list) and all(_is_num_or_none(v) for v in values),
              f"{name}[{metric!r}] must be a list of numbers")
        _need(n_splits is None or len(values) == n_splits,
              f"{name}[{metric!r}] has {len(values)} splits, expected {n_splits}")


def validate_state(state):
    """Check the structure of a loaded state; raises ``_Bad`` naming the field."""
    _need(isinstance(state, dict), "the file must hold a JSON object")
    for key, kind in (("version", int), ("fingerprint", str), ("fingerprint_parts", dict),
                      ("base_seed", int), ("events", list), ("trials", dict),
                      ("checksum", str)):
        _need(key in state, f"missing field {key!r}")
        _need(isinstance(state[key], kind) and not isinstance(state[key], bool),
              f"field {key!r} must be a {kind.__name__}")
    trials = state["trials"]
    created, ended = set(), set()
    for i, event in enumerate(state["events"]):
        _need(isinstance(event, list) and event and event[0] in ("create", "end", "resume"),
              f"events[{i}] must be ['create', tuner_id, trial_id], ['end', trial_id] "
              "or ['resume']")
        if event[0] == "resume":
            # The search was resumed here: the models of the trials ended before it
            # were lost with the process (ASHA prices promotions by that on replay).
            _need(len(event) == 1, f"events[{i}] must be ['resume']")
        elif event[0] == "create":
            _need(len(event) == 3 and all(isinstance(e, str) for e in event[1:]),
                  f"events[{i}] must be ['create', tuner_id, trial_id]")
            _need(event[2] not in created, f"events[{i}]: trial {event[2]!r} created twice")
            # A trial created but not ended was running when the state was saved
            # (streaming on Dask): it has no result and is evaluated again on resume.
            created.add(event[2])
        else:
            _need(len(event) == 2 and isinstance(event[1], str),
                  f"events[{i}] must be ['end', trial_id]")
            _need(event[1] in created and event[1] not in ended,
                  f"events[{i}]: trial {event[1]!r} ends without being running")
            _need(event[1] in trials, f"events[{i}]: ended trial {event[1]!r} has no "
                  "saved result")
            ended.add(event[1])
    for tid, t in trials.items():
        where = f"trials[{tid!r}]"
        _need(isinstance(t, dict), f"{where} must be an object")
        missing = [k for k in _SAVED_RECORD_KEYS if k not in t]
        _need(not missing, f"{where} lacks {missing}")
        _need(t["status"] in ("COMPLETED", "FAILED"), f"{where}['status'] must be "
              "'COMPLETED' or 'FAILED'")
        _need(isinstance(t["created_values"], dict), f"{where}['created_values'] must "
              "be an object")
        n = len(t["fit_times"]) if isinstance(t["fit_times"], list) else None
        for key in ("fit_times", "score_times"):
            _need(isinstance(t[key], list) and all(_is_num_or_none(v) for v in t[key]),
                  f"{where}[{key!r}] must be a list of numbers")
        _check_scores(f"{where}['scores']", t["scores"], n)
        _check_scores(f"{where}['train_scores']", t["train_scores"], n, optional=True)
        _need(t["status"] == "FAILED" or t["scores"], f"{where}: a completed trial "
              "without scores")
        for key in ("budget", "seed"):
            _need(t[key] is None or (isinstance(t[key], int) and not isinstance(t[key], bool)),
                  f"{where}[{key!r}] must be an int or null")
        _need(isinstance(t["epochs_trained"], int), f"{where}['epochs_trained'] must "
              "be an int")
        _need(isinstance(t["continued"], bool) and isinstance(t["multimetric"], bool),
              f"{where}['continued'] and ['multimetric'] must be booleans")
        _need(t["error"] is None or isinstance(t["error"], str),
              f"{where}['error'] must be a string or null")


def json_values(values):
    """Trial values in a canonical JSON form (for state files and replay)."""
    return json.loads(json.dumps(values, sort_keys=True, default=str))


def _data_hash(obj):
    import joblib

    if obj is None:
        return None
    return joblib.hash(obj)


def _shape(obj):
    if obj is None:
        return None
    shape = getattr(obj, "shape", None)
    if shape is not None:
        return list(shape)
    try:
        return [len(obj)]
    except TypeError:
        return None


def _describe_scoring(scoring):
    """What identifies ``scoring`` across processes.

    ``_describe`` names a callable by its module and qualified name only, which
    every ``make_scorer(...)`` object shares (``_Scorer``): a search saved with
    ``make_scorer(f1_score)`` resumed under ``make_scorer(recall_score)`` and
    reported the saved F1 values as recall.  A scorer is named by its score
    function (and that function's source), sign, keyword arguments and response
    method; another callable by its name and source, as callable search spaces
    are.
    """
    if isinstance(scoring, dict):
        return {str(k): _describe_scoring(v) for k, v in sorted(scoring.items(), key=str)}
    if isinstance(scoring, (list, tuple)):  # described as before: ["list"/"tuple", ...]
        return type(scoring)(_describe_scoring(v) for v in scoring)
    if not callable(scoring):
        return _describe(scoring)
    func = getattr(scoring, "_score_func", None)
    if func is not None:
        return ["scorer", _callable_identity(func), getattr(scoring, "_sign", None),
                _describe(getattr(scoring, "_kwargs", {})),
                _describe(getattr(scoring, "_response_method", None))]
    return ["callable", *_callable_identity(scoring)]


def _callable_identity(fn):
    if isinstance(fn, functools.partial):  # make_scorer(partial(fbeta_score, beta=2))
        return ["partial", _callable_identity(fn.func), _describe(list(fn.args)),
                _describe(fn.keywords)]
    return callable_source_identity(fn)


def search_fingerprint(search, estimator, space, oracle, X, y, groups, fit_params,
                       name, max_epochs, budget_param, objective="score", tie_break=None):
    """Identify a search: what must be equal for a saved state to be resumed.

    Parameters
    ----------
    search : TunedGRU
        Its settings (``tuner``, ``max_trials``, ``cv``...) are part of the
        fingerprint.
    estimator, space, oracle :
        The base estimator, the :class:`SearchSpace` and an oracle whose
        space is populated (for its hyperparameter configuration).
    X, y, groups, fit_params :
        The data, hashed.
    name, max_epochs, budget_param :
        The resolved tuner name, epoch budget and budget parameter.
    objective : str or None
        The metric the oracle maximises (a different one is another search).
    tie_break : str or None
        What each trial computes to break ties (``"log_loss"``), or None: the
        saved trials hold those values, so a different one is another search.

    Returns
    -------
    fingerprint : str
        A hash of all the parts.
    parts : dict
        One short hash per part (``search_space``, ``estimator``, ``data``...),
        saved to name what differs when a resume is refused.
    """
    parts = {
        "search_space": space.describe(),
        "hyperparameters": oracle.get_space().get_config(),
        "estimator": _describe(estimator),
        "tuner": name if isinstance(search.tuner, str) else _describe(
            {k: v for k, v in vars(search.tuner).items()
             if isinstance(v, (int, float, str, bool, type(None)))}),
        "settings": _describe({
            "max_trials": search.max_trials, "cv": search.cv,
            "scoring": _describe_scoring(search.scoring),
            "random_state": search.random_state if isinstance(
                search.random_state, (numbers.Integral, type(None))) else "RandomState",
            "validation_fraction": search.validation_fraction,
            "max_epochs": max_epochs, "hyperband_factor": search.hyperband_factor,
            "budget_param": budget_param, "tuner_params": _without_promote_by(search.tuner_params),
            "objective": objective, "return_train_score": search.return_train_score,
            "error_score": search.error_score,
        }),
        "data": {
            "X": [_data_hash(X), _shape(X)],
            "y": [_data_hash(y), _shape(y)],
            "groups": _data_hash(groups),
            "fit_params": _data_hash(fit_params) if fit_params else None,
        },
    }
    if getattr(oracle, "promote_by", None) == "log_loss":
        # ASHA promoting by log loss is another search ("auto" or "log_loss" alike);
        # a classifier's ASHA state saved before promote_by existed resumes with
        # tuner_params promote_by="score", which hashes as it did
        parts["promotion"] = "log_loss"
    if tie_break is not None:
        # only when set, so that states saved before this part existed (ties to the
        # first trial) keep their fingerprint
        parts["tie_break"] = tie_break
    parts = json.loads(json.dumps(parts, sort_keys=True, default=str))
    digest = {k: hashlib.sha256(json.dumps(v, sort_keys=True).encode()).hexdigest()[:16]
              for k, v in parts.items()}
    fingerprint = hashlib.sha256(
        json.dumps(digest, sort_keys=True).encode()).hexdigest()
    return fingerprint, digest


def _without_promote_by(tuner_params):
    """``tuner_params`` as the fingerprint's settings hash them: ASHA's
    ``promote_by`` is hashed as what it resolved to (the "promotion" part)."""
    if isinstance(tuner_params, dict) and "promote_by" in tuner_params:
        return {k: v for k, v in tuner_params.items() if k != "promote_by"} or None
    return tuner_params


class SearchStateFile:
    """The state file of one search in ``directory``.

    Parameters
    ----------
    directory : str or path-like
        ``TunedGRU.directory``.
    fingerprint, parts :
        From :func:`search_fingerprint`.
    """

    def __init__(self, directory, fingerprint, parts):
        self.directory = directory
        self.fingerprint = fingerprint
        self.parts = parts

    @property
    def path(self):
        return os.path.join(os.fspath(self.directory), STATE_FILE)

    def load(self):
        """The saved state of this search, or None if there is none.

        Raises ``ValueError`` if the file is corrupt or holds another search.
        """
        path = self.path
        if not os.path.exists(path):
            return None
        hint = f"Delete {path} (or use another directory) to start a new search."
        with open(path, encoding="utf-8") as fh:
            try:
                state = json.load(fh)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise ValueError(f"Corrupt search state file {path}: {exc}. {hint}") from exc
        if isinstance(state, dict) and state.get("version") not in (None, STATE_VERSION):
            raise ValueError(
                f"The search state file {path} was written by another skgru version "
                f"(state version {state.get('version')!r}, this one reads "
                f"{STATE_VERSION}). {hint}")
        try:
            validate_state(state)
        except _Bad as exc:
            raise ValueError(f"Malformed search state file {path}: {exc}. {hint}") from None
        if state["checksum"] != state_checksum(state):
            raise ValueError(
                f"The search state file {path} fails its checksum: it was modified "
                f"or corrupted after the search wrote it, so its results cannot be "
                f"trusted. {hint}")
        if state.get("fingerprint") != self.fingerprint:
            old = state.get("fingerprint_parts", {})
            parts = self.parts
            differing = sorted(k for k in set(old) | set(parts) if old.get(k) != parts.get(k))
            raise ValueError(
                f"The directory {os.fspath(self.directory)!r} holds the state of a "
                f"different search (differs in: {', '.join(differing) or 'version'}). "
                "A search resumes only with the same search space, estimator "
                "parameters, settings and data. Use another directory or delete "
                f"{path}."
            )
        return state

    def save(self, base_seed, events, records):
        """Write the state atomically (a temporary file, then a rename)."""
        os.makedirs(os.fspath(self.directory), exist_ok=True)
        state = {
            "version": STATE_VERSION,
            "fingerprint": self.fingerprint,
            "fingerprint_parts": self.parts,
            "base_seed": base_seed,
            "events": events,
            "trials": {
                rec["trial_id"]: dict(
                    {k: rec[k] for k in _SAVED_RECORD_KEYS},
                    scores=_save_scores(rec["scores"]),
                    train_scores=(None if rec["train_scores"] is None
                                  else _save_scores(rec["train_scores"])),
                    params_repr=repr(rec["params"]),
                    # optional (older state files lack it): TunedGRU's tie_break
                    tie_break_losses=_save_losses(rec.get("tie_break_losses")),
                )
                for rec in records if rec["status"] is not None
            },
        }
        state = json.loads(json.dumps(state, default=str))  # what load() will see
        state["checksum"] = state_checksum(state)
        path = self.path
        fd, tmp = tempfile.mkstemp(dir=os.fspath(self.directory), prefix=".state-",
                                   suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(state, fh, indent=1, default=str)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise


def _save_losses(losses):
    """Floats for JSON (non-finite: None); None stays None."""
    return None if losses is None else [None if not np.isfinite(v) else float(v) for v in losses]


def _save_scores(scores):
    return {name: _save_losses(values) for name, values in (scores or {}).items()}
