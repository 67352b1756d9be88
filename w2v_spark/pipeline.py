"""The whole pipeline in one Spark application: vocabulary, then training, then evaluation."""

from __future__ import annotations

import logging

from pyspark.sql import SparkSession

from w2v_spark.config import Config
from w2v_spark.evaluate.stage import evaluate_outputs
from w2v_spark.io import storage
from w2v_spark.io.outputs import check_no_overlap
from w2v_spark.train.stage import train_model
from w2v_spark.vocab.stage import build_vocabulary

log = logging.getLogger(__name__)


def run_pipeline(
    spark: SparkSession, config: Config, *, corpus: str, out: str, overwrite: bool = False
) -> None:
    """``corpus`` -> ``out/vocab``, ``out/model``, ``out/report``.

    A stage whose output is already complete is kept, and an unfinished training run resumes
    from its last checkpoint, so a rerun after a crash goes on where it stopped; ``overwrite``
    starts every stage afresh. The report is always rewritten.
    """
    check_no_overlap(spark, out, [("--corpus", corpus)])
    vocab_dir, model_dir, report_dir = (storage.join(out, d) for d in ("vocab", "model", "report"))
    if overwrite or not storage.is_complete(spark, vocab_dir):
        build_vocabulary(spark, config, corpus=corpus, out=vocab_dir, overwrite=True)
    else:
        log.info("vocabulary already complete at %s: kept", vocab_dir)
    if overwrite or not storage.is_complete(spark, model_dir):
        # An unfinished model (a crashed run) resumes from its last checkpoint.
        train_model(
            spark,
            config,
            vocab_dir=vocab_dir,
            out=model_dir,
            resume=not overwrite,
            overwrite=overwrite,
        )
    else:
        log.info("model already complete at %s: kept", model_dir)
    evaluate_outputs(spark, config, model=model_dir, out=report_dir, overwrite=True)
