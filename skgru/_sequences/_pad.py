"""Padding and truncating a list of sequences into one dense array."""

from __future__ import annotations

import numpy as np


def pad_truncate(seqs, length, n_features, *, padding, truncating, value, dtype):
    """Pad/truncate a list of ``(t_i, f)`` arrays into a ``(n, length, f)`` array.

    ``padding``/``truncating`` are ``"post"`` (at the end) or ``"pre"`` (at the
    start), as in Keras' ``pad_sequences``; post-padding keeps cuDNN eligible.
    """
    out = np.full((len(seqs), length, n_features), value, dtype=dtype)
    for i, seq in enumerate(seqs):
        if seq.shape[0] > length:
            seq = seq[:length] if truncating == "post" else seq[seq.shape[0] - length :]
        t = seq.shape[0]
        if t == 0:
            continue
        if padding == "post":
            out[i, :t] = seq
        else:
            out[i, length - t :] = seq
    return out


def pad_truncate_ids(seqs, length, *, padding, truncating, dtype=np.int32):
    """Same as :func:`pad_truncate` for lists of 1D integer id lists (pad id 0)."""
    columns = [np.asarray(seq, dtype=dtype).reshape(-1, 1) for seq in seqs]
    return pad_truncate(
        columns, length, 1, padding=padding, truncating=truncating, value=0, dtype=dtype
    )[:, :, 0]
