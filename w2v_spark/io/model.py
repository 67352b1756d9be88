"""The trained model's published files: vectors as Parquet and in the word2vec C formats.

``MODEL/vectors.parquet``: ``word: string``, ``count: long``, ``vector: array<float>``, one
file, rows in vocabulary order (most frequent first). ``MODEL/vectors.bin`` and
``MODEL/vectors.txt``: the word2vec C formats, same order, which gensim's
``KeyedVectors.load_word2vec_format`` reads.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from w2v_spark.io import paths, storage
from w2v_spark.io.vectors import write_word2vec

log = logging.getLogger(__name__)

VECTORS_SCHEMA = "word string, count long, vector array<float>"
#: The one data file of ``vectors.parquet``.
PARQUET_PART = "part-00000.snappy.parquet"


def vectors_table(words: list[str], counts: np.ndarray, vectors: np.ndarray) -> pa.Table:
    """``word: string``, ``count: int64``, ``vector: list<float32>`` (:data:`VECTORS_SCHEMA`)."""
    matrix = np.ascontiguousarray(vectors, dtype=np.float32)
    rows, dim = matrix.shape
    large = rows * dim >= 2**31  # list offsets are int32 up to 2^31 values
    offsets = pa.array(np.arange(rows + 1, dtype=np.int64 if large else np.int32) * dim)
    array_type = pa.LargeListArray if large else pa.ListArray
    return pa.table(
        {
            "word": pa.array(words, pa.string()),
            "count": pa.array(np.asarray(counts, dtype=np.int64)),
            "vector": array_type.from_arrays(offsets, pa.array(matrix.reshape(-1))),
        }
    )


def write_vectors_parquet(
    spark: SparkSession, path: str, words: list[str], counts: np.ndarray, vectors: np.ndarray
) -> None:
    """Write ``vectors.parquet`` as one file in vocabulary order, atomically.

    The matrix is on the driver already: the file is written there with pyarrow and copied
    into place. (Through a Spark job the whole matrix would travel inside one task, which Spark
    warns about for every model: 3.5 MB on the bundled sample, ~30 MB on wiki8.)
    """
    table = vectors_table(words, counts, vectors)
    with (
        storage.publishing(spark, path, overwrite=True) as tmp,
        tempfile.TemporaryDirectory() as local,
    ):
        part = os.path.join(local, PARQUET_PART)
        pq.write_table(table, part, compression="snappy")
        storage.copy_from_local(spark, part, storage.join(tmp, PARQUET_PART))


def write_word2vec_files(
    spark: SparkSession, model_dir: str, words: list[str], vectors: np.ndarray
) -> None:
    """``vectors.bin`` and ``vectors.txt`` beside the Parquet vectors, each published atomically.

    Each file is written to a local temporary directory first; the log names the published path.
    """
    with tempfile.TemporaryDirectory() as local:
        for name, binary in ((paths.VECTORS_BIN, True), (paths.VECTORS_TXT, False)):
            path = os.path.join(local, name)
            write_word2vec(path, words, vectors, binary=binary)
            target = storage.join(model_dir, name)
            storage.publish_file(spark, target, local=path)
            log.info(
                "published %d x %d vectors (word2vec %s format) at %s",
                len(words),
                vectors.shape[1],
                "binary" if binary else "text",
                target,
            )


def read_vectors_parquet(
    spark: SparkSession, path: str
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """``(words, counts, vectors)`` of a ``vectors.parquet``, most frequent first.

    The whole matrix comes to the driver: vocabulary x dim, the model's own size.
    """
    frame = (
        spark.read.parquet(path)
        .select("word", "count", "vector")
        .orderBy(F.col("count").desc(), F.col("word"))
        .toPandas()
    )
    vectors = np.stack(frame["vector"].to_numpy()).astype(np.float32, copy=False)
    return frame["word"].tolist(), frame["count"].to_numpy(np.int64), vectors


def read_metrics(spark: SparkSession, model_dir: str) -> dict:
    """A model's ``metrics.json`` (epochs, corpus summary, settings), its format version checked."""
    path = storage.join(model_dir, paths.METRICS)
    metrics = json.loads(storage.read_text(spark, path))
    paths.check_format_version(metrics, path)
    return metrics
