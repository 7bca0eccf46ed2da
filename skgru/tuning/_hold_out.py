"""TunedGRU's default split: one shuffled hold-out, as stratified as the classes allow.

``TunedGRU(cv=None)`` compares configurations on one hold-out of
``validation_fraction`` of the rows.  For single-output classification it is
stratified (``StratifiedShuffleSplit``) whenever every class can be on both
sides.  When it cannot:

* every class has at least 2 members (but there are more classes than hold-out
  rows, or too few rows left to train on): a stratified 2-fold CV instead, which
  scores every row, each against a model trained on the other half of its class.
  Why: PigCVP has 52 classes of 2 series each.  A 21-series hold-out scores a
  configuration in steps of 1/21 = 0.048 and, at the ~0.15 accuracy such a search
  sees, with a binomial standard error of about sqrt(0.15 * 0.85 / 21) = 0.078; its
  ten configurations scored 0.000-0.238, too close to tell apart.  Two folds score
  all 104 series (standard error about 0.035) for 2 fits per configuration, the
  least k-fold that scores every row;
* a class has a single member (no k-fold can stratify it): a hold-out that never
  takes a class's last training member, so no configuration is judged on a class
  it was never shown.  Drawn unstratified, PigCVP's hold-out had left 19% of its
  series (mean over 20 seeds; up to 38%) without a training series of their class.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import is_classifier
from sklearn.model_selection import ShuffleSplit, StratifiedKFold, StratifiedShuffleSplit
from sklearn.utils.multiclass import type_of_target


# The folds of the fallback when a hold-out cannot be stratified: the fewest that
# score every row (see the module's docstring).
FALLBACK_FOLDS = 2


def hold_out_split(estimator, y, n_samples, test_size, seed):
    """The ``(train, test)`` index pairs of ``TunedGRU(cv=None)``: one hold-out, or
    a stratified ``FALLBACK_FOLDS``-fold CV where a hold-out cannot be stratified
    but every class has two members.

    Parameters
    ----------
    estimator : estimator
        The searched estimator; only classifiers are stratified.
    y : array-like or None
        The targets.
    n_samples : int
        Number of rows.
    test_size : float
        The hold-out's fraction of the rows (``validation_fraction``).
    seed : int or None
        Seed of the shuffle.

    Returns
    -------
    list of (train, test) tuples of index arrays
        One pair, or ``FALLBACK_FOLDS`` for the stratified fallback.
    """
    n_test = int(np.ceil(test_size * n_samples))
    if (is_classifier(estimator) and y is not None
            and type_of_target(y) in ("binary", "multiclass")):
        labels = np.unique(np.asarray(y), return_inverse=True)[1].ravel()
        counts = np.bincount(labels)
        n_classes = len(counts)
        if counts.min() >= 2 and n_test >= n_classes and n_samples - n_test >= n_classes:
            splitter = StratifiedShuffleSplit(n_splits=1, test_size=test_size,
                                              random_state=seed)
            return [(np.asarray(a), np.asarray(b))
                    for a, b in splitter.split(np.zeros(n_samples), labels)]
        warn_unstratified_hold_out(n_test, counts)
        if counts.min() >= FALLBACK_FOLDS:
            folds = StratifiedKFold(n_splits=FALLBACK_FOLDS, shuffle=True, random_state=seed)
            return [(np.asarray(a), np.asarray(b))
                    for a, b in folds.split(np.zeros(n_samples), labels)]
        if (counts > 1).any():
            return [_class_keeping_hold_out(labels, counts, n_test, seed)]
    splitter = ShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
    return [(np.asarray(a), np.asarray(b))
            for a, b in splitter.split(np.zeros(n_samples))]


def _class_keeping_hold_out(labels, counts, n_test, seed):
    """A random hold-out of (at most) ``n_test`` rows that leaves every class at
    least one training row.

    Rows are visited in a random order and held out while their class keeps
    another training row, so a class's share of the hold-out grows with its
    size, as in a stratified split, and no class loses its last member.  The
    hold-out is smaller than ``n_test`` only when the classes have fewer spare
    rows than that (``sum(counts - 1) < n_test``).
    """
    rng = np.random.RandomState(seed)
    left_in_train = counts.copy()
    test = []
    for row in rng.permutation(len(labels)):
        if len(test) == n_test:
            break
        if left_in_train[labels[row]] > 1:
            left_in_train[labels[row]] -= 1
            test.append(row)
    test = np.sort(np.asarray(test, dtype=np.intp))
    train = np.setdiff1d(np.arange(len(labels)), test)
    return rng.permutation(train), rng.permutation(test)


def warn_unstratified_hold_out(n_test, counts):
    """Say that the default hold-out cannot hold every class, and what to pass instead.

    Why a warning: the split the search compares configurations on is not the
    documented hold-out (a 2-fold CV: twice the fits), or is one that misses
    classes (noisy scores); on PigCVP (52 classes of 2 series each) the 21-series
    hold-out scored ten configurations 0.000-0.238, and nothing in the search's
    output said why.
    """
    if counts.min() < FALLBACK_FOLDS:
        message = (f"its smallest class has {counts.min()} member. Configurations are "
                   f"compared on a hold-out that misses classes, so their scores are noisy.")
    else:
        message = (f"the hold-out of {n_test} samples is smaller than y's {len(counts)} "
                   f"classes or leaves too few to train on. Configurations are compared by "
                   f"a stratified {FALLBACK_FOLDS}-fold CV instead (every sample scored, "
                   f"{FALLBACK_FOLDS} fits per configuration); pass cv (e.g. "
                   f"cv=StratifiedKFold(n_splits={min(int(counts.min()), 5)})) to choose the split.")
    warnings.warn(f"TunedGRU's hold-out split cannot be stratified: {message}",
                  UserWarning, stacklevel=5)  # hold_out_split, _make_splits, fit, the caller
