"""Every ```python block of README.md and of the user guide runs as written.

Each block is self-contained: it runs in a fresh namespace (no names from earlier
blocks) with a temporary working directory, so a block that saves a file writes it
there.  A block preceded by an HTML comment ``<!-- skip: reason -->`` is skipped with
that reason (it needs a real cluster or GPUs); ``<!-- slow: reason -->`` marks it slow.
"""

import re
from pathlib import Path

import importlib.util

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs" / "user_guide").glob("*.md"))]

# An optional marker comment (only blank lines between it and the fence), then the block.
BLOCK = re.compile(
    r"(?:<!--\s*(?P<marker>skip|slow|needs)\s*:\s*(?P<reason>.*?)\s*-->\s*\n(?:[ \t]*\n)*)?"
    r"^```python[ \t]*\n(?P<code>.*?)^```[ \t]*$",
    re.MULTILINE | re.DOTALL,
)


def python_blocks(path):
    """(line number, marker, reason, code) of each ```python block of ``path``."""
    text = path.read_text(encoding="utf-8")
    blocks = []
    for match in BLOCK.finditer(text):
        line = text.count("\n", 0, match.start("code"))
        blocks.append((line, match.group("marker"), match.group("reason"), match.group("code")))
    return blocks


def _params():
    params = []
    for path in DOCUMENTS:
        for line, marker, reason, code in python_blocks(path):
            marks = []
            if marker == "skip":
                marks.append(pytest.mark.skip(reason=reason))
            elif marker == "slow":
                marks.append(pytest.mark.slow)
            elif marker == "needs":  # an optional package outside the test extra; slow to import
                missing = importlib.util.find_spec(reason) is None
                marks += [pytest.mark.slow, pytest.mark.skipif(missing, reason=f"needs {reason} (not in the test extra)")]
            name = f"{path.relative_to(ROOT).as_posix()}:{line}"
            params.append(pytest.param(code, id=name, marks=marks))
    return params


def test_documents_have_python_blocks():
    # The parser must find the blocks: an empty parametrisation would pass vacuously.
    assert python_blocks(ROOT / "README.md"), "README.md has no ```python block"
    assert len(_params()) >= 10


def test_parser_reads_markers(tmp_path):
    text = ("<!-- skip: needs a GPU cluster -->\n\n```python\nx = 1\n```\n"
            "```python\ny = 2\n```\n<!-- slow: long -->\n```python\nz = 3\n```\n")
    path = tmp_path / "probe.md"
    path.write_text(text)
    blocks = python_blocks(path)
    assert [(m, r, c) for _, m, r, c in blocks] == [
        ("skip", "needs a GPU cluster", "x = 1\n"), (None, None, "y = 2\n"),
        ("slow", "long", "z = 3\n")]


@pytest.mark.parametrize("code", _params())
def test_block_runs_as_written(code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    try:
        import matplotlib

        matplotlib.use("Agg")
    except ImportError:
        pass
    namespace = {"__name__": "__readme__"}
    exec(compile(code, "<readme block>", "exec"), namespace)
    try:
        import matplotlib.pyplot as plt

        plt.close("all")
    except ImportError:
        pass
