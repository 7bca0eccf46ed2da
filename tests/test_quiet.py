"""``import skgru`` and a first fit/predict print nothing from TensorFlow's native logging.

Each case runs a fresh interpreter: TensorFlow prints its load-time lines once per
process, so only a new process shows what a user sees.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from skgru import _quiet

ROOT = Path(__file__).resolve().parents[1]

# Native absl/glog lines and the phrases the issue lists (any of them = noise).
NATIVE = re.compile(r"^[IWEF]\d{4} [\d:.]+\s+\d+ \S+:\d+\]", re.MULTILINE)
PHRASES = (
    "absl::InitializeLog",
    "oneDNN custom operations",
    "cuda drivers",
    "cpu_feature_guard",
    "cuInit",
    "oneDNN supports DT_BOOL",
)

FIT_SCRIPT = """
import os, sys
import numpy as np
import skgru
from skgru import GRUClassifier
X = np.random.RandomState(0).normal(size=(24, 5, 2)).astype("float32")
y = np.arange(24) % 2
GRUClassifier(units=4, epochs=2, random_state=0).fit(X, y).predict(X)
# mask_value puts a boolean mask in the graph (oneDNN's DT_BOOL line)
GRUClassifier(units=4, epochs=1, mask_value=0.0, random_state=0).fit(X, y).predict(X)
print("TF_CPP_MIN_LOG_LEVEL=" + os.environ.get("TF_CPP_MIN_LOG_LEVEL", "<unset>"))
"""


def _run(code, **env_changes):
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_CPP_MIN_LOG_LEVEL", _quiet.ENV_RESTORE)}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env.update(env_changes)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def _noise(stderr):
    lines = NATIVE.findall(stderr)
    lines += [p for p in PHRASES if p in stderr]
    return lines


def _native_messages(stderr):
    """Native log lines without their timestamp and thread id, for comparing runs."""
    return sorted(re.sub(r"^([IWEF])\d{4} [\d:.]+\s+\d+ ", r"\1 ", line)
                  for line in stderr.splitlines() if NATIVE.match(line))


def test_import_and_first_fit_are_quiet():
    out = _run(FIT_SCRIPT)
    assert _noise(out.stderr) == [], out.stderr
    assert f"TF_CPP_MIN_LOG_LEVEL={_quiet.DEFAULT_TF_LOG_LEVEL}" in out.stdout


def test_user_log_level_is_kept():
    # Import only (no fit): the level is applied at import; fits would only add time.
    code = "import skgru, os; print('TF_CPP_MIN_LOG_LEVEL=' + os.environ['TF_CPP_MIN_LOG_LEVEL'])"
    out = _run(code, TF_CPP_MIN_LOG_LEVEL="1")
    assert "TF_CPP_MIN_LOG_LEVEL=1" in out.stdout
    # Level 1 hides INFO: TensorFlow's load-time INFO lines are filtered to match it.
    assert not re.search(r"^I\d{4} ", out.stderr, re.MULTILINE), out.stderr


def test_skgru_tf_logging_restores_tensorflows_own_output():
    code = "import skgru, os; print(os.environ.get('TF_CPP_MIN_LOG_LEVEL', '<unset>'))"
    restored = _run(code, **{_quiet.ENV_RESTORE: "1"})
    assert restored.stdout.strip() == "<unset>"
    plain = _run("import keras")  # what TensorFlow prints without skgru
    assert _native_messages(restored.stderr) == _native_messages(plain.stderr)


def test_filter_drops_only_lines_below_the_level():
    data = (
        b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        b"I0000 00:00:1796160725.004702    5654 port.cc:153] oneDNN custom operations are on.\n"
        b"W0000 00:00:1796160725.005324    5654 foo.cc:31] a warning\n"
        b"E0000 00:00:1796160725.005324    5654 cuda_platform.cc:52] failed call to cuInit\n"
        b"F0000 00:00:1796160725.005324    5654 bar.cc:1] fatal\n"
        b"To enable the following instructions: AVX2 FMA, in other operations, rebuild\n"
        b"/some/module.py:3: UserWarning: a Python warning\n"
    )
    kept = _quiet.filter_native_lines(data, 2).decode().splitlines()
    assert kept == [
        "E0000 00:00:1796160725.005324    5654 cuda_platform.cc:52] failed call to cuInit",
        "F0000 00:00:1796160725.005324    5654 bar.cc:1] fatal",
        "/some/module.py:3: UserWarning: a Python warning",
    ]
    assert _quiet.filter_native_lines(data, 0) == data
    assert len(_quiet.filter_native_lines(data, 3).splitlines()) == 2  # F line + Python


@pytest.mark.parametrize("value, expected", [("3", 3), ("0", 0), ("x", 0), (None, 0)])
def test_effective_level(value, expected):
    env = {} if value is None else {"TF_CPP_MIN_LOG_LEVEL": value}
    assert _quiet.effective_level(env) == expected
