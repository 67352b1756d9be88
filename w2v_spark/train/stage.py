"""The training loop on the driver: train an epoch, check it, checkpoint, repeat.

With ``train.replicas = "blocks"`` (the default on a cluster) an epoch is the block rotation
of :mod:`w2v_spark.train.rotation`: no copies, nothing averaged. Otherwise (``"executor"``, the
default in local mode, or ``"partition"``), per epoch and per sync (``train.syncs_per_epoch``):

1. broadcast ``(syn0, syn1neg)`` (with block momentum, the look-ahead ``W + mu Δ``);
2. every partition trains its copy on its share of sentences with the NumPy kernel
   (:class:`w2v_spark.train.sync_task.SyncTask`), seeded from (seed, epoch, partition, sync), with
   the learning rate of the run's global progress as seen by the copy it writes;
3. partitions send back only blocks of rows they touched; blocks are summed by key on the
   executors and the driver applies the averaging rule block by block
   (:mod:`w2v_spark.train.averaging`);
4. NaN/Inf in the weights stop the run with the epoch named; so does a loss that rises two
   epochs running; the last checkpoint stays.

Under a local master with executor replicas (the default there) steps 1 and 3 are a copy
each way: the driver writes the sync's shared copy to the file its executor's tasks map
(:func:`~w2v_spark.train.replicas.place_local_copy`; ``/dev/shm`` from 1 GiB) and reads the
trained copy back after the job; nothing is broadcast, reported, shuffled or combined.
Each sync's phases (broadcast or copy, the tasks' attach / train / report, the job, the
combine or read-back) are kept in ``metrics.json`` (``"syncs"``).

How many copies were combined (``replicas``) and each task's first and last learning rate
are kept in ``metrics.json`` per epoch. After each epoch a checkpoint is published
(:mod:`w2v_spark.train.checkpoint`) and a progress line is logged. At the end the vectors are written
as Parquet and word2vec files.

The model is ``syn0`` (word vectors) and ``syn1neg``, the output vectors: with hierarchical
softmax (``train.hs = 1``) that slot holds ``syn1``, the Huffman tree's ``V - 1`` inner
nodes' vectors in rows ``0..V-2`` (row ``V - 1`` stays zero), so broadcast, copies, averaging,
checkpoints and resume are the same in both modes; the tree
(:func:`~w2v_spark.train.huffman.huffman_tree`) is built once here and broadcast with the
subsampling and noise tables.

Memory: the driver holds syn0 and syn1neg (2 x V x dim x 4 bytes), with ``"momentum"`` also
their last move (as much again), the broadcast's serialised copy (under a local master with
executor replicas instead the shared copy), and one reduced partition of
row blocks at a time; each Python worker holds one copy of both matrices (it trains the
broadcast value in place), its partition's sentences and the row blocks it sends back.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from dataclasses import dataclass

import numpy as np
from pyspark import RDD
from pyspark.rdd import portable_hash
from pyspark.sql import SparkSession

from w2v_spark.config import Config, TrainConfig
from w2v_spark.errors import UserError
from w2v_spark.io import storage
from w2v_spark.io.outputs import owned_output
from w2v_spark.session import job_group
from w2v_spark.train.averaging import (
    BLOCK_ROWS,
    add_mean_change,
    average_touched_rows,
    block_momentum,
    replica_row_block,
    resolve_copy_alpha_scale,
    resolve_rule,
    resolve_syncs,
)
from w2v_spark.train.blocks import assign_blocks, local_ids
from w2v_spark.train.checkpoint import (
    check_compatible,
    load_last_checkpoint,
    resume_fingerprint,
    save_checkpoint,
)
from w2v_spark.train.checks import (
    check_epoch_trained,
    check_finite,
    check_has_pairs,
    check_loss_falls,
    read_vocabulary,
)
from w2v_spark.train.huffman import huffman_tree
from w2v_spark.train.kernel import init_weights
from w2v_spark.train.model_dir import (
    TrainResult,
    finished_model,
    plan_output,
    what_is_kept,
    write_model,
)
from w2v_spark.train.params import TrainStats
from w2v_spark.train.replicas import (
    executor_count,
    is_local_master,
    place_local_copy,
    read_local_copy,
    remove_replica_files,
    resolve_replicas,
    resolve_shared_memory_dir,
)
from w2v_spark.train.rotation import BlockLayout, train_epoch_by_blocks
from w2v_spark.train.sampling import keep_probabilities, learning_rate, noise_cdf
from w2v_spark.train.sentences import load_sentences, resolve_num_partitions
from w2v_spark.train.sync_task import (
    REPLICA_KEY,
    STATS_KEY,
    TASK_KEY,
    SyncTask,
    merge,
    sgns_params,
)
from w2v_spark.vocab.stage import read_meta

log = logging.getLogger(__name__)


@dataclass
class SyncResult:
    """What a sync reports besides the weights: summed stats, the tasks' learning rates
    (partition -> first/last words and rates) and how many replicas (copies) reported."""

    stats: TrainStats
    tasks: dict[int, tuple]
    replicas: int
    combine_seconds: float = 0.0


def reads_back(replicas: str, master: str) -> bool:
    """Whether the driver places each sync's shared copy itself and reads it back
    (:func:`~w2v_spark.train.replicas.place_local_copy`): executor replicas under a local
    master, whose one executor runs on the driver's machine. Otherwise the weights are
    broadcast and the tasks report the rows they updated."""
    return replicas == "executor" and is_local_master(master)


def is_row_block(key: object) -> bool:
    """Row-block keys: a block number (partition copies) or (replica, block) (executor ones)."""
    if isinstance(key, tuple):
        return key[0] not in (TASK_KEY, REPLICA_KEY)
    return key != STATS_KEY


def start_from_look_ahead(
    syn0: np.ndarray,
    syn1neg: np.ndarray,
    momentum: tuple[np.ndarray, np.ndarray],
    replicas: int,
    rates: tuple[float, float],
) -> None:
    """Block momentum's Nesterov look-ahead, in place: ``Δ *= mu * ρ``, ``W += Δ``.

    ``Δ`` (``momentum``) is the last sync's move; ``mu`` is :func:`block_momentum` of the
    replicas, ``ρ = rates[1] / rates[0]`` the learning rate now over its value one sync ago
    (SlowMo's scaling: momentum fades as word2vec's rate decays). The sync then starts from
    ``W + mu ρ Δ``, and :func:`~w2v_spark.train.averaging.add_mean_change` adds the replicas' mean
    change to both.
    """
    before, now = rates
    scale = np.float32(block_momentum(replicas) * now / before) if before > 0 else np.float32(0)
    for weights, moved in zip((syn0, syn1neg), momentum, strict=True):
        moved *= scale
        weights += moved


def run_sync(
    sentences: RDD,
    syn0: np.ndarray,
    syn1neg: np.ndarray,
    task: SyncTask,
    reducers: int,
    momentum: tuple[np.ndarray, np.ndarray] | None = None,
) -> SyncResult:
    """One sync: partitions train, row blocks are summed on executors, the driver averages.

    With executor replicas the tasks' changes are first summed per (executor, block), then
    marked per replica and summed per block: two small shuffles, still one aggregate.
    The small records (stats, task rates, replica ids) are reduced into partition 0, which the
    driver reads first, so the "momentum" rule knows how many replicas it averages before it
    applies a block.
    """

    def partition_of(key: object) -> int:  # the small records first, in reduce partition 0
        return 1 + portable_hash(key) % reducers if is_row_block(key) else 0

    def reduce(rdd: RDD) -> RDD:
        return rdd.reduceByKey(merge, numPartitions=reducers + 1, partitionFunc=partition_of)

    # Threads train the local executor's copy inside one task, which reads every partition.
    trained = sentences.coalesce(1) if task.threads > 1 else sentences
    blocks = reduce(trained.mapPartitionsWithIndex(task))
    deltas = task.replicas == "executor"
    if deltas:
        blocks = reduce(blocks.map(lambda kv: replica_row_block(kv) if is_row_block(kv[0]) else kv))
    stats, tasks, names = TrainStats(), {}, set()
    replicas, combine_seconds = 0, 0.0
    for key, value in blocks.toLocalIterator():
        if not is_row_block(key):  # partition 0: all of these come before any row block
            if key == STATS_KEY:
                stats = value
            elif key[0] == TASK_KEY:
                tasks[key[1]] = value
            else:
                names.add(key[1])
            continue
        replicas = replicas or max(len(names), 1)
        applying = time.perf_counter()
        start = key * BLOCK_ROWS
        for i, (weights, s, rows) in enumerate(
            ((syn0, value.stats0, value.rows0), (syn1neg, value.stats1, value.rows1))
        ):
            if momentum is not None:
                add_mean_change(weights, momentum[i], start, s, rows, replicas, deltas=deltas)
            else:
                average_touched_rows(weights, start, s, rows, deltas=deltas)
        combine_seconds += time.perf_counter() - applying
    replicas = max(len(names), 1)
    return SyncResult(stats, tasks, replicas, combine_seconds)


def sync_phases(
    sync: int, broadcast_seconds: float, job_seconds: float, result: SyncResult
) -> dict:
    """One sync's timings for ``metrics.json``: the driver's broadcast, the whole Spark job
    (tasks, shuffle, reduce and the driver's combine), the driver's combine alone, and the
    tasks' phases (:func:`~w2v_spark.train.sync_task.task_phases`): the slowest task's
    attach, train and report seconds, the bytes all tasks sent and the largest worker peak."""
    phases = [t[4] for t in result.tasks.values()]
    slowest = {
        key: round(max((p[key] for p in phases), default=0.0), 3)
        for key in ("attach_seconds", "train_seconds", "report_seconds")
    }
    return {
        "sync": sync,
        "broadcast_seconds": round(broadcast_seconds, 3),
        "job_seconds": round(job_seconds, 3),
        "combine_seconds": round(result.combine_seconds, 3),
        **slowest,
        "report_bytes": sum(p["report_bytes"] for p in phases),
        "worker_peak_bytes": max((p["worker_peak_bytes"] for p in phases), default=0),
    }


def train_model(
    spark: SparkSession,
    config: Config,
    *,
    vocab_dir: str,
    out: str,
    resume: bool = False,
    overwrite: bool = False,
) -> TrainResult:
    """Train on the encoded corpus in ``vocab_dir``; publish the model under ``out``.

    Before any work ``out`` is checked against ``vocab_dir`` and locked
    (:func:`~w2v_spark.io.outputs.owned_output`); see :func:`plan_output` for where the run writes.
    A failure says which finished model is untouched and where the checkpoints are.
    """
    with owned_output(spark, out, inputs=[("--vocab", vocab_dir)], job="train"):
        storage.require_complete(spark, vocab_dir, "vocabulary")
        plan = plan_output(spark, out, resume=resume, overwrite=overwrite)
        if not plan.finished:
            check_has_pairs(spark, vocab_dir)  # before an unfinished run is started again
        if plan.finished:
            log.info("model at %s is already finished: nothing to resume", out)
            return finished_model(spark, out)
        try:
            result = train_into(
                spark, config, vocab_dir=vocab_dir, out=plan.work, resume=plan.resume
            )
        except UserError as exc:
            kept = what_is_kept(spark, out, plan)
            raise UserError(f"{exc}; {kept}" if kept else str(exc)) from None
        except BaseException:
            kept = what_is_kept(spark, out, plan)
            if kept:
                log.error("training stopped: %s", kept)
            raise
        if plan.work != out:
            with job_group(spark, "train: replace the previous model"):
                storage.swap_in(spark, plan.work, out)
        return result


def train_into(
    spark: SparkSession, config: Config, *, vocab_dir: str, out: str, resume: bool
) -> TrainResult:
    """The training run itself, writing checkpoints and the model into ``out``."""
    cfg = config.train
    sc = spark.sparkContext
    meta = read_meta(spark, vocab_dir)
    words, counts = read_vocabulary(spark, vocab_dir)
    num_partitions, too_many = resolve_num_partitions(
        cfg.num_partitions, sc.defaultParallelism, meta.get("retained_tokens")
    )
    if too_many:
        log.warning("%s", too_many)
    with job_group(spark, "train: load and balance sentences"):
        sentences, partition_tokens = load_sentences(spark, vocab_dir, num_partitions)
    corpus_words = sum(partition_tokens)
    total_words = corpus_words * cfg.epochs
    keep_prob = keep_probabilities(counts, cfg.sample)
    # With hs the Huffman tree travels in the same broadcast: (keep_prob, noise_cdf, tree).
    try:
        tree = (huffman_tree(counts),) if cfg.hs else ()
    except ValueError as exc:  # a one-word vocabulary has no tree
        raise UserError(f"train.hs=1: {exc}; use negative sampling (train.hs=0)") from None
    tables = sc.broadcast((keep_prob, noise_cdf(counts, cfg.ns_exponent), *tree))
    replicas = resolve_replicas(
        cfg.replicas, num_partitions, is_local_master(sc.master), cfg.sg, cfg.hs
    )
    fingerprint = resume_fingerprint(cfg, words, num_partitions, replicas)

    checkpoint = load_last_checkpoint(spark, out) if resume else None
    if checkpoint is not None:
        check_compatible(checkpoint.state["fingerprint"], fingerprint)
        syn0, syn1neg = checkpoint.syn0, checkpoint.syn1neg
        first_epoch, words_done = checkpoint.epoch + 1, checkpoint.state["words_done"]
        metrics = checkpoint.state["metrics"]
    else:
        if resume:
            log.info("no complete checkpoint under %s: starting from scratch", out)
        syn0, syn1neg = init_weights(len(words), cfg.vector_size, cfg.seed)
        first_epoch, words_done, metrics = 1, 0, []
    reducers = max(1, min(num_partitions, math.ceil(len(words) / BLOCK_ROWS)))
    blocked = replicas == "blocks"
    averaging = "none" if blocked else resolve_rule(cfg.averaging, num_partitions, replicas)
    syncs = 1 if blocked else resolve_syncs(cfg.syncs_per_epoch, num_partitions, replicas)
    layout = None
    if blocked:  # one block per partition, balanced by the expected tokens left by subsampling
        block_of = assign_blocks(counts * keep_prob, num_partitions)
        layout = sc.broadcast(
            BlockLayout.build(block_of, local_ids(block_of), counts, cfg.ns_exponent)
        )
    # Copies trained side by side: one per partition, or one per executor. Counted again after
    # every sync from the replicas that reported (executors may come and go).
    copies = (
        1
        if blocked
        else num_partitions
        if replicas == "partition"
        else min(executor_count(spark), num_partitions)
    )
    momentum = None
    # One executor (a local master) is one copy: block momentum's mu is 0 and its rule the
    # mean, so the driver keeps no move (M bytes less).
    if averaging == "momentum" and not (replicas == "executor" and is_local_master(sc.master)):
        momentum = checkpoint.momentum if checkpoint and checkpoint.momentum else None
        momentum = momentum or (np.zeros_like(syn0), np.zeros_like(syn1neg))
    run_token = uuid.uuid4().hex
    read_back = reads_back(replicas, sc.master)
    threads = (cfg.threads or sc.defaultParallelism) if read_back else 1
    shared_dir = resolve_shared_memory_dir(cfg.shared_memory_dir, syn0.nbytes + syn1neg.nbytes)
    if replicas == "executor":
        log.info(
            "each executor's shared copy goes under %s", shared_dir or "Spark's work directory"
        )
    log.info(
        "training %d words x %d dims on %d tokens in %d partitions (one replica per %s, "
        "%d expected), epochs %d..%d, %d sync(s)/epoch, averaging %s, copies at %gx alpha",
        len(words),
        cfg.vector_size,
        corpus_words,
        num_partitions,
        replicas,
        copies,
        first_epoch,
        cfg.epochs,
        syncs,
        averaging,
        resolve_copy_alpha_scale(cfg.copy_alpha_scale, copies, averaging),
    )
    if threads > 1:
        log.info("one task per sync trains the copy in private memory with %d threads", threads)
    sync_words = corpus_words / syncs
    try:
        for epoch in range(first_epoch, cfg.epochs + 1):
            started = time.perf_counter()
            epoch_stats, epoch_tasks, epoch_copies = TrainStats(), [], [copies]
            epoch_syncs: list[dict] = []
            if blocked:
                epoch_stats = train_epoch_by_blocks(
                    spark, sentences, syn0, syn1neg, tables, layout, cfg, epoch
                )
                words_done += epoch_stats.raw_words
                check_finite(syn0, syn1neg, epoch, cfg, averaging)
            for sync in range(0 if blocked else syncs):
                progress = words_done / total_words
                if momentum is not None:
                    rates = [
                        learning_rate(cfg.alpha, cfg.min_alpha, p)
                        for p in (progress - sync_words / total_words, progress)
                    ]
                    start_from_look_ahead(syn0, syn1neg, momentum, copies, rates)
                scale = resolve_copy_alpha_scale(cfg.copy_alpha_scale, copies, averaging)
                broadcasting = time.perf_counter()
                if read_back:  # one executor on this machine: it maps the driver's file
                    copy = place_local_copy(run_token, epoch, sync, syn0, syn1neg, shared_dir)
                    weights = None
                else:
                    weights = sc.broadcast((syn0, syn1neg))
                broadcast_seconds = time.perf_counter() - broadcasting
                task = SyncTask(
                    weights=weights,
                    tables=tables,
                    seed=cfg.seed,
                    epoch=epoch,
                    sync=sync,
                    syncs=syncs,
                    params=sgns_params(cfg, shared=replicas == "executor", alpha_scale=scale),
                    progress_start=progress,
                    progress_per_word=copies / total_words,
                    progress_stop=min(1.0, (words_done + sync_words) / total_words),
                    averaging=averaging,
                    replicas=replicas,
                    run_token=run_token,
                    shared_dir=shared_dir,
                    read_back=read_back,
                    threads=threads,
                )
                name = f"epoch {epoch}/{cfg.epochs}: train"
                if syncs > 1:
                    name += f" (sync {sync + 1}/{syncs})"
                running = time.perf_counter()
                with job_group(spark, name):
                    result = run_sync(sentences, syn0, syn1neg, task, reducers, momentum)
                if read_back:
                    reading = time.perf_counter()
                    read_local_copy(copy, syn0, syn1neg)
                    result.combine_seconds += time.perf_counter() - reading
                else:
                    weights.unpersist()
                job_seconds = time.perf_counter() - running
                epoch_syncs.append(sync_phases(sync + 1, broadcast_seconds, job_seconds, result))
                epoch_stats = epoch_stats + result.stats
                epoch_tasks += [
                    {"sync": sync + 1, "partition": p, "lr_first": t[2], "lr_last": t[3]}
                    for p, t in sorted(result.tasks.items())
                ]
                epoch_copies.append(result.replicas)
                words_done += result.stats.raw_words
                if replicas == "executor":
                    copies = min(result.replicas, num_partitions)
                check_finite(syn0, syn1neg, epoch, cfg, averaging)
            seconds = time.perf_counter() - started
            metrics.append(
                epoch_metrics(epoch, epoch_stats, seconds, cfg, words_done / total_words)
            )
            metrics[-1]["replicas"] = max(epoch_copies)
            if blocked:
                metrics[-1]["blocks"] = num_partitions
                metrics[-1]["block_passes"] = cfg.block_passes
            metrics[-1]["tasks"] = epoch_tasks
            if epoch_syncs:
                metrics[-1]["syncs"] = epoch_syncs
            log_progress(metrics, cfg.epochs)
            check_epoch_trained(metrics, cfg)
            check_loss_falls(metrics, cfg)
            if cfg.checkpoint:
                with job_group(spark, f"epoch {epoch}/{cfg.epochs}: checkpoint"):
                    state = {
                        "epoch": epoch,
                        "words_done": words_done,
                        "metrics": metrics,
                        "fingerprint": fingerprint,
                        "seed": cfg.seed,
                    }
                    save_checkpoint(spark, out, epoch, syn0, syn1neg, state, momentum=momentum)
    finally:
        if replicas == "executor":
            with job_group(spark, "train: remove the executors' shared copies"):
                remove_replica_files(spark, run_token)
    sentences.unpersist()
    tables.unpersist()
    if layout is not None:
        layout.unpersist()
    with job_group(spark, "train: write vectors"):
        write_model(spark, out, config, words, counts, syn0, metrics, meta)
    return TrainResult(words, counts, syn0, syn1neg, metrics)


def epoch_metrics(
    epoch: int, stats: TrainStats, seconds: float, cfg: TrainConfig, progress: float
) -> dict:
    return {
        "epoch": epoch,
        "words": stats.raw_words,
        "trained_words": stats.trained_words,
        "pairs": stats.pairs,
        "words_per_sec": round(stats.raw_words / seconds, 1) if seconds > 0 else None,
        "loss": round(stats.mean_loss, 6) if stats.pairs else None,
        "learning_rate": round(learning_rate(cfg.alpha, cfg.min_alpha, progress), 6),
        "seconds": round(seconds, 3),
    }


def log_progress(metrics: list[dict], epochs: int) -> None:
    last = metrics[-1]
    mean_seconds = sum(m["seconds"] for m in metrics) / len(metrics)
    eta = mean_seconds * (epochs - last["epoch"])
    last["eta_seconds"] = round(eta, 1)
    log.info(
        "epoch %d/%d: %d words, %.0f words/s, loss %.4f, lr %.5f, %.1f s, ETA %.0f s",
        last["epoch"],
        epochs,
        last["words"],
        last["words_per_sec"] or 0.0,
        last["loss"] if last["loss"] is not None else float("nan"),
        last["learning_rate"],
        last["seconds"],
        eta,
    )
