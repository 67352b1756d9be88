"""One shared copy of the weights per executor and sync, in memory-mapped files."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import uuid
from pathlib import Path

import numpy as np
import pytest
from pyspark import SparkFiles

from tests.planted import planted_corpus
from w2v_spark.train import replicas
from w2v_spark.train.kernel import init_weights, train_sentences
from w2v_spark.train.params import SgnsParams
from w2v_spark.train.replicas import (
    attach_shared_weights,
    remove_shared_weights,
    replica_id,
    resolve_replicas,
    resolve_shared_memory_dir,
)
from w2v_spark.train.sampling import keep_probabilities, noise_cdf, partition_rng


def weights(value: float, rows: int = 5) -> tuple[np.ndarray, np.ndarray]:
    return np.full((rows, 3), value, np.float32), np.full((rows, 3), -value, np.float32)


def add_one_in_another_process(args) -> None:
    token, root, broadcast = args
    replica = attach_shared_weights(token, 1, 0, broadcast, root=str(root))
    replica.weights[0, 2] += 1.0
    replica.weights.flush()


def test_first_task_copies_the_broadcast_later_tasks_share_its_writes(spark, tmp_path):
    broadcast = spark.sparkContext.broadcast(weights(0.5))
    try:
        first = attach_shared_weights("run", 1, 0, broadcast, root=str(tmp_path))
        assert first.weights.shape == (2, 5, 3) and first.weights.dtype == np.float32
        np.testing.assert_array_equal(first.weights[1], -0.5)
        first.weights[0, 1] += 2.0
        # Another process (as another Python worker of the executor) maps the same file.
        ctx = multiprocessing.get_context("fork")
        proc = ctx.Process(target=add_one_in_another_process, args=(("run", tmp_path, broadcast),))
        proc.start()
        proc.join(30)
        assert proc.exitcode == 0
        second = attach_shared_weights("run", 1, 0, broadcast, root=str(tmp_path))
        np.testing.assert_array_equal(second.weights[0, 1], 2.5)  # not re-copied
        np.testing.assert_array_equal(second.weights[0, 2], 1.5)  # the other process's write
        np.testing.assert_array_equal(first.weights[0, 2], 1.5)
    finally:
        broadcast.unpersist()


def test_reports_telescope_to_the_replicas_whole_change_whoever_reports(spark, tmp_path):
    start = weights(0.5, rows=7)
    broadcast = spark.sparkContext.broadcast(start)
    try:
        a = attach_shared_weights("run", 1, 0, broadcast, root=str(tmp_path))
        b = attach_shared_weights("run", 1, 0, broadcast, root=str(tmp_path))
        upd_a, upd_b = np.array([2, 0, 0, 1, 0, 0, 1]), np.array([0, 0, 0, 3, 0, 0, 0])
        a.weights[0, 0] += 1.0  # task a updates rows 0, 3 and 6 of syn0
        a.weights[0, 6] += 0.25
        a.weights[0, 3] += 0.5
        b.weights[0, 3] -= 2.0  # task b updates row 3 of syn0 and row 3 of syn1neg
        b.weights[1, 3] += 4.0
        first = dict(a.report_changes(upd_a, np.zeros(7, np.int64), block_rows=2))
        assert sorted(first) == [0, 1, 3]  # a's rows only: 0, 3 and 6
        np.testing.assert_array_equal(first[1].rows0[1], [-1.5] * 3)  # b's write to row 3 too
        np.testing.assert_array_equal(first[1].rows1, 0)  # b's syn1neg row is b's to report
        np.testing.assert_array_equal(first[1].stats0[1], [0, 1])  # a's own update count
        np.testing.assert_array_equal(first[0].stats0[:2, 0], [1, 2])
        b.weights[0, 3] -= 1.0  # b goes on after a finished
        second = dict(b.report_changes(upd_b, upd_b, block_rows=2))
        assert sorted(second) == [1]
        np.testing.assert_array_equal(second[1].rows0[1], [-1.0] * 3)  # only what came since
        np.testing.assert_array_equal(second[1].rows1[1], [4.0] * 3)
        np.testing.assert_array_equal(second[1].stats1[1], [0, 3])
        total = np.zeros((2, 7, 3), np.float32)
        for report in (first, second):
            for block, rows in report.items():
                total[0, 2 * block : 2 * block + 2] += rows.rows0
                total[1, 2 * block : 2 * block + 2] += rows.rows1
        np.testing.assert_array_equal(total, a.weights - np.stack(start))
        assert dict(a.report_changes(np.zeros(7, np.int64), np.zeros(7, np.int64))) == {}
    finally:
        broadcast.unpersist()


def test_a_training_task_reports_exactly_the_rows_it_updated(spark, tmp_path):
    """Train on a shared copy with the real kernel: the report names every row the kernel
    counted an update for and no other, each with its whole change; the rest stay as sent."""
    words, counts, sentences, _ = planted_corpus(seed=3, n_sentences=300)
    start = init_weights(len(words), 8, 1)
    broadcast = spark.sparkContext.broadcast(start)
    try:
        replica = attach_shared_weights("run", 1, 0, broadcast, root=str(tmp_path))
        updates = np.zeros(len(words), np.int64), np.zeros(len(words), np.int64)
        train_sentences(
            *replica.weights,
            sentences[:20],
            SgnsParams(batch_words=500),
            keep_prob=keep_probabilities(counts, 1e-3),
            noise_cdf=noise_cdf(counts, 0.75),
            rng=partition_rng(1, 1, 0, 0),
            progress_start=0.0,
            progress_per_word=1e-5,
            updates0=updates[0],
            updates1=updates[1],
        )
        changed = replica.weights != np.stack(start)
        reported = {m: np.zeros(len(words), bool) for m in (0, 1)}
        change = np.zeros_like(replica.weights)
        for block, rows in replica.report_changes(*updates, block_rows=16):
            span = slice(16 * block, 16 * block + len(rows.rows0))
            for m, (stats, moved) in enumerate(
                ((rows.stats0, rows.rows0), (rows.stats1, rows.rows1))
            ):
                reported[m][span] = stats[0] > 0
                np.testing.assert_array_equal(stats[1], updates[m][span])
                change[m, span] = moved
        for m in (0, 1):
            assert 0 < updates[m].astype(bool).sum() < len(words)  # some rows, not all
            np.testing.assert_array_equal(reported[m], updates[m] > 0)
            np.testing.assert_array_equal(changed[m].any(axis=1) & ~reported[m], False)
        np.testing.assert_array_equal(change, replica.weights - np.stack(start))
    finally:
        broadcast.unpersist()


def test_a_new_sync_starts_from_its_broadcast_and_deletes_the_previous_files(spark, tmp_path):
    old = spark.sparkContext.broadcast(weights(0.5))
    new = spark.sparkContext.broadcast(weights(2.0))
    try:
        attach_shared_weights("run", 1, 0, old, root=str(tmp_path)).weights[0, 0] += 7.0
        other_run = attach_shared_weights("other", 1, 0, old, root=str(tmp_path))
        shared = attach_shared_weights("run", 1, 1, new, root=str(tmp_path))
        np.testing.assert_array_equal(shared.weights[0], 2.0)
        np.testing.assert_array_equal(shared.reported[0], 2.0)
        names = sorted(p.name for p in tmp_path.glob("w2v-shared-run-*"))
        assert names == [
            "w2v-shared-run-e0001-s0001.npy",
            "w2v-shared-run-e0001-s0001.reported.npy",
            "w2v-shared-run-e0001-s0001.words.npy",
        ]
        remove_shared_weights("run", root=str(tmp_path))
        assert sorted(p.name for p in tmp_path.iterdir()) == [
            "w2v-shared-other-e0001-s0000.npy",
            "w2v-shared-other-e0001-s0000.reported.npy",
            "w2v-shared-other-e0001-s0000.words.npy",
            "w2v-shared-other.lock",
        ]
        np.testing.assert_array_equal(other_run.weights[0], 0.5)
    finally:
        old.unpersist()
        new.unpersist()


def test_auto_puts_models_from_a_gib_in_shared_memory_and_smaller_ones_in_the_work_dir():
    assert resolve_shared_memory_dir("auto", 2**30) == "/dev/shm"
    assert resolve_shared_memory_dir("auto", 2**30 - 1) == ""
    assert resolve_shared_memory_dir("", 2**40) == ""  # as given
    assert resolve_shared_memory_dir("/mnt/ram", 10) == "/mnt/ram"


def test_a_lone_partition_trains_its_own_copy_whatever_replicas_says():
    assert resolve_replicas("executor", 1) == "partition"
    assert resolve_replicas("executor", 2) == "executor"
    assert resolve_replicas("partition", 8) == "partition"


def test_two_executors_on_one_host_are_two_replicas(tmp_path, monkeypatch):
    # On executors SparkFiles' root is "." and each executor runs in its own work directory.
    monkeypatch.setattr(SparkFiles, "_root_directory", ".")
    monkeypatch.setattr(SparkFiles, "_is_running_on_worker", True)
    ids = []
    for executor in ("0", "1"):
        (tmp_path / executor).mkdir()
        monkeypatch.chdir(tmp_path / executor)
        ids.append(replica_id())
    assert ids[0] != ids[1]
    assert ids[0].endswith(str(tmp_path / "0"))


def test_an_executors_copy_lives_in_its_own_directory_under_the_shared_memory_dir(spark, tmp_path):
    shm = tmp_path / "shm"
    shm.mkdir()
    broadcast = spark.sparkContext.broadcast(weights(0.5))
    token = uuid.uuid4().hex
    work = SparkFiles.getRootDirectory()
    try:
        first = attach_shared_weights(token, 1, 0, broadcast, shared_dir=str(shm))
        first.weights[0, 1] += 1.0
        second = attach_shared_weights(token, 1, 0, broadcast, shared_dir=str(shm))
        np.testing.assert_array_equal(second.weights[0, 1], 1.5)  # the same files
        (own,) = shm.iterdir()
        assert own.name.startswith("w2v-spark-")
        assert json.loads((own / "owner.json").read_text())["work"] == os.path.abspath(work)
        assert sorted(p.name for p in own.glob(f"w2v-shared-{token}-*")) == [
            f"w2v-shared-{token}-e0001-s0000.npy",
            f"w2v-shared-{token}-e0001-s0000.reported.npy",
            f"w2v-shared-{token}-e0001-s0000.words.npy",
        ]
        assert not list(Path(work).glob(f"w2v-shared-{token}-e*"))  # nothing on disk
        remove_shared_weights(token)
        assert list(shm.iterdir()) == []
        assert not list(Path(work).glob(f"w2v-shared-{token}*"))
    finally:
        broadcast.unpersist()
        remove_shared_weights(token)


@pytest.mark.parametrize("room", ["missing", "full"])
def test_without_room_in_shared_memory_the_copy_goes_to_sparks_work_directory_and_says_so(
    spark, tmp_path, monkeypatch, caplog, room
):
    shm = tmp_path / "shm"
    if room == "full":
        shm.mkdir()
        full = os.statvfs_result((4096, 4096, 100, 0, 0, 100, 0, 0, 0, 255))
        monkeypatch.setattr(replicas.os, "statvfs", lambda path: full)
    broadcast = spark.sparkContext.broadcast(weights(0.5))
    token = uuid.uuid4().hex
    work = SparkFiles.getRootDirectory()
    try:
        with caplog.at_level(logging.WARNING, logger="w2v_spark.train.replicas"):
            attach_shared_weights(token, 1, 0, broadcast, shared_dir=str(shm))
            attach_shared_weights(token, 1, 0, broadcast, shared_dir=str(shm))
        assert len(list(Path(work).glob(f"w2v-shared-{token}-e0001-s0000*.npy"))) == 3
        (warning,) = [r.getMessage() for r in caplog.records]  # once per run and executor
        assert "Spark's work directory" in warning
        assert ("does not exist" if room == "missing" else "0 MB free, 0 MB needed") in warning
    finally:
        broadcast.unpersist()
        remove_shared_weights(token)
    assert not list(Path(work).glob(f"w2v-shared-{token}*"))


def test_directories_of_executors_that_have_ended_are_swept(spark, tmp_path):
    shm = tmp_path / "shm"
    for name, owner in {
        "w2v-spark-gone": {"work": str(tmp_path / "no-such-work-dir"), "pid": os.getpid()},
        "w2v-spark-dead": {"work": str(tmp_path), "pid": 2**22 + 1},  # above pid_max
        "w2v-spark-live": {"work": str(tmp_path), "pid": os.getpid()},
    }.items():
        (shm / name).mkdir(parents=True)
        (shm / name / "owner.json").write_text(json.dumps(owner))
        (shm / name / "w2v-shared-old-e0001-s0000.npy").write_bytes(b"x")
    (shm / "unrelated").mkdir()
    broadcast = spark.sparkContext.broadcast(weights(0.5))
    token = uuid.uuid4().hex
    try:
        attach_shared_weights(token, 1, 0, broadcast, shared_dir=str(shm))
        names = sorted(p.name for p in shm.iterdir())
        assert "w2v-spark-gone" not in names and "w2v-spark-dead" not in names
        assert "w2v-spark-live" in names and "unrelated" in names
    finally:
        broadcast.unpersist()
        remove_shared_weights(token)
