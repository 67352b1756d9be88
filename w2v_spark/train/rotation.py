"""Training by block rotation on Spark: one epoch as ``passes x B`` sub-rounds of ``B`` tasks.

The math is in :mod:`w2v_spark.train.blocks`; this module moves it through Spark:

1. **pairs** (one shuffle per epoch): every sentence partition draws its pairs (subsampling,
   dynamic windows; seeded from (seed, epoch, partition)) and buckets them by
   ``(centre block i, context block j)``; each bucket is cut into ``passes`` consecutive
   pieces, keyed ``(i, j, p)`` and shuffled into ``passes x B x B`` partitions, laid out so
   that the ``B`` buckets of sub-round ``(p, r)`` -- ``(i, (i + r) % B, p)`` for every ``i`` --
   are ``B`` consecutive partitions (:func:`bucket_partition`);
2. **sub-rounds**: for ``p`` in passes, for ``r`` in ``0..B-1``, the driver broadcasts
   every block of ``syn0`` and ``syn1neg`` (one broadcast each, so a task's Python loads only
   its two) and runs one job over those ``B`` partitions (``SparkContext.runJob``
   on a subset of partitions; the shuffle is written once and read by every sub-round). Task
   ``i`` trains its bucket on ``syn0[block i]`` and ``syn1neg[block j]`` and sends back just
   those two blocks, which the driver writes into the model: the ``B`` results of a sub-round
   cover the model once, so nothing is averaged and nothing is lost.

Why passes: a word's row meets one context block per sub-round; trained one block after
another over a whole epoch, it drifts toward each block in turn (30% of wiki8, 3 epochs, 4
blocks: 0.093 analogy with 1 pass against 0.121 with 8; one copy: 0.115). Cutting every
bucket into ``passes`` pieces interleaves the blocks ``passes`` times per epoch.

Runs are deterministic: every random draw comes from a generator seeded by (seed, epoch,
partition) or (seed, epoch, bucket), whichever executor runs it, so a cluster and local mode
give the same vectors.

Memory: the driver holds the model, its broadcast blocks and one sub-round's results (one
model more); a task holds its two blocks (twice: the broadcast and its copy) and its bucket
piece (``8 x pairs / (passes B^2)`` bytes of an epoch's pairs). Traffic per epoch: the pairs
once through the shuffle (8 bytes per pair), and ``passes x B`` broadcasts and collects of
the model.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from pyspark import RDD, Broadcast, SparkContext
from pyspark.sql import SparkSession

from w2v_spark.config import TrainConfig
from w2v_spark.session import job_group
from w2v_spark.train.blocks import (
    DEFAULT_STEP_PAIRS,
    PairBucket,
    block_noise,
    bucket_pairs,
    train_pairs,
)
from w2v_spark.train.params import SgnsParams, TrainStats
from w2v_spark.train.sampling import partition_rng
from w2v_spark.train.sync_task import sgns_params

log = logging.getLogger(__name__)

__all__ = [
    "BlockLayout",
    "bucket_partition",
    "shuffle_pairs",
    "step_pairs_for",
    "train_epoch_by_blocks",
    "train_sub_round",
]


@dataclass(frozen=True)
class BlockLayout:
    """Which block each word is in and where; broadcast once per run.

    Attributes
    ----------
    block_of, local : np.ndarray
        Shape ``(vocab_size,)``, int32: :func:`~w2v_spark.train.blocks.assign_blocks` and
        :func:`~w2v_spark.train.blocks.local_ids`.
    noise : list of tuple
        Per block, the alias table of its restricted noise (:func:`~w2v_spark.train.blocks.block_noise`).
    """

    block_of: np.ndarray
    local: np.ndarray
    noise: list[tuple[np.ndarray, np.ndarray]]
    words: list[np.ndarray]  # per block, its word ids ascending: its rows in model order

    @property
    def blocks(self) -> int:
        return len(self.noise)

    def members(self, block: int) -> np.ndarray:
        """Word ids of ``block``, ascending: its rows in model order."""
        return self.words[block]

    @classmethod
    def build(cls, block_of: np.ndarray, local: np.ndarray, counts: np.ndarray, ns_exponent: float):
        blocks = int(block_of.max(initial=0)) + 1
        noise = [block_noise(counts, block_of, b, ns_exponent) for b in range(blocks)]
        words = [np.flatnonzero(block_of == b) for b in range(blocks)]
        return cls(block_of, local, noise, words)


def bucket_partition(key: tuple[int, int, int], blocks: int) -> int:
    """Shuffle partition of bucket piece ``(i, j, p)``: sub-round ``(p, r = (j - i) % B)``
    owns partitions ``(p B + r) B .. (p B + r) B + B - 1``, task ``i`` the ``i``-th."""
    i, j, p = key
    return (p * blocks + (j - i) % blocks) * blocks + i


@dataclass(frozen=True)
class PairTask:
    """One sentence partition's pairs, bucketed and cut into pieces (``mapPartitionsWithIndex``).

    Yields ``((i, j, p), (partition, PairBucket))``; ``partition`` keeps corpus order when a
    bucket piece is put together from every partition's share.
    """

    tables: Broadcast  # (keep_prob, noise_cdf)
    layout: Broadcast  # BlockLayout
    seed: int
    epoch: int
    params: SgnsParams  # window and batch_words draw the pairs
    passes: int

    def __call__(self, index: int, sentences: Iterator[np.ndarray]) -> Iterator[tuple]:
        keep_prob, _ = self.tables.value
        layout: BlockLayout = self.layout.value
        buckets = bucket_pairs(
            sentences,
            self.params,
            keep_prob=keep_prob,
            rng=partition_rng(self.seed, self.epoch, index),
            block_of=layout.block_of,
            local=layout.local,
            blocks=layout.blocks,
        )
        for (i, j), bucket in buckets.items():
            for p in range(self.passes):
                piece = bucket.piece(p, self.passes)
                if piece.centres.size:
                    yield (i, j, p), (index, piece)


def shuffle_pairs(
    sentences: RDD,
    tables: Broadcast,
    layout: Broadcast,
    params: SgnsParams,
    *,
    seed: int,
    epoch: int,
    passes: int,
) -> RDD:
    """The epoch's bucket pieces in ``passes x B x B`` partitions (:func:`bucket_partition`)."""
    blocks = layout.value.blocks
    task = PairTask(tables, layout, seed, epoch, params, passes)
    return sentences.mapPartitionsWithIndex(task).partitionBy(
        passes * blocks * blocks, lambda key: bucket_partition(key, blocks)
    )


@dataclass(frozen=True)
class BucketTask:
    """Train one bucket piece on its two blocks; yields ``(i, j, syn0 rows, syn1neg rows,
    stats, first and last learning rate)`` (``mapPartitionsWithIndex`` over the pair shuffle)."""

    syn0_blocks: list[Broadcast]  # syn0's rows of block b, b = 0..B-1
    syn1neg_blocks: list[Broadcast]  # syn1neg's rows of block b
    layout: Broadcast  # BlockLayout
    seed: int
    epoch: int
    params: SgnsParams  # negative, alpha, min_alpha and loss_every train the pairs
    progress_start: float
    progress_stop: float
    step_pairs: int

    def __call__(self, index: int, records: Iterator[tuple]) -> Iterator[tuple]:
        started = time.perf_counter()
        layout: BlockLayout = self.layout.value
        blocks = layout.blocks
        i, r = index % blocks, (index // blocks) % blocks
        j = (i + r) % blocks
        pieces = sorted((value for _, value in records), key=lambda v: v[0])
        bucket = PairBucket.concat([piece for _, piece in pieces])
        # Copies: the broadcast values stay pristine for a retried task. A Python worker loads
        # a broadcast only when it reads it, so a task unpickles 2/B of the model, not all.
        rows0 = self.syn0_blocks[i].value.copy()
        rows1 = self.syn1neg_blocks[j].value.copy()
        span = self.progress_stop - self.progress_start
        stats = TrainStats()
        ready = time.perf_counter()
        if bucket.centres.size:
            stats = train_pairs(
                rows0,
                rows1,
                bucket,
                self.params,
                noise=layout.noise[j],
                rng=partition_rng(self.seed, self.epoch, index, 1),
                progress_start=self.progress_start,
                progress_per_word=span / bucket.raw_words if bucket.raw_words else 0.0,
                step_pairs=self.step_pairs,
            )
        trained = time.perf_counter()
        yield i, j, rows0, rows1, stats, (ready - started, trained - ready)


def train_sub_round(
    sc: SparkContext,
    pairs: RDD,
    syn0: np.ndarray,
    syn1neg: np.ndarray,
    layout: Broadcast,
    sub_round: int,
    task: dict,
) -> TrainStats:
    """Run sub-round ``sub_round`` (``p B + r``) of an epoch and write its blocks into the
    model in place. ``task`` holds :class:`BucketTask`'s remaining fields."""
    began = time.perf_counter()
    blocks = layout.value.blocks
    members = layout.value.words
    syn0_blocks = [sc.broadcast(syn0[m]) for m in members]
    syn1neg_blocks = [sc.broadcast(syn1neg[m]) for m in members]
    try:
        trained = pairs.mapPartitionsWithIndex(
            BucketTask(syn0_blocks, syn1neg_blocks, layout, **task)
        )
        first = sub_round * blocks
        results = sc.runJob(trained, lambda rows: rows, range(first, first + blocks))
    finally:
        for broadcast in syn0_blocks + syn1neg_blocks:
            broadcast.unpersist()
    stats = TrainStats()
    seen = set()
    setup, kernel = 0.0, []
    for i, j, rows0, rows1, part, (ready, trained) in results:
        setup = max(setup, ready)
        kernel.append(trained)
        seen.add(i)
        syn0[members[i]] = rows0
        syn1neg[members[j]] = rows1
        stats = stats + part
    if len(seen) != blocks:  # pragma: no cover - Spark returns one result per partition
        raise RuntimeError(f"sub-round {sub_round}: {len(seen)} of {blocks} blocks came back")
    log.debug(
        "sub-round %d: %.2f s; tasks: up to %.2f s reading pairs and blocks, %.2f-%.2f s training",
        sub_round, time.perf_counter() - began, setup, min(kernel), max(kernel),
    )  # fmt: skip
    return stats


def step_pairs_for(blocks: int) -> int:
    """Pairs per Hogwild step with ``blocks`` blocks: a bucket holds ``1/B`` of the vocabulary
    on each side, so its most frequent rows recur about ``B`` times as often per pair as in the
    whole corpus, and a step must be ``B`` times shorter to keep their summed stale updates
    as small (30% of wiki8, 4 blocks: 1,024 pairs per step diverged, 256 trained)."""
    return max(16, DEFAULT_STEP_PAIRS // blocks)


def train_epoch_by_blocks(
    spark: SparkSession,
    sentences: RDD,
    syn0: np.ndarray,
    syn1neg: np.ndarray,
    tables: Broadcast,
    layout: Broadcast,
    cfg: TrainConfig,
    epoch: int,
) -> TrainStats:
    """One epoch of block rotation (module docstring), the model updated in place."""
    sc = spark.sparkContext
    blocks, passes = layout.value.blocks, cfg.block_passes
    params = sgns_params(cfg)
    pairs = shuffle_pairs(
        sentences, tables, layout, params, seed=cfg.seed, epoch=epoch, passes=passes
    )
    sub_rounds = passes * blocks
    stats = TrainStats()
    for s in range(sub_rounds):
        start = (epoch - 1 + s / sub_rounds) / cfg.epochs
        task = dict(
            seed=cfg.seed,
            epoch=epoch,
            params=params,
            progress_start=start,
            progress_stop=start + 1 / (sub_rounds * cfg.epochs),
            step_pairs=step_pairs_for(blocks),
        )
        name = f"epoch {epoch}/{cfg.epochs}: train blocks (pass {s // blocks + 1}/{passes}, "
        name += f"rotation {s % blocks + 1}/{blocks})"
        with job_group(spark, name, logging.DEBUG):
            stats = stats + train_sub_round(sc, pairs, syn0, syn1neg, layout, s, task)
    return stats
