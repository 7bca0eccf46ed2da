"""An ensemble regressor's CV folds (``GRURegressor(ensemble_size=m)``), fused member by member.

:func:`skgru.estimators._folds.fit_folds` trains one configuration's k folds as one
computation.  An ensemble is m configurations that differ only in their seeds, so its
folds are m such computations (:func:`fit_ensemble_folds`), joined per fold as a
separate ``clone(estimator).fit(X[train_j], ...)`` joins its members; with shared
networks they are kept as a :class:`SharedEnsembleFolds`, which a search scores one
fold at a time and :func:`continue_ensemble_folds` trains on, member by member.
"""

from __future__ import annotations

from collections.abc import Sequence

from sklearn.base import clone

from skgru.estimators._ensemble import member_seed
from skgru.estimators._folds import SharedFoldModels, can_fuse, continue_folds, fit_folds


def fit_ensemble_folds(estimator, X, y, splits, sample_weight, optimizer_state, share_network):
    """A ``GRURegressor(ensemble_size=m)``'s folds: each member's k fold networks fused
    (m computations of k), then fold j's member networks joined as a separate
    ``clone(estimator).fit(X[train_j], ...)`` joins them (``ensemble_``).  With
    ``share_network`` each member's k folds share one network, and the result is a
    :class:`SharedEnsembleFolds` (fold j's members are loaded together)."""
    params = estimator.get_params(deep=False)
    seeds = [params["random_state"]] + [member_seed(params["random_state"], i) for i in range(1, params["ensemble_size"])]
    runs = [fit_folds(clone(estimator).set_params(ensemble_size=1, random_state=seed), X, y, splits,
                      sample_weight, optimizer_state=optimizer_state, share_network=share_network)
            for seed in seeds]
    ensemble = SharedEnsembleFolds(runs)
    for j in range(len(splits)):  # the configuration's own parameters, as its fit leaves them
        ensemble.estimator(j).set_params(ensemble_size=params["ensemble_size"])
    return ensemble if any(isinstance(run, SharedFoldModels) for run in runs) else [ensemble[j] for j in range(len(splits))]


class SharedEnsembleFolds(Sequence):
    """The fold estimators of an ensemble regressor (``ensemble_size = m``) fitted by
    :func:`fit_folds`: one fold-sequence per member (a :class:`SharedFoldModels` when
    the member's folds share a network, else a list).  ``models[j]`` is fold j's
    first member with the others as its ``ensemble_``, each loaded with its fold-j
    weights; as with :class:`SharedFoldModels`, use one fold at a time."""

    def __init__(self, members):
        self.members = list(members)

    def __len__(self):
        return len(self.members[0])

    def __getitem__(self, j):
        est, *others = [member[j] for member in self.members]
        est.ensemble_ = others
        return est

    @property
    def continuable(self):
        """Whether every member's folds can continue fused (:func:`continue_folds`)."""
        return all(isinstance(m, SharedFoldModels) and m.continuable for m in self.members)

    def estimator(self, j):
        """Fold j's first member, without loading any weights (its parameters)."""
        first = self.members[0]
        return first.estimator(j) if isinstance(first, SharedFoldModels) else first[j]

    def detach(self):
        """Fold estimators as independent copies (each member with its own network, see
        :meth:`SharedFoldModels.detach`), for fold-by-fold ``warm_start`` continuation."""
        detached = [m.detach() if isinstance(m, SharedFoldModels) else list(m) for m in self.members]
        out = []
        for j in range(len(self)):
            est = detached[0][j]
            est.ensemble_ = [d[j] for d in detached[1:]]
            out.append(est)
        return out


def continue_ensemble_folds(models, X, y, splits, epochs, sample_weight, optimizer_state):
    """:func:`continue_folds` member by member; None, with nothing changed, unless every
    member's folds can continue fused (checked on all of them before any trains)."""
    if not models.continuable or len(models) != len(splits):
        return None
    probe = clone(models.estimator(0)).set_params(warm_start=True, epochs=int(epochs))
    if not can_fuse(probe)[0]:
        return None
    continued = []
    for i, member in enumerate(models.members):
        result = continue_folds(member, X, y, splits, epochs, sample_weight, optimizer_state=optimizer_state)
        if result is None:
            if i:  # the members share one configuration: the first decides for all
                raise RuntimeError("ensemble members' fold models continued unevenly; this is a bug in skgru.")
            return None
        continued.append(result)
    return SharedEnsembleFolds(continued)
