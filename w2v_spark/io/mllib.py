"""Spark MLlib's ``Word2VecModel`` directory layout, written and read without the JVM model.

What ``pyspark.ml.feature.Word2VecModel.save`` writes (Spark 3.x and 4.x), and what its
``load`` reads::

    PATH/metadata/part-00000   one line of JSON: class, timestamp, sparkVersion, uid,
                               paramMap, defaultParamMap
    PATH/data/*.parquet        word: string, vector: array<float>

MLlib's reader sets every ``paramMap`` entry on a ``Word2VecModel``, so only MLlib's own
param names may appear there (:data:`MLLIB_PARAMS`); anything else of ours goes beside, in
``PATH/w2v_spark.json``, which MLlib never opens. Our data file adds a ``count`` column (the
word's corpus count), which MLlib's reader ignores (it selects ``word`` and ``vector``).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Mapping

import numpy as np
import pyarrow.parquet as pq
import pyspark
from pyspark.sql import SparkSession

from w2v_spark.errors import UserError
from w2v_spark.io import paths, storage
from w2v_spark.io.model import vectors_table

#: The class MLlib's reader expects in the metadata.
MLLIB_CLASS = "org.apache.spark.ml.feature.Word2VecModel"
#: Params of MLlib's ``Word2VecModel`` (the only names its reader accepts in ``paramMap``).
MLLIB_PARAMS = (
    "inputCol",
    "outputCol",
    "vectorSize",
    "windowSize",
    "minCount",
    "maxIter",
    "stepSize",
    "seed",
    "numPartitions",
    "maxSentenceLength",
)
METADATA = "metadata"
DATA = "data"
#: Our settings and training metrics, beside MLlib's files.
EXTRA = "w2v_spark.json"
DATA_PART = "part-00000.snappy.parquet"


def metadata_json(uid: str, params: Mapping[str, object]) -> str:
    """MLlib's metadata line: ``params`` filtered to :data:`MLLIB_PARAMS`."""
    return json.dumps(
        {
            "class": MLLIB_CLASS,
            "timestamp": int(time.time() * 1000),
            "sparkVersion": pyspark.__version__,
            "uid": uid,
            # MLlib requires numPartitions > 0; ours 0 means "Spark's default parallelism".
            "paramMap": {
                k: v
                for k, v in params.items()
                if k in MLLIB_PARAMS and not (k == "numPartitions" and not v)
            },
            "defaultParamMap": {},
        }
    )


def write_mllib_model(
    spark: SparkSession,
    path: str,
    *,
    uid: str,
    params: Mapping[str, object],
    words: list[str],
    vectors: np.ndarray,
    counts: np.ndarray | None = None,
    extra: Mapping[str, object] | None = None,
    overwrite: bool = False,
) -> None:
    """Publish a model at ``path`` in MLlib's layout (atomically, ``_SUCCESS`` last).

    ``vectors`` is ``(V, dim)``, stored as float32; the rows keep the order of ``words``. The
    matrix is already on the driver: the data file is written there with pyarrow and copied.
    """
    matrix = np.ascontiguousarray(vectors, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[0] != len(words):
        raise UserError(f"{len(words)} words but vectors of shape {matrix.shape}")
    table = vectors_table(words, np.zeros(len(words)) if counts is None else counts, matrix)
    table = table.select(["word", "vector"] if counts is None else ["word", "vector", "count"])
    document = {"format_version": paths.FORMAT_VERSION, **(extra or {})}
    with (
        storage.publishing(spark, path, overwrite=overwrite) as tmp,
        tempfile.TemporaryDirectory() as local,
    ):
        part = os.path.join(local, DATA_PART)
        pq.write_table(table, part, compression="snappy")
        storage.copy_from_local(spark, part, storage.join(tmp, DATA, DATA_PART))
        storage.write_bytes(spark, storage.join(tmp, DATA, paths.SUCCESS), b"")
        meta = storage.join(tmp, METADATA)
        storage.write_text(
            spark, storage.join(meta, "part-00000"), metadata_json(uid, params) + "\n"
        )
        storage.write_bytes(spark, storage.join(meta, paths.SUCCESS), b"")
        storage.write_text(spark, storage.join(tmp, EXTRA), json.dumps(document, indent=2))


def read_mllib_model(
    spark: SparkSession, path: str
) -> tuple[dict, list[str], np.ndarray, np.ndarray | None, dict]:
    """``(metadata, words, vectors, counts, extra)`` of a model in MLlib's layout.

    Reads models MLlib saved as well as ours. ``counts`` is None for MLlib's (it keeps none);
    ``extra`` is ``{}`` without our ``w2v_spark.json``. MLlib writes its words in hash order;
    ours keep vocabulary order (most frequent first). The whole matrix comes to the driver
    (vocabulary x dim, the model's own size).
    """
    meta_dir = storage.join(path, METADATA)
    if not storage.exists(spark, meta_dir):
        raise UserError(f"{path} is not a saved Word2Vec model (no {METADATA}/ directory)")
    lines = spark.sparkContext.textFile(meta_dir, 1).take(1)
    metadata = json.loads(lines[0]) if lines else {}
    if metadata.get("class") not in (MLLIB_CLASS, None):
        raise UserError(f"{path} holds a {metadata.get('class')}, not a Word2VecModel")
    frame = spark.read.parquet(storage.join(path, DATA))
    columns = ["word", "vector"] + (["count"] if "count" in frame.columns else [])
    table = frame.select(*columns).toPandas()
    words = table["word"].tolist()
    dim = int(metadata.get("paramMap", {}).get("vectorSize", 0))
    if len(words):
        vectors = np.stack(table["vector"].to_numpy()).astype(np.float32, copy=False)
    else:
        vectors = np.zeros((0, dim), np.float32)
    counts = table["count"].to_numpy(np.int64) if "count" in table else None
    extra: dict = {}
    if storage.exists(spark, storage.join(path, EXTRA)):
        extra = json.loads(storage.read_text(spark, storage.join(path, EXTRA)))
        paths.check_format_version(extra, storage.join(path, EXTRA))
    return metadata, words, vectors, counts, extra
