"""Cutting a partition's sentences into the kernel's batches, and subsampling a batch."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from w2v_spark.train.sampling import subsample


def chunks(sentences: Iterable[np.ndarray], max_words: int) -> Iterator[np.ndarray]:
    """Yield the sentences, cutting any longer than ``max_words`` into ``max_words`` pieces.

    A cut loses the few pairs that would straddle it (< window/max_words of them).
    """
    for sentence in sentences:
        sentence = np.asarray(sentence)
        if sentence.size <= max_words:
            yield sentence
        else:
            for start in range(0, sentence.size, max_words):
                yield sentence[start : start + max_words]


def batches(sentences: Iterable[np.ndarray], batch_words: int) -> Iterator[list[np.ndarray]]:
    """Group sentences into lists of about ``batch_words`` raw tokens (at most one over)."""
    batch: list[np.ndarray] = []
    size = 0
    for sentence in chunks(sentences, batch_words):
        if batch and size + sentence.size > batch_words:
            yield batch
            batch, size = [], 0
        batch.append(sentence)
        size += sentence.size
    if batch:
        yield batch


def subsampled_batch(
    rng: np.random.Generator, batch: list[np.ndarray], keep_prob: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Subsample each sentence; return the kept tokens concatenated and their sentence numbers.

    Both outputs have shape ``(kept,)``, dtype intp.
    """
    kept = [subsample(rng, np.asarray(s, dtype=np.intp), keep_prob) for s in batch]
    lengths = np.fromiter((k.size for k in kept), dtype=np.intp, count=len(kept))
    tokens = np.concatenate(kept) if kept else np.empty(0, dtype=np.intp)
    return tokens, np.repeat(np.arange(lengths.size), lengths)
