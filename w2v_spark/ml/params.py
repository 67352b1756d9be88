"""The params of :class:`~w2v_spark.ml.estimator.SkipGramWord2Vec` and its model.

MLlib's names where MLlib's ``Word2Vec`` has the param; the others follow our config keys in
camelCase. Every default is the config's (:class:`~w2v_spark.config.TrainConfig`,
:class:`~w2v_spark.config.VocabConfig`), so the Estimator and the jobs train alike.
"""

from __future__ import annotations

from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.param.shared import HasInputCol, HasMaxIter, HasOutputCol, HasSeed, HasStepSize

from w2v_spark.config import TrainConfig, VocabConfig

_TRAIN = TrainConfig()
_VOCAB = VocabConfig()


class SkipGramParams(HasInputCol, HasOutputCol, HasMaxIter, HasStepSize, HasSeed):
    """Params shared by the Estimator and its model (as MLlib's ``_Word2VecParams``)."""

    vectorSize = Param(
        Params._dummy(),
        "vectorSize",
        "dimension of the vectors (config train.vector_size)",
        typeConverter=TypeConverters.toInt,
    )
    windowSize = Param(
        Params._dummy(),
        "windowSize",
        "maximum distance between centre and context word (train.window)",
        typeConverter=TypeConverters.toInt,
    )
    minCount = Param(
        Params._dummy(),
        "minCount",
        "words seen fewer times are dropped (vocab.min_count)",
        typeConverter=TypeConverters.toInt,
    )
    maxVocabSize = Param(
        Params._dummy(),
        "maxVocabSize",
        "keep at most this many most frequent words, 0 = no cap (vocab.max_vocab_size)",
        typeConverter=TypeConverters.toInt,
    )
    maxSentenceLength = Param(
        Params._dummy(),
        "maxSentenceLength",
        "rows longer than this are cut into sentences of this length (vocab.max_sentence_length)",
        typeConverter=TypeConverters.toInt,
    )
    negative = Param(
        Params._dummy(),
        "negative",
        "noise words per positive pair (train.negative)",
        typeConverter=TypeConverters.toInt,
    )
    nsExponent = Param(
        Params._dummy(),
        "nsExponent",
        "noise distribution count**nsExponent (train.ns_exponent)",
        typeConverter=TypeConverters.toFloat,
    )
    sample = Param(
        Params._dummy(),
        "sample",
        "subsampling threshold of frequent words (train.sample)",
        typeConverter=TypeConverters.toFloat,
    )
    minStepSize = Param(
        Params._dummy(),
        "minStepSize",
        "learning rate at the end of training, decayed linearly from stepSize (train.min_alpha)",
        typeConverter=TypeConverters.toFloat,
    )
    numPartitions = Param(
        Params._dummy(),
        "numPartitions",
        "training partitions, 0 = Spark's default parallelism (train.num_partitions)",
        typeConverter=TypeConverters.toInt,
    )
    replicas = Param(
        Params._dummy(),
        "replicas",
        "who holds the weights: auto, executor, blocks or partition (train.replicas)",
        typeConverter=TypeConverters.toString,
    )
    workDir = Param(
        Params._dummy(),
        "workDir",
        "where fit() writes the vocabulary and model it trains through (any Hadoop path, "
        "deleted afterwards); empty = a local temporary directory, local master only",
        typeConverter=TypeConverters.toString,
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._setDefault(
            vectorSize=_TRAIN.vector_size,
            windowSize=_TRAIN.window,
            minCount=_VOCAB.min_count,
            maxVocabSize=_VOCAB.max_vocab_size,
            maxSentenceLength=_VOCAB.max_sentence_length,
            negative=_TRAIN.negative,
            nsExponent=_TRAIN.ns_exponent,
            sample=_TRAIN.sample,
            stepSize=_TRAIN.alpha,
            minStepSize=_TRAIN.min_alpha,
            maxIter=_TRAIN.epochs,
            seed=_TRAIN.seed,
            numPartitions=_TRAIN.num_partitions,
            replicas=_TRAIN.replicas,
            workDir="",
        )

    def getVectorSize(self) -> int:
        return self.getOrDefault(self.vectorSize)

    def setInputCol(self, value: str):
        """The ``array<string>`` column of tokens."""
        return self._set(inputCol=value)

    def setOutputCol(self, value: str):
        """The column ``transform`` adds: each row's mean word vector."""
        return self._set(outputCol=value)
