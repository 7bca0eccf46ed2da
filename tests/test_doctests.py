"""Run the numpydoc ``Examples`` sections of the public API as doctests.

Docstrings are what users copy first, so their examples must run and print what
they claim.  Each public module is searched with ``doctest.DocTestFinder``
(packages: every submodule; public names re-exported from private modules too), the examples run in an empty temporary working
directory, and the test fails on any failing example -- or when a module that
must be documented has no example at all, so a finder that silently finds
nothing cannot pass.
"""

import doctest
import importlib
import pkgutil
import sys

import pytest

# module -> must it contain at least one example?
MODULES = {
    "skgru.estimators": True,
    "skgru.preprocessing": True,
    "skgru.conformal": True,
    "skgru.io": True,
    # Optional extras (keras-tuner, matplotlib): their examples run when present.
    "skgru.tuning": False,
    "skgru.plotting": False,
    "skgru.parallel": False,
}

OPTIONFLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _modules(name):
    """The module, and every submodule when it is a package."""
    module = importlib.import_module(name)
    found = [module]
    if hasattr(module, "__path__"):
        for info in pkgutil.walk_packages(module.__path__, prefix=f"{name}."):
            found.append(importlib.import_module(info.name))
    return found


def _doctests(name):
    finder = doctest.DocTestFinder(exclude_empty=True)
    tests = []
    for module in _modules(name):
        tests.extend(finder.find(module))
        # public names re-exported from private modules (skgru.parallel -> skgru.tuning._dask)
        for public in getattr(module, "__all__", ()):
            obj = getattr(module, public, None)
            home = sys.modules.get(getattr(obj, "__module__", None) or "")
            if home is not None and home is not module:
                tests.extend(finder.find(obj, f"{module.__name__}.{public}", module=home,
                                         globs=vars(home).copy()))
    # the same docstring reached twice (package and submodule): keep one copy
    unique = {(t.filename, t.lineno, t.docstring): t for t in tests if t.examples}
    return sorted(unique.values(), key=lambda t: t.name)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_docstring_examples(name, tmp_path, monkeypatch):
    try:
        importlib.import_module(name)
    except ImportError as exc:  # an optional extra is missing
        pytest.skip(f"{name} cannot be imported: {exc}")
    monkeypatch.chdir(tmp_path)

    tests = _doctests(name)
    if not tests:
        if MODULES[name]:
            pytest.fail(f"{name}: no docstring examples found")
        pytest.skip(f"{name} has no docstring examples yet")

    report = []
    runner = doctest.DocTestRunner(optionflags=OPTIONFLAGS, verbose=False)
    for test in tests:
        runner.run(test, out=report.append)
    results = runner.summarize(verbose=False)

    assert results.attempted > 0, f"{name}: no example was attempted"
    assert results.failed == 0, (
        f"{name}: {results.failed} of {results.attempted} docstring examples failed\n"
        + "".join(report)
    )
    assert list(tmp_path.iterdir()) == [], f"{name}: examples wrote into the working directory"
