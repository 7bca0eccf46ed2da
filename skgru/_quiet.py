"""Keep TensorFlow's native (C++) logging out of a user's terminal, unless asked for.

Why: on a CPU-only machine ``import skgru`` used to print TensorFlow's absl preamble,
"oneDNN custom operations are on", "Could not find cuda drivers" (twice: two shared
libraries each link their own absl) and ``cpu_feature_guard``; the first fit printed
"failed call to cuInit" and a masked fit "oneDNN supports DT_BOOL only on platforms
with AVX-512".  In a Dask run 45 of 61 output lines were this noise.

What this module does, once, before Keras (and so TensorFlow) is imported:

1. ``TF_CPP_MIN_LOG_LEVEL`` -- TensorFlow's native log threshold, 0 (all) to 3
   (fatal only) -- is set to ``"3"`` **only when the user has not set it**.  Level 3
   is needed: "failed call to cuInit" and the DT_BOOL line are logged at ERROR level
   although nothing is wrong (the fit then runs on CPU as intended).  Real failures
   still reach the user as Python exceptions (TensorFlow returns a ``Status``).
   Only a log-level variable is touched: ``TF_ENABLE_ONEDNN_OPTS`` would silence the
   oneDNN line too, but it switches oneDNN kernels off and so changes numerics and
   speed; skgru leaves it alone.
2. The lines TensorFlow writes while its libraries load, *before* it reads
   ``TF_CPP_MIN_LOG_LEVEL`` (the absl preamble, oneDNN, cuda drivers), ignore every
   environment variable.  They are written straight to file descriptor 2, so during
   ``import keras`` the descriptor is pointed at a temporary file; afterwards the
   captured text is written back **except** native log lines below the effective
   ``TF_CPP_MIN_LOG_LEVEL`` (the user's value when set, else skgru's), i.e. exactly
   what TensorFlow itself would have dropped had it read the variable in time.
   Anything else (Python warnings, ERROR/FATAL lines the level lets through) is kept.

``SKGRU_TF_LOGGING=1`` (or ``true``/``yes``/``on``) turns all of this off and leaves
TensorFlow's logging exactly as TensorFlow does it (use it when TensorFlow itself
crashes at import: a native abort during the capture window would lose its message).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile

__all__ = ["ENV_RESTORE", "DEFAULT_TF_LOG_LEVEL", "configure", "native_log_filter"]

#: Environment variable that restores TensorFlow's own logging.
ENV_RESTORE = "SKGRU_TF_LOGGING"
#: Level skgru sets when the user has not: 3 hides INFO, WARNING and ERROR lines.
DEFAULT_TF_LOG_LEVEL = "3"

# absl/glog native line: severity letter, MMDD, time, thread id, file:line]
# e.g. "I0000 00:00:1796160725.004702    5654 port.cc:153] oneDNN custom ..."
_NATIVE_LINE = re.compile(rb"^([IWEF])\d{4} [\d:.]+\s+\d+ [^\]\s]+:\d+\] ")
_SEVERITY = {b"I": 0, b"W": 1, b"E": 2, b"F": 3}
# Not log lines themselves, but parts of the INFO messages above (level >= 1 drops them).
_INFO_EXTRAS = (
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    b"To enable the following instructions:",  # 2nd line of cpu_feature_guard's INFO
)

_configured = False


def _truthy(value: str | None) -> bool:
    return value is not None and value.strip().lower() in {"1", "true", "yes", "on"}


def logging_restored(environ=None) -> bool:
    """Whether the user asked for TensorFlow's own logging (``SKGRU_TF_LOGGING``)."""
    environ = os.environ if environ is None else environ
    return _truthy(environ.get(ENV_RESTORE))


def effective_level(environ=None) -> int:
    """TensorFlow's native log threshold as TensorFlow will read it (0 on bad values)."""
    environ = os.environ if environ is None else environ
    try:
        return max(0, int(environ.get("TF_CPP_MIN_LOG_LEVEL", "0")))
    except ValueError:
        return 0


def filter_native_lines(data: bytes, level: int) -> bytes:
    """Drop the native log lines (and their INFO continuations) below ``level``.

    A continuation line of a dropped message (no log prefix, directly after it, e.g.
    cpu_feature_guard's second line) is dropped with it only when it is one of the
    known INFO extras; everything unrecognised is kept.
    """
    if level <= 0:
        return data
    kept = []
    for line in data.splitlines(keepends=True):
        match = _NATIVE_LINE.match(line)
        if match is not None:
            if _SEVERITY[match.group(1)] < level:
                continue
        elif line.startswith(_INFO_EXTRAS):
            continue
        kept.append(line)
    return b"".join(kept)


@contextlib.contextmanager
def native_log_filter(level: int | None = None):
    """Capture file descriptor 2 for the block; write it back filtered by ``level``.

    Does nothing (the block runs as usual) when descriptor 2 cannot be duplicated,
    e.g. in a process started without a stderr.
    """
    level = effective_level() if level is None else level
    try:
        sys.stderr.flush()
    except (AttributeError, OSError, ValueError):
        pass
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            try:
                sys.stderr.flush()
            except (AttributeError, OSError, ValueError):
                pass
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = filter_native_lines(capture.read(), level)
            if kept:
                os.write(2, kept)


def configure() -> None:
    """Set the log-level default and import Keras with its load-time lines filtered.

    Idempotent; a no-op under ``SKGRU_TF_LOGGING=1``.  Must run before anything
    imports TensorFlow: once TensorFlow is loaded its load-time lines are out and its
    threshold is read, so then only the environment default is set (for processes
    started later, such as Dask or loky workers, which inherit it).
    """
    global _configured
    if _configured:
        return
    _configured = True
    if logging_restored():
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", DEFAULT_TF_LOG_LEVEL)
    if "keras" in sys.modules or "tensorflow" in sys.modules:
        return
    with native_log_filter():
        try:
            import keras  # noqa: F401  (imports the backend, TensorFlow by default)
        except ImportError:
            # The real import below raises the error with its own message.
            pass
