"""One local[2] SparkSession for the whole suite, and paths the tests share."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample.txt.gz"
SHARED = ROOT.parent / "shared"
CORPORA = SHARED / "corpora"


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


def corpus_path(name: str) -> Path:
    """A shared benchmark corpus, or a skip naming what is missing."""
    path = CORPORA / name
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared corpora live beside the repo, not in it)")
    return path
