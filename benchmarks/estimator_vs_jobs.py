"""The Spark ML Estimator against the jobs on the same corpus and settings, one Spark session.

    .venv/bin/python benchmarks/estimator_vs_jobs.py --fraction 0.3 --epochs 3

Both run the same vocabulary and training code (the Estimator feeds the vocabulary stage an
``array<string>`` column instead of text lines), so their accuracy must agree within the
run-to-run noise of Hogwild training (``local[2]``, executor replicas); ``numPartitions=1``
would give identical vectors (``tests/test_ml.py`` checks that), at half the speed. Prints one
JSON line per path: seconds, analogy accuracy (Google set, 30,000 most frequent words), and
WordSim-353 Spearman.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from compare import WIKI8, prepare_corpus  # noqa: E402

from w2v_spark.config import build_config, load_config  # noqa: E402
from w2v_spark.evaluate.analogies import evaluate_analogies  # noqa: E402
from w2v_spark.evaluate.similarity import evaluate_word_pairs  # noqa: E402
from w2v_spark.ml import SkipGramWord2Vec  # noqa: E402
from w2v_spark.session import get_session  # noqa: E402
from w2v_spark.train.stage import train_model  # noqa: E402
from w2v_spark.vocab.stage import build_vocabulary  # noqa: E402

DATA = ROOT / "w2v_spark" / "data"


def score(words, vectors) -> dict:
    words = list(words)
    analogy = evaluate_analogies(words, vectors, DATA / "questions-words.txt", restrict_vocab=30000)
    pairs = evaluate_word_pairs(words, vectors, DATA / "wordsim353.tsv")
    return {"analogy": analogy["total"]["accuracy"], "wordsim353": pairs["spearman"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=WIKI8)
    parser.add_argument("--config", type=Path, default=ROOT / "conf" / "wiki8.toml")
    parser.add_argument("--fraction", type=float, default=0.3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--partitions", type=int, default=2)
    args = parser.parse_args()
    base = load_config(args.config)
    estimator = SkipGramWord2Vec(
        inputCol="tokens",
        vectorSize=base.train.vector_size,
        windowSize=base.train.window,
        minCount=base.vocab.min_count,
        maxIter=args.epochs,
        numPartitions=args.partitions,
    )
    settings = estimator.config().to_dict()
    # The text path splits on whitespace, as the Estimator's column already is.
    settings["vocab"]["tokenizer"] = "whitespace"
    settings["spark"] = {**base.to_dict()["spark"], "master": f"local[{args.partitions}]"}
    config = build_config(settings)
    spark = get_session(config.spark)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        tokens = prepare_corpus(args.corpus, work / "corpus.txt", args.fraction)
        started = time.perf_counter()
        build_vocabulary(spark, config, corpus=str(work / "corpus.txt"), out=str(work / "vocab"))
        jobs = train_model(spark, config, vocab_dir=str(work / "vocab"), out=str(work / "model"))
        jobs_seconds = time.perf_counter() - started
        lines = spark.read.text(str(work / "corpus.txt"))
        frame = lines.selectExpr("split(value, ' ') AS tokens")
        started = time.perf_counter()
        model = estimator.fit(frame)
        fit_seconds = time.perf_counter() - started
    for name, seconds, words, vectors in (
        ("jobs", jobs_seconds, jobs.words, jobs.syn0),
        ("estimator", fit_seconds, model.wv.words, model.wv.vectors),
    ):
        row = {"path": name, "tokens": tokens, "seconds": round(seconds, 1)}
        print(json.dumps({**row, **score(words, vectors)}), flush=True)
    spark.stop()


if __name__ == "__main__":
    main()
