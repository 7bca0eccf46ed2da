"""The container: a zip holding ``skgru.json`` (the manifest) and ``arrays/<i>.npy``.

``skgru.json``::

    {"format": "skgru.io", "format_version": 1,
     "skgru_version": "...", "versions": {"numpy": ..., "scikit-learn": ..., "keras": ...},
     "estimator": <node>}

A reader refuses any ``format_version`` it does not know (a ValueError naming
both versions): a new layout gets a new number, never a silent reinterpretation.
"""

from __future__ import annotations

import json
import zipfile
import zlib

from skgru._io._codec import Decoder, Encoder

FORMAT = "skgru.io"
FORMAT_VERSION = 1
SUPPORTED_VERSIONS = (1,)
MANIFEST = "skgru.json"
# A manifest is parameters + metadata (a TunedGRU's cv_results_ included): 64 MiB is
# far above any real one and keeps a crafted file from exhausting memory in json.
MAX_MANIFEST_BYTES = 64 * 2**20
# The arrays: network weights deflate to about 0.9 of their size, but a few arrays
# save writes are runs of one value (a contiguous CV+ fold index over 100k+ rows
# deflates ~1000-fold), and a crafted member can be all zeros (a 380 KB file made
# load allocate 1.8 GB). So write() stores (uncompressed) any member past 1 MiB that
# deflates more than MAX_ARRAY_INFLATION / 2-fold, and read() refuses a member past
# 1 MiB that would inflate more than MAX_ARRAY_INFLATION-fold, a member referred to
# twice (save refers to each once), and arrays past 64 MiB in all that inflate more
# than that overall: nothing save writes is refused, and a file of n bytes cannot
# make load allocate much more than 50 n.
MAX_ARRAY_INFLATION = 50
_SMALL_ARRAY_BYTES = 2**20
_SMALL_TOTAL_BYTES = 64 * 2**20


def _inflates(inflated, deflated, floor, factor=MAX_ARRAY_INFLATION):
    """Past ``floor`` bytes and more than ``factor`` times its compressed size."""
    return inflated > floor and inflated > factor * max(1, deflated)


def _versions():
    import keras
    import numpy
    import sklearn

    from skgru import __version__

    return __version__, {"numpy": numpy.__version__, "scikit-learn": sklearn.__version__, "keras": keras.__version__}


def write(estimator, path) -> None:
    encoder = Encoder()
    root = encoder.encode(estimator, type(estimator).__name__)
    skgru_version, versions = _versions()
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "skgru_version": skgru_version,
        "versions": versions,
        "estimator": root,
    }
    text = json.dumps(manifest, allow_nan=False, indent=1)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(MANIFEST, text)
        for name, data in encoder.arrays.items():
            # (compressed once more by zipfile when kept: save is not a hot path)
            stored = (len(data) > _SMALL_ARRAY_BYTES
                      and _inflates(len(data), len(zlib.compress(data)), _SMALL_ARRAY_BYTES,
                                    MAX_ARRAY_INFLATION // 2))
            zf.writestr(name, data, compress_type=zipfile.ZIP_STORED if stored else None)


def read(path):
    try:
        with zipfile.ZipFile(path, "r") as zf:
            return _read(zf)
    except zipfile.BadZipFile as exc:
        raise ValueError(f"{path!s} is not a valid skgru.io file (damaged or truncated zip: {exc}).") from None
    except (EOFError, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"{path!s} is not a valid skgru.io file (could not read it: {exc}).") from None


def _read(zf: zipfile.ZipFile):
    names = set(zf.namelist())
    if MANIFEST not in names:
        raise ValueError(f"Not a skgru.io file: it has no {MANIFEST} manifest.")
    if zf.getinfo(MANIFEST).file_size > MAX_MANIFEST_BYTES:
        raise ValueError(f"The {MANIFEST} manifest is larger than {MAX_MANIFEST_BYTES} bytes; refusing it.")
    try:
        manifest = json.loads(zf.read(MANIFEST).decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"The {MANIFEST} manifest is not valid JSON: {exc}.") from None
    except RecursionError:
        raise ValueError(f"The {MANIFEST} manifest is nested too deeply to be one skgru wrote.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValueError(f"Not a skgru.io file: its manifest does not say format={FORMAT!r}.")
    version = manifest.get("format_version")
    if version not in SUPPORTED_VERSIONS:
        raise ValueError(
            f"Unsupported skgru.io format version {version!r} (written by skgru "
            f"{manifest.get('skgru_version', '?')}); this skgru reads version(s) "
            f"{list(SUPPORTED_VERSIONS)}. Upgrade skgru to load it."
        )
    if "estimator" not in manifest:
        raise ValueError("The manifest has no 'estimator' entry.")
    root = manifest["estimator"]
    if not (isinstance(root, dict) and set(root) == {"$estimator"}):
        # save() writes one estimator; anything else at the root is an edited file
        raise ValueError("The manifest's 'estimator' entry is not an estimator: the file was "
                         "not written by skgru.io.save (or was edited).")

    arrays = [zf.getinfo(n) for n in names if n.startswith("arrays/")]
    inflated, deflated = (sum(i.file_size for i in arrays), sum(i.compress_size for i in arrays))
    if _inflates(inflated, deflated, _SMALL_TOTAL_BYTES):
        raise ValueError(f"The arrays would inflate from {deflated} to {inflated} bytes (more "
                         f"than {MAX_ARRAY_INFLATION}x): not arrays skgru wrote; refusing them.")
    read = set()

    def read_array(name):
        if name not in names:
            raise ValueError(f"The file refers to {name}, which it does not contain (truncated or edited).")
        if name in read:
            raise ValueError(f"The file refers to {name} twice, which skgru.io.save never does "
                             "(edited); refusing it.")
        read.add(name)
        info = zf.getinfo(name)
        if _inflates(info.file_size, info.compress_size, _SMALL_ARRAY_BYTES):
            raise ValueError(
                f"{name} would inflate from {info.compress_size} to {info.file_size} bytes "
                f"(more than {MAX_ARRAY_INFLATION}x): not an array skgru wrote; refusing it.")
        return zf.read(name)

    try:
        return Decoder(read_array).decode(root)
    except RecursionError:
        raise ValueError(f"The {MANIFEST} manifest is nested too deeply to be one skgru wrote.") from None


def _no_constant(name):
    raise ValueError(f"The manifest contains {name}, which JSON does not allow.")
