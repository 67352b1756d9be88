"""One model replica per executor: the tasks of an executor train one shared copy, Hogwild.

With ``train.replicas = "executor"`` (the default) the partitions that run on one executor
do not each train a private copy of the weights. The first task of a sync on an executor
copies the broadcast ``(syn0, syn1neg)`` into a memory-mapped file of the executor's
(:func:`replica_root`: under ``/dev/shm`` for models from 1 GiB, else in its Spark work
directory, :func:`resolve_shared_memory_dir`); every
task of that sync on that executor maps the same file and trains it in place, lock-free, as
gensim's worker threads share one model in one process. Tasks that run one after another
continue from each other's weights; tasks that run at the same time see each other's updates
within a step (128 centre words). So one executor (Spark local mode, or one executor per
machine) trains like gensim with ``workers`` = its cores, at any number of partitions, and
only *executors* are averaged (:mod:`w2v_spark.train.averaging`), not partitions.

How the replica's change reaches the driver: a second file holds the weights as last
reported. A task that finishes takes the executor's lock and sends back, block by block, the
change since the last report of exactly the rows it updated (so a report costs what the task
touched, not the model's size), then records what it sent as reported
(:meth:`SharedReplica.report_changes`). The reports of one executor in one sync telescope:
they sum to its final weights minus the broadcast ones, whichever task finished last. (A
task that fails mid-way does not report; Spark's retry trains its sentences again with the
same random stream, so it updates the same rows and reports the failed attempt's writes with
its own, as gensim would if fed the sentences twice. A lost executor loses all its map
outputs, so Spark reruns all its tasks.)

Not bit-reproducible: concurrent tasks interleave their updates by timing, as gensim's
threads do. ``train.replicas = "partition"`` gives every partition its own copy (exactly
reproducible, resumes bit-for-bit) at the cost of averaging P copies.

Files and memory, per executor: the weights and the reported copy, ``2 x V x dim x 4``
bytes each (a small word counter and lock beside them). Under ``/dev/shm`` they are memory
shared by the executor's Python workers (tmpfs: counted once, in the machine's "shared"
memory, not per worker); in Spark's work directory they sit in the page cache and are
written back to disk while tasks train. The first task of a sync also deserialises the
broadcast once (``2 x V x dim x 4`` more, freed after the copy) and writes the files matrix
by matrix. An earlier sync's files are deleted when the next sync's are created, and
:func:`remove_replica_files` deletes the run's at its end.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import json
import logging
import os
import shutil
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from pyspark import Broadcast, SparkFiles
from pyspark.sql import SparkSession

from w2v_spark.train.averaging import BLOCK_ROWS, RowBlock

log = logging.getLogger(__name__)

_PREFIX = "w2v-shared-"
# An executor's directory under train.shared_memory_dir: w2v-spark-<hash of replica_id()>.
_SHM_PREFIX = "w2v-spark-"


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


# "auto" puts copies of this many bytes (syn0 + syn1neg) and more in /dev/shm, smaller ones
# in Spark's work directory (benchmarks/README.md, "Speed and size"): at 1M words x 300 dims
# (2.4 GB) /dev/shm trained 20,389 words/s against 15,000 in the work directory, whose dirty
# pages were being written back; on wiki8 (54 MB) the work directory's page cache trained
# 214,066 words/s against 193,249 (two processes on tmpfs pages, without the large folios
# of the page cache, miss the TLB more).
SHM_FROM_BYTES = 1 << 30


def resolve_shared_memory_dir(setting: str, model_bytes: int) -> str:
    """``train.shared_memory_dir`` for a model of ``model_bytes``: ``"auto"`` is ``/dev/shm``
    from :data:`SHM_FROM_BYTES` on, else ``""`` (Spark's work directory); anything else as
    given."""
    if setting != "auto":
        return setting
    return "/dev/shm" if model_bytes >= SHM_FROM_BYTES else ""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _sweep_orphans(shared_dir: str) -> None:
    """Delete replica directories under ``shared_dir`` whose executor is gone: its Spark work
    directory no longer exists or the process that made it has ended (a killed application
    leaves them behind; tmpfs is not cleared before a reboot)."""
    for entry in glob.glob(os.path.join(shared_dir, f"{_SHM_PREFIX}*")):
        try:
            with open(os.path.join(entry, "owner.json")) as handle:
                owner = json.load(handle)
        except (OSError, ValueError):
            continue  # being created, or not ours
        if not os.path.isdir(owner.get("work", "")) or not _alive(int(owner.get("pid", 0)) or 1):
            shutil.rmtree(entry, ignore_errors=True)
            log.info("removed the shared copies of a finished executor: %s", entry)


def _executor_pid() -> int:
    """A process that lives as long as the executor: a Python worker's parent (the worker
    daemon, or the executor JVM), or the driver itself when it makes the copy (local mode)."""
    return os.getppid() if SparkFiles._is_running_on_worker else os.getpid()


def _choose_root(shared_dir: str, nbytes: int, work: str) -> tuple[str, str]:
    """``(root, why_not)``: this executor's own directory under ``shared_dir`` if it can hold
    ``nbytes``, else ``work`` and the reason."""
    try:
        if not os.path.isdir(shared_dir):
            return work, f"{shared_dir} does not exist"
        _sweep_orphans(shared_dir)
        key = hashlib.sha1(replica_id().encode()).hexdigest()[:16]
        root = os.path.join(shared_dir, f"{_SHM_PREFIX}{key}")
        os.makedirs(root, exist_ok=True)
        owner = os.path.join(root, "owner.json")
        if not os.path.exists(owner):
            with open(f"{owner}.tmp-{os.getpid()}", "w") as handle:
                json.dump({"work": os.path.abspath(work), "pid": _executor_pid()}, handle)
            os.rename(f"{owner}.tmp-{os.getpid()}", owner)
        stat = os.statvfs(root)
        free = stat.f_bavail * stat.f_frsize
        if free < nbytes:
            return (
                work,
                f"{shared_dir} has {free / 2**20:.0f} MB free, {nbytes / 2**20:.0f} MB needed",
            )
        return root, ""
    except OSError as exc:
        return work, f"{shared_dir}: {exc}"


def replica_root(run_token: str, shared_dir: str, nbytes: Callable[[], int]) -> str:
    """The directory of this executor's replica files for run ``run_token``.

    The first task of the run on an executor chooses (under the executor's lock) and records
    the choice, so all its tasks map the same files: a directory of the executor's own under
    ``shared_dir`` (``train.shared_memory_dir``, :func:`resolve_shared_memory_dir`; in
    ``/dev/shm`` no disk writeback competes with training) when it has room for ``nbytes()``
    bytes (asked only then), else Spark's work directory, with a warning in the executor's log.
    """
    work = SparkFiles.getRootDirectory()
    where = os.path.join(work, f"{_PREFIX}{run_token}.where")
    with _locked(os.path.join(work, f"{_PREFIX}{run_token}.lock")):
        if os.path.exists(where):
            with open(where) as handle:
                return handle.read()
        root, why_not = _choose_root(shared_dir, nbytes(), work) if shared_dir else (work, "")
        if why_not:
            log.warning("executor's shared copy in Spark's work directory %s: %s", work, why_not)
        with open(where, "w") as handle:
            handle.write(root)
        return root


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
    reported: np.memmap | None
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
        """``(block, RowBlock)`` for each block in which this task updated a row: the change
        since the last report of exactly the rows this task updated (every other row 0) in
        ``rows0``/``rows1``, this task's update counts in ``stats0[1]``/``stats1[1]``
        (``stats[0]`` marks them).

        ``updates0``/``updates1``: shape ``(V,)``, int64, the number of updates this task made
        to each syn0 / syn1neg row (:func:`~w2v_spark.train.kernel.train_sentences`).

        Only the rows this task updated are read, so a report costs what the task touched,
        not the model's size. The reports still telescope to the replica's whole change: a row
        is reported by every task that updated it, each time as its change since the previous
        report, and the last task to update it reports after its last write. (A task that
        failed mid-way never reports; its retry trains the same sentences with the same random
        stream, so updates the same rows and reports them, the failed attempt's writes
        included.) Each row is read once under the executor's lock, and that very copy becomes
        the reported value, so a write made meanwhile is reported next time, never twice.
        """
        assert self.reported is not None, "a copy placed by the driver is read back, not reported"
        touched0, touched1 = np.flatnonzero(updates0), np.flatnonzero(updates1)
        bounds = np.arange(0, self.weights.shape[1] + block_rows, block_rows)
        cuts = [np.searchsorted(t, bounds) for t in (touched0, touched1)]
        dim = self.weights.shape[2]
        with _locked(self.lock):
            for block, start in enumerate(bounds[:-1]):
                start = int(start)
                n = min(block_rows, self.weights.shape[1] - start)
                rows = [
                    t[c[block] : c[block + 1]]
                    for t, c in zip((touched0, touched1), cuts, strict=True)
                ]
                if not (len(rows[0]) or len(rows[1])):
                    continue
                changes, stats = [], []
                for m, (ids, updates) in enumerate(zip(rows, (updates0, updates1), strict=True)):
                    change = np.zeros((n, dim), np.float32)
                    now = self.weights[m, ids]
                    change[ids - start] = now - self.reported[m, ids]
                    self.reported[m, ids] = now
                    counts = np.zeros((2, n))
                    counts[1, ids - start] = updates[ids]
                    counts[0] = counts[1] > 0
                    changes.append(change)
                    stats.append(counts)
                yield block, RowBlock(stats[0], changes[0], stats[1], changes[1])


def _write_copy(target: str, arrays: tuple[np.ndarray, np.ndarray]) -> None:
    """Write ``(syn0, syn1neg)`` as one float32 ``(2, V, dim)`` ``.npy`` at ``target``,
    matrix by matrix (no stacked copy in memory), then rename it into place."""
    tmp = f"{target}.tmp-{os.getpid()}.npy"
    shape = (len(arrays), *arrays[0].shape)
    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=shape)
    for i, matrix in enumerate(arrays):
        out[i] = matrix
    out.flush()
    del out
    os.rename(tmp, target)


def attach_shared_weights(
    run_token: str,
    epoch: int,
    sync: int,
    weights: Broadcast | None,
    root: str | None = None,
    shared_dir: str = "",
) -> SharedReplica:
    """This executor's :class:`SharedReplica` of this sync.

    Created from the broadcast ``(syn0, syn1neg)`` by the first task that asks (under a file
    lock, written then renamed, so no task maps a half-copied file); later tasks only map it
    and never deserialise the broadcast. The run's earlier syncs' files are deleted then (a
    task still mapping one keeps its mapping; the memory goes with the last unmap).
    ``weights`` is None when the driver placed the copy itself (:func:`place_local_copy`).

    ``root``: the directory of the files; by default :func:`replica_root` chooses one under
    ``shared_dir``, or Spark's work directory.
    """
    if root is None:
        # Room for the two files, and for an earlier sync's until they are replaced.
        root = replica_root(run_token, shared_dir, lambda: 3 * _model_bytes(weights))
    path = shared_weights_path(run_token, epoch, sync, root)
    reported = path.replace(".npy", ".reported.npy")
    words = path.replace(".npy", ".words.npy")
    lock = os.path.join(root, f"{_PREFIX}{run_token}.lock")
    with _locked(lock):
        if not os.path.exists(path):
            if weights is None:
                raise FileNotFoundError(f"the driver's copy {path} is gone")
            value = weights.value
            _write_files(root, run_token, path, value, reported=True)
            del value
            weights.__dict__.pop("_value", None)  # this worker's cached copy is not needed
    return SharedReplica(
        np.load(path, mmap_mode="r+"),
        np.load(reported, mmap_mode="r+") if os.path.exists(reported) else None,
        lock,
        np.load(words, mmap_mode="r+"),
    )


def _write_files(
    root: str, run_token: str, path: str, value: tuple[np.ndarray, np.ndarray], reported: bool
) -> None:
    """A sync's files, under the run's lock: delete the earlier syncs', then the word counter,
    the reported copy (if asked) and the weights, last: their presence says the rest exist."""
    for stale in glob.glob(os.path.join(root, f"{_PREFIX}{run_token}-e*.npy")):
        os.unlink(stale)
    words = path.replace(".npy", ".words.npy")
    np.save(f"{words}.tmp-{os.getpid()}.npy", np.zeros(1, np.int64))
    os.rename(f"{words}.tmp-{os.getpid()}.npy", words)
    if reported:
        _write_copy(path.replace(".npy", ".reported.npy"), value)
    _write_copy(path, value)


def place_local_copy(
    run_token: str, epoch: int, sync: int, syn0: np.ndarray, syn1neg: np.ndarray, shared_dir: str
) -> str:
    """Under a local master, the driver writes the sync's shared copy itself; returns its path.

    The one executor runs in the driver's JVM and its Python workers on the driver's machine,
    so they map the file the driver wrote: no broadcast to serialise and deserialise, no
    reported copy, and nothing to report, shuffle or combine. After the sync the driver reads
    the trained copy back (:func:`read_local_copy`): one copy of the model each way.
    """
    root = replica_root(run_token, shared_dir, lambda: 2 * (syn0.nbytes + syn1neg.nbytes))
    path = shared_weights_path(run_token, epoch, sync, root)
    with _locked(os.path.join(root, f"{_PREFIX}{run_token}.lock")):
        _write_files(root, run_token, path, (syn0, syn1neg), reported=False)
    return path


def read_local_copy(path: str, syn0: np.ndarray, syn1neg: np.ndarray) -> None:
    """Copy the trained shared copy at ``path`` (:func:`place_local_copy`) into the driver's
    ``syn0``/``syn1neg``, in place."""
    trained = np.load(path, mmap_mode="r")
    syn0[:] = trained[0]
    syn1neg[:] = trained[1]
    del trained


def _model_bytes(weights: Broadcast) -> int:
    """float32 bytes of a broadcast ``(syn0, syn1neg)``; reads the broadcast's value, which
    the worker caches for the copy that follows."""
    return sum(matrix.nbytes for matrix in weights.value)


def remove_shared_weights(run_token: str, root: str | None = None) -> None:
    """Delete the run's shared-weights and lock files from ``root`` (Spark's work directory by
    default) and from the directory :func:`replica_root` chose for the run there. Safe to call
    from several tasks of one executor at once."""
    work = root or SparkFiles.getRootDirectory()
    roots = [work]
    where = os.path.join(work, f"{_PREFIX}{run_token}.where")
    with contextlib.suppress(OSError), open(where) as handle:
        roots.append(handle.read())
    for directory in dict.fromkeys(roots):
        for path in glob.glob(os.path.join(directory, f"{_PREFIX}{run_token}*")):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        with contextlib.suppress(OSError):
            if directory != work and os.listdir(directory) == ["owner.json"]:
                shutil.rmtree(directory, ignore_errors=True)


def remove_replica_files(spark: SparkSession, run_token: str) -> None:
    """At the end of a run, delete its executors' shared copies (the last sync's files).

    Under a local master the driver's work directory is the executor's. On a cluster a small
    job runs two tasks per core, which reaches every executor that still has a free core;
    any left behind (an executor busy or lost) are deleted by the next run on that machine
    (:func:`_sweep_orphans`) once their executor has ended.
    """
    sc = spark.sparkContext
    remove_shared_weights(run_token)
    if is_local_master(sc.master):
        return
    tasks = 2 * max(sc.defaultParallelism, 1)
    try:
        sc.parallelize(range(tasks), tasks).foreach(lambda _: remove_shared_weights(run_token))
    except Exception as exc:  # cleaning up must not hide the run's own outcome
        log.warning("could not delete the executors' shared copies: %s", exc)
