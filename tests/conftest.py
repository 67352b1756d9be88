"""One local[2] SparkSession for the whole suite, and paths the tests share."""

from __future__ import annotations

import gzip
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample.txt.gz"
SHARED = ROOT.parent / "shared"
CORPORA = SHARED / "corpora"
#: Words as the gensim comparisons tokenize the sample: letters, inner apostrophes.
TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")


@pytest.fixture(scope="session")
def spark():
    from w2v_spark.config import SparkConfig
    from w2v_spark.session import get_session

    os.environ.pop("SPARK_MASTER", None)
    session = get_session(
        SparkConfig(
            master="local[2]",
            driver_memory="4g",
            conf={"spark.sql.shuffle.partitions": "4", "spark.ui.enabled": "false"},
        )
    )
    yield session
    session.stop()


def sample_sentences() -> list[list[str]]:
    """The bundled sample, lower-cased and tokenized by :data:`TOKEN`, a list per line."""
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as handle:
        return [TOKEN.findall(line.lower()) for line in handle]


@pytest.fixture(scope="session")
def kv():
    """gensim skip-gram vectors of the sample corpus (dim 50, min_count 3, 5 epochs), trained
    once for the session: real words and value ranges, trained enough to solve some analogies.
    Shared by every module, so no test may change it. Skips when gensim is not installed."""
    models = pytest.importorskip("gensim.models")
    model = models.Word2Vec(
        sample_sentences(), vector_size=50, min_count=3, epochs=5, sg=1, workers=2, seed=1
    )
    return model.wv


def corpus_path(name: str) -> Path:
    """A shared benchmark corpus, or a skip naming what is missing."""
    path = CORPORA / name
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared corpora live beside the repo, not in it)")
    return path
