"""TextSequencer: raw strings -> padded integer token-id sequences (no TensorFlow)."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted

from skgru._sequences import is_pandas, pad_truncate_ids
from skgru._doc_links import DocLinkMixin
from skgru.preprocessing._output import SequenceOutputMixin

PAD_ID = 0
OOV_ID = 1
PAD_TOKEN = ""
OOV_TOKEN = "[UNK]"


_APOSTROPHES = re.compile(r"['\u2019`]")
_PUNCTUATION = re.compile(r"[^\w\s]|_")


def _name(func):
    return getattr(func, "__qualname__", None) or repr(func)


def _describe(value):
    if isinstance(value, (list, tuple)):
        bad = next(tok for tok in value if not isinstance(tok, str))
        return f"a {type(value).__name__} holding {type(bad).__name__} {bad!r}"
    return f"{type(value).__name__} {value!r}"[:120]


def _strip_punctuation(text):
    """Drop apostrophes (``don't`` -> ``dont``); other punctuation becomes a space."""
    return _PUNCTUATION.sub(" ", _APOSTROPHES.sub("", text))


class TextSequencer(DocLinkMixin, SequenceOutputMixin, ClassNamePrefixFeaturesOutMixin,
                    TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Turn raw strings into padded integer token-id sequences.

    The text counterpart of :class:`SequencePadder`, for
    ``GRUClassifier(embedding_dim=...)``: each document is standardised, split on
    whitespace, mapped to ids and padded/truncated to ``max_length_``.  Id 0 is
    padding and id 1 an out-of-vocabulary token; real tokens get ids from 2 in
    order of decreasing training frequency, ties broken alphabetically, so the
    vocabulary is deterministic.  Pure Python/NumPy: it pickles and needs no
    TensorFlow.

    ``vocab_size_`` (largest id + 1) is what an Embedding layer needs.  The
    vocabulary is counted on the *truncated* training sequences, so every id
    below ``vocab_size_`` occurs in ``fit_transform``'s output: an estimator that
    infers its vocabulary size as "largest training id + 1" (skgru's do when
    ``vocab_size=None``) gets exactly ``vocab_size_``, and tokens the network never
    saw in training are out-of-vocabulary rather than untrained embeddings.

    Parameters
    ----------
    max_tokens : int or None, default=20000
        Maximum vocabulary size *including* the two reserved ids (padding and
        out-of-vocabulary), as in Keras' ``TextVectorization``: at most
        ``max_tokens - 2`` real tokens.  ``None``: no limit.
    max_length : int, float or None, default=None
        Output sequence length.  An int fixes it.  ``None`` learns the longest
        training document (nothing is truncated in training).  A float ``q`` in
        (0, 1] learns the ``q`` quantile of training document lengths, rounded up
        (``0.95`` suits long-tailed corpora such as reviews, where the longest
        document would make every sequence long).
    lowercase : bool, default=True
        Lowercase documents before ``standardize``.
    standardize : {"strip_punctuation"}, callable or None, default="strip_punctuation"
        ``"strip_punctuation"``: delete apostrophes (``don't`` -> ``dont``) and turn
        all other punctuation into spaces.  ``None``: leave the text as is.  A
        callable takes a string and returns either a string (then split on
        whitespace) or a list of string tokens; anything else raises ``TypeError``.
    padding : {"post", "pre"}, default="post"
        Pad after (``"post"``, keeps cuDNN eligible with masking) or before.
    truncating : {"post", "pre"}, default="post"
        Keep the beginning (``"post"``) or the end (``"pre"``) of long documents.

    Attributes
    ----------
    vocabulary_ : dict of str to int
        Token -> id (ids from 2).
    vocab_size_ : int
        ``len(vocabulary_) + 2``: the largest id + 1.
    max_length_ : int
        Output sequence length.

    See Also
    --------
    SequencePadder : The same padding for numeric sequences.

    Examples
    --------
    >>> from skgru.preprocessing import TextSequencer
    >>> docs = ["A good movie!", "a bad, bad movie", "good"]
    >>> seq = TextSequencer().fit(docs)
    >>> seq.vocabulary_
    {'a': 2, 'bad': 3, 'good': 4, 'movie': 5}
    >>> seq.vocab_size_, seq.max_length_
    (6, 4)
    >>> seq.transform(["a good film", "bad"])
    array([[2, 4, 1, 0],
           [3, 0, 0, 0]], dtype=int32)
    """

    _parameter_constraints = {
        "max_tokens": [Interval(Integral, 3, None, closed="left"), None],
        "max_length": [
            Interval(Integral, 1, None, closed="left"),
            Interval(Real, 0, 1, closed="right"),
            None,
        ],
        "lowercase": ["boolean"],
        "standardize": [StrOptions({"strip_punctuation"}), callable, None],
        "padding": [StrOptions({"post", "pre"})],
        "truncating": [StrOptions({"post", "pre"})],
    }

    def __init__(self, max_tokens=20000, max_length=None, lowercase=True,
                 standardize="strip_punctuation", padding="post", truncating="post"):
        self.max_tokens = max_tokens
        self.max_length = max_length
        self.lowercase = lowercase
        self.standardize = standardize
        self.padding = padding
        self.truncating = truncating

    @staticmethod
    def _documents(X):
        if isinstance(X, (str, bytes)):
            raise TypeError(
                "TextSequencer expects an iterable of strings, got a single string; "
                "wrap it in a list: [text]."
            )
        if hasattr(X, "tocsr") or type(X).__module__.startswith("scipy.sparse"):
            raise TypeError("TextSequencer expects strings, got a sparse matrix.")
        if isinstance(X, Mapping):
            raise TypeError(
                f"TextSequencer expects a collection of documents (list, 1D array, Series), "
                f"got a {type(X).__name__}: iterating over it would read its keys as the "
                "documents. Pass list(d.values()) for the texts."
            )
        if is_pandas(X, ("DataFrame",)) or getattr(X, "ndim", 1) != 1:
            raise ValueError(
                "TextSequencer expects a 1D iterable of strings (list, 1D array, Series); "
                f"got input of shape {getattr(X, 'shape', None)}. In a ColumnTransformer, "
                "select the text column with a scalar name ('text'), not a list (['text'])."
            )
        try:
            docs = list(X)
        except TypeError as exc:
            raise TypeError(
                f"TextSequencer expects an iterable of strings, got {type(X).__name__}."
            ) from exc
        if not docs:
            raise ValueError("X is empty: expected at least one document.")
        for i, doc in enumerate(docs):
            if not isinstance(doc, str):
                missing = (
                    doc is None
                    or (isinstance(doc, float) and math.isnan(doc))
                    or type(doc).__name__ in ("NAType", "NaTType")
                )
                hint = " (missing value? fill it, e.g. with '')" if missing else ""
                raise TypeError(
                    f"TextSequencer expects strings; document {i} is "
                    f"{type(doc).__name__}{hint}."
                )
        return docs

    def _tokenize(self, doc):
        if self.lowercase:
            doc = doc.lower()
        if self.standardize == "strip_punctuation":
            doc = _strip_punctuation(doc)
        elif callable(self.standardize):
            out = self.standardize(doc)
            if isinstance(out, str):
                return out.split()
            if isinstance(out, (list, tuple)) and all(isinstance(tok, str) for tok in out):
                return list(out)
            raise TypeError(
                f"standardize={_name(self.standardize)} must return a string or a list of "
                f"string tokens; it returned {_describe(out)} for the document {doc[:40]!r}."
            )
        return doc.split()

    def _truncate(self, tokens, length):
        if len(tokens) <= length:
            return tokens
        return tokens[:length] if self.truncating == "post" else tokens[len(tokens) - length:]

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the vocabulary and, if not given, the sequence length.

        Parameters
        ----------
        X : iterable of str
            Training documents.
        y : None
            Ignored.

        Returns
        -------
        self : TextSequencer
            Fitted sequencer.
        """
        tokenized = [self._tokenize(doc) for doc in self._documents(X)]
        lengths = np.array([len(t) for t in tokenized])
        if isinstance(self.max_length, Integral):
            length = int(self.max_length)
        elif self.max_length is None:
            length = int(lengths.max())
        else:
            length = int(math.ceil(np.quantile(lengths, float(self.max_length))))
        self.max_length_ = max(length, 1)
        counts = Counter()
        for tokens in tokenized:
            counts.update(self._truncate(tokens, self.max_length_))
        if not counts:
            raise ValueError(
                "empty vocabulary: the training documents contain no tokens after "
                "standardization."
            )
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        if self.max_tokens is not None:
            ranked = ranked[: self.max_tokens - 2]
        self.vocabulary_ = {tok: i + 2 for i, (tok, _) in enumerate(ranked)}
        self.vocab_size_ = len(self.vocabulary_) + 2
        return self

    def transform(self, X):
        """Map documents to padded token-id sequences.

        Parameters
        ----------
        X : iterable of str
            Documents.

        Returns
        -------
        ids : ndarray of shape (n_samples, max_length_), dtype int32
            Token ids: 0 padding, 1 out-of-vocabulary, 2.. vocabulary.
        """
        check_is_fitted(self)
        vocab = self.vocabulary_
        ids = [
            [vocab.get(tok, OOV_ID) for tok in self._tokenize(doc)]
            for doc in self._documents(X)
        ]
        return pad_truncate_ids(
            ids, self.max_length_, padding=self.padding, truncating=self.truncating
        )

    @property
    def _n_features_out(self):
        # the token matrix's width: get_feature_names_out() names its columns
        # textsequencer0..textsequencer{max_length_ - 1} (for ColumnTransformer); the
        # ids themselves stay an int32 array under any set_output (token input)
        return self.max_length_

    def get_vocabulary(self):
        """Return the tokens in id order: ``["", "[UNK]", most frequent, ...]``.

        Returns
        -------
        tokens : list of str
            ``tokens[i]`` is the token with id ``i``.
        """
        check_is_fitted(self)
        return [PAD_TOKEN, OOV_TOKEN] + sorted(self.vocabulary_, key=self.vocabulary_.get)

    def inverse_transform(self, X):
        """Map id sequences back to space-joined token strings (padding dropped).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_ids)
            Token ids.

        Returns
        -------
        docs : list of str
            Out-of-vocabulary ids come back as ``"[UNK]"``.
        """
        check_is_fitted(self)
        ids = check_array(X, dtype=None, input_name="X")
        if ids.dtype.kind not in "iu":
            raise TypeError(f"token ids must be integers, got dtype {ids.dtype}.")
        tokens = self.get_vocabulary()
        if ids.size and (ids.min() < 0 or ids.max() >= len(tokens)):
            raise ValueError(f"token ids must lie in [0, {len(tokens) - 1}].")
        return [" ".join(tokens[i] for i in row if i != PAD_ID) for row in ids]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.one_d_array = True
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.transformer_tags.preserves_dtype = []
        return tags
