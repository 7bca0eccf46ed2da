"""Does every parameter still learn on a small training set? (issue 12)

Round 12 found that ``lr_schedule="plateau"`` and ``"exponential"`` trained to chance on
training sets of 30-100 series: the schedules counted epochs while the stopping rule
counted updates. Nothing had scored those parameters on small sets, so nothing caught it.
This script scores every flat parameter of ``GRUClassifier`` / ``GRURegressor`` one at a
time, at a value a user might plausibly set, by CV on the TRAINING split of small data
sets (no test split is read), beside the defaults and a dummy model on the same folds.

A variant is flagged when it falls to the dummy's level or far below the defaults
(``--flag``, accuracy / R^2 points): a parameter that a user can set and that then quietly
fails to learn is a bug to fix, not a default to choose. The table is a screen, not a
selection: it is not used to choose any default.

Run::

    python benchmarks/bench_parameter_audit.py                       # every variant
    python benchmarks/bench_parameter_audit.py --datasets sim-cbf --variants optimizer=sgd
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# One value per parameter that a user might set (two where the parameter has two
# directions that fail differently); the defaults are the reference row.
CLASSIFIER_VARIANTS = {
    "units=16": dict(units=16),
    "units=256": dict(units=256),
    "n_layers=2": dict(n_layers=2),
    "bidirectional": dict(bidirectional=True),
    "dropout=0.5": dict(dropout=0.5),
    "recurrent_dropout=0.2": dict(recurrent_dropout=0.2),
    "activation=relu": dict(activation="relu"),
    "recurrent_activation=hard_sigmoid": dict(recurrent_activation="hard_sigmoid"),
    "dense_units=64": dict(dense_units=64),
    "conv_filters=None": dict(conv_filters=None),
    "conv_filters=(32,64)": dict(conv_filters=(32, 64)),
    "conv_kernel_size=3": dict(conv_kernel_size=3),
    "fcn_branch": dict(fcn_branch=True),
    "linear_skip": dict(linear_skip=True),
    "pooling=last": dict(pooling="last"),
    "pooling=mean": dict(pooling="mean"),
    "pooling=attention": dict(pooling="attention"),
    "patch_size=1": dict(patch_size=1),
    "patch_size=4": dict(patch_size=4),
    "patch_mode=fold": dict(patch_mode="fold"),
    "patch_mode=mean": dict(patch_mode="mean"),
    "crop_size=0.25": dict(crop_size=0.25),
    "batch_size=8": dict(batch_size=8),
    "batch_size=256": dict(batch_size=256),
    "epochs=30": dict(epochs=30),
    "epochs=300": dict(epochs=300),
    "early_stopping": dict(early_stopping=True),
    "validation_fraction=0.3+es": dict(early_stopping=True, validation_fraction=0.3),
    "refit_all_rows": dict(refit_all_rows=True),
    "learning_rate=1e-2": dict(learning_rate=1e-2),
    "learning_rate=1e-4": dict(learning_rate=1e-4),
    "optimizer=sgd": dict(optimizer="sgd"),
    "optimizer=rmsprop": dict(optimizer="rmsprop"),
    "optimizer=adamw": dict(optimizer="adamw"),
    "weight_decay=1e-2": dict(weight_decay=1e-2),
    "clipnorm=1": dict(clipnorm=1.0),
    "l1=1e-4": dict(l1=1e-4),
    "l2=1e-3": dict(l2=1e-3),
    "lr_schedule=cosine": dict(lr_schedule="cosine"),
    "lr_schedule=exponential": dict(lr_schedule="exponential"),
    "lr_schedule=plateau": dict(lr_schedule="plateau"),
    "class_weight=balanced": dict(class_weight="balanced"),
    "min_updates=0": dict(min_updates=0),
    "min_updates=10000": dict(min_updates=10000),
    "n_iter_no_change=3": dict(n_iter_no_change=3),
    "n_iter_no_change=50": dict(n_iter_no_change=50),
    "tol=1e-2": dict(tol=1e-2),
    "standardize_X=False": dict(standardize_X=False),
}

REGRESSOR_VARIANTS = {
    k: v for k, v in CLASSIFIER_VARIANTS.items()
    if k not in {"class_weight=balanced", "linear_skip", "dropout=0.5", "conv_filters=None",
                 "early_stopping", "refit_all_rows", "patch_mode=fold"}
}
REGRESSOR_VARIANTS.update({
    "dropout=0.2": dict(dropout=0.2),
    "conv_filters=64": dict(conv_filters=64),
    "linear_skip=None": dict(linear_skip=None),
    "linear_skip=3": dict(linear_skip=3),
    "early_stopping=False": dict(early_stopping=False),
    "refit_all_rows=False": dict(refit_all_rows=False),
    "patch_mode=max": dict(patch_mode="max"),
    "shrink_to_mean=False": dict(shrink_to_mean=False),
    "shrink_to_linear=False": dict(shrink_to_linear=False),
    "standardize_y=False": dict(standardize_y=False),
    "quantiles=(0.1,0.5,0.9)": dict(quantiles=(0.1, 0.5, 0.9)),
})

DEFAULT_DATASETS = ["sim-cbf", "GunPoint", "sunspots", "sim-mv-reg"]


def _cv_score(ds, make_model, seed, n_splits):
    """Mean CV score on the training split: accuracy, or R^2 (0: the fold's mean)."""
    from bench_accuracy import _cv_splits, _fold_r2, _score, _take

    scores = []
    for tr, va in _cv_splits(ds, seed, n_splits):
        model = make_model().fit(_take(ds.X_train, tr), ds.y_train[tr])
        X_va, y_va = _take(ds.X_train, va), ds.y_train[va]
        scores.append(_score(ds, model, X_va, y_va) if ds.task == "classification"
                      else _fold_r2(y_va, model.predict(X_va)))
    return float(np.mean(scores))


def _variant(ds, params, seed):
    from bench_accuracy import make_default

    return lambda: make_default(ds, seed, params)


def _dummy(ds, seed):
    import _references as refs

    return lambda: refs.ACCURACY_REFERENCES["dummy"](ds.task, seed)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=DEFAULT_DATASETS, metavar="NAME")
    parser.add_argument("--variants", nargs="+", default=None, metavar="NAME",
                        help="only these variants (names as in the table)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-splits", type=int, default=2, help="CV folds on the training split")
    parser.add_argument("--flag", type=float, default=0.15,
                        help="flag a variant this far below the defaults (accuracy / R^2)")
    args = parser.parse_args(argv)

    from _datasets import CLASSIFICATION, load

    print(f"\nParameter audit: {args.n_splits}-fold CV on the TRAINING split, seed {args.seed}. "
          "Accuracy (classification) / R^2 (regression).\n")
    print("| data set | variant | CV score | vs defaults | seconds per fit | flag |")
    print("|---|---|---|---|---|---|")
    flagged = []
    for name in args.datasets:
        ds = load(name)
        dummy = _cv_score(ds, _dummy(ds, args.seed), args.seed, args.n_splits)
        t0 = time.perf_counter()
        base = _cv_score(ds, _variant(ds, {}, args.seed), args.seed, args.n_splits)
        print(f"| {name} | (dummy) | {dummy:.3f} | | | |")
        print(f"| {name} | defaults | {base:.3f} | | {(time.perf_counter() - t0) / args.n_splits:.1f} | |",
              flush=True)
        variants = CLASSIFIER_VARIANTS if name in CLASSIFICATION else REGRESSOR_VARIANTS
        for label, params in variants.items():
            if args.variants and label not in args.variants:
                continue
            t0 = time.perf_counter()
            try:
                score, error = _cv_score(ds, _variant(ds, params, args.seed), args.seed, args.n_splits), ""
            except Exception as exc:  # an error is a finding too: report it and go on
                score, error = float("nan"), f"{type(exc).__name__}: {str(exc)[:80]}"
            seconds = (time.perf_counter() - t0) / args.n_splits
            # near the dummy's level: within a quarter of the way from the dummy to the defaults
            near_dummy = score < dummy + 0.25 * (base - dummy)
            flag = error or ("FLAG" if (score < base - args.flag or near_dummy) else "")
            if flag:
                flagged.append((name, label, score))
            print(f"| {name} | {label} | {score:.3f} | {score - base:+.3f} | {seconds:.1f} | {flag} |",
                  flush=True)
    print(f"\n{len(flagged)} flagged: " + ", ".join(f"{n}/{v} ({s:.3f})" for n, v, s in flagged))


if __name__ == "__main__":
    main()
