"""The model directory: where a run writes, what a finished one holds, and publishing it.

``MODEL/`` holds ``vectors.parquet``, ``vectors.bin``, ``vectors.txt``, ``metrics.json``,
``config.json``, ``checkpoints/`` and ``_SUCCESS`` (names in :mod:`w2v_spark.io.paths`). A run
that replaces a finished model works beside it and swaps in only when complete.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass

import numpy as np
from pyspark.sql import SparkSession

from w2v_spark.config import Config
from w2v_spark.errors import UserError
from w2v_spark.io import paths, storage
from w2v_spark.io.model import (
    read_metrics,
    read_vectors_parquet,
    write_vectors_parquet,
    write_word2vec_files,
)
from w2v_spark.io.outputs import staged_path
from w2v_spark.train.checkpoint import complete_epochs, load_last_checkpoint

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced: the final weights, the metrics, and the vocabulary."""

    words: list[str]
    counts: np.ndarray
    syn0: np.ndarray
    syn1neg: np.ndarray
    metrics: list[dict]


@dataclass(frozen=True)
class OutputPlan:
    """Where a training run writes and whether it continues from a checkpoint there."""

    work: str  # OUT itself, or PARENT/.NAME.next beside a finished model that --overwrite replaces
    resume: bool  # continue from work's last checkpoint
    finished: bool = False  # OUT is finished and --resume asked: nothing left to train


def plan_output(spark: SparkSession, out: str, *, resume: bool, overwrite: bool) -> OutputPlan:
    """Refuse to clobber a finished model or silently restart an unfinished one.

    A finished model is never deleted up front: ``overwrite`` trains beside it in
    :func:`~w2v_spark.io.outputs.staged_path` and swaps the new model in only once it is complete
    (``overwrite`` with ``resume`` continues such a run). An unfinished ``out`` is resumed with
    ``resume`` or started again with ``overwrite``. ``resume`` on a finished model has nothing
    left to do (a retried scheduler task lands here).
    """
    staged = staged_path(out)
    if not storage.exists(spark, out):
        if storage.exists(spark, staged):
            log.info("removing %s: the model it was to replace is gone", staged)
            storage.delete(spark, staged)
        return OutputPlan(work=out, resume=False)
    if storage.is_complete(spark, out):
        if overwrite:
            if resume and storage.exists(spark, staged):
                return OutputPlan(work=staged, resume=True)
            storage.delete(spark, staged)
            return OutputPlan(work=staged, resume=False)
        if resume:
            return OutputPlan(work=out, resume=False, finished=True)
        raise UserError(
            f"output {out} already holds a finished model; pass --overwrite to replace it "
            "(it is kept until the new one is complete)"
        )
    if resume:
        return OutputPlan(work=out, resume=True)
    if overwrite:
        storage.delete(spark, out)
        return OutputPlan(work=out, resume=False)
    raise UserError(
        f"output {out} holds an unfinished run: pass --resume to continue it or --overwrite to start again"
    )


def what_is_kept(spark: SparkSession, out: str, plan: OutputPlan) -> str:
    """For a failed run: which finished model is untouched, and where to resume from ("" when
    there is nothing to say). A staging directory with no complete epoch is removed."""
    kept = f"the finished model at {out} is untouched" if plan.work != out else ""
    try:
        epochs = complete_epochs(spark, plan.work)
        if not epochs and plan.work != out:
            storage.delete(spark, plan.work)
    except Exception:  # the JVM is gone: say where to look
        epochs = None
    if epochs == []:
        return kept
    again = "--overwrite --resume" if plan.work != out else "--resume"
    done = f" (last complete epoch {epochs[-1]})" if epochs else ""
    where = f"this run's checkpoints are in {storage.join(plan.work, 'checkpoints')}{done}"
    return "; ".join(
        filter(None, [kept, f"{where}: rerun with {again} (same settings) to continue"])
    )


def finished_model(spark: SparkSession, out: str) -> TrainResult:
    """A finished model read back: vectors, metrics and the last checkpoint's syn1neg (empty
    when checkpoints were off)."""
    words, counts, syn0 = read_vectors_parquet(spark, storage.join(out, paths.VECTORS))
    metrics = read_metrics(spark, out)["epochs"]
    try:
        last = load_last_checkpoint(spark, out)
    except UserError as exc:  # the vectors are the result; damaged checkpoints lose only syn1neg
        log.warning("finished model at %s: %s", out, exc)
        last = None
    syn1neg = last.syn1neg if last is not None else np.zeros((0, syn0.shape[1]), np.float32)
    return TrainResult(words, counts, syn0, syn1neg, metrics)


def write_model(
    spark: SparkSession,
    out: str,
    config: Config,
    words: list[str],
    counts: np.ndarray,
    syn0: np.ndarray,
    metrics: list[dict],
    vocab_meta: dict,
) -> None:
    """Publish vectors, metrics and config, then ``_SUCCESS`` last."""
    write_vectors_parquet(spark, storage.join(out, paths.VECTORS), words, counts, syn0)
    write_word2vec_files(spark, out, words, syn0)
    summary = {
        "format_version": paths.FORMAT_VERSION,
        "epochs": metrics,
        "vocab": {
            k: vocab_meta.get(k)
            for k in ("corpus", "total_tokens", "retained_tokens", "vocab_size")
        },
        "train": asdict(config.train),
        "seed": config.train.seed,
    }
    metrics_json = json.dumps(summary, indent=2).encode()
    storage.publish_file(spark, storage.join(out, paths.METRICS), data=metrics_json)
    storage.publish_file(spark, storage.join(out, paths.CONFIG), data=config.to_json().encode())
    storage.write_bytes(spark, storage.join(out, paths.SUCCESS), b"")
    log.info("model published at %s", out)
