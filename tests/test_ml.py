"""The Spark ML API: an Estimator in a Pipeline, a model MLlib loads, MLlib's models read back."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from pyspark.ml import Pipeline
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.feature import RegexTokenizer, StopWordsRemover, Word2Vec, Word2VecModel

from tests.conftest import SAMPLE
from tests.planted import planted_corpus
from w2v_spark.config import build_config
from w2v_spark.errors import UserError
from w2v_spark.ml import SkipGramWord2Vec, SkipGramWord2VecModel
from w2v_spark.train.stage import train_model
from w2v_spark.vocab.stage import build_vocabulary


@pytest.fixture(scope="module")
def random_model() -> SkipGramWord2VecModel:
    rng = np.random.default_rng(5)
    words = [f"w{i}" for i in range(40)]
    vectors = rng.normal(size=(40, 6)).astype(np.float32)
    model = SkipGramWord2VecModel(words, vectors, counts=np.arange(40, 0, -1))
    return model.setInputCol("tokens").setOutputCol("features")


SENTENCES = [
    (["w1", "w2", "w3"],),
    (["w4", "unknown", "w4"],),
    (["unknown"],),
    ([],),
    (["w39"] * 7 + ["w0"],),
]


def _rows(frame, column: str = "features") -> np.ndarray:
    return np.array([row[column].toArray() for row in frame.orderBy("id").collect()])


def test_the_default_params_are_the_configs():
    estimator = SkipGramWord2Vec()
    config = build_config({}, ["train.checkpoint=false"])
    assert estimator.config() == config
    explained = estimator.explainParams()
    assert "train.vector_size" in explained and "vocab.min_count" in explained
    custom = SkipGramWord2Vec(vectorSize=7, windowSize=3, maxIter=2, stepSize=0.05, minCount=2)
    assert custom.config().train.vector_size == 7 and custom.config().train.window == 3
    assert custom.config().train.epochs == 2 and custom.config().train.alpha == 0.05
    assert custom.config().vocab.min_count == 2


def test_mllib_loads_our_saved_model_and_transforms_and_finds_synonyms_as_ours(
    spark, random_model, tmp_path
):
    random_model.write().save(str(tmp_path / "model"))
    mllib = Word2VecModel.load(str(tmp_path / "model"))
    assert mllib.getVectorSize() == 6 and mllib.getInputCol() == "tokens"
    frame = spark.createDataFrame(
        [(i, *s) for i, s in enumerate(SENTENCES)], "id int, tokens array<string>"
    )
    ours, theirs = _rows(random_model.transform(frame)), _rows(mllib.transform(frame))
    np.testing.assert_allclose(ours, theirs, atol=1e-6)
    # The sum of known words over the row's length, unknown words included; zeros without any.
    vectors = random_model.wv.vectors.astype(np.float64)
    np.testing.assert_allclose(ours[1], 2 * vectors[4] / 3, atol=1e-6)
    assert not ours[2].any() and not ours[3].any()
    for word in ("w0", "w7", "w33"):
        mine = random_model.findSynonymsArray(word, 5)
        assert [w for w, _ in mine] == [w for w, _ in mllib.findSynonymsArray(word, 5)]
        assert word not in [w for w, _ in mine]
        np.testing.assert_allclose(
            [s for _, s in mine], [s for _, s in mllib.findSynonymsArray(word, 5)], atol=1e-5
        )


def test_our_loader_reads_a_model_mllib_trained(spark, tmp_path):
    sentences = [(["a", "b", "c", "a", "b", "d"],), (["b", "c", "d", "a", "e"],)]
    frame = spark.createDataFrame(sentences, ["tokens"])
    mllib = Word2Vec(vectorSize=4, minCount=1, inputCol="tokens", outputCol="v", seed=3).fit(frame)
    mllib.write().save(str(tmp_path / "mllib"))
    ours = SkipGramWord2VecModel.load(str(tmp_path / "mllib"))
    expected = {row.word: row.vector.toArray() for row in mllib.getVectors().collect()}
    assert sorted(ours.wv.words) == sorted(expected)
    for word in expected:
        np.testing.assert_allclose(ours.wv[word], expected[word], rtol=1e-6)
    assert ours.getInputCol() == "tokens" and ours.getOutputCol() == "v"
    np.testing.assert_allclose(
        np.stack([r.v.toArray() for r in ours.transform(frame).collect()]),
        np.stack([r.v.toArray() for r in mllib.transform(frame).collect()]),
        atol=1e-6,
    )


def test_a_saved_model_reads_back_with_its_counts_params_and_training_record(
    spark, random_model, tmp_path
):
    random_model.write().save(str(tmp_path / "model"))
    again = SkipGramWord2VecModel.load(str(tmp_path / "model"))
    assert again.wv.words == random_model.wv.words
    np.testing.assert_array_equal(again.wv.vectors, random_model.wv.vectors)
    np.testing.assert_array_equal(again.wv.counts, random_model.wv.counts)
    assert again.getOutputCol() == "features" and again.uid == random_model.uid
    with pytest.raises(UserError, match="already exists"):
        random_model.write().save(str(tmp_path / "model"))
    random_model.write().overwrite().save(str(tmp_path / "model"))


@pytest.fixture(scope="module")
def planted_text(tmp_path_factory):
    words, _, sentences, _ = planted_corpus(seed=2, n_sentences=3000)
    root = tmp_path_factory.mktemp("ml-planted")
    lines = [" ".join(words[i] for i in s) for s in sentences]
    (root / "corpus.txt").write_text("\n".join(lines))
    return root, lines


SETTINGS = {"vectorSize": 16, "minCount": 1, "maxIter": 2, "numPartitions": 1, "seed": 4}


def test_the_estimator_trains_the_same_vectors_as_the_jobs(spark, planted_text, tmp_path):
    root, lines = planted_text
    estimator = SkipGramWord2Vec(inputCol="tokens", outputCol="features", **SETTINGS)
    config = build_config(
        {
            "vocab": {
                **estimator.config().to_dict()["vocab"],
                "tokenizer": "whitespace",
                "num_files": 1,
            },
            "train": estimator.config().to_dict()["train"],
        }
    )
    build_vocabulary(spark, config, corpus=str(root / "corpus.txt"), out=str(tmp_path / "vocab"))
    jobs = train_model(spark, config, vocab_dir=str(tmp_path / "vocab"), out=str(tmp_path / "m"))
    frame = spark.createDataFrame([(line.split(),) for line in lines], ["tokens"]).coalesce(1)
    model = estimator.fit(frame)
    assert list(model.wv.words) == jobs.words
    np.testing.assert_array_equal(model.wv.counts, jobs.counts)
    np.testing.assert_allclose(model.wv.vectors, jobs.syn0, atol=1e-6)
    assert model.training["vocab"]["total_tokens"] == sum(len(line.split()) for line in lines)


def test_a_pipeline_of_tokenizer_stopwords_ours_and_logistic_regression(spark):
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as handle:
        lines = [line.strip() for _, line in zip(range(3000), handle, strict=False) if line.strip()]
    # A label the words carry: does the line speak of war?
    war = {"war", "army", "battle", "military", "troops", "forces"}
    rows = [(line, float(bool(war & set(line.lower().split())))) for line in lines]
    frame = spark.createDataFrame(rows, "text string, label double")
    pipeline = Pipeline(
        stages=[
            RegexTokenizer(inputCol="text", outputCol="raw", pattern="[^\\p{L}]+"),
            StopWordsRemover(inputCol="raw", outputCol="tokens"),
            SkipGramWord2Vec(
                inputCol="tokens", outputCol="features", vectorSize=24, maxIter=3, minCount=2
            ),
            LogisticRegression(maxIter=50),
        ]
    )
    fitted = pipeline.fit(frame)
    predicted = fitted.transform(frame).select("label", "prediction").toPandas()
    assert len(predicted) == len(rows)
    accuracy = float((predicted["label"] == predicted["prediction"]).mean())
    majority = max(predicted["label"].mean(), 1 - predicted["label"].mean())
    assert accuracy > majority  # the mean word vectors carry the label beyond the base rate
    assert fitted.stages[2].wv.vectors.shape[1] == 24


def test_a_column_that_is_not_tokens_is_refused_in_one_line(spark):
    frame = spark.createDataFrame([("a b c",)], ["text"])
    with pytest.raises(UserError, match="column text is string, not array<string>"):
        SkipGramWord2Vec(inputCol="text").fit(frame)
