"""The Spark ML API: :class:`SkipGramWord2Vec` (an Estimator) and :class:`SkipGramWord2VecModel`.

A drop-in for ``pyspark.ml.feature.Word2Vec`` in a Pipeline, running the jobs' own vocabulary
and training code; its saved models load with ``pyspark.ml.feature.Word2VecModel.load``.

May import every stage package; nothing imports it.
"""

from __future__ import annotations

from w2v_spark.ml.estimator import SkipGramWord2Vec
from w2v_spark.ml.model import SkipGramWord2VecModel

__all__ = ["SkipGramWord2Vec", "SkipGramWord2VecModel"]
