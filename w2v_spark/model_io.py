"""The trained model's published files: vectors as Parquet and in the word2vec C formats.

``MODEL/vectors.parquet``: ``word: string``, ``count: long``, ``vector: array<float>``, one
file, rows in vocabulary order (most frequent first). ``MODEL/vectors.bin`` and
``MODEL/vectors.txt``: the word2vec C formats, same order, which gensim's
``KeyedVectors.load_word2vec_format`` reads.
"""

from __future__ import annotations

import logging
import os
import tempfile
import uuid

import numpy as np
import pandas as pd
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from w2v_spark import storage
from w2v_spark.vectors_io import write_word2vec

log = logging.getLogger(__name__)

VECTORS_SCHEMA = "word string, count long, vector array<float>"


def publish_bytes(spark: SparkSession, path: str, data: bytes) -> None:
    """Write a file under a temporary name, then rename it into place."""
    tmp = f"{path}.tmp-{uuid.uuid4().hex[:8]}"
    storage.write_bytes(spark, tmp, data)
    storage.delete(spark, path)
    storage.rename(spark, tmp, path)


def publish_local_file(spark: SparkSession, local: str, path: str) -> None:
    tmp = f"{path}.tmp-{uuid.uuid4().hex[:8]}"
    storage.copy_from_local(spark, local, tmp)
    storage.delete(spark, path)
    storage.rename(spark, tmp, path)


def write_vectors_parquet(
    spark: SparkSession, path: str, words: list[str], counts: np.ndarray, vectors: np.ndarray
) -> None:
    """Write ``vectors.parquet`` as one file in vocabulary order, atomically."""
    frame = pd.DataFrame(
        {"word": words, "count": np.asarray(counts, dtype=np.int64), "vector": list(vectors)}
    )
    with storage.publishing(spark, path, overwrite=True) as tmp:
        spark.createDataFrame(frame, VECTORS_SCHEMA).coalesce(1).write.parquet(tmp)


def write_word2vec_files(
    spark: SparkSession, model_dir: str, words: list[str], vectors: np.ndarray
) -> None:
    """``vectors.bin`` and ``vectors.txt`` beside the Parquet vectors, each published atomically."""
    with tempfile.TemporaryDirectory() as local:
        for name, binary in (("vectors.bin", True), ("vectors.txt", False)):
            path = os.path.join(local, name)
            write_word2vec(path, words, vectors, binary=binary)
            publish_local_file(spark, path, storage.join(model_dir, name))


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
