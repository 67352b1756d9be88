"""One shared copy of the weights per executor and sync, in memory-mapped files."""

from __future__ import annotations

import multiprocessing

import numpy as np
from pyspark import SparkFiles

from w2v_spark.train.replicas import (
    attach_shared_weights,
    remove_shared_weights,
    replica_id,
    resolve_replicas,
)


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
        upd_a, upd_b = np.array([2, 0, 0, 0, 0, 0, 1]), np.array([0, 0, 0, 3, 0, 0, 0])
        a.weights[0, 0] += 1.0  # task a updates rows 0 and 6 of syn0
        a.weights[0, 6] += 0.25
        b.weights[0, 3] -= 2.0  # task b updates row 3 of syn0 and row 3 of syn1neg
        b.weights[1, 3] += 4.0
        first = dict(a.report_changes(upd_a, np.zeros(7, np.int64), block_rows=2))
        assert sorted(first) == [0, 1, 3]  # a reports b's change too: rows 0, 3 and 6
        np.testing.assert_array_equal(first[1].rows0[1], [-2.0] * 3)
        np.testing.assert_array_equal(first[1].stats0[1], [0, 0])  # a made no update there
        np.testing.assert_array_equal(first[0].stats0[:2, 0], [1, 2])
        b.weights[0, 3] -= 1.0  # b goes on after a finished
        second = dict(b.report_changes(upd_b, upd_b, block_rows=2))
        assert sorted(second) == [1]
        np.testing.assert_array_equal(second[1].rows0[1], [-1.0] * 3)
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
