"""The whole pipeline in one Spark application: vocabulary, then training, then evaluation."""

from __future__ import annotations

import logging

from pyspark.sql import SparkSession

from w2v_spark import storage
from w2v_spark.config import Config
from w2v_spark.vocab import build_vocabulary

log = logging.getLogger(__name__)


def run_pipeline(
    spark: SparkSession, config: Config, *, corpus: str, out: str, overwrite: bool = False
) -> None:
    """``corpus`` -> ``out/vocab``, ``out/model``, ``out/report``.

    A stage whose output is already complete is kept (so a rerun after a crash goes on where
    it stopped) unless ``overwrite`` is set.
    """
    vocab_dir = storage.join(out, "vocab")
    if overwrite or not storage.is_complete(spark, vocab_dir):
        build_vocabulary(spark, config, corpus=corpus, out=vocab_dir, overwrite=True)
    else:
        log.info("vocabulary already complete at %s: kept", vocab_dir)
