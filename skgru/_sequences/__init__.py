"""TEMPORARY shim until the input-layer package lands (seq branch replaces this file)."""
from skgru._input import RAGGED_PAD_VALUE, InputSpec, convert_X  # noqa: F401
