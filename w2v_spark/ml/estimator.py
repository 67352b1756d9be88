"""``SkipGramWord2Vec``: the training stage as a ``pyspark.ml`` Estimator.

It takes what ``pyspark.ml.feature.Word2Vec`` takes (an ``array<string>`` column, e.g. the
output of ``RegexTokenizer`` or ``StopWordsRemover``) and runs the same code as the jobs: the
vocabulary stage's :func:`~w2v_spark.vocab.stage.write_vocabulary` on the column's sentences,
then :func:`~w2v_spark.train.stage.train_model`, through a work directory that is deleted
afterwards. Param names follow MLlib's where MLlib has the param (``vectorSize``,
``windowSize``, ``minCount``, ``maxIter``, ``stepSize``, ``seed``, ``numPartitions``,
``maxSentenceLength``); the others are ours, named after the config keys. Every default is the
config's (:class:`~w2v_spark.config.TrainConfig`), not MLlib's: 5 epochs, not 1.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import uuid
from collections.abc import Iterator

from pyspark import keyword_only
from pyspark.ml import Estimator
from pyspark.sql import DataFrame, SparkSession

from w2v_spark.config import Config, build_config
from w2v_spark.errors import UserError
from w2v_spark.io import storage
from w2v_spark.ml.model import SkipGramWord2VecModel
from w2v_spark.ml.params import _TRAIN, _VOCAB, SkipGramParams
from w2v_spark.train.replicas import is_local_master
from w2v_spark.train.stage import train_model
from w2v_spark.vocab.stage import token_array_chunks, write_vocabulary

log = logging.getLogger(__name__)


class SkipGramWord2Vec(Estimator, SkipGramParams):
    """Skip-gram with negative sampling, trained by w2v-spark, as a Spark ML Estimator.

    >>> w2v = SkipGramWord2Vec(inputCol="words", outputCol="features", vectorSize=50)
    >>> model = w2v.fit(df)                # a SkipGramWord2VecModel
    >>> model.findSynonymsArray("france", 5)
    """

    @keyword_only
    def __init__(
        self,
        *,
        inputCol: str | None = None,
        outputCol: str | None = None,
        vectorSize: int = _TRAIN.vector_size,
        windowSize: int = _TRAIN.window,
        minCount: int = _VOCAB.min_count,
        maxVocabSize: int = _VOCAB.max_vocab_size,
        maxSentenceLength: int = _VOCAB.max_sentence_length,
        negative: int = _TRAIN.negative,
        nsExponent: float = _TRAIN.ns_exponent,
        sample: float = _TRAIN.sample,
        stepSize: float = _TRAIN.alpha,
        minStepSize: float = _TRAIN.min_alpha,
        maxIter: int = _TRAIN.epochs,
        seed: int = _TRAIN.seed,
        numPartitions: int = _TRAIN.num_partitions,
        replicas: str = _TRAIN.replicas,
        workDir: str = "",
    ) -> None:
        super().__init__()
        self._set(**self._input_kwargs)

    @keyword_only
    def setParams(self, **kwargs) -> SkipGramWord2Vec:
        """Set any of the constructor's params by name."""
        return self._set(**self._input_kwargs)

    def config(self) -> Config:
        """The :class:`~w2v_spark.config.Config` these params stand for (validated)."""
        get = self.getOrDefault
        return build_config(
            {
                "vocab": {
                    "min_count": get(self.minCount),
                    "max_vocab_size": get(self.maxVocabSize),
                    "max_sentence_length": get(self.maxSentenceLength),
                },
                "train": {
                    "vector_size": get(self.vectorSize),
                    "window": get(self.windowSize),
                    "negative": get(self.negative),
                    "ns_exponent": get(self.nsExponent),
                    "sample": get(self.sample),
                    "alpha": get(self.stepSize),
                    "min_alpha": get(self.minStepSize),
                    "epochs": get(self.maxIter),
                    "seed": get(self.seed),
                    "num_partitions": get(self.numPartitions),
                    "replicas": get(self.replicas),
                    # The work directory is deleted after fit: nothing to resume from.
                    "checkpoint": False,
                },
            }
        )

    def _fit(self, dataset: DataFrame) -> SkipGramWord2VecModel:
        if not self.isDefined(self.inputCol):
            raise UserError("SkipGramWord2Vec: set inputCol (an array<string> column)")
        column = self.getInputCol()
        kind = dataset.schema[column].dataType.simpleString()
        if kind != "array<string>":
            raise UserError(f"SkipGramWord2Vec: column {column} is {kind}, not array<string>")
        spark = dataset.sparkSession
        config = self.config()
        source = f"DataFrame column {column}"
        with _work_dir(spark, self.getOrDefault(self.workDir)) as work:
            vocab_dir, model_dir = storage.join(work, "vocab"), storage.join(work, "model")
            chunks = token_array_chunks(dataset, column, config.vocab)
            summary = write_vocabulary(
                spark, config, chunks, corpus=source, out=vocab_dir, overwrite=False
            )
            result = train_model(spark, config, vocab_dir=vocab_dir, out=model_dir)
        model = SkipGramWord2VecModel(
            result.words,
            result.syn0,
            counts=result.counts,
            training={
                "epochs": result.metrics,
                "vocab": {
                    "corpus": source,
                    "total_tokens": summary.total_tokens,
                    "retained_tokens": summary.retained_tokens,
                    "vocab_size": summary.vocab_size,
                },
                "config": config.to_dict(),
            },
        )
        self._copyValues(model)
        return model


@contextlib.contextmanager
def _work_dir(spark: SparkSession, configured: str) -> Iterator[str]:
    """A fresh directory for one fit: under ``configured``, or a local temporary one."""
    if configured:
        work = storage.join(configured, f"fit-{uuid.uuid4().hex[:12]}")
        try:
            yield work
        finally:
            storage.delete(spark, work)
        return
    if not is_local_master(spark.sparkContext.master):
        raise UserError(
            "SkipGramWord2Vec on a cluster needs workDir: a path every executor can reach "
            "(hdfs://, s3a://, a shared mount) for the vocabulary and model fit() trains through"
        )
    with tempfile.TemporaryDirectory(prefix="w2v-spark-fit-") as local:
        yield local
