"""Benchmark (a diagnosis): where a regressor's CV error comes from, fold by fold.

For each of ``bench_accuracy.py --select``'s three folds of a regression training split
(``TimeSeriesSplit`` for forecasting windows: past -> future), fit ``GRURegressor`` with
each ``--gru-input`` value and print the fold's R^2 beside the R^2 of the same ensemble
with every member's GRU head zeroed (its linear skip alone, each member's
``shrink_to_mean`` still applied), and per member ``(best_epoch_, shrinkage_,
gru_shrinkage_)``. A fold where the skip alone scores far above the network is one where
the GRU's part adds error (issue 12, rounds 16-17: windows that leave the training range).
No test split is loaded; nothing here chooses a default.

    python benchmarks/bench_fold_parts.py --dataset airline --seeds 3 4 5 0 --gru-input values both

Not run by the tests.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def run(name, seeds, gru_inputs):
    from _datasets import load
    from bench_accuracy import _cv_splits, _fold_r2, _take
    from skgru import GRURegressor
    from skgru.estimators._ensemble import members
    from skgru.estimators.regressor import gru_head_zeroed

    ds = load(name)
    if ds.task != "regression":
        raise SystemExit(f"{name} is a {ds.task} set; this diagnosis is for regression")
    print(f"\n{name}: 3-fold CV on the training split, R^2 per fold\n")
    print("| seed | fold | training rows | gru_input | R^2 | linear skip alone | members (best_epoch_, a, b) |")
    print("|---|---|---|---|---|---|---|")
    for seed in seeds:
        for fold, (tr, va) in enumerate(_cv_splits(ds, seed, 3)):
            X_tr, X_va, y_va = _take(ds.X_train, tr), _take(ds.X_train, va), ds.y_train[va]
            for gru_input in gru_inputs:
                est = GRURegressor(random_state=seed, gru_input=gru_input).fit(X_tr, ds.y_train[tr])
                skip_only = []
                for member in members(est):
                    with gru_head_zeroed(member.model_):
                        skip_only.append(member._network_prediction(X_va))
                parts = " ".join(f"({m.best_epoch_}, {float(np.ravel(m.shrinkage_)[0]):.2f}, "
                                 f"{float(np.ravel(m.gru_shrinkage_)[0]):.2f})" for m in members(est))
                print(f"| {seed} | {fold} | {len(tr)} | {gru_input} | {_fold_r2(y_va, est.predict(X_va)):.3f} | "
                      f"{_fold_r2(y_va, np.mean(skip_only, axis=0)):.3f} | {parts} |", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="airline")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    from skgru._keras.network import GRU_INPUTS

    parser.add_argument("--gru-input", nargs="+", default=["values", "both"], choices=GRU_INPUTS)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    from bench_accuracy import print_environment

    print_environment()
    run(args.dataset, args.seeds, args.gru_input)


if __name__ == "__main__":
    main()
