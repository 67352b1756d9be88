"""The evaluation stage: any vectors in, ``report.json``, ``report.md`` and a picture out.

Vectors come from a finished model directory (``vectors.parquet``, plus its ``metrics.json``
and ``config.json`` for the training curve and settings) or from any word2vec text/binary
file, so vectors from other tools are judged by the same code.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile

from pyspark.sql import SparkSession

from w2v_spark.config import Config
from w2v_spark.errors import UserError
from w2v_spark.evaluate.report import build_report, check_coverage, write_report
from w2v_spark.io import paths, storage
from w2v_spark.io.model import read_metrics, read_vectors_parquet
from w2v_spark.io.outputs import owned_output
from w2v_spark.io.vectors import read_word2vec
from w2v_spark.session import job_group

log = logging.getLogger(__name__)


def read_external_vectors(
    spark: SparkSession, path: str, *, limit: int | None = None
) -> tuple[list[str], object]:
    """A word2vec file on any Hadoop path, read on the driver from a local copy.

    Messages and errors name ``path``, the user's file, not the temporary copy; ``limit``
    reads only the first rows (see :func:`~w2v_spark.io.vectors.read_word2vec`).
    """
    if storage.matches(spark, path) == 0:
        raise UserError(f"vectors file not found: {path}")
    with tempfile.TemporaryDirectory() as local:
        target = os.path.join(local, os.path.basename(path.rstrip("/")) or "vectors")
        storage.copy_to_local(spark, path, target)
        try:
            return read_word2vec(target, limit=limit, name=path)
        except UserError as exc:  # any message that still names the copy names the original
            raise UserError(str(exc).replace(target, path)) from None


def evaluate_outputs(
    spark: SparkSession,
    config: Config,
    *,
    out: str,
    model: str | None = None,
    vectors: str | None = None,
    overwrite: bool = False,
    limit: int | None = None,
) -> dict:
    """Evaluate a model directory or a word2vec file; publish the report under ``out``.

    ``limit`` reads only the first rows of the ``vectors`` file. A report that covers no
    analogy question and no word pair is an error (:func:`~w2v_spark.evaluate.report.check_coverage`)
    and is not published.
    """
    if bool(model) == bool(vectors):
        raise UserError("give exactly one of --model (a model directory) or --vectors (a file)")
    if limit is not None and not vectors:
        raise UserError("--limit applies to a --vectors file only")
    source = ("--model", model) if model else ("--vectors", vectors)
    with owned_output(spark, out, inputs=[source], job="evaluate"):
        return write_evaluation(
            spark, config, out=out, model=model, vectors=vectors, overwrite=overwrite, limit=limit
        )


def write_evaluation(
    spark: SparkSession,
    config: Config,
    *,
    out: str,
    model: str | None,
    vectors: str | None,
    overwrite: bool,
    limit: int | None = None,
) -> dict:
    storage.refuse_existing(spark, out, overwrite)
    metrics = settings = corpus = None
    counts = None
    with job_group(spark, "evaluate: load vectors"):
        if model:
            storage.require_complete(spark, model, "model")
            source = storage.join(model, paths.VECTORS)
            words, counts, matrix = read_vectors_parquet(spark, source)
            summary = read_metrics(spark, model)
            metrics = summary.get("epochs")
            corpus = summary.get("vocab")  # the corpus, its token count, the vocabulary size
            settings = json.loads(storage.read_text(spark, storage.join(model, paths.CONFIG)))
        else:
            words, matrix = read_external_vectors(spark, vectors, limit=limit)
            source = vectors
    log.info("evaluating %d vectors of dim %d from %s", len(words), matrix.shape[1], source)
    with job_group(spark, "evaluate: analogies and similarity"):
        report = build_report(
            words,
            counts,
            matrix,
            config.evaluate,
            vectors_path=source,
            metrics=metrics,
            settings=settings,
            corpus=corpus,
        )
    check_coverage(report, words, config.evaluate)
    with (
        storage.publishing(spark, out, overwrite=overwrite) as tmp,
        tempfile.TemporaryDirectory() as local,
    ):
        written = write_report(
            report, local, metrics=metrics, settings=settings, words=words, vectors=matrix
        )
        for path in written.values():
            storage.copy_from_local(spark, str(path), storage.join(tmp, os.path.basename(path)))
        storage.write_text(spark, storage.join(tmp, paths.CONFIG), config.to_json())
    total = report["analogy"]["total"]
    log.info(
        "analogies: %d/%d correct (%.1f%%) of %d questions; report at %s",
        total["correct"],
        total["covered"],
        100 * total["accuracy"],
        report["analogy"]["questions"],
        out,
    )
    return report
