"""Run every script in ``examples/`` end to end, the way a user would.

Each script runs in a subprocess with ``SKGRU_FAST=1`` (the scripts' CI mode:
tiny data, a couple of epochs), in an empty temporary working directory, and
must exit with 0, print its headline result, and leave the working directory
empty (the project promises that nothing is written there).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"

# script -> regular expression one line of its output must match
EXPECTED_OUTPUT = {
    "quickstart.py": r"^test accuracy: \d\.\d{3}$",
    "grid_search_pipeline.py": r"^best CV accuracy: \d\.\d{3}$",
    "time_series_forecasting.py": r"MAE: GRU \d",
    "text_sentiment.py": r"^GRU test accuracy: \d\.\d{3}",
    "multivariate_classification.py": r"^GRU test accuracy: \d\.\d{3}",
    "tuned_gru.py": r"test accuracy:\s+\d\.\d{3}",
}

# scripts that need an optional extra: script -> module that must be importable
# (statsmodels is not in the `test` extra: the forecasting example is skipped without it)
REQUIRES = {"tuned_gru.py": "keras_tuner", "time_series_forecasting.py": "statsmodels"}

TIMEOUT_S = 300  # per script; each takes well under a minute in fast mode


# Scripts added later without an entry above still run; they must print something.
SCRIPTS = sorted(set(EXPECTED_OUTPUT) | {p.name for p in EXAMPLES_DIR.glob("*.py")})


def test_examples_exist():
    assert any(EXAMPLES_DIR.glob("*.py")), f"no example scripts found in {EXAMPLES_DIR}"


@pytest.mark.parametrize("script", SCRIPTS)
def test_example_runs(script, tmp_path):
    path = EXAMPLES_DIR / script
    if not path.exists():
        pytest.skip(f"examples/{script} does not exist yet")
    if script in REQUIRES:
        pytest.importorskip(REQUIRES[script])

    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = dict(os.environ)
    env.update(
        SKGRU_FAST="1",
        TF_CPP_MIN_LOG_LEVEL="2",
        PYTHONDONTWRITEBYTECODE="1",
        MPLBACKEND="Agg",
        PYTHONHASHSEED="0",
    )
    try:
        proc = subprocess.run(
            [sys.executable, str(path)],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"examples/{script} did not finish within {TIMEOUT_S} s:\n{exc.stdout}")

    output = f"--- stdout ---\n{proc.stdout}\n--- stderr (tail) ---\n{proc.stderr[-4000:]}"
    assert proc.returncode == 0, f"examples/{script} exited with {proc.returncode}\n{output}"
    expected = EXPECTED_OUTPUT.get(script, r"\S")
    assert re.search(expected, proc.stdout, re.MULTILINE), (
        f"examples/{script}: no output line matches {expected!r}\n{output}"
    )
    leftovers = sorted(p.name for p in cwd.iterdir())
    assert leftovers == [], f"examples/{script} wrote into the working directory: {leftovers}"
