"""TunedGRU's default split: one shuffled hold-out, as stratified as the classes allow.

``TunedGRU(cv=None)`` compares configurations on one hold-out of
``validation_fraction`` of the rows.  For single-output classification it is
stratified (``StratifiedShuffleSplit``) whenever every class can be on both
sides.  When it cannot (fewer hold-out rows than classes, or a class of one
member) the hold-out still never takes a class's last training member: a
configuration cannot be judged on a class it was never shown.  Why: PigCVP has 52
classes of 2 series each; its 21-series hold-out, drawn unstratified, left 19% of
the hold-out series (mean over 20 seeds; up to 38%) without a training series of
their class, and the ten configurations scored 0.000-0.238 (0 to 5 of 21), too
close to tell apart.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import is_classifier
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit
from sklearn.utils.multiclass import type_of_target


def hold_out_split(estimator, y, n_samples, test_size, seed):
    """The one ``(train, test)`` index pair of ``TunedGRU(cv=None)``.

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
    list of one (train, test) tuple of index arrays
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

    Why a warning: on PigCVP (52 classes of 2 series each) the 21-series hold-out
    scored ten configurations 0.000-0.238, too close to tell them apart, and nothing
    in the search's output said why.
    """
    if counts.min() < 2:
        reason = f"its smallest class has {counts.min()} member"
        advice = ""
    else:
        reason = (f"the hold-out of {n_test} samples is smaller than y's "
                  f"{len(counts)} classes or leaves too few to train on")
        advice = (" Pass cv (e.g. cv=StratifiedKFold(n_splits="
                  f"{min(int(counts.min()), 5)})) for a score over every class.")
    warnings.warn(
        f"TunedGRU's hold-out split cannot be stratified: {reason}. Configurations "
        f"are compared on a hold-out that misses classes, so their scores are noisy."
        + advice, UserWarning, stacklevel=5)  # hold_out_split, _make_splits, fit, the caller
