"""The search state TunedGRU saves in ``directory``, and the fingerprint that
decides whether a saved search may be resumed.

The state is one JSON file, ``skgru_search_state.json``: the fingerprint, the
seed the search drew, the oracle's create/end events in order, and the result
of every trial.  It is written atomically after every trial.
"""

from __future__ import annotations

import hashlib
import json
import numbers
import os
import tempfile

import numpy as np

from skgru.tuning._search_space import _describe

__all__ = ["STATE_FILE", "STATE_VERSION", "SearchStateFile", "json_values",
           "search_fingerprint"]

STATE_FILE = "skgru_search_state.json"
STATE_VERSION = 1

# The fields of a trial record that are saved, in this order.
_SAVED_RECORD_KEYS = (
    "trial_id", "tuner_id", "created_values", "status", "error", "scores",
    "fit_times", "score_times", "budget", "epochs_trained", "parent_id",
    "bracket", "round", "seed", "continued",
)


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


def search_fingerprint(search, estimator, space, oracle, X, y, groups, fit_params,
                       name, max_epochs, budget_param):
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
            "max_trials": search.max_trials, "cv": search.cv, "scoring": search.scoring,
            "random_state": search.random_state if isinstance(
                search.random_state, (numbers.Integral, type(None))) else "RandomState",
            "validation_fraction": search.validation_fraction,
            "max_epochs": max_epochs, "hyperband_factor": search.hyperband_factor,
            "budget_param": budget_param, "tuner_params": search.tuner_params,
        }),
        "data": {
            "X": [_data_hash(X), _shape(X)],
            "y": [_data_hash(y), _shape(y)],
            "groups": _data_hash(groups),
            "fit_params": _data_hash(fit_params) if fit_params else None,
        },
    }
    parts = json.loads(json.dumps(parts, sort_keys=True, default=str))
    digest = {k: hashlib.sha256(json.dumps(v, sort_keys=True).encode()).hexdigest()[:16]
              for k, v in parts.items()}
    fingerprint = hashlib.sha256(
        json.dumps(digest, sort_keys=True).encode()).hexdigest()
    return fingerprint, digest


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
        with open(path, encoding="utf-8") as fh:
            try:
                state = json.load(fh)
            except json.JSONDecodeError as exc:
                raise ValueError(f"Corrupt search state file {path}: {exc}") from exc
        if (state.get("version") != STATE_VERSION
                or state.get("fingerprint") != self.fingerprint):
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
                    scores=[None if not np.isfinite(s) else s for s in rec["scores"]],
                    params_repr=repr(rec["params"]),
                )
                for rec in records if rec["status"] is not None
            },
        }
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
