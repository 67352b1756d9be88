"""One model replica per executor: the tasks of an executor train one shared copy, Hogwild.

With ``train.replicas = "executor"`` (the default) the partitions that run on one executor
do not each train a private copy of the weights. The first task of a sync on an executor
copies the broadcast ``(syn0, syn1neg)`` into a memory-mapped file in the executor's Spark
work directory; every task of that sync on that executor maps the same file and trains it in
place, lock-free, as gensim's worker threads share one model in one process. Tasks that run
one after another continue from each other's weights; tasks that run at the same time see
each other's updates within a step (128 centre words). So one executor (Spark local mode, or
one executor per machine) trains like gensim with ``workers`` = its cores, at any number of
partitions, and only *executors* are averaged (:mod:`w2v_spark.train.averaging`), not partitions.

How the replica's change reaches the driver: a second file holds the weights as last
reported. A task that finishes takes the executor's lock and sends back, block by block, the
rows that changed since the last report (its own updates and those of tasks still running),
then records what it sent as reported (:meth:`SharedReplica.report_changes`). The reports of
one executor in one sync telescope: they sum to its final weights minus the broadcast ones,
whichever task finished last. (A task that fails mid-way leaves its partial updates to be
reported by the next one; Spark's retry trains its sentences again, as gensim would if fed
them twice. A lost executor loses all its map outputs, so Spark reruns all its tasks.)

Not bit-reproducible: concurrent tasks interleave their updates by timing, as gensim's
threads do. ``train.replicas = "partition"`` gives every partition its own copy (exactly
reproducible, resumes bit-for-bit) at the cost of averaging P copies.

The files live in ``SparkFiles.getRootDirectory()``, which is per executor (the driver's in
local mode) and deleted by Spark when the application ends; an earlier sync's files are
deleted when the next sync's are created, and :func:`remove_shared_weights` deletes the
run's files at the end in local mode. Two files of ``2 x V x dim x 4`` bytes each per
executor, in the page cache of its machine.
"""

from __future__ import annotations

import fcntl
import glob
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from pyspark import Broadcast, SparkFiles
from pyspark.sql import SparkSession

from w2v_spark.train.averaging import BLOCK_ROWS, RowBlock

_PREFIX = "w2v-shared-"


def resolve_replicas(
    replicas: str, num_partitions: int, local_master: bool = True, sg: int = 1, hs: int = 0
) -> str:
    """``"auto"``: ``"executor"`` under a local master (one executor), ``"blocks"`` on a
    cluster (:mod:`w2v_spark.train.rotation`). One partition is ``"partition"`` whatever was asked:
    a lone task shares with nobody, so it trains its own copy (ordinary memory, full-size
    Hogwild steps, bit-reproducible): on wiki8 176,793 words/s against 133,053 with the
    memory-mapped copy (benchmarks/README.md). CBOW (``sg = 0``) predicts a centre from its
    whole window, which block rotation (it trains (centre, context) pairs) cannot cut into
    blocks: "auto" is "executor" for it on a cluster too, and for hierarchical softmax
    (``hs = 1``), which block rotation does not train (it draws negatives per block)."""
    if num_partitions == 1:
        return "partition"
    if replicas == "auto":
        return "executor" if local_master or sg == 0 or hs else "blocks"
    return replicas


def is_local_master(master: str) -> bool:
    """``local`` and ``local[N]`` run every task in the driver's one executor; ``local-cluster``
    starts real executors, like a cluster manager."""
    return master.startswith("local") and not master.startswith("local-cluster")


def executor_count(spark: SparkSession) -> int:
    """Executors registered with the application now (1 in local mode, where the driver runs
    the tasks); the driver is not counted. The training loop corrects it after every sync from
    the replicas that actually reported."""
    sc = spark.sparkContext
    if sc.master.startswith("local"):
        return 1
    return max(1, sc._jsc.sc().getExecutorMemoryStatus().size() - 1)


def replica_id() -> str:
    """Names the executor this Python worker belongs to: host and Spark work directory.

    On executors ``SparkFiles.getRootDirectory()`` is ``"."`` (the executor's working
    directory, ``work/app-.../N``), so it is made absolute: two executors on one host have
    different working directories, hence different ids, and are combined as two replicas.
    """
    return f"{socket.gethostname()}:{os.path.abspath(SparkFiles.getRootDirectory())}"


def shared_weights_path(run_token: str, epoch: int, sync: int, root: str | None = None) -> str:
    root = root or SparkFiles.getRootDirectory()
    return os.path.join(root, f"{_PREFIX}{run_token}-e{epoch:04d}-s{sync:04d}.npy")


@contextmanager
def _locked(path: str) -> Iterator[None]:
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass
class SharedReplica:
    """An executor's shared weights for one sync, float32 ``(2, V, dim)`` (syn0, syn1neg),
    and the same weights as last reported to the driver."""

    weights: np.memmap
    reported: np.memmap
    lock: str
    words: np.memmap | None = None

    def claim_words(self, n: int) -> int:
        """Count ``n`` raw words as trained on this replica; return the count before them.

        The tasks of an executor share the count (int64, in its own file and under its own
        lock, so a long report never holds training up): a task's learning rate follows the
        words trained on the copy it writes, whichever task trained them, so tasks that run one
        after another continue one schedule instead of each restarting the sync's
        (w2v_spark.train.sync_task.SyncTask).
        """
        assert self.words is not None
        with _locked(self.lock + ".words"):
            before = int(self.words[0])
            self.words[0] = before + n
        return before

    def report_changes(
        self, updates0: np.ndarray, updates1: np.ndarray, block_rows: int = BLOCK_ROWS
    ) -> Iterator[tuple[int, RowBlock]]:
        """``(block, RowBlock)`` for each block that changed since the last report or that
        this task updated: the change in ``rows0``/``rows1``, this task's own update counts in
        ``stats0[1]``/``stats1[1]`` (``stats[0]`` marks them).

        ``updates0``/``updates1``: shape ``(V,)``, int64, the number of updates this task made
        to each syn0 / syn1neg row (:func:`~w2v_spark.train.kernel.train_sentences`).

        Each block is read once under the executor's lock, and that very copy becomes the
        reported value, so a row written meanwhile is reported next time, never twice.
        """
        with _locked(self.lock):
            for block, start in enumerate(range(0, self.weights.shape[1], block_rows)):
                end = start + block_rows
                now = np.array(self.weights[:, start:end])
                change = now - self.reported[:, start:end]
                updates = (updates0[start:end], updates1[start:end])
                if not (change.any() or updates[0].any() or updates[1].any()):
                    continue
                self.reported[:, start:end] = now
                stats = np.zeros((2, 2, now.shape[1]))
                stats[:, 0] = [u > 0 for u in updates]
                stats[:, 1] = updates
                yield block, RowBlock(stats[0], change[0], stats[1], change[1])


def attach_shared_weights(
    run_token: str, epoch: int, sync: int, weights: Broadcast, root: str | None = None
) -> SharedReplica:
    """This executor's :class:`SharedReplica` of this sync.

    Created from the broadcast ``(syn0, syn1neg)`` by the first task that asks (under a file
    lock, written then renamed, so no task maps a half-copied file); later tasks only map it
    and never deserialise the broadcast. The run's earlier syncs' files are deleted then (a
    task still mapping one keeps its mapping; the memory goes with the last unmap).
    """
    root = root or SparkFiles.getRootDirectory()
    path = shared_weights_path(run_token, epoch, sync, root)
    reported = path.replace(".npy", ".reported.npy")
    words = path.replace(".npy", ".words.npy")
    lock = os.path.join(root, f"{_PREFIX}{run_token}.lock")
    with _locked(lock):
        if not os.path.exists(path):
            for stale in glob.glob(os.path.join(root, f"{_PREFIX}{run_token}-e*.npy")):
                os.unlink(stale)
            value = np.stack(weights.value)
            weights.__dict__.pop("_value", None)  # this worker's cached copy is not needed
            # The weights file last: it says the others exist.
            for target, array in ((words, np.zeros(1, np.int64)), (reported, value), (path, value)):
                tmp = f"{target}.tmp-{os.getpid()}"
                np.save(tmp, array)
                os.rename(tmp + ".npy", target)
    return SharedReplica(
        np.load(path, mmap_mode="r+"),
        np.load(reported, mmap_mode="r+"),
        lock,
        np.load(words, mmap_mode="r+"),
    )


def remove_shared_weights(run_token: str, root: str | None = None) -> None:
    """Delete the run's shared-weights and lock files from ``root`` (the driver's in local mode)."""
    root = root or SparkFiles.getRootDirectory()
    for path in glob.glob(os.path.join(root, f"{_PREFIX}{run_token}*")):
        os.unlink(path)
