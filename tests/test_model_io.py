"""The model's published files: vectors.parquet as Spark reads it, and logs naming the
published paths rather than the local temporary copies."""

from __future__ import annotations

import logging
import tempfile

import numpy as np

from w2v_spark.io.model import read_vectors_parquet, write_vectors_parquet, write_word2vec_files
from w2v_spark.io.vectors import read_word2vec

WORDS = ["the", "of", "france", "paris", "naïve"]  # vocabulary order: count, then word
COUNTS = np.array([50, 40, 7, 7, 3])


def matrix(rows: int = 5, dim: int = 4) -> np.ndarray:
    return np.random.default_rng(0).standard_normal((rows, dim)).astype(np.float32)


def test_vectors_parquet_is_one_file_spark_reads_in_vocabulary_order(spark, tmp_path):
    vectors = matrix()
    path = tmp_path / "model" / "vectors.parquet"
    write_vectors_parquet(spark, str(path), WORDS, COUNTS, vectors)
    assert sorted(p.name for p in path.iterdir()) == ["_SUCCESS", "part-00000.snappy.parquet"]
    frame = spark.read.parquet(str(path))
    assert frame.schema.simpleString() == "struct<word:string,count:bigint,vector:array<float>>"
    assert [r["word"] for r in frame.collect()] == WORDS  # file order is vocabulary order
    words, counts, back = read_vectors_parquet(spark, str(path))
    assert words == WORDS and counts.tolist() == COUNTS.tolist()
    assert back.dtype == np.float32 and np.array_equal(back, vectors)


def test_word2vec_files_are_logged_at_their_published_paths(spark, tmp_path, caplog):
    model = tmp_path / "model"
    vectors = matrix()
    with caplog.at_level(logging.DEBUG, logger="w2v_spark"):
        write_word2vec_files(spark, str(model), WORDS, vectors)
    info = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert info == [
        f"published 5 x 4 vectors (word2vec binary format) at {model / 'vectors.bin'}",
        f"published 5 x 4 vectors (word2vec text format) at {model / 'vectors.txt'}",
    ]
    local = tempfile.gettempdir()
    assert not [m for m in info if m.rstrip("/").startswith(local) or f" {local}/tmp" in m]
    words, back = read_word2vec(model / "vectors.bin")
    assert words == WORDS and np.array_equal(back, vectors)
