"""Private machinery of :mod:`skgru.io`.

``_registry`` (the allow-list: the only classes and functions a file may name),
``_codec`` (Python values <-> JSON + arrays), ``_archive`` (the zip container and
its format version), ``_onnx`` (ONNX export).
"""
