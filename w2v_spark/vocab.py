"""The vocabulary job: count tokens, choose the vocabulary, encode the corpus as id arrays.

Outputs (see ../shared/DESIGN.md), published atomically under ``out``:

- ``vocab.parquet``: ``id: int`` (0 = most frequent; ties broken by word), ``word``, ``count: long``
- ``corpus.parquet``: one row per sentence in corpus order: ``line: long``, ``chunk: int``,
  ``ids: array<int>`` with at most ``max_sentence_length`` ids (out-of-vocabulary words dropped)
- ``_meta.json``: settings, input path, token counts, vocabulary size, versions
- ``config.json``: the resolved configuration
"""

from __future__ import annotations

import json
import logging
import platform
import time
from dataclasses import asdict, dataclass

import pyspark
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from w2v_spark import __version__, storage
from w2v_spark.config import Config, VocabConfig
from w2v_spark.errors import UserError
from w2v_spark.session import job_group
from w2v_spark.tokenize import read_corpus, replacement_chars, tokenized

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VocabSummary:
    """What ``_meta.json`` records about a vocabulary run."""

    corpus: str
    lines: int
    total_tokens: int
    distinct_words: int
    vocab_size: int
    retained_tokens: int
    sentences: int
    replacement_chars: int
    seconds: float


def count_words(tokens: DataFrame) -> DataFrame:
    """``word``, ``count: long`` for every distinct token."""
    return tokens.groupBy("word").agg(F.count(F.lit(1)).alias("count"))


def select_vocabulary(counts: DataFrame, cfg: VocabConfig) -> DataFrame:
    """Words with ``count >= min_count``, most frequent first, as ``id``, ``word``, ``count``.

    Ids are deterministic: by descending count, ties by word. With ``max_vocab_size`` only the
    most frequent words are kept. The window runs in one partition, over words that passed
    ``min_count`` only: the vocabulary, not the corpus.
    """
    order = Window.orderBy(F.col("count").desc(), F.col("word"))
    vocab = (
        counts.where(F.col("count") >= cfg.min_count)
        .withColumn("id", (F.row_number().over(order) - 1).cast("int"))
        .select("id", "word", F.col("count").cast("long"))
    )
    if cfg.max_vocab_size:
        vocab = vocab.where(F.col("id") < cfg.max_vocab_size)
    return vocab


def encode_sentences(tokens: DataFrame, vocab: DataFrame, max_sentence_length: int) -> DataFrame:
    """``line``, ``chunk``, ``ids``: each line's in-vocabulary ids in order, cut into chunks.

    A line is cut every ``max_sentence_length`` tokens of the raw text, so each chunk holds
    at most that many ids; chunks left empty by out-of-vocabulary words disappear.
    """
    ids = tokens.join(F.broadcast(vocab.select("word", "id")), "word").select(
        "line",
        (F.col("pos") / max_sentence_length).cast("int").alias("chunk"),
        F.struct("pos", "id").alias("token"),
    )
    return ids.groupBy("line", "chunk").agg(
        F.transform(F.array_sort(F.collect_list("token")), lambda t: t["id"]).alias("ids")
    )


def decode(ids: list[int], words: list[str]) -> list[str]:
    return [words[i] for i in ids]


def build_vocabulary(
    spark: SparkSession, config: Config, *, corpus: str, out: str, overwrite: bool = False
) -> VocabSummary:
    """Run the vocabulary stage from ``corpus`` to a published ``out`` directory."""
    cfg = config.vocab
    started = time.time()
    storage.refuse_existing(spark, out, overwrite)
    lines = read_corpus(spark, corpus, cfg)
    tokens = tokenized(lines, cfg).persist()
    try:
        with job_group(spark, "vocab: count words"):
            counts = count_words(tokens).persist()
            totals = counts.agg(
                F.coalesce(F.sum("count"), F.lit(0)).alias("tokens"),
                F.count(F.lit(1)).alias("distinct"),
                F.coalesce(F.max("count"), F.lit(0)).alias("max_count"),
            ).first()
        if totals["tokens"] == 0:
            raise UserError(
                f"corpus {corpus} has no tokens (empty, or nothing matches the tokenizer)"
            )
        vocab = select_vocabulary(counts, cfg).persist()
        with job_group(spark, "vocab: choose vocabulary"):
            kept = vocab.agg(
                F.count(F.lit(1)).alias("size"),
                F.coalesce(F.sum("count"), F.lit(0)).alias("tokens"),
            ).first()
        if kept["size"] == 0:
            raise UserError(
                f"no word occurs vocab.min_count={cfg.min_count} times "
                f"({totals['distinct']} distinct words, the most frequent {totals['max_count']} times)"
            )
        with storage.publishing(spark, out, overwrite=overwrite) as tmp:
            with job_group(spark, "vocab: write vocabulary"):
                vocab.coalesce(1).write.parquet(storage.join(tmp, "vocab.parquet"))
            with job_group(spark, "vocab: encode corpus"):
                num_files = cfg.num_files or spark.sparkContext.defaultParallelism
                sentences = encode_sentences(tokens, vocab, cfg.max_sentence_length)
                (
                    sentences.repartitionByRange(num_files, "line", "chunk")
                    .sortWithinPartitions("line", "chunk")
                    .write.parquet(storage.join(tmp, "corpus.parquet"))
                )
            with job_group(spark, "vocab: corpus statistics"):
                written = spark.read.parquet(storage.join(tmp, "corpus.parquet"))
                n_sentences = written.count()
                stats = lines.agg(
                    F.count(F.lit(1)).alias("lines"),
                    F.coalesce(F.sum(replacement_chars(F.col("text"))), F.lit(0)).alias("bad"),
                ).first()
            summary = VocabSummary(
                corpus=corpus,
                lines=int(stats["lines"]),
                total_tokens=int(totals["tokens"]),
                distinct_words=int(totals["distinct"]),
                vocab_size=int(kept["size"]),
                retained_tokens=int(kept["tokens"]),
                sentences=int(n_sentences),
                replacement_chars=int(stats["bad"]),
                seconds=round(time.time() - started, 3),
            )
            if summary.replacement_chars:
                log.warning(
                    "%d undecodable bytes or U+FFFD characters in %s were replaced and skipped",
                    summary.replacement_chars,
                    corpus,
                )
            storage.write_text(spark, storage.join(tmp, "_meta.json"), meta_json(summary, config))
            storage.write_text(spark, storage.join(tmp, "config.json"), config.to_json())
    finally:
        tokens.unpersist()
    log.info(
        "vocabulary: %d words (of %d distinct), %d of %d tokens kept, %d sentences, %.1f s",
        summary.vocab_size,
        summary.distinct_words,
        summary.retained_tokens,
        summary.total_tokens,
        summary.sentences,
        summary.seconds,
    )
    return summary


def meta_json(summary: VocabSummary, config: Config) -> str:
    meta = {
        **asdict(summary),
        "settings": asdict(config.vocab),
        "versions": {
            "w2v_spark": __version__,
            "pyspark": pyspark.__version__,
            "python": platform.python_version(),
        },
    }
    return json.dumps(meta, indent=2, sort_keys=True)


def read_meta(spark: SparkSession, vocab_dir: str) -> dict:
    storage.require_complete(spark, vocab_dir, "vocabulary")
    return json.loads(storage.read_text(spark, storage.join(vocab_dir, "_meta.json")))
