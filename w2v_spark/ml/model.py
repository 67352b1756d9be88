"""``SkipGramWord2VecModel``: trained vectors as a Spark ML Transformer, saved in MLlib's layout.

The model holds the vocabulary and the ``(V, vector_size)`` float32 vectors on the driver, as
MLlib's ``Word2VecModel`` does, and behaves like it: :meth:`getVectors`, :meth:`findSynonyms`,
:meth:`findSynonymsArray`, :meth:`transform` (a row's vector is the sum of its known words'
vectors divided by the row's length, zeros for a row with none) and ``write().save(path)``.
A saved model is a ``pyspark.ml.feature.Word2VecModel`` directory
(:mod:`w2v_spark.io.mllib`): ``Word2VecModel.load(path)`` serves it in any Spark ML pipeline,
and :meth:`SkipGramWord2VecModel.load` reads MLlib's models too.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.ml import Model
from pyspark.ml.functions import array_to_vector
from pyspark.ml.linalg import DenseVector, Vector, Vectors
from pyspark.ml.util import MLReadable, MLReader, MLWritable, MLWriter
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from w2v_spark.config import EvaluateConfig
from w2v_spark.evaluate.report import build_report
from w2v_spark.evaluate.word_vectors import WordVectors
from w2v_spark.io.mllib import read_mllib_model, write_mllib_model
from w2v_spark.ml.params import SkipGramParams

log = logging.getLogger(__name__)


def mean_vectors(sentences: pa.Array, words: Sequence[str], vectors: np.ndarray) -> np.ndarray:
    """``(rows, dim)`` float64: per row of ``sentences`` (``list<string>``), the sum of its
    known words' vectors divided by its length (unknown words count in the length, as in
    MLlib); zeros for an empty or null row. Vectorised with Arrow's hash lookup."""
    sentences = sentences.cast(pa.list_(pa.string()))
    out = np.zeros((len(sentences), vectors.shape[1]), dtype=np.float64)
    if len(sentences) == 0:
        return out
    found = pc.index_in(pc.list_flatten(sentences), value_set=pa.array(words, pa.string()))
    known = pc.is_valid(found).to_numpy(zero_copy_only=False)
    owner = pc.list_parent_indices(sentences).to_numpy()[known]
    rows = found.to_numpy(zero_copy_only=False)[known].astype(np.intp)
    np.add.at(out, owner, vectors[rows].astype(np.float64))
    lengths = pc.fill_null(pc.list_value_length(sentences), 0).to_numpy().astype(np.float64)
    out /= np.maximum(lengths, 1.0)[:, None]
    return out


class SkipGramWord2VecModel(Model, SkipGramParams, MLReadable, MLWritable):
    """Word vectors from :class:`~w2v_spark.ml.estimator.SkipGramWord2Vec` or a saved model.

    Parameters
    ----------
    words : sequence of str
        The vocabulary, in row order (ours: most frequent first).
    vectors : numpy.ndarray
        ``(len(words), vector_size)``, kept as float32.
    counts : numpy.ndarray, optional
        Corpus counts of the words (None for a model MLlib trained).
    training : dict, optional
        What the fit recorded: per-epoch metrics, the corpus summary, the config.

    Attributes
    ----------
    wv : WordVectors
        The vectors for Python queries (unit vectors computed once).
    """

    def __init__(
        self,
        words: Sequence[str] = (),
        vectors: np.ndarray | None = None,
        *,
        counts: np.ndarray | None = None,
        training: dict | None = None,
    ) -> None:
        super().__init__()
        matrix = np.zeros((len(words), 0), np.float32) if vectors is None else vectors
        self.wv = WordVectors(list(words), np.asarray(matrix, dtype=np.float32), counts)
        self.training = training or {}
        if self.wv.vectors.shape[1]:
            self._set(vectorSize=int(self.wv.vectors.shape[1]))

    # -- MLlib's Word2VecModel API ------------------------------------------------------------

    def getVectors(self) -> DataFrame:
        """``word: string``, ``vector: vector`` (``pyspark.ml.linalg``), one row per word."""
        spark = SparkSession.active()
        rows = [
            (word, Vectors.dense(row.astype(np.float64)))
            for word, row in zip(self.wv.words, self.wv.vectors, strict=True)
        ]
        return spark.createDataFrame(rows, "word string, vector vector")

    def findSynonymsArray(
        self, word: str | Vector | np.ndarray, num: int
    ) -> list[tuple[str, float]]:
        """The ``num`` words closest to ``word`` (a word, itself left out, or a vector) by
        cosine similarity, most similar first, as MLlib's ``findSynonymsArray``."""
        if isinstance(word, str):
            return self.wv.most_similar([word], topn=num)
        query = word.toArray() if isinstance(word, DenseVector | Vector) else np.asarray(word)
        return self.wv.most_similar_to_vector(query, topn=num)

    def findSynonyms(self, word: str | Vector | np.ndarray, num: int) -> DataFrame:
        """:meth:`findSynonymsArray` as a DataFrame ``word: string, similarity: double``."""
        rows = [(w, float(s)) for w, s in self.findSynonymsArray(word, num)]
        return SparkSession.active().createDataFrame(rows, "word string, similarity double")

    def _transform(self, dataset: DataFrame) -> DataFrame:
        """Add ``outputCol``: each row's mean word vector (see :func:`mean_vectors`)."""
        spark = dataset.sparkSession
        table = spark.sparkContext.broadcast((self.wv.words, self.wv.vectors))
        dim = self.wv.vectors.shape[1]

        @F.pandas_udf("array<double>")
        def mean_of(sentences: pd.Series) -> pd.Series:
            words, vectors = table.value
            arrow = pa.array(sentences, type=pa.list_(pa.string()), from_pandas=True)
            means = mean_vectors(arrow, words, vectors) if dim else np.zeros((len(arrow), 0))
            return pd.Series(list(means))

        column = mean_of(F.col(self.getInputCol()))
        return dataset.withColumn(self.getOutputCol(), array_to_vector(column))

    # -- ours -----------------------------------------------------------------------------------

    def evaluate(self, cfg: EvaluateConfig | None = None) -> dict:
        """The evaluation job's report dict (analogies, similarity, examples) of these vectors."""
        return build_report(
            self.wv.words,
            self.wv.counts,
            self.wv.vectors,
            cfg or EvaluateConfig(),
            vectors_path="(in memory)",
            metrics=self.training.get("epochs"),
            settings=self.training.get("config"),
            corpus=self.training.get("vocab"),
        )

    def write(self) -> MLWriter:
        return _ModelWriter(self)

    @classmethod
    def read(cls) -> MLReader:
        return _ModelReader()


class _ModelWriter(MLWriter):
    def __init__(self, model: SkipGramWord2VecModel) -> None:
        super().__init__()
        self.model = model

    def saveImpl(self, path: str) -> None:
        model = self.model
        params = {p.name: model.getOrDefault(p) for p in model.params if model.isDefined(p)}
        write_mllib_model(
            self.sparkSession,
            path,
            uid=model.uid,
            params=params,
            words=model.wv.words,
            vectors=model.wv.vectors,
            counts=model.wv.counts,
            extra={"params": params, "training": model.training},
            overwrite=self.shouldOverwrite,
        )


class _ModelReader(MLReader):
    def load(self, path: str) -> SkipGramWord2VecModel:
        metadata, words, vectors, counts, extra = read_mllib_model(self.sparkSession, path)
        model = SkipGramWord2VecModel(words, vectors, counts=counts, training=extra.get("training"))
        params = {**metadata.get("paramMap", {}), **extra.get("params", {})}
        known = {p.name for p in model.params}
        model._set(**{k: v for k, v in params.items() if k in known})
        if "uid" in metadata:
            model._resetUid(metadata["uid"])
        return model
