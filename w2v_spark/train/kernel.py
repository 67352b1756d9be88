"""Single-process skip-gram negative-sampling (SGNS) training kernel in NumPy.

Notation: ``syn0`` holds the word ("input") vectors ``v``, ``syn1neg`` the context ("output")
vectors ``v'``, both of shape ``(vocab_size, vector_size)``, float32. For a pair (centre ``w``,
context ``c``) with negatives ``n_1..n_k`` and learning rate ``lr`` the update is word2vec's::

    g   = lr * (1 - σ(v_w·v'_c))          g_i = -lr * σ(v_w·v'_{n_i})
    v_w += g * v'_c + Σ_i g_i * v'_{n_i}
    v'_c += g * v_w                       v'_{n_i} += g_i * v_w

Sentences are grouped in batches of about ``batch_words`` corpus words; all pairs and random
draws of a batch are generated with array operations, then applied in Hogwild steps of
``step_tokens`` centres: within a step every gradient is computed from the pre-step values,
then the updates are summed per row and added once. (One step per whole 10,000-word batch
diverges at alpha 0.025: a frequent row gets hundreds of summed stale updates.) The
hyperparameters travel together as one :class:`SgnsParams`.

Design choices (measured in ``benchmarks/README.md``; the alternatives that lost, negatives
shared by a centre's pairs, COO and ``np.add.at`` scatters and a binary-search sampler, were
removed and live in git history):

* negatives are drawn per pair, as in the C tool (sharing one draw among a centre's pairs,
  HogBatch, was 2.5x faster but halved analogy accuracy on wiki8);
* negatives are drawn with an alias table (:func:`~w2v_spark.train.sampling.alias_table`, exact,
  O(1) per draw, built once per ``noise_cdf`` array), all of a batch at once;
* all updates of a step form one CSR matrix ``C`` of shape (centre positions, pair
  targets), one row per centre position with its pairs' entries ``[g, g_1..g_k]`` in pair
  order, which is already row-sorted, so it is built without a sort or duplicate summing;
  the row updates are two sparse-dense products by scipy's compiled loops called directly
  (building a ``csr_matrix`` per step cost a quarter of the sparse work): ``C @ U'`` over
  the gathered target rows, read in order, and ``C.T @ V`` added straight into ``syn1neg``
  at the targets' rows; the centres' changes are added into ``syn0`` the same way,
  repeated centre words summed (:func:`~w2v_spark.train.rows.add_to_rows`);
* nothing gathered is written back: the updates are added in place. Gathering each step's
  unique rows into a compact copy, re-reading and writing them back made one process 1.33x
  slower (155.6k against 206.6k words/s on 40 MB of wiki8; a step's 4,568 targets have
  about 2,780 distinct rows, so de-duplicating saved little), and adding in place also
  keeps, on a shared copy, what other processes added to those rows meanwhile;
* all scores of a step (every pair's context and negatives) come from one ``take`` of the
  (pairs, k+1, dim) rows and one batched ``matmul``;
* the loss, which is only reported, is computed on one step in :data:`DEFAULT_LOSS_EVERY`.

A negative equal to the pair's positive context word is masked (it contributes nothing to
that pair's update, loss or update count), as the C tool skips it.

CBOW (``params.sg = 0``) is :mod:`w2v_spark.train.cbow`; hierarchical softmax (``params.hs =
1``, a Huffman tree instead of negatives, ``syn1neg`` then holding the inner nodes' ``syn1``)
is :mod:`w2v_spark.train.hs`. :func:`train_sentences` dispatches to them.
"""

from __future__ import annotations

import contextlib
import logging
import weakref
from collections.abc import Callable, Iterable

import numpy as np

from w2v_spark.train.batches import batches, subsampled_batch
from w2v_spark.train.cbow import cbow_step
from w2v_spark.train.hs import Tree, hs_cbow_step, hs_pair_step
from w2v_spark.train.params import (
    SgnsParams,
    TrainStats,
)
from w2v_spark.train.rows import (
    scatter_pair_updates,
    sigmoid,
    softplus,
)
from w2v_spark.train.sampling import (
    alias_table,
    draw_alias,
    learning_rate,
    reduced_windows,
)

logger = logging.getLogger(__name__)

__all__ = [
    "SgnsParams",
    "TrainStats",
    "init_weights",
    "sgns_update",
    "train_sentences",
]

#: ``id(noise_cdf) -> (weakref to it, prob, alias)``: alias tables of live noise arrays.
_ALIAS_CACHE: dict[int, tuple[weakref.ref, np.ndarray, np.ndarray]] = {}


def init_weights(vocab_size: int, vector_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Initial weights as in gensim 4 (``KeyedVectors.prep_vectors``).

    Returns
    -------
    syn0 : np.ndarray
        Shape ``(vocab_size, vector_size)``, float32, uniform in ``[-1/vector_size,
        1/vector_size)``: small random word vectors break the symmetry. gensim 4's range;
        the C tool's is half as wide. The wider one learned more in the same epochs on 30%
        of wiki8 (3 epochs, one process, two seeds for CBOW): analogy 0.0631 -> 0.0667 and
        0.0643 -> 0.0697 with CBOW + negatives, 0.1232 -> 0.1274 with skip-gram.
    syn1neg : np.ndarray
        Shape ``(vocab_size, vector_size)``, float32, zeros (so every score starts at 0).
    """
    rng = np.random.default_rng(seed)
    half = 1.0 / vector_size
    syn0 = rng.uniform(-half, half, size=(vocab_size, vector_size)).astype(np.float32)
    syn1neg = np.zeros((vocab_size, vector_size), dtype=np.float32)
    return syn0, syn1neg


def _alias_table_cached(cdf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`~w2v_spark.train.sampling.alias_table` of ``cdf``, built once per live array.

    Spark calls :func:`train_sentences` once per partition and sync with the same broadcast
    array, so the O(V) build is paid once per executor process. The cache is keyed by
    ``id(cdf)`` and checked through a weak reference (an id can be reused after the array is
    freed); the array must not be modified in place after the first call.
    """
    key = id(cdf)
    entry = _ALIAS_CACHE.get(key)
    if entry is not None and entry[0]() is cdf:
        return entry[1], entry[2]
    prob, alias = alias_table(cdf)
    for stale in [k for k, (ref, _, _) in _ALIAS_CACHE.items() if ref() is None]:
        del _ALIAS_CACHE[stale]
    with contextlib.suppress(TypeError):  # not weak-referenceable (not an ndarray): no cache
        _ALIAS_CACHE[key] = (weakref.ref(cdf), prob, alias)
    return prob, alias


def window_pairs(
    windows: np.ndarray, segments: np.ndarray, window: int, start: int = 0, stop: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All (centre, context) position pairs of centres ``start..stop-1`` as a dense mask.

    Parameters
    ----------
    windows : np.ndarray
        Shape ``(n,)``: effective window of each token as a centre (from
        :func:`~w2v_spark.train.sampling.reduced_windows`).
    segments : np.ndarray
        Shape ``(n,)``: sentence number of each token; pairs never cross sentences.
    window : int
        Maximum window.
    start, stop : int
        The centres considered (default all ``n``); contexts may lie outside this range.

    Returns
    -------
    offsets : np.ndarray
        Shape ``(2*window,)``, intp: ``-window..-1, 1..window``.
    valid : np.ndarray
        Shape ``(stop-start, 2*window)``, bool: ``valid[i, s]`` iff position
        ``start + i + offsets[s]`` is a context of centre ``start + i``.
    context : np.ndarray
        Shape ``(stop-start, 2*window)``, intp: absolute context positions, clipped into
        ``[0, n)``.
    """
    n = segments.size
    stop = n if stop is None else stop
    offsets = np.concatenate([np.arange(-window, 0), np.arange(1, window + 1)]).astype(np.intp)
    centre = np.arange(start, stop, dtype=np.intp)[:, None]
    context = centre + offsets
    np.clip(context, 0, max(n - 1, 0), out=context)
    valid = np.abs(offsets) <= windows[start:stop, None]
    valid &= segments[context] == segments[start:stop, None]
    valid &= context - centre == offsets  # was not clipped
    return offsets, valid, context


def sgns_update(
    syn0: np.ndarray,
    syn1neg: np.ndarray,
    tokens: np.ndarray,
    windows: np.ndarray,
    segments: np.ndarray,
    negatives: np.ndarray,
    lr: float,
    *,
    window: int,
    centres: tuple[int, int] | None = None,
    updates0: np.ndarray | None = None,
    updates1: np.ndarray | None = None,
) -> tuple[int, float]:
    """One Hogwild step: all pairs of some centres updated from the same pre-step values.

    The step :func:`train_sentences` applies, on explicit inputs (its batches draw the
    windows and negatives themselves).

    Parameters
    ----------
    syn0, syn1neg : np.ndarray
        Shape ``(vocab_size, dim)``, float32, C-contiguous; updated in place.
    tokens : np.ndarray
        Shape ``(n,)``, integer word ids of the (already subsampled) batch.
    windows : np.ndarray
        Shape ``(n,)``: effective window of each token as a centre, in ``1..window``.
    segments : np.ndarray
        Shape ``(n,)``: sentence number of each token; pairs stay inside one sentence.
    negatives : np.ndarray
        Shape ``(pairs, k)``, integer word ids: the negatives of each pair, in row-major
        order of the ``valid`` mask of :func:`window_pairs` (centre by centre, left context
        first).
    lr : float
        Learning rate of the step.
    window : int
        Maximum window (the number of offsets on each side).
    centres : tuple of int, optional
        ``(start, stop)``: train the pairs of centres ``tokens[start:stop]`` only (contexts
        may lie outside); default all tokens.
    updates0, updates1 : np.ndarray, optional
        Shape ``(vocab_size,)``, int64: incremented by the number of updates each syn0 /
        syn1neg row received (one per pair for the centre and the context, one per unmasked
        negative per pair for a negative).

    Returns
    -------
    pairs : int
        Number of (centre, context) pairs trained.
    loss_sum : float
        Summed loss of those pairs (pre-step values).
    """
    tokens = np.asarray(tokens, dtype=np.intp)
    n = tokens.size
    start, stop = (0, n) if centres is None else centres
    _, valid, context = window_pairs(windows, segments, window, start, stop)
    pairs = int(np.count_nonzero(valid))
    if negatives.shape[0] != pairs:
        raise ValueError(f"negatives has {negatives.shape[0]} rows, expected {pairs}")
    return _pair_step(
        syn0,
        syn1neg,
        tokens,
        context,
        valid,
        (start, stop),
        np.asarray(negatives, dtype=np.intp),
        lr,
        updates0=updates0,
        updates1=updates1,
        with_loss=True,
    )


def _pair_step(
    syn0: np.ndarray,
    syn1neg: np.ndarray,
    tokens: np.ndarray,
    context: np.ndarray,
    valid: np.ndarray,
    centres: tuple[int, int],
    negatives: np.ndarray,
    lr: float,
    *,
    updates0: np.ndarray | None,
    updates1: np.ndarray | None,
    with_loss: bool,
) -> tuple[int, float]:
    """:func:`sgns_update` on pre-computed :func:`window_pairs` output of the step's centres.

    ``tokens`` is the whole batch (intp); ``context`` and ``valid`` (shape ``(stop-start,
    2*window)``) are the rows of centres ``centres = (start, stop)``; ``negatives`` is intp
    ``(pairs, k)`` with the row count checked by the caller. Every pair's targets
    ``[context, negatives...]`` form one row of ``targets`` (pairs, k+1); one gather and one
    batched ``matmul`` give all scores, and the updates are one CSR matrix ``C`` (one row per
    centre position, entries pair by pair, already row-sorted, so ``indptr`` is a cumulative
    sum): ``C @ V'`` for the centres, ``C.T @ V`` added straight into the output rows.
    Returns ``(pairs, loss)``; the loss is 0.0 unless ``with_loss``.
    """
    centre_pos, slot = np.nonzero(valid)
    pairs = centre_pos.size
    if pairs == 0:
        return 0, 0.0
    start, stop = centres
    lr32 = np.float32(lr)
    centre_ids = tokens[start:stop]
    context_ids = tokens[context[centre_pos, slot]]
    k1 = negatives.shape[1] + 1
    targets = np.empty((pairs, k1), dtype=np.intp)
    targets[:, 0] = context_ids
    targets[:, 1:] = negatives
    v_centres = syn0.take(centre_ids, axis=0)
    target_rows = syn1neg.take(targets, axis=0)  # (pairs, k+1, dim)
    scores = np.matmul(target_rows, v_centres.take(centre_pos, axis=0)[:, :, None])[:, :, 0]
    # A negative equal to the pair's context is masked: coefficient 0, no loss, no update.
    masked = negatives == context_ids[:, None]
    coef = sigmoid(scores)
    coef *= -lr32
    coef[:, 0] += lr32  # positive: lr * (1 - σ); negatives: -lr * σ
    coef[:, 1:][masked] = 0.0
    loss = 0.0
    if with_loss:
        scores[:, 0] *= -1.0  # -log σ(s) = softplus(-s) for the context, softplus(s) else
        losses = softplus(scores)
        losses[:, 1:][masked] = 0.0
        loss = float(losses.sum(dtype=np.float64))

    scatter_pair_updates(
        syn0,
        syn1neg,
        centre_ids,
        v_centres,
        targets,
        target_rows,
        coef,
        np.count_nonzero(valid, axis=1),
        updates0=updates0,
    )
    if updates1 is not None:
        counted = np.ones(targets.shape, dtype=bool)
        counted[:, 1:] = ~masked
        np.add.at(updates1, targets[counted], 1)
    return pairs, loss


def train_sentences(
    syn0: np.ndarray,
    syn1neg: np.ndarray,
    sentences: Iterable[np.ndarray],
    params: SgnsParams,
    *,
    keep_prob: np.ndarray,
    noise_cdf: np.ndarray,
    rng: np.random.Generator,
    progress_start: float,
    progress_per_word: float,
    updates0: np.ndarray | None = None,
    updates1: np.ndarray | None = None,
    words_before: Callable[[int], int] | None = None,
    tree: Tree | None = None,
) -> TrainStats:
    """Train word2vec on ``sentences``, updating the weights in place.

    Skip-gram or CBOW (``params.sg``), with negative sampling or hierarchical softmax
    (``params.hs``; then no negatives are drawn and ``syn1neg`` holds the tree's ``syn1``).

    Sentences are taken in batches of about ``params.batch_words`` raw tokens. Per batch:
    subsample, draw effective windows, form every (centre, context) pair inside each
    sentence, draw ``params.negative`` negatives per pair (alias table of ``noise_cdf``), and
    apply the step of :func:`sgns_update` to ``params.step_tokens`` centres at a time, with
    the learning rate ``learning_rate(alpha, min_alpha, progress_start +
    raw_words_before_batch * progress_per_word)``, so Spark partitions share one global
    linear schedule.

    Parameters
    ----------
    syn0, syn1neg : np.ndarray
        Shape ``(vocab_size, dim)``, float32, C-contiguous; updated in place.
    sentences : iterable of np.ndarray
        1-D int32 word-id arrays (ids index the weight rows). Consumed once, lazily.
    params : SgnsParams
        Window, negatives, learning-rate range, batch and step sizes, loss sampling.
    keep_prob : np.ndarray
        Shape ``(vocab_size,)``, float32: from :func:`~w2v_spark.train.sampling.keep_probabilities`.
    noise_cdf : np.ndarray
        Shape ``(vocab_size,)``, float64: from :func:`~w2v_spark.train.sampling.noise_cdf`.
        Negatives are drawn with :func:`~w2v_spark.train.sampling.draw_alias` from an alias
        table built once per array (cached while it lives; do not modify it in place).
        Unused with ``params.hs``.
    rng : np.random.Generator
        All randomness (subsampling, windows, negatives) comes from it, in that order per
        batch.
    progress_start : float
        Global training progress (0..1) at the first word of ``sentences``.
    progress_per_word : float
        Progress added per raw word, ``1 / (epochs * corpus_words)`` for one global schedule.
    updates0, updates1 : np.ndarray, optional
        Shape ``(vocab_size,)``, int64: the number of updates each syn0 / syn1neg row
        received (see :func:`sgns_update`), incremented in place.
    words_before : callable, optional
        Called with each batch's raw word count before the batch is trained; returns how many
        raw words were trained on these weights before it, which sets the batch's learning
        rate. Default: the words of earlier batches of this call. Tasks that share one copy
        of the weights pass one shared counter (:meth:`~w2v_spark.train.replicas.SharedReplica.
        claim_words`), so the rate follows the copy's progress, not each task's own.
    tree : tuple of np.ndarray, optional
        ``(codes, points, lengths)`` of :func:`~w2v_spark.train.huffman.huffman_tree` of the
        vocabulary's counts; required with ``params.hs``, unused otherwise.

    Returns
    -------
    TrainStats
    """
    if params.hs and tree is None:
        raise ValueError("hierarchical softmax (params.hs = 1) needs the Huffman tree")
    prob, alias = (None, None) if params.hs else _alias_table_cached(noise_cdf)
    window, step_tokens, loss_every = params.window, params.step_tokens, params.loss_every
    stats = TrainStats()
    raw_done = steps = 0
    for batch in batches(sentences, params.batch_words):
        raw = sum(s.size for s in batch)
        before = raw_done if words_before is None else words_before(raw)
        progress = progress_start + before * progress_per_word
        lr = learning_rate(params.alpha, params.min_alpha, progress)
        raw_done += raw
        tokens, segments = subsampled_batch(rng, batch, keep_prob)
        windows = reduced_windows(rng, tokens.size, window)
        _, valid, context = window_pairs(windows, segments, window)
        if not params.hs:  # hs draws no negatives (and no random numbers for them)
            if params.sg == 0:  # CBOW: negatives per centre, not per pair
                first_pair = np.arange(tokens.size + 1, dtype=np.intp)
            else:  # first_pair[i]: index of centre i's first pair in the batch (row-major)
                first_pair = np.zeros(tokens.size + 1, dtype=np.intp)
                np.cumsum(np.count_nonzero(valid, axis=1), out=first_pair[1:])
            all_negatives = draw_alias(rng, prob, alias, (int(first_pair[-1]), params.negative))
        batch_pairs, batch_loss, batch_loss_pairs = 0, 0.0, 0
        for start in range(0, tokens.size, step_tokens):
            with_loss = steps % loss_every == 0
            steps += 1
            stop = min(start + step_tokens, tokens.size)
            step_args = (
                syn0,
                syn1neg,
                tokens,
                context[start:stop],
                valid[start:stop],
                (start, stop),
                tree if params.hs else all_negatives[first_pair[start] : first_pair[stop]],
                lr,
            )
            options = dict(updates0=updates0, updates1=updates1, with_loss=with_loss)
            if params.sg == 0:
                cbow = hs_cbow_step if params.hs else cbow_step
                pairs, loss = cbow(*step_args, cbow_mean=bool(params.cbow_mean), **options)
            else:
                pairs, loss = (hs_pair_step if params.hs else _pair_step)(*step_args, **options)
            batch_pairs += pairs
            if with_loss:
                batch_loss += loss
                batch_loss_pairs += pairs
        stats = stats + TrainStats(raw, tokens.size, batch_pairs, batch_loss, batch_loss_pairs)
    logger.debug("trained %s", stats)
    return stats
