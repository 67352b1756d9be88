"""word2vec's sampling details: subsampling, noise distribution, windows, learning rate, RNGs.

Each function is small and separately tested (``tests/test_sampling.py``); the kernel
(:mod:`w2v_spark.train.kernel`) combines them. Conventions follow the C tool and gensim 4.x.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "alias_table",
    "draw_alias",
    "draw_negatives",
    "keep_probabilities",
    "learning_rate",
    "noise_cdf",
    "partition_rng",
    "reduced_windows",
    "subsample",
]


def keep_probabilities(counts: np.ndarray, sample: float) -> np.ndarray:
    """Probability of keeping each occurrence of each word (frequent-word subsampling).

    word2vec's formula (C tool and gensim): with ``f`` the word's count, ``T = counts.sum()``
    and ``s = sample``, keep with probability ``(sqrt(f / (s*T)) + 1) * (s*T) / f``, clipped to 1.

    Parameters
    ----------
    counts : np.ndarray
        Shape ``(vocab_size,)``, any numeric dtype: corpus count of each word.
    sample : float
        Threshold ``s``; word2vec's usual 1e-3. ``0`` (or negative) disables subsampling.

    Returns
    -------
    np.ndarray
        Shape ``(vocab_size,)``, float32, values in ``(0, 1]``; all ones when disabled.
        A word with count 0 gets 1 (it never occurs anyway).
    """
    counts = np.asarray(counts, dtype=np.float64)
    if sample <= 0:
        return np.ones(counts.shape, dtype=np.float32)
    threshold = sample * counts.sum()
    with np.errstate(divide="ignore"):
        keep = (np.sqrt(counts / threshold) + 1.0) * threshold / counts
    return np.minimum(keep, 1.0).astype(np.float32)


def noise_cdf(counts: np.ndarray, ns_exponent: float) -> np.ndarray:
    """Cumulative distribution of the negative-sampling noise ``P(w) ∝ count(w) ** ns_exponent``.

    Parameters
    ----------
    counts : np.ndarray
        Shape ``(vocab_size,)``: corpus count of each word (at least one positive).
    ns_exponent : float
        The smoothing exponent; word2vec uses 0.75. 0 gives the uniform distribution.

    Returns
    -------
    np.ndarray
        Shape ``(vocab_size,)``, float64, non-decreasing, last element exactly 1.0.
    """
    counts = np.asarray(counts, dtype=np.float64)
    weights = np.where(counts > 0, counts, 0.0) ** ns_exponent
    weights[counts <= 0] = 0.0
    cdf = np.cumsum(weights)
    if cdf.size == 0 or cdf[-1] <= 0:
        raise ValueError("noise_cdf needs at least one word with a positive count")
    cdf /= cdf[-1]
    cdf[-1] = 1.0
    return cdf


def draw_negatives(
    rng: np.random.Generator, cdf: np.ndarray, size: int | tuple[int, ...]
) -> np.ndarray:
    """Draw word ids from the noise distribution given by ``cdf`` (inverse-CDF sampling).

    ``searchsorted(cdf, u, side="right")`` on uniform ``u`` in [0, 1) returns ``i`` with
    probability ``cdf[i] - cdf[i-1]`` exactly (up to float64 rounding), unlike the C tool's
    1e8-entry unigram table, which rounds every word's share to a multiple of 1e-8 and costs
    400 MB per process. It needs no table but costs a cache-missing binary search per draw;
    :func:`draw_alias` is about 5x faster per draw and is what training uses. This function
    is not used by training: it is kept as the simple exact reference that the tests
    (``tests/test_sampling.py``) check the noise distribution with.

    Parameters
    ----------
    rng : np.random.Generator
        Source of randomness.
    cdf : np.ndarray
        Output of :func:`noise_cdf`, shape ``(vocab_size,)``, float64.
    size : int or tuple of int
        Shape of the result.

    Returns
    -------
    np.ndarray
        Word ids of shape ``size``, dtype ``np.intp`` (ready for fancy indexing).
    """
    uniform = rng.random(size)
    ids = np.searchsorted(cdf, uniform, side="right")
    return np.minimum(ids, cdf.size - 1, out=ids).astype(np.intp, copy=False)


def alias_table(cdf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker's alias table (Vose's construction) of the distribution given by ``cdf``.

    With ``V = cdf.size``, drawing ``u`` uniform on ``0..V-1`` and ``r`` uniform on [0, 1),
    then returning ``u`` if ``r < prob[u]`` else ``alias[u]``, gives word ``i`` with
    probability ``(prob[i] + Σ_{j: alias[j] = i} (1 - prob[j])) / V = cdf[i] - cdf[i-1]``
    (up to float64 rounding). Drawing costs two random arrays and two gathers from tables of
    ``V`` entries (which stay in cache), instead of a binary search per draw; building it is
    an O(V) Python loop (about 70 ms for V = 68k), so callers build it once and reuse it.

    Words of probability 0 are paired first, so they always get ``prob = 0`` and a positive
    alias: they are never drawn.

    Parameters
    ----------
    cdf : np.ndarray
        Output of :func:`noise_cdf`, shape ``(vocab_size,)``, float64.

    Returns
    -------
    prob : np.ndarray
        Shape ``(vocab_size,)``, float64, in [0, 1]: probability of keeping the drawn column.
    alias : np.ndarray
        Shape ``(vocab_size,)``, intp: the word returned otherwise.
    """
    cdf = np.asarray(cdf, dtype=np.float64)
    size = cdf.size
    scaled = np.diff(cdf, prepend=0.0) * size
    prob = np.ones(size, dtype=np.float64)
    alias = np.arange(size, dtype=np.intp)
    below = scaled < 1.0
    # Stacks (popped from the end): zero-probability words are paired first.
    small = np.concatenate(
        [np.flatnonzero(below & (scaled > 0)), np.flatnonzero(scaled <= 0)]
    ).tolist()
    large = np.flatnonzero(~below).tolist()
    weight = scaled.tolist()
    prob_list = prob.tolist()
    alias_list = alias.tolist()
    while small and large:
        s = small.pop()
        g = large[-1]
        prob_list[s] = weight[s]
        alias_list[s] = g
        weight[g] -= 1.0 - weight[s]
        if weight[g] < 1.0:
            small.append(large.pop())
    # Leftovers (rounding only) keep prob 1 / alias itself.
    prob[:] = prob_list
    alias[:] = alias_list
    for s in small:  # a leftover small word has weight 1 up to rounding
        prob[s] = 1.0 if weight[s] > 0 else 0.0
    return prob, alias


def draw_alias(
    rng: np.random.Generator,
    prob: np.ndarray,
    alias: np.ndarray,
    size: int | tuple[int, ...],
) -> np.ndarray:
    """Draw word ids from an :func:`alias_table` (exact up to float64 rounding, O(1) per draw).

    One uniform ``u`` in ``[0, V)`` per draw: its integer part picks the column, its
    fractional part (53 - log2 V bits: 33 at a million words) decides between the column
    and its alias. Both tables are read with ``take`` and the aliases copied in where the
    draw missed. At wiki8's size (175,000 draws, V = 71,000) this took 5.1 ms against 7.2 ms
    for one integer and one float per draw and ``np.where`` (median of 100): the random reads
    of the two tables, not the generator, are the cost.

    Returns
    -------
    np.ndarray
        Word ids of shape ``size``, dtype ``np.intp``.
    """
    u = rng.random(size)
    u *= prob.size
    column = u.astype(np.intp)
    np.minimum(column, prob.size - 1, out=column)  # u * V rounded up to V
    u -= column
    np.copyto(column, alias.take(column), where=u >= prob.take(column))
    return column


def learning_rate(alpha: float, min_alpha: float, progress: float) -> float:
    """Linearly decayed learning rate: ``alpha`` at progress 0, ``min_alpha`` at progress 1.

    ``progress`` (fraction of all training words, over all epochs and partitions, seen so far)
    is clipped to [0, 1], so a caller that overshoots by rounding still gets ``min_alpha``.
    """
    progress = min(max(float(progress), 0.0), 1.0)
    return float(alpha - (alpha - min_alpha) * progress)


def reduced_windows(rng: np.random.Generator, n: int, window: int) -> np.ndarray:
    """Effective window of each of ``n`` centre words, uniform on ``1..window``.

    The C tool draws ``b`` uniform in ``0..window-1`` and uses ``window - b``; gensim's
    ``reduced_windows`` is the same. Nearer context words are thus used more often.

    Returns
    -------
    np.ndarray
        Shape ``(n,)``, int32, values in ``[1, window]``.
    """
    return rng.integers(1, window + 1, size=n, dtype=np.int32)


def subsample(rng: np.random.Generator, ids: np.ndarray, keep_prob: np.ndarray) -> np.ndarray:
    """Drop each token independently with probability ``1 - keep_prob[token]``.

    Fresh draws each call: every epoch sees a different subsample, as in word2vec.

    Parameters
    ----------
    ids : np.ndarray
        Shape ``(n,)``, integer word ids.
    keep_prob : np.ndarray
        Output of :func:`keep_probabilities`, shape ``(vocab_size,)``, float32.

    Returns
    -------
    np.ndarray
        The kept ids, in their original order, same dtype as ``ids``.
    """
    draws = rng.random(ids.size, dtype=np.float32)
    return ids[draws < keep_prob[ids]]


def partition_rng(seed: int, epoch: int, partition: int, sync: int = 0) -> np.random.Generator:
    """Independent, reproducible generator for one (epoch, partition, sync).

    Built from ``np.random.SeedSequence([seed, epoch, partition, sync])``: the same four
    numbers always give the same stream, whichever executor runs the partition, and streams for
    different tuples are statistically independent.
    """
    return np.random.Generator(
        np.random.PCG64(np.random.SeedSequence([seed, epoch, partition, sync]))
    )
