"""The picture of hyperparameter importances in the README and the tuning guide.

A TPE search on digits as 8x8 sequences (600 training rows, hold-out scoring, 3 epochs
per trial) over four parameters, then ``skgru.plotting.plot_importances``.

    python benchmarks/plot_importances.py docs/images/tuning_importances.png

Not run by the tests (tests/test_tuning.py checks the importances themselves).
"""

from __future__ import annotations

import argparse
import time

from scipy.stats import loguniform
from sklearn.datasets import load_digits


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("output", help="PNG file to write")
    p.add_argument("--trials", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    from skgru import GRUClassifier, TunedGRU
    from skgru.plotting import plot_importances

    X, y = load_digits(return_X_y=True)
    X, y = X[:600].reshape(-1, 8, 8) / 16.0, y[:600]
    space = {"units": [8, 16, 32, 64], "learning_rate": loguniform(1e-4, 3e-2),
             "dropout": [0.0, 0.2, 0.4], "batch_size": [16, 32, 64]}
    t0 = time.perf_counter()
    tuned = TunedGRU(GRUClassifier(epochs=3, random_state=args.seed), space, tuner="tpe",
                     max_trials=args.trials, random_state=args.seed).fit(X, y)
    print(f"{args.trials} TPE trials in {time.perf_counter() - t0:.0f} s, best {tuned.best_score_:.3f} "
          f"with {tuned.best_params_}")
    print({k: round(v, 3) for k, v in tuned.param_importances_.items()})
    fig = plot_importances(tuned)
    fig.set_size_inches(6, 3)
    fig.tight_layout()
    fig.savefig(args.output, dpi=100)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
