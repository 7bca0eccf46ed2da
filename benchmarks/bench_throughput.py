"""Steady-state training throughput on large data: skgru vs raw Keras ``Model.fit``.

Workload of issue 5: GRU(128) -> Dense(1), 128 timesteps x 16 features, batch 256,
regression on random data. Both run the same network on the same Keras backend
(``KERAS_BACKEND``) in this one process; samples/s of the last epoch (the first
epoch includes tracing). skorch (PyTorch nn.GRU) is added when installed.

    python benchmarks/bench_throughput.py                      # CPU-sized default (4096 samples)
    KERAS_BACKEND=jax python benchmarks/bench_throughput.py --n-samples 32768   # GPU
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _references import keras_gru, print_table, skorch_available  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=4096)
    parser.add_argument("--timesteps", type=int, default=128)
    parser.add_argument("--features", type=int, default=16)
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--no-skorch", action="store_true")
    args = parser.parse_args()

    import keras
    import numpy as np

    from skgru import GRURegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(args.n_samples, args.timesteps, args.features)).astype("float32")
    y = (X[:, -10:, 0].mean(axis=1) + 0.1 * rng.normal(size=args.n_samples)).astype("float32")

    class EpochClock(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self.t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.t)

    rows = []

    def record(name, seconds_per_epoch):
        rows.append({"implementation": name, "_sps": args.n_samples / seconds_per_epoch})

    clock = EpochClock()
    model = keras_gru(args.timesteps, args.features, 1, args.units, activation="linear")
    model.fit(X, y, batch_size=args.batch_size, epochs=args.epochs, verbose=0, callbacks=[clock])
    record(f"raw keras Model.fit ({keras.backend.backend()})", min(clock.seconds[1:]))

    clock = EpochClock()
    reg = GRURegressor(
        units=args.units, batch_size=args.batch_size, epochs=args.epochs, n_iter_no_change=args.epochs + 1,
        standardize_y=False, random_state=0, callbacks=[clock], ensemble_size=1,  # one network vs raw Keras
    )
    reg.fit(X, y)
    record(f"skgru GRURegressor ({keras.backend.backend()})", min(clock.seconds[1:]))

    if skorch_available() and not args.no_skorch:
        import torch
        from skorch import NeuralNetRegressor
        from skorch.callbacks import Callback
        from torch import nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.gru = nn.GRU(args.features, args.units, batch_first=True)
                self.out = nn.Linear(args.units, 1)

            def forward(self, X):
                seq, _ = self.gru(X)
                return self.out(seq[:, -1])

        class SkorchClock(Callback):
            def initialize(self):
                self.seconds = []
                return self

            def on_epoch_begin(self, net, **kw):
                self.t = time.perf_counter()

            def on_epoch_end(self, net, **kw):
                self.seconds.append(time.perf_counter() - self.t)

        sk_clock = SkorchClock()
        device = "cuda" if torch.cuda.is_available() else "cpu"
        net = NeuralNetRegressor(
            Net, max_epochs=args.epochs, batch_size=args.batch_size, optimizer=torch.optim.Adam, lr=1e-3,
            train_split=None, iterator_train__shuffle=True, verbose=0, callbacks=[sk_clock], device=device,
        )
        net.fit(X, y.reshape(-1, 1))
        record(f"skorch nn.GRU ({device})", min(sk_clock.seconds[1:]))

    keras_sps = rows[0]["_sps"]
    for r in rows:
        r["samples/s"] = f"{r['_sps']:.0f}"
        r["vs raw keras"] = f"{r['_sps'] / keras_sps:.2f}"
    print(
        f"\nGRU({args.units}), {args.timesteps} steps x {args.features} features, {args.n_samples} samples, "
        f"batch {args.batch_size}: best steady epoch of {args.epochs}"
    )
    print_table(rows, ["implementation", "samples/s", "vs raw keras"])


if __name__ == "__main__":
    main()
