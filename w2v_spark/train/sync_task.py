"""What one Spark partition does in one sync: train its copy, send back the rows it touched."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from pyspark import Broadcast

from w2v_spark.train.averaging import RowBlock, touched_row_blocks
from w2v_spark.train.kernel import train_sentences
from w2v_spark.train.params import DEFAULT_STEP_TOKENS, SgnsParams, TrainStats
from w2v_spark.train.replicas import attach_shared_weights, replica_id
from w2v_spark.train.sampling import learning_rate, partition_rng
from w2v_spark.train.threads import WordCounter, run_threads

if TYPE_CHECKING:  # only read for its fields: the executors need not import the config
    from w2v_spark.config import TrainConfig

STATS_KEY = -1
# Per-task records, keyed (TASK_KEY, partition): the learning rates the task trained with.
TASK_KEY = "task"
# One record per task, keyed (REPLICA_KEY, replica id): how many replicas (copies) reported.
REPLICA_KEY = "replica"
# Centres per Hogwild step when an executor's tasks share one copy: two processes updating the
# same frequent rows double the staleness, and 256 (the private-copy default) blew up in
# epoch 2 on wiki8 (loss 13.96); 128 trained stably (loss 2.38 -> 2.25, benchmarks/README.md).
SHARED_STEP_TOKENS = 128


def sgns_params(cfg: TrainConfig, *, shared: bool = False, alpha_scale: float = 1.0) -> SgnsParams:
    """The kernels' :class:`~w2v_spark.train.params.SgnsParams` of a run's ``train`` settings.

    The one place where configuration becomes kernel parameters (the kernel does not read
    the configuration).

    Parameters
    ----------
    cfg : TrainConfig
        The ``train`` section: ``window``, ``negative``, ``alpha``, ``min_alpha`` and
        ``batch_words`` are taken as they are.
    shared : bool
        The tasks of an executor train one shared copy (``replicas = "executor"``): Hogwild
        steps of :data:`SHARED_STEP_TOKENS` centres instead of
        :data:`~w2v_spark.train.params.DEFAULT_STEP_TOKENS`.
    alpha_scale : float
        Multiplies ``alpha`` (copies combined by block momentum,
        :func:`~w2v_spark.train.averaging.resolve_copy_alpha_scale`); ``min_alpha`` is kept.
    """
    return SgnsParams(
        window=cfg.window,
        negative=cfg.negative,
        alpha=cfg.alpha * alpha_scale,
        min_alpha=cfg.min_alpha,
        batch_words=cfg.batch_words,
        step_tokens=SHARED_STEP_TOKENS if shared else DEFAULT_STEP_TOKENS,
        sg=cfg.sg,
        cbow_mean=cfg.cbow_mean,
        hs=cfg.hs,
    )


def sync_share(sentences: list[np.ndarray], sync: int, syncs: int) -> list[np.ndarray]:
    """The sentences of sync ``sync`` (of ``syncs``): consecutive, by cumulative token count."""
    if syncs == 1:
        return sentences
    sizes = np.fromiter((len(s) for s in sentences), dtype=np.int64, count=len(sentences))
    total = int(sizes.sum())
    if total == 0:
        return []
    midpoints = np.cumsum(sizes) - sizes / 2
    owner = np.minimum((midpoints * syncs // total).astype(np.int64), syncs - 1)
    return [s for s, o in zip(sentences, owner, strict=True) if o == sync]


@dataclass(frozen=True)
class SyncTask:
    """Everything a partition needs for one sync; pickled once and sent with the tasks.

    ``weights`` broadcasts ``(syn0, syn1neg)`` (with hs, ``syn1neg`` holds the tree's ``syn1``);
    ``tables`` broadcasts ``(keep_prob, noise_cdf)``, with hs ``(keep_prob, noise_cdf, tree)``
    (:func:`~w2v_spark.train.huffman.huffman_tree`);
    ``params`` are the kernel's hyperparameters (:func:`sgns_params`; with ``replicas =
    "executor"`` built with ``shared=True``, for the shorter steps of a shared copy).
    The partition's RNG is seeded from (seed, epoch, partition, sync), so with ``replicas =
    "partition"`` a run is reproducible and a resumed run equals an uninterrupted one.

    Learning rate: ``progress_start + words * progress_per_word``, capped at ``progress_stop``
    (the sync's end), where ``words`` counts the raw words trained on the copy this task writes
    before each batch: its own with a private copy (``progress_per_word = P / total``, the P
    copies train side by side), the executor's with a shared one (a counter in the replica,
    ``progress_per_word = E / total`` for E executors), so tasks of an executor that run one
    after another continue one schedule instead of each sweeping the sync's range again.

    ``replicas``: ``"partition"``, each partition trains its own copy of the broadcast and sends
    back its touched rows keyed by block; ``"executor"``, the partitions of one executor train
    one shared copy (:mod:`w2v_spark.train.replicas`, files named by ``run_token``) and each sends
    back the copy's changes since the executor's last report, keyed by (executor, block), in
    files under ``shared_dir`` (``train.shared_memory_dir``,
    :func:`~w2v_spark.train.replicas.replica_root`). ``read_back``: under a local master the
    driver wrote the copy itself (``weights`` is None) and reads it back after the sync, so
    tasks send no rows (:func:`~w2v_spark.train.replicas.place_local_copy`).

    Each task's record (``(TASK_KEY, partition)``) also carries its phases
    (:func:`task_phases`): seconds to attach the copy, train and report, the bytes of row
    blocks it sent and its Python worker's peak memory.
    """

    weights: Broadcast | None
    tables: Broadcast
    seed: int
    epoch: int
    sync: int
    syncs: int
    params: SgnsParams
    progress_start: float
    progress_per_word: float
    progress_stop: float
    averaging: str
    replicas: str = "partition"
    run_token: str = ""
    shared_dir: str = ""
    read_back: bool = False
    threads: int = 1

    def __call__(
        self, index: int, sentences: Iterator[np.ndarray]
    ) -> Iterator[tuple[object, object]]:
        share = sync_share(list(sentences), self.sync, self.syncs)
        if self.threads > 1:
            yield from self._train_threaded(index, share)
        elif self.replicas == "executor":
            yield from self._train_shared(index, share)
        else:
            yield from self._train_own_copy(index, share)

    def _train(
        self,
        index: int,
        share: list[np.ndarray],
        syn0: np.ndarray,
        syn1neg: np.ndarray,
        updates0: np.ndarray | None,
        updates1: np.ndarray | None,
        words_before: TaskSchedule | None = None,
    ) -> TrainStats:
        keep_prob, noise_cdf, *tree = self.tables.value
        return train_sentences(
            syn0,
            syn1neg,
            share,
            self.params,
            keep_prob=keep_prob,
            noise_cdf=noise_cdf,
            rng=partition_rng(self.seed, self.epoch, index, self.sync),
            progress_start=self.progress_start,
            progress_per_word=self.progress_per_word,
            updates0=updates0,
            updates1=updates1,
            words_before=words_before,
            tree=tree[0] if tree else None,
        )

    def _schedule(self, claim: Callable[[int], int] | None = None) -> TaskSchedule:
        span = self.progress_stop - self.progress_start
        limit = round(span / self.progress_per_word) if self.progress_per_word > 0 else 0
        return TaskSchedule(claim, limit)

    def _task_record(
        self, index: int, schedule: TaskSchedule, phases: dict
    ) -> tuple[object, object]:
        alpha, min_alpha = self.params.alpha, self.params.min_alpha
        rates = [
            learning_rate(alpha, min_alpha, self.progress_start + w * self.progress_per_word)
            for w in (schedule.first, schedule.last)
        ]
        return (TASK_KEY, index), (schedule.first, schedule.last, *rates, phases)

    def _train_own_copy(self, index: int, share: list[np.ndarray]) -> Iterator[tuple[int, object]]:
        started = time.perf_counter()
        syn0, syn1neg = self.weights.value
        updates0 = np.zeros(len(syn0), dtype=np.int64)
        updates1 = np.zeros(len(syn1neg), dtype=np.int64)
        schedule = self._schedule()
        try:
            attached = time.perf_counter()
            stats = self._train(
                index, share, syn0, syn1neg, updates0, updates1, words_before=schedule
            )
            trained = time.perf_counter()
            yield STATS_KEY, stats
            yield (REPLICA_KEY, f"partition {index}"), 1
            sent = 0
            for block, rows in touched_row_blocks(syn0, syn1neg, updates0, updates1):
                sent += rows.nbytes
                yield block, rows
            yield self._task_record(index, schedule, task_phases(started, attached, trained, sent))
        finally:
            forget_broadcast_value(self.weights)

    def _train_shared(self, index: int, share: list[np.ndarray]) -> Iterator[tuple[object, object]]:
        started = time.perf_counter()
        replica = attach_shared_weights(
            self.run_token, self.epoch, self.sync, self.weights, shared_dir=self.shared_dir
        )
        attached = time.perf_counter()
        # Update counters say which rows to report; a copy the driver reads back reports
        # none, and counting cost 5.6% of a worker's time (py-spy, wiki8 at P = 2).
        counters = None if self.read_back else replica.weights.shape[1]
        updates0 = None if counters is None else np.zeros(counters, dtype=np.int64)
        updates1 = None if counters is None else np.zeros(counters, dtype=np.int64)
        schedule = self._schedule(replica.claim_words)
        stats = self._train(
            index, share, *replica.weights, updates0, updates1, words_before=schedule
        )
        trained = time.perf_counter()
        yield STATS_KEY, stats
        name = replica_id()
        yield (REPLICA_KEY, name), 1
        sent = 0
        for block, rows in () if self.read_back else replica.report_changes(updates0, updates1):
            sent += rows.nbytes
            yield (name, block), rows
        yield self._task_record(index, schedule, task_phases(started, attached, trained, sent))

    def _train_threaded(
        self, index: int, share: list[np.ndarray]
    ) -> Iterator[tuple[object, object]]:
        """The local executor's copy, trained by :attr:`threads` threads in this one task
        (:mod:`w2v_spark.train.threads`): read into private memory, trained, written back."""
        started = time.perf_counter()
        replica = attach_shared_weights(
            self.run_token, self.epoch, self.sync, None, shared_dir=self.shared_dir
        )
        private = np.array(replica.weights)  # anonymous memory: huge pages where allowed
        attached = time.perf_counter()
        counter = WordCounter()
        # Thread t trains the t-th run of consecutive sentences (by tokens), as the tasks of
        # a shared copy train their partitions: one queue for both threads (gensim's way) put
        # both in the same stretch of text at once and lost 8% of one epoch's analogy accuracy
        # on wiki8 (benchmarks/README.md).
        parts = [sync_share(share, t, self.threads) for t in range(self.threads)]
        schedules = [self._schedule(counter.claim) for _ in range(self.threads)]

        def work(thread: int) -> TrainStats:
            # One random stream per thread, seeded as partition `thread` would be.
            return self._train(
                thread, parts[thread], *private, None, None, words_before=schedules[thread]
            )

        stats = sum(run_threads(work, self.threads), TrainStats())
        replica.weights[...] = private
        private = None  # the task's copy is freed before its records are sent
        trained = time.perf_counter()
        yield STATS_KEY, stats
        yield (REPLICA_KEY, replica_id()), 1
        used = [s for s in schedules if s.done] or schedules  # the task's first and last rates
        schedule = TaskSchedule(
            None, 0, first=min(s.first for s in used), last=max(s.last for s in used)
        )
        yield self._task_record(index, schedule, task_phases(started, attached, trained, 0))


def task_phases(started: float, attached: float, trained: float, sent: int) -> dict:
    """A task's phases from its ``perf_counter`` marks: ``attach_seconds`` (get the copy: the
    broadcast, and with a shared copy the files), ``train_seconds``, ``report_seconds`` (row
    blocks built and handed to Spark), ``report_bytes`` (their size) and ``worker_peak_bytes``
    (the Python worker's peak resident memory so far, ``ru_maxrss``)."""
    return {
        "attach_seconds": attached - started,
        "train_seconds": trained - attached,
        "report_seconds": time.perf_counter() - trained,
        "report_bytes": sent,
        "worker_peak_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }


@dataclass
class TaskSchedule:
    """The ``words_before`` of one task's :func:`~w2v_spark.train.kernel.train_sentences`.

    ``claim(n)`` counts ``n`` words on the shared copy and returns the count before them (None:
    the task counts its own words); the result is capped at ``limit``, the words at which the
    sync's share of the schedule ends. Remembers the first and last values it returned.
    """

    claim: Callable[[int], int] | None
    limit: int
    done: int = 0
    first: int = 0
    last: int = 0

    def __call__(self, words: int) -> int:
        before = self.claim(words) if self.claim is not None else self.done
        before = min(before, self.limit)
        if self.done == 0:
            self.first = before
        self.last = before
        self.done += words
        return before


def forget_broadcast_value(broadcast: Broadcast) -> None:
    """Drop this worker's cached copy of a broadcast that the task trained in place.

    A Python worker caches ``broadcast.value`` and may run the next partition of the same
    sync with it; training in place (one copy of the matrices per worker, not two) is only
    safe if the next task reloads the pristine value from Spark's broadcast file.
    """
    broadcast.__dict__.pop("_value", None)


def merge(a: RowBlock | TrainStats | int, b: RowBlock | TrainStats | int):
    """Sum two records of one key: row blocks, stats, or a replica's task counts (task records
    are keyed by partition, one per key: Spark keeps one attempt's output per partition)."""
    return a + b
