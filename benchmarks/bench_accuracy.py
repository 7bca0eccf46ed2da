"""Accuracy of skgru on offline sequence data: defaults vs TunedGRU vs references.

Issue 12 (the default mode and ``--select``): every data set of
``benchmarks/_datasets.py`` -- digits; ItalyPowerDemand, GunPoint, BasicMotions,
JapaneseVowels (aeon); Coffee, PigCVP (pyts, bundled); Trace (tslearn cache); windowed
forecasting on statsmodels sunspots/co2/nile/elnino and aeon's airline; simulated long
variable-length and tiny multivariate-regression sets; the three simulated nonlinear
regression sets of round 15 only when named with ``--datasets`` -- on its default
train/test split, side by side:

* ``defaults``: ``GRUClassifier()`` / ``GRURegressor()`` with nothing but the input
  convention (what a new user gets);
* ``TunedGRU``: ``TunedGRU(estimator)`` with its default search space;
* ``MiniRocket`` (aeon), ``1-NN-DTW`` (aeon), ``dummy`` (prior / mean) and, for
  regression, ``Ridge`` (RidgeCV on the standardised flattened series);

test accuracy (classification) or RMSE (regression), mean ± std over ``--seeds``, and
seconds per fit.  ``--select`` scores ``DEFAULT_CANDIDATES`` (overrides of the
defaults) by CV on the TRAINING splits only (3 folds; stratified for classes,
``TimeSeriesSplit`` for forecasting windows), printing the dummy and Ridge on the same
folds for context -- the evidence the defaults were chosen by (benchmarks/README.md).

Issue 7 (kept for its recorded rounds): ``--chosen`` fits
``make_pipeline(SequenceScaler(), GRUClassifier(...))`` with the per-data-set
``CHOSEN`` configurations; ``--select-chosen`` was their CV selection; ``--tuned``
adds TunedGRU on GunPoint with ``TUNED_SPACES``.

Run (separate environment, because of aeon's numpy pin)::

    python3 -m venv /work/venv-aeon
    /work/venv-aeon/bin/pip install -e . aeon keras-tuner pyts tslearn statsmodels
    /work/venv-aeon/bin/python benchmarks/bench_accuracy.py                      # issue-12 table
    /work/venv-aeon/bin/python benchmarks/bench_accuracy.py --select --seeds 0   # default selection
    /work/venv-aeon/bin/python benchmarks/bench_accuracy.py --chosen             # issue-7 table
    /work/venv-aeon/bin/python benchmarks/bench_accuracy.py --fast               # smoke run

Data sets whose loader's package is missing are reported as skipped.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
logging.getLogger("tensorflow").setLevel(logging.ERROR)  # retracing notices

import numpy as np  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.ensemble import VotingClassifier  # noqa: E402
from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

from skgru import GRUClassifier  # noqa: E402
from skgru.preprocessing import SequenceScaler  # noqa: E402

# --------------------------------------------------------------------------- data


def _aeon(loader_name):
    """aeon's train/test split of one bundled data set (the loader lives in _datasets)."""
    from _datasets import _aeon as load_split

    return load_split(loader_name)


def load_italy_power_demand():
    X_train, X_test, y_train, y_test = _aeon("load_italy_power_demand")
    return X_train[:, 0, :], X_test[:, 0, :], y_train, y_test  # (n, 24): univariate


def load_basic_motions():
    return _aeon("load_basic_motions")  # (n, 6, 100) channels first: input_layout="nft"


def load_japanese_vowels():
    X_train, X_test, y_train, y_test = _aeon("load_japanese_vowels")
    # aeon gives a list of (12 channels, t_i) arrays; skgru's variable-length
    # convention is a list of (t_i, n_features) arrays (padded + masked inside).
    return [x.T for x in X_train], [x.T for x in X_test], y_train, y_test


def load_gunpoint():
    X_train, X_test, y_train, y_test = _aeon("load_gunpoint")
    return X_train[:, 0, :], X_test[:, 0, :], y_train, y_test  # (n, 150): univariate


def load_digits_sequences():
    X, y = load_digits(return_X_y=True)
    X = X.reshape(-1, 8, 8) / 16.0  # 8 timesteps (image rows) x 8 features (pixels)
    return train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)


LOADERS = {
    "ItalyPowerDemand": load_italy_power_demand,
    "BasicMotions": load_basic_motions,
    "JapaneseVowels": load_japanese_vowels,
    "GunPoint": load_gunpoint,
    "digits": load_digits_sequences,
}

# Published test accuracies on the default splits (DESIGN.md, "Reference figures").
PUBLISHED = {
    "ItalyPowerDemand": "1-NN 0.955, FCN 0.963, HIVE-COTE 2 0.970",
    "BasicMotions": "1-NN-DTW 0.975",
    "JapaneseVowels": "1-NN-DTW 0.949, FCN 0.993",
    "GunPoint": "1-NN-DTW 0.907, FCN 1.0",
    "digits": "plain GRU(64) 0.970 (DESIGN.md)",
}
TARGETS = {"ItalyPowerDemand": 0.96, "BasicMotions": 0.975, "JapaneseVowels": 0.95,
           "GunPoint": 0.91, "digits": 0.97}

# ------------------------------------------------------------------ configurations
# Parameters of GRUClassifier (the SequenceScaler in front gets the same
# input_layout).  Shared by every candidate unless overridden.
BASE = dict(units=64, learning_rate=1e-3, batch_size=32, epochs=300, n_iter_no_change=20)

# Candidates scored by ``--select`` (5-fold CV on the training split, per --seeds).
CANDIDATES = {
    "ItalyPowerDemand": {
        "gru64": dict(),
        "gru32-lr3e-3": dict(units=32, learning_rate=3e-3),
        "bigru32": dict(units=32, bidirectional=True),
        # added in round 2 (see benchmarks/README.md): more patience for the training-loss rule
        "gru64-patience50": dict(n_iter_no_change=50),
        # added in round 3 (see benchmarks/README.md): width, direction, head, regularisation,
        # learning rate and validation-based stopping; scored with seeds 0, 1, 2
        "gru16": dict(units=16),
        "gru128": dict(units=128),
        "bigru64": dict(bidirectional=True),
        "gru64-dense32": dict(dense_units=32),
        "gru64-l2-1e-3": dict(l2=1e-3),
        "gru64-drop0.2": dict(dropout=0.2),
        "gru64-lr3e-3": dict(learning_rate=3e-3),
        "gru64-es-patience50": dict(early_stopping=True, validation_fraction=0.2,
                                    n_iter_no_change=50),
        # added in round 4 (see benchmarks/README.md): the per-seed spread is the problem,
        # so seed ensembles (soft vote of ``n_members`` networks) of the two best singles
        "gru64-ens5": dict(n_members=5),
        "gru64-es-patience50-ens5": dict(early_stopping=True, validation_fraction=0.2,
                                         n_iter_no_change=50, n_members=5),
        # added in round 6 (see benchmarks/README.md): shorter sequences of several
        # consecutive hours per step (n_features=k reads the 24 values as 24/k steps of k),
        # the reading that made GunPoint work
        "gru64-12x2": dict(n_features=2),
        "gru64-8x3": dict(n_features=3),
        "gru64-6x4": dict(n_features=4),
        "gru128-12x2": dict(units=128, n_features=2),
    },
    "BasicMotions": {
        "gru64": dict(input_layout="nft"),
        "gru64-lr3e-3": dict(input_layout="nft", learning_rate=3e-3),
        "bigru32": dict(input_layout="nft", units=32, bidirectional=True),
        # added in round 2 (see benchmarks/README.md): more patience for the training-loss rule
        "gru64-lr3e-3-patience50": dict(input_layout="nft", learning_rate=3e-3,
                                        n_iter_no_change=50),
    },
    "JapaneseVowels": {
        "gru64": dict(),
        "bigru64": dict(bidirectional=True),
        "gru64-drop0.2": dict(dropout=0.2),
    },
    "GunPoint": {
        # n_features=k reads the 150-step series as 150/k steps of k values
        # (skgru's flattened-2D convention): shorter sequences train far better.
        "gru64-150x1": dict(n_features=1),
        "gru64-30x5": dict(n_features=5),
        "gru64-15x10": dict(n_features=10),
        "bigru32-15x10": dict(n_features=10, units=32, bidirectional=True),
    },
    "digits": {
        # the largest training set: early stopping on a 10% validation split
        "gru64-es": dict(early_stopping=True, epochs=200),
        "gru128-es": dict(units=128, early_stopping=True, epochs=200),
    },
}

# The configuration each data set runs with: the --select winner (see benchmarks/README.md).
CHOSEN = {
    "ItalyPowerDemand": "gru64-drop0.2",
    "BasicMotions": "gru64-lr3e-3-patience50",
    "JapaneseVowels": "bigru64",
    "GunPoint": "bigru32-15x10",
    "digits": "gru64-es",
}

# TunedGRU search spaces for --tuned (pipeline step names); scored by 3-fold CV
# on the training split, random search with max_trials trials.
TUNED_SPACES = {
    "GunPoint": {
        "gruclassifier__n_features": [1, 5, 10, 15, 25],
        "gruclassifier__units": [16, 32, 64],
        "gruclassifier__bidirectional": [False, True],
        "gruclassifier__learning_rate": ("loguniform", 1e-3, 1e-2),
    },
}
TUNED_MAX_TRIALS = 10


def make_model(params, seed, fast=False):
    """``SequenceScaler -> GRUClassifier`` with ``params``; ``n_members=k`` (k > 1) makes a
    seed ensemble: a soft ``VotingClassifier`` of k such pipelines whose networks differ
    only in ``random_state`` (``seed * 1000 + member``; ``seed=None`` leaves them random)."""
    params = {**BASE, **params}
    n_members = params.pop("n_members", 1)
    if fast:
        params.update(epochs=2, units=min(params["units"], 8))
    if n_members > 1:
        members = [(f"member{k}", make_model(params, None if seed is None else seed * 1000 + k))
                   for k in range(n_members)]
        return VotingClassifier(members, voting="soft")
    scaler = SequenceScaler(input_layout=params.get("input_layout", "ntf"))
    return make_pipeline(scaler, GRUClassifier(**params, random_state=seed))


def _fitted_pipelines(model):
    """The fitted ``SequenceScaler -> GRUClassifier`` pipeline(s) of a model."""
    return list(model.estimators_) if isinstance(model, VotingClassifier) else [model]


def make_tuned(name, seed, fast=False):
    from scipy.stats import loguniform

    from skgru import TunedGRU

    space = {}
    for key, value in TUNED_SPACES[name].items():
        space[key] = loguniform(*value[1:]) if isinstance(value, tuple) else value
    return TunedGRU(
        make_model({}, seed=None, fast=fast),
        search_space=space,
        tuner="random",
        max_trials=2 if fast else TUNED_MAX_TRIALS,
        cv=StratifiedKFold(n_splits=2 if fast else 3, shuffle=True, random_state=seed),
        scoring="accuracy",
        random_state=seed,
    )


# --------------------------------------------------------------------------- runs


def _subset(X, y, n):
    """First ``n`` samples, keeping every class (for --fast)."""
    idx = np.sort(np.concatenate([np.flatnonzero(y == c)[: max(2, n // len(np.unique(y)))]
                                  for c in np.unique(y)]))
    return [X[i] for i in idx] if isinstance(X, list) else X[idx], y[idx]


def load(name, fast=False):
    X_train, X_test, y_train, y_test = LOADERS[name]()
    if fast:
        X_train, y_train = _subset(X_train, y_train, 40)
        X_test, y_test = _subset(X_test, y_test, 40)
    return X_train, X_test, y_train, y_test


def run_select(names, seeds, fast, only=None):
    print(f"\nConfiguration selection: stratified 5-fold CV accuracy on the TRAIN split, "
          f"repeated for seeds {list(seeds)} (the seed shuffles the folds and seeds the "
          f"network); mean ± std over all folds and seeds\n")
    print("| data set | candidate | GRUClassifier params | CV accuracy | time (s) |")
    print("|---|---|---|---|---|")
    for name in names:
        X_train, _, y_train, _ = load(name, fast)
        means = {}
        for cand, params in CANDIDATES[name].items():
            if only and cand not in only:
                continue
            t0 = time.perf_counter()
            scores = np.concatenate([
                cross_val_score(
                    make_model(params, seed, fast), X_train, y_train,
                    cv=StratifiedKFold(n_splits=2 if fast else 5, shuffle=True, random_state=seed),
                )
                for seed in seeds
            ])
            means[cand] = scores.mean()
            print(f"| {name} | {cand} | `{params}` | {scores.mean():.3f} ± "
                  f"{scores.std():.3f} | {time.perf_counter() - t0:.0f} |", flush=True)
        if not means:
            print(f"| {name} | (none of --candidates is a candidate here) | | | |", flush=True)
            continue
        best = max(means, key=means.get)  # ties: the first listed (the cheaper) candidate
        if CHOSEN[name] not in means:
            note = f" (of those scored; CHOSEN {CHOSEN[name]!r} was not)"
        else:
            note = "" if best == CHOSEN[name] else f" (CHOSEN says {CHOSEN[name]!r}: update it)"
        print(f"| {name} | **best: {best}**{note} | | | |", flush=True)


def run_table(names, seeds, fast, tuned):
    rows = []
    for name in names:
        X_train, X_test, y_train, y_test = load(name, fast)
        variants = [("GRU " + CHOSEN[name], None)]
        if tuned and name in TUNED_SPACES:
            variants.append(("TunedGRU", "tuned"))
        for label, kind in variants:
            accs, times, epochs, details = [], [], [], []
            for seed in seeds:
                t0 = time.perf_counter()
                if kind == "tuned":
                    model = make_tuned(name, seed, fast).fit(X_train, y_train)
                    best = {k.replace("gruclassifier__", ""): v for k, v in model.best_params_.items()}
                    details.append(best)
                    pipelines = _fitted_pipelines(model.best_estimator_)
                else:
                    model = make_model(CANDIDATES[name][CHOSEN[name]], seed, fast).fit(X_train, y_train)
                    pipelines = _fitted_pipelines(model)
                accs.append(model.score(X_test, y_test))
                times.append(time.perf_counter() - t0)
                epochs.append(np.mean([pipeline[-1].n_iter_ for pipeline in pipelines]))
                member_info = ""
                if len(pipelines) > 1:
                    # VotingClassifier fits its members on label-encoded y
                    y_codes = model.le_.transform(y_test)
                    member_accs = ", ".join(f"{pipeline.score(X_test, y_codes):.3f}"
                                            for pipeline in pipelines)
                    member_info = f" (members alone: {member_accs})"
                print(f"  {name} {label} seed {seed}: test accuracy {accs[-1]:.4f}{member_info}, "
                      f"{epochs[-1]:.0f} epochs, {times[-1]:.0f} s", flush=True)
                for d in details[-1:]:
                    print(f"    TunedGRU best params: {d}", flush=True)
            rows.append((name, label, np.mean(accs), np.std(accs), accs, np.mean(times),
                         np.mean(epochs)))

    print(f"\nTest accuracy, mean ± std over seeds {list(seeds)}\n")
    print("| data set | model | test accuracy | per seed | target | published | "
          "epochs | fit time (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for name, label, mean, std, accs, t, ep in rows:
        hit = "met" if mean >= TARGETS[name] else "**missed**"
        per_seed = ", ".join(f"{a:.3f}" for a in accs)
        print(f"| {name} | {label} | {mean:.3f} ± {std:.3f} | {per_seed} | "
              f">= {TARGETS[name]} ({hit}) | {PUBLISHED[name]} | {ep:.0f} | {t:.0f} |")
    return rows

# ============================================================ issue 12: defaults
# Side-by-side table of skgru *defaults* (only the input convention given), TunedGRU()
# with its default space, and the references (benchmarks/_references.py) on every
# data set of benchmarks/_datasets.py; and ``--select``: CV on the TRAINING splits of
# default candidates (DEFAULT_CANDIDATES), the evidence behind the defaults.

# Candidate defaults: overrides of GRUClassifier/GRURegressor's defaults. Keys starting
# with "_" are benchmark knobs, not parameters: "_auto_target" sets
# skgru.estimators._params.AUTO_PATCH_TARGET_STEPS (what patch_size="auto" aims at),
# "_skip_zero_head" skgru.estimators._architecture.SKIP_ZERO_HEAD (whether a
# regressor's linear skip starts with the GRU head at zero), "_skip_ridge_rows"
# SKIP_RIDGE_ROWS (which rows its starting ridge is fitted on), "_score_start"
# SCORE_RIDGE_START (whether early stopping may keep the ridge start as "epoch 0"),
# "_crop_coverage" skgru.estimators._crops.WINDOW_COVERAGE (crop_size's windows per series),
# "_skip_trainable" skgru._keras.network.SKIP_TRAINABLE (whether training moves the linear
# skip; run such a candidate in its own process: pooled engines keep what they were built with),
# "_member_weights" skgru.estimators._ensemble.MEMBER_WEIGHTS (how predict weighs a regressor's members).
DEFAULT_CANDIDATES = {
    "defaults": dict(),
    "patch1": dict(patch_size=1),
    "auto12": dict(_auto_target=12),
    "auto50": dict(_auto_target=50),
    "pool-mean": dict(pooling="mean"),
    "pool-max": dict(pooling="max"),
    "pool-attention": dict(pooling="attention"),
    "conv64": dict(conv_filters=64),
    "conv64-att": dict(conv_filters=64, pooling="attention"),
    "no-min-updates": dict(min_updates=0),
    "min-updates-3000": dict(min_updates=3000),
    "no-standardize-X": dict(standardize_X=False),
    "bigru": dict(bidirectional=True),
    "es": dict(early_stopping=True, validation_fraction=0.2),
    "no-es": dict(early_stopping=False),
    "no-shrink": dict(shrink_to_mean=False, shrink_to_linear=False),
    # round 3 (branch acc3): a linear path and a GRU-FCN branch beside the GRU
    "linear-skip": dict(linear_skip=True),
    "linear-skip-no-shrink": dict(linear_skip=True, shrink_to_mean=False, shrink_to_linear=False),
    "linear-skip-random-head": dict(linear_skip=True, _skip_zero_head=False),
    "linear-skip-ridge-all": dict(linear_skip=True, _skip_ridge_rows="all"),
    "fcn": dict(fcn_branch=True),
    "fcn-no-stem": dict(fcn_branch=True, conv_filters=None),
    "fcn-small": dict(fcn_branch=(32, 64, 32)),
    "lr3e-3": dict(learning_rate=3e-3),
    "lr3e-4": dict(learning_rate=3e-4),
    # round 4: how a patch becomes a GRU step (patch_mode), and the stem around it;
    # "patch-fold" is the classifier's former default (round 4's "defaults" column)
    "patch-fold": dict(patch_mode="fold"),
    "patch-max": dict(patch_mode="max"),
    "patch-max-k7": dict(patch_mode="max", conv_kernel_size=7),
    "patch-max-k9": dict(patch_mode="max", conv_kernel_size=9),
    "patch-mean-k7": dict(patch_mode="mean", conv_kernel_size=7),
    "patch-max-k7-2conv": dict(patch_mode="max", conv_kernel_size=7, conv_filters=(64, 64)),
    "patch-max-k7-auto50": dict(patch_mode="max", conv_kernel_size=7, _auto_target=50),
    "patch-max-k7-pool-mean": dict(patch_mode="max", conv_kernel_size=7, pooling="mean"),
    # round 4, regression: the former default (no refit on all rows, ridge start not scored)
    "no-refit": dict(refit_all_rows=False),
    "no-refit-no-start": dict(refit_all_rows=False, _score_start=False),
    # round 5, regression: shrink the GRU head's part toward the linear skip
    # (shrink_to_linear), alone or before the shrink to the mean; "no-shrink-linear" is
    # the former default (round 5's "defaults" column)
    "no-shrink-linear": dict(shrink_to_linear=False),
    "shrink-linear-only": dict(shrink_to_mean=False),
    # round 5, regression: less variance on 50-180 windows (a larger validation split for
    # the stopping epoch and the shrink factors; a smaller or regularised GRU)
    "val0.3": dict(validation_fraction=0.3),
    "units32": dict(units=32),
    "dropout0.2": dict(dropout=0.2),
    "l2-1e-3": dict(l2=1e-3),
    "ens1": dict(ensemble_size=1),  # round 14: seed ensembles (GRURegressor only)
    "ens3": dict(ensemble_size=3),
    "ens5": dict(ensemble_size=5),
    # round 6, classification: how the GRU's outputs are summarised on patched series;
    # "pool-last" is the former default (round 6's "defaults" column)
    "pool-last": dict(pooling="last"),
    "pool-auto": dict(pooling="auto"),
    # round 7, classification: window slicing (crop_size), a fraction of the length
    "crop1/4": dict(crop_size=0.25),
    "crop1/8": dict(crop_size=0.125),
    # "_crop_coverage" sets skgru.estimators._crops.WINDOW_COVERAGE (windows per series:
    # ceil(coverage * t / w)); 4 is the default, 1 reads each series' length once per epoch
    "crop1/8-cov1": dict(crop_size=0.125, _crop_coverage=1),
    "crop1/8-cov2": dict(crop_size=0.125, _crop_coverage=2),
    "crop1/4-cov1": dict(crop_size=0.25, _crop_coverage=1),
    # round 9, regression: the linear skip kept at its RidgeCV start (not trained)
    "skip-frozen": dict(_skip_trainable=False),
    # round 10, classification on the one set with over 1000 training rows (digits):
    # a validation split for the stopping rule, alone or with a refit on all rows
    "es0.1": dict(early_stopping=True),
    "es0.1-refit": dict(early_stopping=True, refit_all_rows=True),
    # round 10, classification: a lighter dropout than round 5's 0.2; "dropout0" is the
    # classifier's default before round 10 (0.1 from round 10, 0.2 from round 11)
    "dropout0.1": dict(dropout=0.1),
    "dropout0": dict(dropout=0.0),
    # round 12, classification: lower the rate when the training loss stalls, before the
    # stopping rule (n_iter_no_change=10) ends training; lr_patience=5 as the default
    "plateau": dict(lr_schedule="plateau"),
    "plateau-d0.3": dict(lr_schedule="plateau", lr_decay=0.3),
    # round 12: the other two schedules at their default decay (do they learn on small sets?)
    "exponential": dict(lr_schedule="exponential"),
    "cosine": dict(lr_schedule="cosine"),
    # round 13: "bigru" above, scored on classification (a whole series is known when it
    # is classified, so both directions can be read)
    # round 13, regression (suggested by bench_parameter_audit.py's one-seed screen on the
    # training splits of sunspots and sim-mv-reg): the GRU without the linear skip under
    # today's other defaults, a hidden Dense layer in the head, ReLU in the GRU
    "no-linear-skip": dict(linear_skip=None),
    "dense64": dict(dense_units=64),
    "relu": dict(activation="relu"),
    # round 13, regression: hold out the LAST validation_fraction of the rows for early
    # stopping and the shrink factors, not a random draw (on overlapping forecasting
    # windows a random draw holds out near-duplicates of training rows)
    "val-last": dict(_validation_rows="last"),
    # round 15, regression (the three SIMULATED_NONLINEAR sets beside the six): training
    # that does not end on the early plateau a nonlinear target shows (the GRU's part
    # starts at zero beside the ridge start and learns slowly: 5 updates per epoch on 150
    # rows), and members weighted by their validation loss
    # ("min-updates-3000" and "lr3e-3" above are the other two candidates; since round 15
    # the regressor's default is min_updates=3000, so for it "min-updates-3000" equals
    # "defaults" and "lr3e-3-mu3000" equals "lr3e-3")
    "lr3e-3-mu3000": dict(learning_rate=3e-3, min_updates=3000),
    "ens3-weighted": dict(_member_weights="inverse_val_loss"),
    # round 16, regression (the nine sets above plus SIMULATED_FORECASTING): how far
    # shrink_to_mean pulls toward the training mean.  Its factor is a least-squares fit
    # on the validation rows (11 on nile); on series whose later values leave the
    # training range its noise costs (1 - a) * |prediction - mean|
    "shrink-se": dict(_shrink_rule="one_se"),
    "shrink-needed": dict(_shrink_rule="no_worse_than_mean"),
    "no-shrink-mean": dict(shrink_to_mean=False),
    # round 17, regression (the same eleven sets): what the GRU reads (gru_input).
    # "both" was screened after round 16 from a scratch patch (0.508 against 0.442, but
    # airline -0.07, sim-walk -0.12); the two pairings keep the level with the linear
    # skip: validation on the last rows (the shrink factors then see windows that leave
    # the training range) or the skip kept at its ridge start
    "gru-both": dict(gru_input="both"),
    "gru-relative": dict(gru_input="relative"),
    "both-val-last": dict(gru_input="both", _validation_rows="last"),
    "both-skip-frozen": dict(gru_input="both", _skip_trainable=False),
}


def _input_params(ds):
    """What a new user sets: nothing beyond the input convention (all conventions used
    here are skgru's defaults: 2D univariate, 3D (n, t, f), lists of (t_i, f))."""
    return {}


def make_default(ds, seed, overrides=None, fast=False):
    from skgru import GRUClassifier, GRURegressor

    params = {k: v for k, v in (overrides or {}).items() if not k.startswith("_")}
    cls = GRUClassifier if ds.task == "classification" else GRURegressor
    valid = cls().get_params()
    params = {k: v for k, v in params.items() if k in valid}  # e.g. shrink_to_mean: regressor only
    if fast:
        params.update(epochs=2, min_updates=0, units=8)
    return cls(**_input_params(ds), **params, random_state=seed)


def _set_knobs(overrides):
    from skgru.estimators import _params as base

    base.AUTO_PATCH_TARGET_STEPS = (overrides or {}).get("_auto_target", 25)
    from skgru.estimators import _architecture

    _architecture.SKIP_ZERO_HEAD = (overrides or {}).get("_skip_zero_head", True)
    _architecture.SKIP_RIDGE_ROWS = (overrides or {}).get("_skip_ridge_rows", "train")
    _architecture.SCORE_RIDGE_START = (overrides or {}).get("_score_start", True)
    from skgru.estimators import _crops

    _crops.WINDOW_COVERAGE = (overrides or {}).get("_crop_coverage", 4)
    from skgru._keras import network

    network.SKIP_TRAINABLE = (overrides or {}).get("_skip_trainable", True)
    from skgru.estimators import _base

    _base.VALIDATION_ROWS = (overrides or {}).get("_validation_rows", "random")
    from skgru.estimators import _ensemble

    _ensemble.MEMBER_WEIGHTS = (overrides or {}).get("_member_weights", "equal")
    from skgru.estimators import regressor

    regressor.SHRINK_TO_MEAN_RULE = (overrides or {}).get("_shrink_rule", "least_squares")


def _score(ds, model, X, y):
    from sklearn.metrics import accuracy_score, mean_squared_error

    pred = model.predict(X)
    if ds.task == "classification":
        return accuracy_score(y, pred)
    return float(np.sqrt(mean_squared_error(y, pred)))


def _fold_r2(y, pred):
    """R^2 of ``pred`` on one CV fold: 1 - MSE / variance of the fold's own targets (0:
    predicting the fold's mean), comparable across series of any scale."""
    y = np.asarray(y, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.float64).reshape(y.shape)
    return 1.0 - float(np.mean((y - pred) ** 2)) / max(float(np.var(y)), 1e-12)


def _cv_splits(ds, seed, n_splits):
    from sklearn.model_selection import KFold, TimeSeriesSplit

    n = len(ds.y_train)
    if ds.task == "classification":
        # PigCVP has 2 training series per class: as many folds as the rarest class allows
        n_splits = min(n_splits, int(np.unique(ds.y_train, return_counts=True)[1].min()))
        return list(StratifiedKFold(n_splits, shuffle=True, random_state=seed).split(np.zeros(n), ds.y_train))
    if ds.windows:  # forecasting windows of one series: past -> future
        return list(TimeSeriesSplit(n_splits).split(np.zeros(n)))
    return list(KFold(n_splits, shuffle=True, random_state=seed).split(np.zeros(n)))


def _take(X, idx):
    return [X[i] for i in idx] if isinstance(X, list) else X[idx]


def run_select_defaults(names, seeds, fast, only=None, n_splits=3):
    """CV on the training split of every data set for each default candidate.

    Classification: accuracy. Regression: R^2 (1 - MSE / variance of the fold's test
    targets, so 0 = predicting the mean) -- comparable across series of any scale."""
    from _datasets import load

    cands = {k: v for k, v in DEFAULT_CANDIDATES.items() if not only or k in only}
    print(f"\nDefault selection: {n_splits}-fold CV on the TRAIN split (stratified for classes, "
          f"TimeSeriesSplit for forecasting windows), seeds {list(seeds)}. Accuracy / R^2.\n")
    print("| data set | candidate | CV score | fit time (s) |")
    print("|---|---|---|---|")
    table = {}
    for name in names:
        ds = load(name)
        _baseline_rows(ds, seeds, fast, n_splits)
        for cand, overrides in cands.items():
            _set_knobs(overrides)
            t0, scores, nfit = time.perf_counter(), [], 0
            for seed in seeds:
                for tr, va in _cv_splits(ds, seed, 2 if fast else n_splits):
                    m = make_default(ds, seed, overrides, fast).fit(_take(ds.X_train, tr), ds.y_train[tr])
                    nfit += 1
                    if ds.task == "classification":
                        scores.append(_score(ds, m, _take(ds.X_train, va), ds.y_train[va]))
                    else:
                        scores.append(_fold_r2(ds.y_train[va], m.predict(_take(ds.X_train, va))))
            table[(name, cand)] = np.mean(scores)
            print(f"| {name} | {cand} | {np.mean(scores):.3f} ± {np.std(scores):.3f} | "
                  f"{(time.perf_counter() - t0) / nfit:.1f} |", flush=True)
            # per fold, seed-major, so two candidates can be compared fold by fold
            print(f"FOLDS {name} {cand} " + " ".join(f"{v:.4f}" for v in scores), flush=True)
    _set_knobs(None)
    print("\nMean CV score per candidate over the data sets above (classification accuracy; "
          "regression R^2, each clipped at -1):\n")
    print("| candidate | classification | regression | sets |")
    print("|---|---|---|---|")
    from _datasets import CLASSIFICATION

    for cand in cands:
        clf = [table[(n, cand)] for n in names if n in CLASSIFICATION and (n, cand) in table]
        reg = [max(table[(n, cand)], -1.0) for n in names if n not in CLASSIFICATION and (n, cand) in table]
        print(f"| {cand} | {np.mean(clf) if clf else float('nan'):.3f} | "
              f"{np.mean(reg) if reg else float('nan'):.3f} | {len(clf)}+{len(reg)} |", flush=True)
    return table


def _baseline_rows(ds, seeds, fast, n_splits):
    """The same CV folds scored by the dummy model and Ridge (context for the candidates)."""
    import _references as refs

    for label in ("dummy", "Ridge"):
        scores = []
        for seed in seeds:
            for tr, va in _cv_splits(ds, seed, 2 if fast else n_splits):
                m = refs.ACCURACY_REFERENCES[label](ds.task, seed).fit(_take(ds.X_train, tr), ds.y_train[tr])
                X_va, y_va = _take(ds.X_train, va), ds.y_train[va]
                scores.append(_score(ds, m, X_va, y_va) if ds.task == "classification"
                              else _fold_r2(y_va, m.predict(X_va)))
        print(f"| {ds.name} | ({label}) | {np.mean(scores):.3f} ± {np.std(scores):.3f} | |", flush=True)


def make_tuned_default(ds, seed, fast=False, verbose=0, n_jobs=1):
    from skgru import GRUClassifier, GRURegressor, TunedGRU

    cls = GRUClassifier if ds.task == "classification" else GRURegressor
    est = cls(random_state=seed, **({"epochs": 2, "min_updates": 0, "units": 8} if fast else {}))
    # verbose only draws progress (2: a line per trial with its score and seconds);
    # n_jobs > 1 runs trials in loky processes: the same trials (random draws and
    # per-trial seeds do not depend on the order results arrive in), less wall time
    return TunedGRU(est, random_state=seed, verbose=verbose, n_jobs=n_jobs,
                    **({"max_trials": 2} if fast else {}))


def make_tuned_refit(ds, seed, best_params):
    """What ``make_tuned_default(ds, seed).fit`` ends with when its search chose
    ``best_params``: the refit ``clone(estimator).set_params(**best_params)`` on the
    whole training split (the estimator is seeded, so no per-trial seed is added)."""
    return clone(make_tuned_default(ds, seed).estimator).set_params(**best_params)


ALL_MODELS = ["defaults", "TunedGRU", "MiniRocket", "1-NN-DTW", "dummy", "Ridge"]
# Not part of the default run: needs --tuned-best.
EXTRA_MODELS = ["TunedGRU-refit"]


def run_compare(names, seeds, fast, models, verbose=0, n_jobs=1, tuned_best=None):
    """Test-split score of each model, mean ± std over seeds, with seconds per fit."""
    import _references as refs
    from _datasets import load

    rows = {}
    for name in names:
        ds = load(name)
        for label in models:
            if label == "Ridge" and ds.task == "classification":
                continue
            per_seed, secs = [], []
            deterministic = label in ("1-NN-DTW", "dummy", "Ridge")
            for seed in seeds[:1] if deterministic else seeds:
                t0 = time.perf_counter()
                try:
                    if label == "defaults":
                        model = make_default(ds, seed, fast=fast)
                    elif label == "TunedGRU":
                        model = make_tuned_default(ds, seed, fast, verbose, n_jobs)
                    elif label == "TunedGRU-refit":
                        model = make_tuned_refit(ds, seed, tuned_best)
                    else:
                        model = refs.ACCURACY_REFERENCES[label](ds.task, seed)
                    model.fit(ds.X_train, ds.y_train)
                    secs.append(time.perf_counter() - t0)
                    per_seed.append(_score(ds, model, ds.X_test, ds.y_test))
                except Exception as exc:  # a reference that cannot run a set is reported, not fatal
                    print(f"  {name} {label}: failed ({type(exc).__name__}: {exc})", flush=True)
                    break
                print(f"  {name} {label} seed {seed}: {per_seed[-1]:.4f} ({secs[-1]:.1f} s)", flush=True)
            if per_seed:
                rows[(name, label)] = (np.mean(per_seed), np.std(per_seed), per_seed, np.mean(secs))

    for task, metric in (("classification", "test accuracy (higher is better)"),
                         ("regression", "test RMSE (lower is better)")):
        task_names = [n for n in names if load_task(n) == task]
        if not task_names:
            continue
        cols = [m for m in models if not (m == "Ridge" and task == "classification")]
        print(f"\n{task.capitalize()}: {metric}, mean ± std over seeds {list(seeds)} "
              "(deterministic references: one run); seconds per fit in brackets\n")
        print("| data set | " + " | ".join(cols) + " |")
        print("|---|" + "---|" * len(cols))
        for n in task_names:
            cells = []
            for m in cols:
                r = rows.get((n, m))
                cells.append("n/a" if r is None else f"{r[0]:.3f} ± {r[1]:.3f} ({r[3]:.1f} s)")
            print(f"| {n} | " + " | ".join(cells) + " |")
        means = []
        for m in cols:
            vals = [rows[(n, m)][0] for n in task_names if (n, m) in rows]
            means.append(f"{np.mean(vals):.3f}" if len(vals) == len(task_names) else "n/a")
        if task == "classification":
            print("| **mean** | " + " | ".join(means) + " |")
    return rows


def load_task(name):
    from _datasets import CLASSIFICATION

    return "classification" if name in CLASSIFICATION else "regression"



def print_environment():
    import keras
    import sklearn
    import tensorflow as tf

    import skgru

    versions = {"python": platform.python_version(), "skgru": skgru.__version__,
                "numpy": np.__version__, "scikit-learn": sklearn.__version__,
                "tensorflow": tf.__version__, "keras": keras.__version__}
    for mod in ("scikeras", "aeon", "keras_tuner"):
        try:
            versions[mod] = __import__(mod).__version__
        except ImportError:
            versions[mod] = "not installed"
    print("command: python " + " ".join(sys.argv))
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))


def main(argv=None):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from _datasets import LOADERS as ALL_SETS
    from _datasets import SIMULATED_FORECASTING, SIMULATED_NONLINEAR

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=None, metavar="NAME",
                        help=f"data sets (default: all of the chosen mode): {list(ALL_SETS)}")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2],
                        help="seeds of the networks (default: 0 1 2)")
    parser.add_argument("--fast", action="store_true",
                        help="smoke run: 40 samples, 2 epochs, tiny networks (or SKGRU_FAST=1)")
    parser.add_argument("--models", nargs="+", default=ALL_MODELS,
                        choices=ALL_MODELS + EXTRA_MODELS,
                        help="models of the default table (issue 12)")
    parser.add_argument("--tuned-best", metavar="PARAMS",
                        help="with --models TunedGRU-refit: the best_params_ a TunedGRU search "
                             "printed (a Python dict literal, as --verbose 2 prints it); scores "
                             "TunedGRU's refit of them on the test split, without the search")
    parser.add_argument("--select", action="store_true",
                        help="score DEFAULT_CANDIDATES by CV on the training splits (issue 12)")
    parser.add_argument("--n-splits", type=int, default=3, help="CV folds for --select")
    parser.add_argument("--chosen", action="store_true",
                        help="the earlier per-data-set table (CHOSEN configurations, issue 7)")
    parser.add_argument("--select-chosen", action="store_true",
                        help="issue 7's per-data-set CANDIDATES selection")
    parser.add_argument("--candidates", nargs="+", metavar="NAME",
                        help="with --select/--select-chosen: score only these candidates")
    parser.add_argument("--tuned", action="store_true",
                        help="with --chosen: also run TunedGRU on the data sets in TUNED_SPACES")
    parser.add_argument("--threads", type=int, default=0,
                        help="TensorFlow threads per op (0: its default); 1 lets two runs share 2 cores")
    parser.add_argument("--verbose", type=int, default=0,
                        help="TunedGRU's verbose (2: one line per trial; results are unchanged)")
    parser.add_argument("--tuned-jobs", type=int, default=1,
                        help="TunedGRU's n_jobs (trials in parallel processes; seconds per fit "
                             "are then wall time, not one core's)")
    args = parser.parse_args(argv)
    fast = args.fast or os.environ.get("SKGRU_FAST") == "1"
    if args.threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    print_environment()

    if args.chosen or args.select_chosen:
        names = args.datasets or list(LOADERS)
        bad = set(names) - set(LOADERS)
        if bad:
            parser.error(f"--datasets: unknown for --chosen {sorted(bad)}")
        unknown = set(args.candidates or ()) - {c for n in names for c in CANDIDATES[n]}
        if unknown:
            parser.error(f"--candidates: no data set of --datasets has {sorted(unknown)}")
        names = [n for n in names if _loadable(n, LOADERS)]
        if args.select_chosen:
            run_select(names, args.seeds, fast, only=args.candidates)
        else:
            run_table(names, args.seeds, fast, args.tuned)
        return

    # rounds 15 and 16's simulated sets only when named (README's tables: the 17 others)
    names = args.datasets or [n for n in ALL_SETS if n not in {**SIMULATED_NONLINEAR, **SIMULATED_FORECASTING}]
    bad = set(names) - set(ALL_SETS)
    if bad:
        parser.error(f"--datasets: unknown {sorted(bad)}; known: {list(ALL_SETS)}")
    if args.candidates and set(args.candidates) - set(DEFAULT_CANDIDATES):
        parser.error(f"--candidates: unknown {sorted(set(args.candidates) - set(DEFAULT_CANDIDATES))}")
    names = [n for n in names if _loadable(n, ALL_SETS)]
    if args.select:
        run_select_defaults(names, args.seeds, fast, only=args.candidates, n_splits=args.n_splits)
    else:
        tuned_best = None
        if "TunedGRU-refit" in args.models:
            import ast

            try:
                tuned_best = ast.literal_eval(args.tuned_best or "")
            except (ValueError, SyntaxError):
                tuned_best = None
            if not isinstance(tuned_best, dict):
                parser.error("--models TunedGRU-refit needs --tuned-best '{\"param\": value, ...}'")
        run_compare(names, args.seeds, fast, args.models, args.verbose, args.tuned_jobs,
                    tuned_best)


def _loadable(name, loaders):
    try:
        loaders[name]()
    except ImportError as exc:
        print(f"skipping {name}: {exc}")
        return False
    return True


if __name__ == "__main__":
    main()
