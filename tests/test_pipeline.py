"""The three stages in one application, the evaluation of external vectors, and a rerun."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from gensim.models import KeyedVectors

from tests.conftest import ROOT, SAMPLE
from tests.datasets import ANALOGY_QUESTIONS
from w2v_spark.config import build_config
from w2v_spark.errors import UserError
from w2v_spark.evaluate.stage import evaluate_outputs
from w2v_spark.pipeline import run_pipeline

FAST = ["vocab.min_count=5", "train.vector_size=20", "train.epochs=1", "train.num_partitions=2"]


@pytest.fixture(scope="module")
def pipeline_run(spark, tmp_path_factory):
    out = tmp_path_factory.mktemp("pipeline") / "run"
    config = build_config({}, FAST)
    run_pipeline(spark, config, corpus=str(SAMPLE), out=str(out))
    return out, config


def test_pipeline_publishes_every_stage(pipeline_run):
    out, _ = pipeline_run
    for stage in ("vocab", "model", "report"):
        assert (out / stage / "_SUCCESS").exists(), stage
        assert json.loads((out / stage / "config.json").read_text())["train"]["vector_size"] == 20
    report = json.loads((out / "report" / "report.json").read_text())
    assert report["vectors"]["dim"] == 20
    assert report["analogy"]["questions"] == ANALOGY_QUESTIONS
    assert report["analogy"]["total"]["covered"] > 1000
    assert set(report["similarity"]) == {"wordsim353", "simlex999"}
    assert "## " in (out / "report" / "report.md").read_text()
    assert report["metrics"][0]["epoch"] == 1


def test_exported_binary_loads_in_gensim_with_the_parquet_vectors(spark, pipeline_run):
    import numpy as np
    import pyarrow.parquet as pq

    out, _ = pipeline_run
    kv = KeyedVectors.load_word2vec_format(str(out / "model" / "vectors.bin"), binary=True)
    rows = pq.read_table(out / "model" / "vectors.parquet").to_pylist()
    assert kv.index_to_key == [r["word"] for r in rows]
    np.testing.assert_array_equal(kv.vectors, np.array([r["vector"] for r in rows], np.float32))


def test_rerun_keeps_finished_stages(spark, pipeline_run):
    out, config = pipeline_run
    before = (out / "model" / "vectors.bin").read_bytes()
    run_pipeline(spark, config, corpus=str(SAMPLE), out=str(out))
    assert (out / "model" / "vectors.bin").read_bytes() == before


def test_external_word2vec_file_is_evaluated_by_the_same_code(spark, pipeline_run, tmp_path):
    out, config = pipeline_run
    ours = json.loads((out / "report" / "report.json").read_text())
    report = evaluate_outputs(
        spark, config, vectors=str(out / "model" / "vectors.txt"), out=str(tmp_path / "report")
    )
    assert report["analogy"]["total"]["covered"] == ours["analogy"]["total"]["covered"]
    assert report["analogy"]["sections"] == ours["analogy"]["sections"]


def test_evaluate_needs_exactly_one_source(spark, tmp_path):
    with pytest.raises(UserError, match="exactly one"):
        evaluate_outputs(spark, build_config(), out=str(tmp_path / "r"))
    with pytest.raises(UserError, match="vectors file not found"):
        evaluate_outputs(
            spark, build_config(), vectors=str(tmp_path / "x.bin"), out=str(tmp_path / "r")
        )


def test_query_tool_answers_from_a_model_directory(pipeline_run):
    out, _ = pipeline_run
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "w2v-spark"),
            "query",
            str(out / "model"),
            "similar",
            "city",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip().splitlines()) >= 10
