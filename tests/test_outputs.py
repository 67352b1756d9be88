"""Finished results are never lost: atomic training output, inputs protected, one writer per
output, dead runs' temporaries swept, errors that keep their Java cause (issue 15, cases 1, 2,
3, 5, 8 and the publish fault)."""

from __future__ import annotations

import gzip
import itertools
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, SAMPLE
from w2v_spark.cli import one_line
from w2v_spark.config import build_config
from w2v_spark.errors import UserError
from w2v_spark.evaluate.stage import evaluate_outputs
from w2v_spark.io import outputs
from w2v_spark.session import job_group
from w2v_spark.train.stage import train_model
from w2v_spark.vocab.stage import build_vocabulary

TINY = [
    "vocab.min_count=5",
    "train.vector_size=16",
    "train.epochs=1",
    "train.num_partitions=2",
]


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (hidden ones included) with its bytes."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def finished(spark, tmp_path_factory):
    """A vocabulary of the start of the bundled sample and a finished one-epoch model trained on it."""
    root = tmp_path_factory.mktemp("outputs")
    config = build_config({}, TINY)
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as sample:  # 800 lines, ~60k tokens
        (root / "corpus.txt").write_text("".join(itertools.islice(sample, 800)))
    build_vocabulary(spark, config, corpus=str(root / "corpus.txt"), out=str(root / "vocab"))
    train_model(spark, config, vocab_dir=str(root / "vocab"), out=str(root / "model"))
    return root


def copy_model(finished: Path, tmp_path: Path) -> Path:
    """A private copy of the finished model, so a test may try to replace it."""
    import shutil

    model = tmp_path / "model"
    shutil.copytree(finished / "model", model)
    return model


def train(spark, finished: Path, out: Path, *settings: str, **kwargs):
    """Train the finished fixture's vocabulary into ``out`` with TINY plus ``settings``."""
    config = build_config({}, [*TINY, *settings])
    return train_model(spark, config, vocab_dir=str(finished / "vocab"), out=str(out), **kwargs)


# Case 1: --overwrite trains beside the finished model and swaps only a complete one in.


def test_failed_overwrite_leaves_the_finished_model_byte_for_byte(spark, finished, tmp_path):
    model = copy_model(finished, tmp_path)
    before = snapshot(model)
    with pytest.raises(UserError) as failure:
        train(spark, finished, model, "train.alpha=100", "train.epochs=3", overwrite=True)
    message = str(failure.value)
    assert "\n" not in message
    assert f"the finished model at {model} is untouched" in message
    assert snapshot(model) == before
    # No epoch of the diverged run finished, so nothing of it is left behind.
    assert not (tmp_path / ".model.next").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_overwrite_swaps_in_the_new_model_only_when_complete(spark, finished, tmp_path):
    model = copy_model(finished, tmp_path)
    old = (model / "vectors.bin").read_bytes()
    train(spark, finished, model, "train.seed=7", overwrite=True)
    assert (model / "_SUCCESS").exists()
    assert (model / "vectors.bin").read_bytes() != old
    assert json.loads((model / "config.json").read_text())["train"]["seed"] == 7
    assert (model / "checkpoints" / "epoch-001" / "_SUCCESS").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no .next, .replaced, .lock


def test_a_failed_overwrite_with_checkpoints_resumes_beside_the_old_model(
    spark, finished, tmp_path
):
    model = copy_model(finished, tmp_path)
    before = snapshot(model)
    vocab = str(finished / "vocab")
    staged = tmp_path / ".model.next"
    # A 2-epoch overwrite run that stopped after its first epoch's checkpoint: the staging
    # directory as a killed run leaves it.
    two = build_config({}, [*TINY, "train.epochs=2", "train.seed=9"])
    one = build_config({}, [*TINY, "train.epochs=1", "train.seed=9"])
    train_model(spark, one, vocab_dir=vocab, out=str(staged))
    (staged / "_SUCCESS").unlink()
    state = staged / "checkpoints" / "epoch-001" / "state.json"
    saved = json.loads(state.read_text())
    saved["fingerprint"]["epochs"] = 2
    state.write_text(json.dumps(saved))
    assert snapshot(model) == before
    result = train_model(spark, two, vocab_dir=vocab, out=str(model), overwrite=True, resume=True)
    assert [m["epoch"] for m in result.metrics] == [1, 2]
    assert json.loads((model / "config.json").read_text())["train"]["epochs"] == 2
    assert not staged.exists()


# Case 2: no output overlaps an input; the parent is checked before any work.


@pytest.mark.parametrize(
    "out_of", [lambda root: root / "vocab", lambda root: root / "vocab" / "model"]
)
def test_training_into_its_own_vocabulary_is_refused(spark, finished, out_of):
    vocab = finished / "vocab"
    before = snapshot(vocab)
    with pytest.raises(UserError, match=r"^--out .* overlaps the input --vocab") as failure:
        train(spark, finished, out_of(finished), overwrite=True)
    assert "\n" not in str(failure.value)
    assert snapshot(vocab) == before


def test_vocabulary_over_its_corpus_file_is_refused(spark, tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat on the mat\n" * 10)
    with pytest.raises(UserError, match="overlaps the input --corpus"):
        build_vocabulary(
            spark, build_config({}, TINY), corpus=str(corpus), out=str(corpus), overwrite=True
        )
    with pytest.raises(UserError, match="overlaps the input --corpus"):
        build_vocabulary(  # an output inside a corpus directory would be read as corpus
            spark, build_config({}, TINY), corpus=str(tmp_path), out=str(tmp_path / "v")
        )
    with pytest.raises(UserError, match="overlaps the input --corpus"):
        build_vocabulary(  # a glob that names the output
            spark, build_config({}, TINY), corpus=str(tmp_path / "*.txt"), out=str(corpus)
        )
    assert corpus.read_text() == "the cat sat on the mat\n" * 10


def test_evaluation_over_its_vectors_file_is_refused(spark, finished, tmp_path):
    vectors = tmp_path / "vectors.bin"
    vectors.write_bytes((finished / "model" / "vectors.bin").read_bytes())
    before = vectors.read_bytes()
    with pytest.raises(UserError, match="overlaps the input --vectors"):
        evaluate_outputs(
            spark, build_config({}, TINY), vectors=str(vectors), out=str(vectors), overwrite=True
        )
    assert vectors.read_bytes() == before


def spark_jobs_so_far(spark) -> int:
    """How many Spark jobs the session has started: the id of a marker job run now."""
    sc = spark.sparkContext
    with job_group(spark, "test-marker: count the jobs run so far", level=logging.DEBUG):
        sc.parallelize([0], 1).count()
    return max(sc.statusTracker().getJobIdsForGroup("test-marker"))


def test_an_output_under_a_file_fails_before_any_work(spark, finished, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    before = snapshot(tmp_path)
    jobs = spark_jobs_so_far(spark)
    with pytest.raises(UserError, match=f"{blocker} is a file, not a directory"):
        train(spark, finished, blocker / "model")
    assert spark_jobs_so_far(spark) == jobs + 1  # only the marker job: nothing was read
    assert snapshot(tmp_path) == before  # nothing was written


def test_a_token_pattern_that_does_not_compile_fails_in_one_line(spark, tmp_path):
    config = build_config({}, [*TINY, "vocab.token_pattern=(abc"])
    with pytest.raises(UserError) as failure:
        build_vocabulary(spark, config, corpus=str(SAMPLE), out=str(tmp_path / "vocab"))
    assert str(failure.value).startswith("vocab.token_pattern '(abc' is not a valid regex: ")
    assert "Unclosed group" in str(failure.value)
    assert not (tmp_path / "vocab").exists()


# Case 3: one writer per output.


def live_owner(out: Path, pid: int, host: str | None = None) -> None:
    import socket

    lock = Path(outputs.lock_path(str(out)))
    lock.write_text(
        json.dumps(
            {"job": "train", "host": host or socket.gethostname(), "pid": pid, "started": "T0"}
        )
    )


def test_a_second_run_on_a_locked_output_is_refused(spark, finished, tmp_path):
    other = subprocess.Popen(["sleep", "60"])
    try:
        live_owner(tmp_path / "model", other.pid)
        with pytest.raises(UserError) as failure:
            train(spark, finished, tmp_path / "model")
    finally:
        other.kill()
        other.wait()
    message = str(failure.value)
    assert message.startswith(f"--out {tmp_path / 'model'} is being written by another train run")
    assert f"pid {other.pid}" in message and "\n" not in message
    assert not (tmp_path / "model").exists()


def test_the_lock_of_a_dead_run_is_taken_over(spark, finished, tmp_path, caplog):
    dead = subprocess.Popen(["true"])
    dead.wait()
    live_owner(tmp_path / "model", dead.pid)
    train(spark, finished, tmp_path / "model")
    assert "took over the lock of a dead train run" in caplog.text
    assert (tmp_path / "model" / "_SUCCESS").exists()
    assert not Path(outputs.lock_path(str(tmp_path / "model"))).exists()


def test_a_lock_whose_heartbeat_stopped_is_stale_on_any_host():
    assert outputs.is_stale({"host": "elsewhere", "pid": 1}, outputs.STALE_AFTER_SECONDS + 1)
    assert not outputs.is_stale({"host": "elsewhere", "pid": 1}, 1.0)
    assert not outputs.is_stale({"host": os.uname().nodename, "pid": os.getpid()}, 1.0)


# Case 8: temporaries of dead runs are swept by the next run of the same output.


def test_a_later_run_sweeps_what_killed_runs_left(spark, finished, tmp_path):
    model = copy_model(finished, tmp_path)
    left = [
        tmp_path / ".model.tmp-0123abcd",
        model / ".vectors.parquet.tmp-89abcdef",
        model / "checkpoints" / ".epoch-002.tmp-deadbeef",
    ]
    for path in left:
        (path / "part").mkdir(parents=True)
    (model / "metrics.json.tmp-00aa11bb").write_text("{")
    unrelated = tmp_path / ".other.tmp-0123abcd"
    unrelated.mkdir()
    train(spark, finished, model, resume=True)
    assert not any(path.exists() for path in left)
    assert not (model / "metrics.json.tmp-00aa11bb").exists()
    assert unrelated.exists()  # another output's: not ours to judge


def test_an_interrupted_swap_puts_the_previous_model_back(spark, finished, tmp_path):
    model = copy_model(finished, tmp_path)
    before = snapshot(model)
    model.rename(tmp_path / ".model.replaced-0badf00d")  # killed between the swap's renames
    outputs.sweep_temporaries(spark, str(model))
    assert snapshot(model) == before


# Case 5: errors keep their Java cause.


def test_a_java_failure_reports_its_innermost_cause(spark, tmp_path):
    from w2v_spark.io import storage

    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(Exception) as failure:
        storage.copy_from_local(spark, str(SAMPLE), str(blocker / "sub" / "x"))
    line = one_line(failure.value)
    assert line.startswith("ParentNotDirectoryException: Parent path is not a directory")
    assert "copyFromLocalFile" in line and "\n" not in line


def test_a_python_worker_failure_reports_the_raised_exception(spark):
    def explode(_):
        raise ValueError("bad row 7")

    with pytest.raises(Exception) as failure:
        spark.sparkContext.parallelize([1], 1).map(explode).collect()
    assert one_line(failure.value).startswith("ValueError: bad row 7")


# The fault test: the driver is killed while the --overwrite training publishes.


def test_killing_the_driver_during_the_overwrite_publish_keeps_the_previous_model(
    spark, finished, tmp_path
):
    model = copy_model(finished, tmp_path)
    before = snapshot(model)
    command = [
        sys.executable,
        str(ROOT / "jobs" / "train.py"),
        "--vocab",
        str(finished / "vocab"),
        "--out",
        str(model),
        "--overwrite",
        *(arg for setting in TINY for arg in ("--set", setting)),
        "--set",
        "spark.master=local[1]",
    ]
    env = {**os.environ, "W2V_SPARK_LOG_LEVEL": "ERROR"}
    env.pop("SPARK_MASTER", None)
    driver = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    seen = []
    for line in driver.stderr:
        seen.append(line)
        if "train: write vectors" in line:
            driver.send_signal(signal.SIGKILL)  # the JVM child dies with its parent's pipe
            break
    driver.wait(timeout=60)
    assert driver.returncode == -signal.SIGKILL, "".join(seen[-20:])
    assert snapshot(model) == before  # readable and complete: the same bytes, _SUCCESS included
    assert (tmp_path / ".model.next").exists()  # the killed run's staging directory
    # The next run takes over the dead run's lock, sweeps and finishes the replacement.
    train(spark, finished, model, overwrite=True)
    assert (model / "_SUCCESS").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_the_train_job_refuses_an_output_over_its_input_with_one_line_and_exit_2(finished):
    vocab = finished / "vocab"
    before = snapshot(vocab)
    command = [sys.executable, "jobs/train.py", "--vocab", str(vocab), "--out", str(vocab)]
    result = subprocess.run(
        [*command, "--overwrite"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if "w2v-spark train:" in line]
    assert errors == [
        f"w2v-spark train: error: --out {vocab} overlaps the input --vocab {vocab}: writing it "
        "would destroy the input; choose another --out"
    ]
    assert snapshot(vocab) == before


def test_a_killed_process_not_yet_reaped_counts_as_dead():
    child = subprocess.Popen(["sleep", "60"])
    try:
        assert outputs.process_alive(child.pid)
        child.kill()
        deadline = time.monotonic() + 10
        while Path(f"/proc/{child.pid}/stat").read_bytes().split()[2] != b"Z":
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert not outputs.process_alive(child.pid)  # a zombie: killed, not yet waited for
    finally:
        child.wait()
