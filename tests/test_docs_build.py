"""The documentation's moving parts that can break without a Sphinx build.

The full build (``sphinx-build -W``) runs in ``.ci/run`` after the tests; these checks
are fast: the API list of ``docs/conf.py`` imports, and the HTML repr's "?" link
(``skgru._doc_links``) points at the page autosummary writes for that name.
"""

import ast
from pathlib import Path

import pytest

import skgru
from skgru import _doc_links

ROOT = Path(__file__).resolve().parents[1]


def _conf_lists():
    """API and PENDING_API of docs/conf.py, read without running it (no Sphinx needed)."""
    tree = ast.parse((ROOT / "docs" / "conf.py").read_text())
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id in ("API", "PENDING_API"):
                found[node.targets[0].id] = ast.literal_eval(node.value)
    return found["API"], found["PENDING_API"]


def _documented_names():
    api, pending = _conf_lists()
    return [(module, name, f"{module}.{name}" in pending)
            for _title, module, names in api for name in names]


def test_api_list_names_import_or_are_pending():
    import importlib

    missing = []
    for module, name, pending in _documented_names():
        try:
            ok = hasattr(importlib.import_module(module), name)
        except ImportError:
            ok = False
        if not ok and not pending:
            missing.append(f"{module}.{name}")
    assert missing == []


def test_every_public_name_is_documented():
    documented = {f"{m}.{n}" for m, n, _ in _documented_names()}
    public = {f"skgru.{n}" for n in skgru.__all__ if not n.startswith("__")}
    for module in ("preprocessing", "plotting", "parallel"):
        mod = __import__(f"skgru.{module}", fromlist=["__all__"])
        public |= {f"skgru.{module}.{n}" for n in mod.__all__}
    assert public - documented == set()


def test_doc_url_names_the_autosummary_page():
    from skgru import GRUClassifier, GRURegressor
    from skgru.preprocessing import SequenceScaler

    base = _doc_links.DOCS_URL + "api/generated/"
    assert _doc_links.doc_url(GRUClassifier) == base + "skgru.GRUClassifier.html"
    assert _doc_links.doc_url(GRURegressor) == base + "skgru.GRURegressor.html"
    assert (_doc_links.doc_url(SequenceScaler)
            == base + "skgru.preprocessing.SequenceScaler.html")
    documented = {f"{m}.{n}" for m, n, _ in _documented_names()}
    for cls in (GRUClassifier, GRURegressor, SequenceScaler):
        page = _doc_links.doc_url(cls)[len(base):-len(".html")]
        assert page in documented


def test_html_repr_links_to_the_api_page():
    pytest.importorskip("sklearn.utils._repr_html")
    est = skgru.GRUClassifier(units=8)
    url = _doc_links.DOCS_URL + "api/generated/skgru.GRUClassifier.html"
    assert est._get_doc_link() == url
    assert f'href="{url}"' in est._repr_html_()


def _public_estimator_classes():
    from sklearn.base import BaseEstimator

    import skgru.preprocessing

    classes = [skgru.GRUClassifier, skgru.GRURegressor]
    try:
        classes.append(skgru.TunedGRU)
    except ImportError:  # keras-tuner missing
        pass
    classes += [getattr(skgru.preprocessing, n) for n in skgru.preprocessing.__all__]
    return [c for c in classes if isinstance(c, type) and issubclass(c, BaseEstimator)]


@pytest.mark.parametrize("cls", _public_estimator_classes(), ids=lambda c: c.__name__)
def test_public_estimators_link_to_their_page(cls):
    if not issubclass(cls, _doc_links.DocLinkMixin):
        pytest.xfail(f"{cls.__name__} does not have skgru._doc_links.DocLinkMixin as a base yet")
    assert cls.__mro__.index(_doc_links.DocLinkMixin) < cls.__mro__.index(
        __import__("sklearn.base", fromlist=["BaseEstimator"]).BaseEstimator)
    est = cls()
    assert est._get_doc_link() == _doc_links.doc_url(cls)
