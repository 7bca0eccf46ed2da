"""Sentiment classification of raw text: TextSequencer + GRUClassifier(embedding_dim=...).

``make_pipeline(TextSequencer(), GRUClassifier(embedding_dim=32))`` trains on a
list of strings with string labels and predicts on unseen text: the sequencer
learns the vocabulary and pads token ids (0 = padding, masked; 1 = unknown
word), the classifier infers its vocabulary size from the largest id.

Two data sources:

* default (offline): a corpus the script generates -- templated reviews with
  negation ("was not good") and contrast ("good but the ending was awful"), where
  word *order* decides the label, plus random filler words and typos.  A
  bag-of-words logistic regression is printed beside the GRU for comparison.
* ``--imdb``: the IMDB movie-review dataset via ``keras.datasets.imdb`` (downloads
  about 80 MB on first use).  ``load_data`` returns token ids, not text: the
  default path decodes them back to words with ``get_word_index()`` so the same
  raw-text pipeline runs; ``--imdb-ids`` instead feeds the ids directly
  (padded with ``keras.utils.pad_sequences``) to ``GRUClassifier(embedding_dim=...,
  vocab_size=num_words)``.

Run::

    python examples/text_sentiment.py                  # about a minute on 2 CPU cores
    SKGRU_FAST=1 python examples/text_sentiment.py      # seconds (CI smoke run)
    python examples/text_sentiment.py --imdb [--imdb-ids] [--fast]
"""

import argparse
import os

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from skgru import GRUClassifier
from skgru.preprocessing import TextSequencer

POSITIVE = ["good", "great", "wonderful", "excellent", "brilliant", "enjoyable", "superb", "fun"]
NEGATIVE = ["bad", "awful", "terrible", "boring", "dull", "poor", "weak", "painful"]
SUBJECTS = ["the movie", "this film", "the plot", "the acting", "the soundtrack",
            "the ending", "the cast", "the script", "the director"]
OPENERS = ["", "honestly", "i think", "overall", "to be fair", "in my opinion", "well"]


def make_corpus(n_docs, seed=0):
    """Templated reviews whose label depends on word order (negation, contrast)."""
    rng = np.random.RandomState(seed)
    fillers = [f"w{i}" for i in range(300)]  # vocabulary noise

    def clause(positive):
        subject = rng.choice(SUBJECTS)
        if rng.rand() < 0.35:  # negation flips the adjective
            adj = rng.choice(NEGATIVE if positive else POSITIVE)
            return f"{subject} was not {adj}"
        adj = rng.choice(POSITIVE if positive else NEGATIVE)
        return f"{subject} was {rng.choice(['', 'really ', 'quite '])}{adj}"

    def typo(word):
        if len(word) > 3 and rng.rand() < 0.05:
            i = rng.randint(len(word))
            return word[:i] + word[i + 1:]
        return word

    docs, labels = [], []
    for _ in range(n_docs):
        positive = rng.rand() < 0.5
        if rng.rand() < 0.4:  # "X but Y": the clause after "but" decides
            text = f"{clause(not positive)} but {clause(positive)}"
        else:
            text = clause(positive)
        words = f"{rng.choice(OPENERS)} {text}".split()
        for _ in range(rng.randint(0, 4)):
            words.insert(rng.randint(len(words) + 1), rng.choice(fillers))
        docs.append(" ".join(typo(w) for w in words).capitalize() + rng.choice([".", "!", ""]))
        labels.append("positive" if positive else "negative")
    return docs, np.array(labels)


def load_imdb(n_train, n_test, num_words=20000, as_ids=False):
    """IMDB reviews (downloads on first use): decoded text, or padded token ids."""
    from keras.datasets import imdb

    (x_train, y_train), (x_test, y_test) = imdb.load_data(num_words=num_words)
    x_train, y_train = x_train[:n_train], y_train[:n_train]  # load_data shuffles already
    x_test, y_test = x_test[:n_test], y_test[:n_test]
    names = np.array(["negative", "positive"])
    if as_ids:
        from keras.utils import pad_sequences

        def pad(x):
            return pad_sequences(x, maxlen=200, padding="post", truncating="post", value=0)

        return pad(x_train), names[y_train], pad(x_test), names[y_test]
    # ids are word ranks + 3 (load_data's index_from=3); 0 pad, 1 start, 2 out-of-vocabulary
    id_to_word = {rank + 3: word for word, rank in imdb.get_word_index().items()}

    def decode(ids):
        return " ".join(id_to_word.get(i, "") for i in ids if i >= 3)

    return ([decode(x) for x in x_train], names[y_train],
            [decode(x) for x in x_test], names[y_test])


def main(fast=False, imdb=False, imdb_ids=False):
    gru_params = dict(
        units=8 if fast else 32,
        epochs=2 if fast else 20,
        early_stopping=not fast,
        n_iter_no_change=3,
        batch_size=64,
        random_state=0,
    )
    if imdb or imdb_ids:
        n_train, n_test = (400, 200) if fast else (5000, 2000)
        X_train, y_train, X_test, y_test = load_imdb(n_train, n_test, as_ids=imdb_ids)
        print(f"IMDB: {len(y_train)} train / {len(y_test)} test reviews")
        if imdb_ids:
            # token ids already: no TextSequencer, tell the network the vocabulary size
            model = GRUClassifier(embedding_dim=32, vocab_size=20000, **gru_params)
        else:
            model = make_pipeline(
                TextSequencer(max_tokens=20000, max_length=200),
                GRUClassifier(embedding_dim=32, **gru_params),
            )
    else:
        docs, labels = make_corpus(300 if fast else 3000)
        X_train, X_test, y_train, y_test = train_test_split(
            docs, labels, test_size=0.25, random_state=0, stratify=labels
        )
        print(f"generated corpus: {len(y_train)} train / {len(y_test)} test documents, "
              f"e.g. {X_train[0]!r} -> {y_train[0]}")
        model = make_pipeline(
            TextSequencer(max_tokens=5000),
            GRUClassifier(embedding_dim=16, **gru_params),
        )

    model.fit(X_train, y_train)
    acc = accuracy_score(y_test, model.predict(X_test))
    print(f"GRU test accuracy: {acc:.3f}")
    result = {"gru_accuracy": acc}
    if not imdb_ids:
        seq = model.named_steps["textsequencer"]
        print(f"  vocabulary: {seq.vocab_size_} ids, sequences of {seq.max_length_} tokens")
        bow = make_pipeline(CountVectorizer(), LogisticRegression(max_iter=1000))
        bow_acc = accuracy_score(y_test, bow.fit(X_train, y_train).predict(X_test))
        print(f"bag-of-words logistic regression test accuracy: {bow_acc:.3f}")
        result["bow_accuracy"] = bow_acc
        unseen = ["The soundtrack was not bad at all", "Brilliant cast but the script was dull"]
        for text, label in zip(unseen, model.predict(unseen)):
            print(f"  {text!r} -> {label}")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="tiny run for CI (or SKGRU_FAST=1)")
    parser.add_argument("--imdb", action="store_true", help="IMDB reviews (downloads)")
    parser.add_argument("--imdb-ids", action="store_true",
                        help="IMDB token ids fed directly, without TextSequencer (downloads)")
    args = parser.parse_args()
    main(fast=args.fast or os.environ.get("SKGRU_FAST") == "1",
         imdb=args.imdb, imdb_ids=args.imdb_ids)
