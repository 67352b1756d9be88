"""How many training partitions a run uses: too many for the corpus are capped with one line."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from pyspark import SparkFiles

from tests.conftest import ROOT
from tests.planted import planted_vocabulary
from w2v_spark.config import build_config
from w2v_spark.train.kernel import init_weights
from w2v_spark.train.sentences import resolve_num_partitions
from w2v_spark.train.stage import train_model


def test_enough_tokens_per_partition_keeps_the_setting_silently():
    assert resolve_num_partitions(8, 2, 180_000) == (8, "")
    assert resolve_num_partitions(0, 2, 432_020) == (2, "")


def test_unknown_token_count_or_one_partition_is_taken_as_it_is():
    assert resolve_num_partitions(1000, 2, None) == (1000, "")
    assert resolve_num_partitions(1, 2, 50) == (1, "")


def test_under_ten_thousand_tokens_per_partition_warns_with_the_figure_and_a_number():
    partitions, warning = resolve_num_partitions(100, 2, 432_020)
    assert partitions == 100
    assert warning == (
        "train.num_partitions=100 leaves 4,320 tokens per partition of the 432,020 "
        "(under 10,000): each task costs more than it trains; set train.num_partitions=43 "
        "or fewer for speed"
    )


def test_more_than_one_partition_per_thousand_tokens_is_capped_in_one_line():
    # The sample corpus at 1000 partitions: the case that ran over 45x slower.
    partitions, warning = resolve_num_partitions(1000, 2, 432_020)
    assert partitions == 432
    assert warning == (
        "train.num_partitions=1000 would leave 432 tokens per partition of the 432,020: capped "
        "at 432 partitions (1,000 tokens each); set train.num_partitions=43 or fewer for speed"
    )
    assert resolve_num_partitions(4, 2, 20)[0] == 1


def test_spark_default_parallelism_is_held_to_the_same_rule():
    partitions, warning = resolve_num_partitions(0, 200, 50_000)
    assert partitions == 50
    assert warning.startswith(
        "train.num_partitions=0 (Spark's default parallelism, 200) would leave 250 tokens"
    )


@pytest.mark.parametrize("tokens", [1_500, 9_999, 10_000, 123_456, 10**9])
def test_the_cap_never_leaves_a_partition_under_a_thousand_tokens(tokens):
    for requested in (2, 3, 10, 1_000, 10**6):
        partitions, _ = resolve_num_partitions(requested, 2, tokens)
        assert 1 <= partitions <= requested
        assert partitions == 1 or tokens // partitions >= 1_000


SMALL = [
    "vocab.min_count=1",
    "vocab.tokenizer=whitespace",
    "train.vector_size=8",
    "train.num_partitions=1000",
    "train.replicas=partition",
]


@pytest.fixture(scope="module")
def small_vocab(spark, tmp_path_factory) -> str:
    """The vocabulary job's output for 300 planted sentences (4,135 tokens)."""
    root = tmp_path_factory.mktemp("small")
    return str(planted_vocabulary(spark, root, SMALL, seed=5, n_sentences=300))


def test_a_run_asking_for_too_many_partitions_trains_in_the_capped_number(
    spark, small_vocab, tmp_path, caplog
):
    # One task per partition (not threads in one task), so the tasks show the partitions.
    settings = [*SMALL, "train.epochs=1", "train.checkpoint=false", "train.threads=1"]
    config = build_config({}, settings)
    with caplog.at_level(logging.WARNING, logger="w2v_spark.train.stage"):
        result = train_model(spark, config, vocab_dir=small_vocab, out=str(tmp_path / "model"))
    warnings = [r.getMessage() for r in caplog.records if r.name == "w2v_spark.train.stage"]
    assert any(
        w.startswith("train.num_partitions=1000 would leave 4 tokens per partition of the 4,135")
        and "capped at 4 partitions" in w
        for w in warnings
    ), warnings
    assert sorted({t["partition"] for t in result.metrics[0]["tasks"]}) == [0, 1, 2, 3]


def test_a_local_executor_copy_is_placed_in_shared_memory_read_back_and_removed(
    spark, small_vocab, tmp_path
):
    shm = tmp_path / "shm"
    shm.mkdir()
    settings = [*SMALL, "train.epochs=2", "train.checkpoint=false", "train.num_partitions=2"]
    settings += ["train.replicas=executor", f"train.shared_memory_dir={shm}"]
    result = train_model(
        spark, build_config({}, settings), vocab_dir=small_vocab, out=str(tmp_path / "model")
    )
    for epoch in result.metrics:
        (sync,) = epoch["syncs"]
        assert sync["sync"] == 1
        assert 0 < sync["train_seconds"] < sync["job_seconds"] <= epoch["seconds"]
        assert sync["broadcast_seconds"] >= 0 and sync["combine_seconds"] >= 0  # ms-rounded
        # A local master: the driver placed the copy and read it back; no rows were sent.
        assert sync["report_bytes"] == 0
        assert sync["worker_peak_bytes"] > 0
    # What was read back is the trained copy, not the initial weights the driver placed.
    initial, _ = init_weights(len(result.words), 8, 1)
    assert np.abs(result.syn0 - initial).max() > 0.1
    assert list(shm.iterdir()) == []  # the executor's copy went with the run
    work = Path(SparkFiles.getRootDirectory())
    assert not list(work.glob("w2v-shared-*.npy"))


@pytest.mark.slow
def test_ctrl_c_stops_a_training_job_within_seconds(small_vocab, tmp_path):
    """SIGINT to ``python jobs/train.py`` mid-epoch: exit 130 with one line, in seconds."""
    overrides = [arg for s in [*SMALL, "train.epochs=100000"] for arg in ("--set", s)]
    env = {k: v for k, v in os.environ.items() if k != "SPARK_MASTER"}
    stderr = tmp_path / "stderr.txt"
    command = [sys.executable, "jobs/train.py", "--config", "conf/sample.toml", *overrides]
    command += ["--vocab", small_vocab, "--out", str(tmp_path / "model")]
    with stderr.open("w") as err:
        job = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,  # its JVM and workers in a group of their own
        )
    try:
        deadline = time.monotonic() + 180
        while "epoch 2/" not in stderr.read_text():
            assert job.poll() is None, stderr.read_text()[-2000:]
            assert time.monotonic() < deadline, "training did not start within 180 s"
            time.sleep(0.2)
        job.send_signal(signal.SIGINT)
        sent = time.monotonic()
        code = job.wait(timeout=15)
        seconds = time.monotonic() - sent
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
            job.wait()
    text = stderr.read_text()
    assert code == 130, text[-2000:]
    assert seconds < 15
    assert text.rstrip().splitlines()[-1] == "w2v-spark train: interrupted"
    assert "train.num_partitions=1000 would leave 4 tokens per partition" in text
