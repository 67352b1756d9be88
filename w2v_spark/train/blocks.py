"""Block rotation: executor copies that never need combining (DSGD, Gemulla et al. 2011).

The vocabulary is split into ``B`` blocks of about equal training mass
(:func:`assign_blocks`). A pair (centre ``w``, context ``c``) reads and writes ``syn0[w]``,
``syn1neg[c]`` and the ``syn1neg`` rows of its negatives; if the negatives are drawn from the
context's block, the pair touches only rows of ``block(w)`` in ``syn0`` and of ``block(c)`` in
``syn1neg``. So an epoch's pairs are bucketed by ``(block(w), block(c))``
(:func:`bucket_pairs`) and trained in ``B`` sub-rounds: in sub-round ``r`` task ``i`` trains
bucket ``(i, (i + r) % B)``. The ``B`` buckets of a sub-round share no row, so ``B`` executors
train them at once and every row has exactly one writer: the result is a sequential SGD over a
reordering of the epoch's pairs, with nothing to average and nothing lost however many
executors there are (GraphVite's parallel negative sampling; the design of apache/spark
PR #37967).

Negatives come from the context's block, drawn with the unigram^0.75 noise restricted to it
(:func:`block_noise`). Over an epoch a word meets each block's negatives in proportion to its
pairs with contexts there, which for frequent words is close to the block's share of the
noise; the benchmarks measure what remains of the bias.

Each task holds only its two blocks, ``syn0[block i]`` and ``syn1neg[block j]``, indexed by
*local* ids (:func:`local_ids`): a word's position inside its block.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from w2v_spark.train.batches import batches, subsampled_batch
from w2v_spark.train.kernel import window_pairs
from w2v_spark.train.params import SgnsParams, TrainStats
from w2v_spark.train.rows import (
    add_csr_product,
    add_csr_transpose_product,
    sigmoid,
    softplus,
    sorted_local_rows,
)
from w2v_spark.train.sampling import alias_table, draw_alias, learning_rate, reduced_windows

__all__ = [
    "PairBucket",
    "assign_blocks",
    "block_noise",
    "bucket_pairs",
    "local_ids",
    "rotation",
    "train_pairs",
]

#: Pairs per Hogwild step of :func:`train_pairs`: about what a 256-centre step of
#: :func:`~w2v_spark.train.kernel.train_sentences` trains at window 5.
DEFAULT_STEP_PAIRS = 1024
#: Pairs whose negatives are drawn at once.
_DRAW_PAIRS = 65_536


def assign_blocks(mass: np.ndarray, blocks: int) -> np.ndarray:
    """Block of every word, balancing the summed ``mass`` of the blocks.

    Longest-processing-time first: words in decreasing mass, each to the lightest block so
    far (within 4/3 of the best balance; a single word heavier than ``1/blocks`` of the total
    cannot be split and fills its block alone).

    Parameters
    ----------
    mass : np.ndarray
        Shape ``(vocab_size,)``: the training weight of each word, e.g. its expected kept
        tokens ``count * keep_prob``.
    blocks : int
        Number of blocks ``B`` (>= 1).

    Returns
    -------
    np.ndarray
        Shape ``(vocab_size,)``, int32, values in ``0..B-1``.
    """
    if blocks < 1:
        raise ValueError(f"blocks must be at least 1, got {blocks}")
    mass = np.asarray(mass, dtype=np.float64)
    block_of = np.zeros(mass.size, dtype=np.int32)
    if blocks == 1:
        return block_of
    heap = [(0.0, b) for b in range(blocks)]
    for word in np.argsort(-mass, kind="stable").tolist():
        load, b = heap[0]
        block_of[word] = b
        heapq.heapreplace(heap, (load + float(mass[word]), b))
    return block_of


def local_ids(block_of: np.ndarray) -> np.ndarray:
    """Position of every word inside its block (shape ``(vocab_size,)``, int32).

    Block ``b``'s rows are the words ``np.flatnonzero(block_of == b)`` in increasing id
    order; word ``w`` is row ``local_ids(block_of)[w]`` of its block.
    """
    local = np.empty(block_of.size, dtype=np.int32)
    for b in range(int(block_of.max(initial=0)) + 1):
        members = np.flatnonzero(block_of == b)
        local[members] = np.arange(members.size, dtype=np.int32)
    return local


def block_noise(
    counts: np.ndarray, block_of: np.ndarray, block: int, ns_exponent: float
) -> tuple[np.ndarray, np.ndarray]:
    """Alias table of the noise distribution restricted to ``block``, over its local ids.

    ``P(n) ∝ count[n] ** ns_exponent`` for the words of ``block``, as
    :func:`~w2v_spark.train.sampling.noise_cdf` over the whole vocabulary.
    """
    members = np.flatnonzero(block_of == block)
    weights = np.asarray(counts, dtype=np.float64)[members] ** ns_exponent
    total = weights.sum()
    if total <= 0:
        weights = np.ones(members.size)
        total = float(members.size)
    return alias_table(np.cumsum(weights) / total)


def rotation(blocks: int, sub_round: int) -> list[tuple[int, int]]:
    """The buckets ``(i, (i + r) % B)`` trained at once in sub-round ``r``: no shared row."""
    return [(i, (i + sub_round) % blocks) for i in range(blocks)]


@dataclass(frozen=True)
class PairBucket:
    """The pairs of one ``(centre block, context block)`` bucket, in corpus order.

    Attributes
    ----------
    centres, contexts : np.ndarray
        Shape ``(pairs,)``, int32: *local* ids in the centre block's ``syn0`` rows and the
        context block's ``syn1neg`` rows.
    raw_words : float
        This bucket's share of the raw corpus words that produced it (its pairs' fraction of
        the batch's pairs times the batch's raw words): the learning-rate schedule and the
        words/s counters add these up.
    """

    centres: np.ndarray
    contexts: np.ndarray
    raw_words: float

    @classmethod
    def concat(cls, parts: list[PairBucket]) -> PairBucket:
        """One bucket of ``parts`` in their order (an empty one for no parts)."""
        empty = np.empty(0, np.int32)
        return cls(
            np.concatenate([p.centres for p in parts] or [empty]).astype(np.int32, copy=False),
            np.concatenate([p.contexts for p in parts] or [empty]).astype(np.int32, copy=False),
            float(sum(p.raw_words for p in parts)),
        )

    def piece(self, p: int, passes: int) -> PairBucket:
        """The ``p``-th of ``passes`` consecutive pieces (raw words shared by pair count)."""
        n = self.centres.size
        lo, hi = n * p // passes, n * (p + 1) // passes
        share = self.raw_words * (hi - lo) / n if n else 0.0
        return PairBucket(self.centres[lo:hi], self.contexts[lo:hi], share)


def bucket_pairs(
    sentences,
    params: SgnsParams,
    *,
    keep_prob: np.ndarray,
    rng: np.random.Generator,
    block_of: np.ndarray,
    local: np.ndarray,
    blocks: int,
) -> dict[tuple[int, int], PairBucket]:
    """Every (centre, context) pair of ``sentences``, bucketed by the blocks of both words.

    Subsampling and dynamic windows are word2vec's, drawn from ``rng`` exactly as
    :func:`~w2v_spark.train.kernel.train_sentences` draws them (``params.window``, batches of
    ``params.batch_words``; the other fields are not used here). Within a bucket the pairs
    keep corpus order (centre by centre, left context first).

    Returns
    -------
    dict
        ``(i, j) -> PairBucket`` for every bucket with at least one pair.
    """
    window = params.window
    found: dict[tuple[int, int], list[PairBucket]] = {}
    for batch in batches(sentences, params.batch_words):
        raw = sum(s.size for s in batch)
        tokens, segments = subsampled_batch(rng, batch, keep_prob)
        windows = reduced_windows(rng, tokens.size, window)
        _, valid, context = window_pairs(windows, segments, window)
        centre_pos, slot = np.nonzero(valid)
        if centre_pos.size == 0:
            continue
        centres = tokens[centre_pos]
        contexts = tokens[context[centre_pos, slot]]
        key = block_of[centres].astype(np.int64) * blocks + block_of[contexts]
        order = np.argsort(key, kind="stable")
        keys, starts = np.unique(key[order], return_index=True)
        ends = np.append(starts[1:], order.size)
        for k, s, e in zip(keys.tolist(), starts.tolist(), ends.tolist(), strict=True):
            pick = order[s:e]
            found.setdefault(divmod(k, blocks), []).append(
                PairBucket(local[centres[pick]], local[contexts[pick]], raw * (e - s) / order.size)
            )
    return {ij: PairBucket.concat(parts) for ij, parts in found.items()}


def _pairs_step(
    syn0: np.ndarray,
    syn1neg: np.ndarray,
    centres: np.ndarray,
    contexts: np.ndarray,
    negatives: np.ndarray,
    lr: float,
    with_loss: bool,
) -> float:
    """One Hogwild step over independent pairs: every gradient from the pre-step values.

    The update of the module docstring of :mod:`w2v_spark.train.kernel`, summed per row. A negative
    equal to its pair's context is masked. Returns the summed loss (0.0 unless ``with_loss``).
    """
    pairs, k = negatives.shape
    lr32 = np.float32(lr)
    targets = np.empty((pairs, k + 1), dtype=np.intp)
    targets[:, 0] = contexts
    targets[:, 1:] = negatives
    uniq1, local1 = sorted_local_rows(targets, syn1neg.shape[0])
    uniq0, local0 = sorted_local_rows(centres, syn0.shape[0])
    rows0 = syn0.take(uniq0, axis=0)
    rows1 = syn1neg.take(uniq1, axis=0)
    v = rows0.take(local0, axis=0)
    scores = np.matmul(rows1.take(local1, axis=0), v[:, :, None])[:, :, 0]
    masked = negatives == contexts[:, None]
    coef = sigmoid(scores)
    coef *= -lr32
    coef[:, 0] += lr32
    coef[:, 1:][masked] = 0.0
    loss = 0.0
    if with_loss:
        scores[:, 0] *= -1.0
        losses = softplus(scores)
        losses[:, 1:][masked] = 0.0
        loss = float(losses.sum(dtype=np.float64))
    indptr = np.arange(0, pairs * (k + 1) + 1, k + 1, dtype=np.int32)
    cols = local1.ravel()
    data = coef.ravel()
    delta = np.zeros_like(v)
    add_csr_product(delta, indptr, cols, data, rows1)
    add_csr_transpose_product(rows1, indptr, cols, data, v)
    syn1neg[uniq1] = rows1
    ones = np.ones(pairs, dtype=syn0.dtype)
    add_csr_transpose_product(rows0, np.arange(pairs + 1, dtype=np.int32), local0, ones, delta)
    syn0[uniq0] = rows0
    return loss


def train_pairs(
    syn0: np.ndarray,
    syn1neg: np.ndarray,
    bucket: PairBucket,
    params: SgnsParams,
    *,
    noise: tuple[np.ndarray, np.ndarray],
    rng: np.random.Generator,
    progress_start: float,
    progress_per_word: float,
    step_pairs: int = DEFAULT_STEP_PAIRS,
) -> TrainStats:
    """Train one bucket's pairs on its two blocks, in place.

    Parameters
    ----------
    syn0 : np.ndarray
        Shape ``(centre block size, dim)``, float32: the centre block's rows of ``syn0``.
    syn1neg : np.ndarray
        Shape ``(context block size, dim)``, float32: the context block's rows of ``syn1neg``.
    bucket : PairBucket
        Local ids into these two arrays.
    params : SgnsParams
        ``negative`` negatives per pair, drawn from ``noise``; the learning rate runs from
        ``alpha`` to ``min_alpha``; the (reported) loss is computed on one step in
        ``loss_every``. ``window``, ``batch_words`` and ``step_tokens`` are not used here (the
        pairs are already drawn; steps are ``step_pairs`` long).
    noise : tuple of np.ndarray
        :func:`block_noise` of the context block.
    rng : np.random.Generator
        Draws the negatives.
    progress_start, progress_per_word : float
        As :func:`~w2v_spark.train.kernel.train_sentences`; the bucket's ``raw_words`` are spread
        evenly over its pairs, so the rate falls linearly through the bucket.
    step_pairs : int
        Pairs per Hogwild step (default :data:`DEFAULT_STEP_PAIRS`).
    """
    negative, alpha, min_alpha = params.negative, params.alpha, params.min_alpha
    loss_every = params.loss_every
    prob, alias = noise
    n = bucket.centres.size
    words_per_pair = bucket.raw_words / n if n else 0.0
    loss_sum, loss_pairs, steps = 0.0, 0, 0
    for lo in range(0, n, _DRAW_PAIRS):
        hi = min(lo + _DRAW_PAIRS, n)
        negatives = draw_alias(rng, prob, alias, (hi - lo, negative))
        for s in range(lo, hi, step_pairs):
            e = min(s + step_pairs, hi)
            lr = learning_rate(
                alpha, min_alpha, progress_start + s * words_per_pair * progress_per_word
            )
            with_loss = steps % loss_every == 0
            steps += 1
            loss = _pairs_step(
                syn0,
                syn1neg,
                bucket.centres[s:e],
                bucket.contexts[s:e],
                negatives[s - lo : e - lo],
                lr,
                with_loss,
            )
            if with_loss:
                loss_sum += loss
                loss_pairs += e - s
    return TrainStats(round(bucket.raw_words), n, n, loss_sum, loss_pairs)
