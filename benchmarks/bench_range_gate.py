"""Benchmark (a screen, issue 12 round 18): the regressor's GRU part faded out beyond the
range of the series it was fitted on.

Round 17's diagnosis (``bench_fold_parts.py``): on airline's last CV fold, whose windows
rise above the training range, the linear skip alone beat the whole network in all eight
fits. This screen fits ``GRURegressor(range_fade=None)`` (the defaults before round 18; ``--gru-input``
changes what its GRU reads) on ``bench_accuracy.py
--select``'s folds of each regression training split once per seed and fold, and scores
every member's prediction four ways from those same fits::

    skip + g * (network - skip)

``network`` the member's prediction as shipped, ``skip`` the same member with its GRU head
zeroed (its linear skip alone; both after the member's ``shrink_to_mean``, an affine map,
so the blend equals fading the GRU head inside the network), and ``g`` in [0, 1] per window
from ``e``, how far the window's values leave the per-feature range of the rows the member
was fitted on, in units of that range's width (0 inside it):

* ``network``: g = 1 (the defaults, as shipped);
* ``hard``: g = 0 as soon as any value leaves the range (e > 0);
* ``fade-0.1`` / ``fade-0.25``: g = max(0, 1 - e / m), the GRU part gone at m range-widths;
* ``fade-0.1-unshrunk`` (round 19): ``g * network + (1 - g) * skip``, ``skip`` here without
  ``shrink_to_mean``: outside the range neither the GRU nor the pull toward the training
  mean (round 16: that pull costs more the farther a prediction lies from that mean).

The range covers every row passed to ``fit`` (the validation rows too), so the fitted
shrink factors are the ones a network with the gate inside would fit (g = 1 on every row
it saw). No test split is loaded. Prints each set's mean R^2 over folds and seeds per
variant and a ``FOLDS`` line per variant (seed-major) like ``bench_accuracy.py --select``.

    python benchmarks/bench_range_gate.py --seeds 0 1 2 --datasets nile airline ...

Not run by the tests.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

VARIANTS = ("network", "hard", "fade-0.1", "fade-0.25", "fade-0.1-unshrunk")


def excess(X_fit, X_new):
    """Per row of ``X_new``: how far it leaves the range of ``X_fit``, in range-widths
    (skgru's own ``range_fade`` arithmetic; the sets screened here are 2D or 3D arrays,
    not ragged)."""
    from skgru.estimators import _range_fade

    fit, new = (np.asarray(X, dtype=np.float64) for X in (X_fit, X_new))
    fit, new = (X[:, :, None] if X.ndim == 2 else X for X in (fit, new))
    return _range_fade.range_excess(new, _range_fade.input_range(fit, None), None)


def gate(variant, e):
    """``g`` per row for ``variant``, from the rows' excess ``e``."""
    from skgru.estimators import _range_fade

    if variant == "network":
        return np.ones(len(e))
    return _range_fade.fade_factors(e, 0.0 if variant == "hard" else float(variant.split("-")[1]))


def run(names, seeds, gru_input="values"):
    from _datasets import load
    from bench_accuracy import _cv_splits, _fold_r2, _take
    from skgru import GRURegressor
    from skgru.estimators._ensemble import average, member_weights, members
    from skgru.estimators.regressor import gru_head_zeroed

    means = {}
    for name in names:
        ds = load(name)
        if ds.task != "regression":
            raise SystemExit(f"{name} is a {ds.task} set; this screen is for regression")
        scores = {v: [] for v in VARIANTS}
        outside, t0 = [], time.perf_counter()
        for seed in seeds:
            for tr, va in _cv_splits(ds, seed, 3):
                X_tr, X_va, y_va = _take(ds.X_train, tr), _take(ds.X_train, va), ds.y_train[va]
                # range_fade=None: the network as trained; the variants below fade it by hand
                est = GRURegressor(random_state=seed, gru_input=gru_input, range_fade=None).fit(X_tr, ds.y_train[tr])
                fitted = members(est)
                net = [m._network_prediction(X_va) for m in fitted]
                skip, unshrunk = [], []
                for member in fitted:
                    with gru_head_zeroed(member.model_):
                        skip.append(member._network_prediction(X_va))
                        unshrunk.append(member.target_encoder_.inverse(member._raw_predict(X_va)))
                e = excess(X_tr, X_va)  # once per fold: every variant reads it
                outside.append(float(np.mean(e > 0)))
                weights = member_weights(fitted)
                for v in VARIANTS:
                    g = gate(v, e).reshape((-1,) + (1,) * (np.ndim(net[0]) - 1))
                    ends = unshrunk if v.endswith("-unshrunk") else skip
                    blended = [s + g * (n - s) for n, s in zip(net, ends)]
                    scores[v].append(_fold_r2(y_va, average(blended, weights)))
        for v in VARIANTS:
            means[(name, v)] = float(np.mean(scores[v]))
            print(f"| {name} | {v} | {np.mean(scores[v]):.3f} ± {np.std(scores[v]):.3f} | "
                  f"{np.mean(outside):.2f} |", flush=True)
            print(f"FOLDS {name} {v} " + " ".join(f"{s:.4f}" for s in scores[v]), flush=True)
        print(f"# {name}: {time.perf_counter() - t0:.0f} s", flush=True)
    print("\n| variant | mean R^2 (each set clipped at -1) |\n|---|---|")
    for v in VARIANTS:
        print(f"| {v} | {np.mean([max(means[(n, v)], -1.0) for n in names]):.3f} |")
    return means


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["airline"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--threads", type=int, default=1)
    from skgru._keras.network import GRU_INPUTS

    parser.add_argument("--gru-input", default="values", choices=GRU_INPUTS,
                        help="what the GRU reads (round 19 screens 'both' under the fade)")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    from bench_accuracy import print_environment

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    print_environment()
    print("| data set | variant | CV R^2 | share of validation windows outside the range |")
    print("|---|---|---|---|")
    run(args.datasets, args.seeds, args.gru_input)


if __name__ == "__main__":
    main()
