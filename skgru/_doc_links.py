"""The target of the "?" link in a fitted or unfitted estimator's HTML repr.

scikit-learn's HTML repr (``_repr_html_``, what Jupyter shows) draws a "?" that links
to the estimator's documentation, using three class attributes of
``sklearn.utils._repr_html.base._HTMLDocumentationLinkMixin`` (inherited through
``BaseEstimator``): ``_doc_link_module`` (the root package whose classes get a link),
``_doc_link_template`` and ``_doc_link_url_param_generator``.  Its defaults point at
scikit-learn's site and give skgru classes no link at all.

:class:`DocLinkMixin` points them at skgru's API pages.  The page of each public name
is ``api/generated/<documented path>.html`` (Sphinx autosummary, see ``docs/conf.py``),
and the documented path is the *public* one (``skgru.GRUClassifier``, not
``skgru.estimators.classifier.GRUClassifier``): the class's first public parent
package that exports it, found at run time so that moving a class between private
modules keeps its link.

Put the mixin first among the bases, before anything that derives from
``BaseEstimator``, so that its attributes win::

    class GRUClassifier(DocLinkMixin, GRUEstimatorMixin, KerasClassifier): ...
"""

from __future__ import annotations

import sys

__all__ = ["DOCS_URL", "DocLinkMixin", "doc_url"]

#: Root of the hosted documentation (``.readthedocs.yaml``); "latest" follows main.
DOCS_URL = "https://skgru.readthedocs.io/en/latest/"
_TEMPLATE = DOCS_URL + "api/generated/{estimator_module}.{estimator_name}.html"


def public_module(cls) -> str:
    """The shortest public module path from which ``cls`` is importable under its name.

    Tries ``skgru``, then each longer public prefix of ``cls.__module__``, stopping at
    the first private part (scikit-learn's own rule); falls back to that public prefix.
    Only modules already imported are looked at (no import side effects); lazy
    attributes (a module ``__getattr__``) are resolved, since the class exists already.
    """
    parts = cls.__module__.split(".")
    public = []
    for part in parts:
        if part.startswith("_"):
            break
        public.append(part)
    for i in range(1, len(public) + 1):
        name = ".".join(public[:i])
        module = sys.modules.get(name)
        if module is None:
            continue
        try:
            if getattr(module, cls.__name__, None) is cls:
                return name
        except Exception:  # noqa: BLE001 - a lazy attribute failing to import: no match
            continue
    return ".".join(public) or parts[0]


def doc_url(cls) -> str:
    """URL of the API page of ``cls`` on the hosted documentation."""
    return _TEMPLATE.format(estimator_module=public_module(cls), estimator_name=cls.__name__)


class DocLinkMixin:
    """Give an skgru estimator's HTML repr a "?" link to its API page."""

    _doc_link_module = "skgru"
    _doc_link_template = _TEMPLATE

    def _doc_link_url_param_generator(self):
        cls = type(self)
        return {"estimator_module": public_module(cls), "estimator_name": cls.__name__}

