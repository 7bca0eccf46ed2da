"""GridSearchCV on digits as 8x8 sequences: skgru vs hand-written SciKeras vs skorch.

Workload of issue 5: 5 folds x 4 candidates (units x learning_rate), 10 epochs,
batch 32, GRU -> Dense(10). All libraries run side by side in this one process,
on the same CPU, sequentially; wall time of the whole search (no refit).

    python benchmarks/bench_grid_search.py            # full workload
    python benchmarks/bench_grid_search.py --quick    # 2 folds, 2 epochs (smoke test)
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _references import (  # noqa: E402
    Timer,
    digits_sequences,
    plain_gru_params,
    print_table,
    scikeras_classifier,
    skorch_available,
    skorch_classifier,
)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--skip", nargs="*", default=[], choices=["skgru", "scikeras", "skorch"])
    args = parser.parse_args()

    import numpy as np
    from sklearn.model_selection import GridSearchCV

    from skgru import GRUClassifier

    X, y = digits_sequences()
    folds, epochs = (2, 2) if args.quick else (5, 10)
    grid_values = {"units": [16, 32], "learning_rate": [1e-3, 1e-2]}
    contenders = {
        "skgru": (GRUClassifier(epochs=epochs, batch_size=32, random_state=0, **plain_gru_params(GRUClassifier)),
                  grid_values),
        "scikeras (hand-written)": (
            scikeras_classifier(epochs=epochs),
            {"model__units": grid_values["units"], "model__learning_rate": grid_values["learning_rate"]},
        ),
    }
    if skorch_available():
        contenders["skorch"] = (
            skorch_classifier(epochs=epochs),
            {"module__units": grid_values["units"], "lr": grid_values["learning_rate"]},
        )
    else:
        print("skorch/torch not installed: skorch column skipped")

    X_torch, y_torch = X, y.astype("int64")
    rows = []
    for name, (estimator, grid) in contenders.items():
        if name.split()[0] in args.skip:
            continue
        search = GridSearchCV(estimator, grid, cv=folds, refit=False, error_score="raise")
        data = (X_torch, y_torch) if name == "skorch" else (X, y)
        with Timer() as t:
            search.fit(*data)
        n_fits = folds * len(search.cv_results_["params"])
        rows.append(
            {
                "library": name,
                "fits": n_fits,
                "wall s": f"{t.seconds:.1f}",
                "s per fit": f"{t.seconds / n_fits:.3f}",
                "best mean acc": f"{np.max(search.cv_results_['mean_test_score']):.3f}",
                "_seconds": t.seconds,
            }
        )
    base = {r["library"]: r["_seconds"] for r in rows}
    for r in rows:
        if "skgru" in base:
            r["skgru / this"] = f"{base['skgru'] / r['_seconds']:.2f}"
    print(f"\nGridSearchCV, digits as 8x8 sequences, {folds} folds x 4 candidates, {epochs} epochs, batch 32")
    print_table(rows, ["library", "fits", "wall s", "s per fit", "best mean acc", "skgru / this"])


if __name__ == "__main__":
    main()
