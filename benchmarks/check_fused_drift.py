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
``--growth``: for the defaults on 64 x 1, the drift after 2, 4, ..., 22 steps of the same
unshuffled batches (a steady error grows smoothly; a discrete event jumps).
``--ties``: after that epoch, whether the two implementations' convolution outputs, patch
max-pool ties, GRU outputs and max-over-time argmaxes agree on 256 rows.
``--gradients``: given the same weights (the separate fit's after 10 and 11 steps), how far
the two implementations' gradients of the next batch differ, and how many components are
below Adam's epsilon (1e-7), where an absolute difference becomes a large step.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _max_diff(a, b, names):
    import numpy as np

    diffs = [np.abs(u - v) for u, v in zip(a.model_.get_weights(), b.model_.get_weights())]
    i = int(np.argmax([d.max() for d in diffs]))
    return float(diffs[i].max()), names[i], sum(int((d > 1e-4).sum()) for d in diffs)


def _digits64():
    import numpy as np
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    order = np.random.RandomState(0).permutation(len(X))[: 64 * 22]
    return (X[order].reshape(-1, 64, 1) / 16.0).astype(np.float32), y[order]


def _defaults(**kwargs):
    from skgru import GRUClassifier

    return GRUClassifier(units=32, learning_rate=0.01, epochs=1, batch_size=64, random_state=0,
                         min_updates=0, **kwargs)


def growth():
    import numpy as np
    from sklearn.base import clone

    from skgru.estimators._folds import fit_folds

    Xs, ys = _digits64()
    print("| steps | fused vs separate: max abs weight diff |")
    print("|---|---|")
    for steps in range(2, 23, 2):
        n = 64 * steps
        est = _defaults(fit__shuffle=False)
        fused = fit_folds(est, Xs[:n], ys[:n], [(np.arange(n), np.arange(0))])[0]
        separate = clone(est).fit(Xs[:n], ys[:n])
        diff = max(np.abs(a - b).max() for a, b in zip(fused.model_.get_weights(), separate.model_.get_weights()))
        print(f"| {steps} | {diff:.1e} |", flush=True)


def ties():
    import keras
    import numpy as np

    from skgru._keras import fused
    from skgru._keras.fused_numpy import NumpyFusedTrainer, _patched

    Xs, ys = _digits64()
    est = _defaults().fit(Xs, ys)
    model, spec = est.model_, est.network_spec_
    rows = Xs[:256]
    conv_keras = keras.Model(model.inputs, model.get_layer("conv_0").output).predict(rows, verbose=0)
    gru_keras = keras.Model(model.inputs, model.get_layer("gru_0").output).predict(rows, verbose=0)
    rule = fused.OptimizerRule("adam", 0.01)
    trainer = NumpyFusedTrainer(spec, 1, rule, "classification")
    trainer.reset([[v.numpy() for v in fused.model_variables(model, spec)]], rule,
                  [fused.input_statistics(model, spec)])
    x, mask, cols, skip = trainer._prepare(rows[None], "rows")
    _, tape = trainer._forward(trainer.params, x, mask, cols, skip, keep=True)
    conv_numpy = tape[0][1][0]
    gru_numpy = tape[2][1][0][1:, 0].transpose(1, 0, 2)  # GRU states (T, B, U) -> (B, T, U)

    def patch_ties(c):  # full patches of 3 whose positive maximum is shared
        patches = _patched(c[None], spec.patch_size, 0.0)[0][:, : c.shape[1] // spec.patch_size]
        top = patches.max(axis=2, keepdims=True)
        return ((patches == top).sum(axis=2) > 1) & (top[:, :, 0] > 0)

    tk, tn = patch_ties(conv_keras), patch_ties(conv_numpy)
    print(f"convolution outputs: max abs difference {np.abs(conv_keras - conv_numpy).max():.1e}")
    print(f"patch max-pool ties: TensorFlow {tk.sum()}, NumPy {tn.sum()}, differing {int((tk != tn).sum())} of {tk.size}")
    print(f"GRU outputs: max abs difference {np.abs(gru_keras - gru_numpy).max():.1e}")
    same = (gru_keras.argmax(axis=1) == gru_numpy.argmax(axis=1)).mean()
    print(f"max over time: argmax equal for {same:.4f} of (row, unit) pairs")


def gradients():
    import keras
    import numpy as np
    import tensorflow as tf

    from skgru._keras import fused
    from skgru._keras.fused_numpy import NumpyFusedTrainer

    Xs, ys = _digits64()
    print("| next batch | variable | max abs diff | relative | components with abs(g) < 1e-7 |")
    print("|---|---|---|---|---|")
    for k in (10, 11):
        est = _defaults(fit__shuffle=False).fit(Xs[: 64 * k], ys[: 64 * k])
        model, spec = est.model_, est.network_spec_
        rule = fused.OptimizerRule("adam", 0.01)
        trainer = NumpyFusedTrainer(spec, 1, rule, "classification")
        trainer.reset([[v.numpy() for v in fused.model_variables(model, spec)]], rule,
                      [fused.input_statistics(model, spec)])
        xb, yb = Xs[64 * k : 64 * (k + 1)], ys[64 * k : 64 * (k + 1)]
        yi = np.searchsorted(est.classes_, yb).astype(np.int32)
        x, mask, cols = trainer._prepare(xb[None], "batch")
        _, grads = trainer._losses_and_grads(x, mask, cols, yi[None], np.ones((1, 64), np.float32),
                                             np.array([64.0], np.float32), np.ones(1, np.float32), True)
        variables = fused.model_variables(model, spec)
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(yi, model(xb, training=True)))
        reference = tape.gradient(loss, variables)
        for (name, attr, _), a, b in zip(fused.variable_layout(spec), trainer._views(grads), reference):
            a, b = a[0], b.numpy()
            diff = np.abs(a - b).max()
            print(f"| {k + 1} | {name}.{attr} | {diff:.1e} | {diff / np.abs(b).max():.1e} | "
                  f"{int((np.abs(b) < 1e-7).sum())} of {b.size} |", flush=True)


def main():
    import sys

    if "--gradients" in sys.argv:
        return gradients()
    if "--growth" in sys.argv:
        return growth()
    if "--ties" in sys.argv:
        return ties()
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
