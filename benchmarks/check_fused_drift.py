"""How far fused fold training drifts from a separate fit, beside how far a separate fit
drifts from itself under a rounding-level change of its input (issue 14.4).

The fused steps compute each fold's gradients to ~1e-6 relative of Keras' autodiff
(tests/test_fused_numpy.py); over an epoch those float32 differences can grow.  This
script shows the growth is the data's own sensitivity, not the fused step's: for each
layout of digits it trains one configuration on 22 batches of 64 rows for one epoch and
prints the largest weight difference between

* the fused NumPy step and a separate ``fit`` (same seed, same rows), and
* two separate fits whose inputs differ by a factor ``1 + N(0, 1e-7)`` on the nonzero
  pixels (the zero background stays exactly constant, as in the data).

Run: ``python benchmarks/check_fused_drift.py`` (about a minute on 2 cores).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _max_diff(a, b, names):
    import numpy as np

    diffs = [np.abs(u - v) for u, v in zip(a.model_.get_weights(), b.model_.get_weights())]
    i = int(np.argmax([d.max() for d in diffs]))
    return float(diffs[i].max()), names[i], sum(int((d > 1e-4).sum()) for d in diffs)


def main():
    import numpy as np
    from sklearn.base import clone
    from sklearn.datasets import load_digits

    from skgru import GRUClassifier
    from skgru.estimators._folds import fit_folds

    X, y = load_digits(return_X_y=True)
    order = np.random.RandomState(0).permutation(len(X))[: 64 * 22]
    print("| digits as | network | fused vs separate: max abs weight diff (where; # > 1e-4) "
          "| separate vs separate, inputs x (1 + N(0, 1e-7)) |")
    print("|---|---|---|---|")
    for layout, params in (((64, 1), dict(patch_mode="fold", pooling="last")),
                           ((64, 1), dict()),  # the defaults: patches max-pooled, pooling "auto" (max)
                           ((8, 8), dict())):
        Xs = (X[order].reshape(-1, *layout) / 16.0).astype(np.float32)
        ys = y[order]
        est = GRUClassifier(units=32, learning_rate=0.01, epochs=1, batch_size=64, random_state=0,
                            min_updates=0, **params)
        fused = fit_folds(est, Xs, ys, [(np.arange(len(Xs)), np.arange(0))])[0]
        separate = clone(est).fit(Xs, ys)
        noise = 1 + np.random.RandomState(1).normal(scale=1e-7, size=Xs.shape)
        perturbed = clone(est).fit((Xs * noise).astype(np.float32), ys)
        names = [w.path for w in separate.model_.weights]
        f, s = _max_diff(fused, separate, names), _max_diff(perturbed, separate, names)
        net = ", ".join(f"{k}={v!r}" for k, v in params.items()) or "defaults"
        print(f"| {layout[0]} x {layout[1]} | {net} | {f[0]:.1e} ({f[1]}; {f[2]}) | {s[0]:.1e} ({s[1]}; {s[2]}) |",
              flush=True)


if __name__ == "__main__":
    main()
