"""The encoded corpus as NumPy sentences, spread over training partitions of equal token counts."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
from pyspark import RDD, StorageLevel
from pyspark.sql import SparkSession

from w2v_spark.io import paths, storage

log = logging.getLogger(__name__)

PACKED_SCHEMA = "line long, chunk int, n int, data binary"


def pack_ids(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """``(line, chunk, ids)`` -> ``(line, chunk, n, data)`` with ``data`` the ids as int32 bytes.

    Bytes cross from the JVM to Python workers without building a Python int per token.
    """
    for batch in batches:
        ids = batch.column("ids")
        offsets = ids.offsets.to_numpy()
        values = ids.values.to_numpy(zero_copy_only=False).astype("<i4", copy=False)
        data = [values[a:b].tobytes() for a, b in itertools.pairwise(offsets)]
        yield pa.RecordBatch.from_arrays(
            [
                batch.column("line"),
                batch.column("chunk"),
                pa.array(np.diff(offsets).astype(np.int32)),
                pa.array(data, pa.binary()),
            ],
            names=["line", "chunk", "n", "data"],
        )


# A task's fixed costs (both matrices from the broadcast, touched row blocks sent back) are
# paid per partition: below this many tokens per partition they outweigh its training.
TOKENS_PER_PARTITION_ADVISED = 10_000
# More partitions than one per this many tokens are capped, not refused (train.num_partitions
# = 1000 on the ~430k-token sample trained over 45x slower than 2).
TOKENS_PER_PARTITION_MIN = 1_000


def resolve_num_partitions(requested: int, default: int, tokens: int | None) -> tuple[int, str]:
    """The number of training partitions, and a one-line warning ("" when there is none).

    Parameters
    ----------
    requested : int
        ``train.num_partitions`` (0: Spark's default parallelism).
    default : int
        Spark's default parallelism.
    tokens : int or None
        Tokens in the encoded corpus (the vocabulary's ``retained_tokens``); None when unknown,
        and then ``requested`` (or ``default``) is used as it is.

    Returns
    -------
    (int, str)
        Never more than one partition per ``TOKENS_PER_PARTITION_MIN`` tokens (at least 1);
        a warning naming ``train.num_partitions`` when the partitions are capped or hold fewer
        than ``TOKENS_PER_PARTITION_ADVISED`` tokens each, with the number to set instead.
    """
    wanted = requested or default
    if not tokens or wanted <= 1:
        return max(wanted, 1), ""
    setting = (
        f"train.num_partitions={requested}"
        if requested
        else f"train.num_partitions=0 (Spark's default parallelism, {default})"
    )
    advised = max(1, tokens // TOKENS_PER_PARTITION_ADVISED)
    cap = max(1, tokens // TOKENS_PER_PARTITION_MIN)
    if wanted > cap:
        return cap, (
            f"{setting} would leave {tokens // wanted:,} tokens per partition of the "
            f"{tokens:,}: capped at {cap} partitions ({TOKENS_PER_PARTITION_MIN:,} tokens "
            f"each); set train.num_partitions={advised} or fewer for speed"
        )
    per_partition = tokens // wanted
    if per_partition < TOKENS_PER_PARTITION_ADVISED:
        return wanted, (
            f"{setting} leaves {per_partition:,} tokens per partition of the {tokens:,} "
            f"(under {TOKENS_PER_PARTITION_ADVISED:,}): each task costs more than it trains; "
            f"set train.num_partitions={advised} or fewer for speed"
        )
    return wanted, ""


def target_partition(offset: int, n: int, total: int, num_partitions: int) -> int:
    """The partition of a sentence whose tokens start at global ``offset``: by its midpoint."""
    return min(num_partitions - 1, (2 * offset + n) * num_partitions // (2 * total))


def load_sentences(
    spark: SparkSession, vocab_dir: str, num_partitions: int
) -> tuple[RDD, list[int]]:
    """A cached RDD of int32 id arrays in ``num_partitions`` partitions of balanced token counts.

    Sentences keep a deterministic order inside each partition (corpus order), so a seed
    gives the same run every time. Also returns the token count of each partition. Only
    per-input-partition and per-training-partition totals reach the driver.
    """
    encoded = spark.read.parquet(storage.join(vocab_dir, paths.CORPUS))
    packed = (
        encoded.select("line", "chunk", "ids")
        .mapInArrow(pack_ids, PACKED_SCHEMA)
        .rdd.map(lambda r: ((r.line, r.chunk), r.n, r.data))
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    per_input = packed.mapPartitionsWithIndex(
        lambda i, rows: [(i, sum(n for _, n, _ in rows))]
    ).collect()
    starts, total = {}, 0
    for index, tokens in sorted(per_input):
        starts[index] = total
        total += tokens

    def assign(index: int, rows: Iterator) -> Iterator:
        offset = starts[index]
        for key, n, data in rows:
            yield target_partition(offset, n, total, num_partitions), (key, data)
            offset += n

    def decode(rows: Iterator) -> Iterator[np.ndarray]:
        for _, data in sorted((kv[1] for kv in rows), key=lambda kd: kd[0]):
            yield np.frombuffer(data, dtype="<i4").astype(np.int32)

    sentences = (
        packed.mapPartitionsWithIndex(assign)
        .partitionBy(num_partitions, lambda target: target)
        .mapPartitions(decode, preservesPartitioning=True)
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    tokens = sentences.mapPartitionsWithIndex(
        lambda i, s: [(i, int(sum(len(x) for x in s)))]
    ).collect()
    packed.unpersist()
    counts = [n for _, n in sorted(tokens)]
    log.info(
        "%d tokens in %d partitions (smallest %d, largest %d)",
        total,
        num_partitions,
        min(counts),
        max(counts),
    )
    return sentences, counts
