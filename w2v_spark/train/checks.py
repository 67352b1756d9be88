"""Checks that stop a training run early, in one line: the vocabulary it reads, a corpus
with nothing to train, weights that diverged, a loss that rises, an epoch that trained nothing.
"""

from __future__ import annotations

import logging
import math

import numpy as np
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from w2v_spark.config import TrainConfig
from w2v_spark.errors import UserError
from w2v_spark.io import paths, storage
from w2v_spark.session import job_group

log = logging.getLogger(__name__)


def read_vocabulary(spark: SparkSession, vocab_dir: str) -> tuple[list[str], np.ndarray]:
    """Words and counts in id order. The vocabulary is model-sized, so it comes to the driver.

    The ids must be 0..V-1, one row each (the rows of syn0); otherwise
    :class:`~w2v_spark.errors.UserError` names the first id that is missing or repeated.
    """
    frame = spark.read.parquet(storage.join(vocab_dir, paths.VOCABULARY)).orderBy("id").toPandas()
    problem = ""
    if frame["id"].isna().any():
        problem = f"has no id on {int(frame['id'].isna().sum())} of its rows"
    else:
        ids = frame["id"].to_numpy(np.int64)
        wrong = np.flatnonzero(ids != np.arange(len(ids)))
        if wrong.size:  # sorted ids, 0..first-1 before the first wrong one
            first, found = int(wrong[0]), int(ids[wrong[0]])
            if found < 0:
                problem = f"has a negative id ({found})"
            elif found < first:
                problem = f"has id {found} on {int(np.count_nonzero(ids == found))} rows"
            else:
                problem = f"lacks id {first}"
    if problem:
        raise UserError(
            f"vocabulary at {vocab_dir} {problem}; its ids must be 0..{len(frame) - 1}, one "
            "row each: rebuild it with the vocabulary job"
        )
    return frame["word"].tolist(), frame["count"].to_numpy(np.int64)


# Trained word2vec weights have components of order 1; 1e3 only comes from a run that
# diverged (an exploding row squares its error every sync).
DIVERGED_ABOVE = 1e3


def check_finite(
    syn0: np.ndarray, syn1neg: np.ndarray, epoch: int, cfg: TrainConfig, averaging: str
) -> None:
    """Stop a diverging run: NaN, Inf or exploding weights."""
    for matrix in (syn0, syn1neg):
        peak = float(np.max(np.abs(matrix))) if matrix.size else 0.0
        if not np.isfinite(peak) or peak > DIVERGED_ABOVE:
            raise UserError(
                f"training diverged in epoch {epoch}: the weights hold NaN, Inf or values "
                f"above {DIVERGED_ABOVE:g} (train.alpha={cfg.alpha} too high, or averaging "
                f"{averaging!r} with too many partitions)"
            )


# word2vec's loss falls epoch after epoch as its rate decays; one that rises two epochs running,
# by more than this in all, comes from copies combined wrongly or a rate set too high (on a
# 4-executor cluster with copies summed: 2.53 -> 2.77 -> 4.84 -> 22.2 -> 133.5).
LOSS_RISE_LIMIT = 0.10


def check_loss_falls(metrics: list[dict], cfg: TrainConfig) -> None:
    """Stop a run whose loss rose in each of the last two epochs, by more than LOSS_RISE_LIMIT
    in all; the epoch's checkpoint is not written, earlier ones are kept."""
    losses = [m["loss"] for m in metrics[-3:]]
    if len(losses) < 3 or None in losses or not all(np.isfinite(losses)):
        return
    first, middle, last = losses
    if first < middle < last and last > first * (1 + LOSS_RISE_LIMIT):
        raise UserError(
            f"training diverged in epoch {metrics[-1]['epoch']}: the loss rose two epochs "
            f"running ({first:.4f} -> {middle:.4f} -> {last:.4f}; train.alpha={cfg.alpha}, "
            f"averaging {cfg.averaging!r})"
        )


def check_has_pairs(spark: SparkSession, vocab_dir: str) -> None:
    """Refuse, before anything is trained or replaced, a corpus without one (centre, context) pair.

    Pairs come from sentences of two or more in-vocabulary words; when every sentence of the
    encoded corpus is shorter (one word per line, or all but one word under
    ``vocab.min_count``) every epoch would train nothing at loss nan. Spark SQL over
    ``corpus.parquet``; only a count reaches the driver.
    """
    corpus = spark.read.parquet(storage.join(vocab_dir, paths.CORPUS))
    with job_group(spark, "train: check the corpus has pairs"):
        if corpus.where(F.size("ids") >= 2).limit(1).count():
            return
        sentences = corpus.count()
    raise UserError(
        f"vocabulary {vocab_dir}: no (centre, context) pair to train on: all {sentences} "
        "sentences have fewer than 2 in-vocabulary words; lower vocab.min_count or give a "
        "corpus with longer sentences"
    )


def check_epoch_trained(metrics: list[dict], cfg: TrainConfig) -> None:
    """Stop at the first epoch that trained no pair (loss nan) or whose loss is not finite;
    its checkpoint is not written, earlier ones are kept."""
    last = metrics[-1]
    loss = last["loss"]
    if not last["pairs"] or loss is None:
        raise UserError(
            f"training stopped in epoch {last['epoch']}: it trained no (centre, context) pair "
            f"(loss nan): subsampling (train.sample={cfg.sample:g}) left fewer than 2 words in "
            "every sentence; lower train.sample (0 turns it off) or use a larger corpus"
        )
    if not math.isfinite(loss):
        raise UserError(
            f"training diverged in epoch {last['epoch']}: the loss is {loss} "
            f"(train.alpha={cfg.alpha} too high?)"
        )
