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
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyspark
from pyspark import Broadcast
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from w2v_spark import __version__
from w2v_spark.config import Config, VocabConfig
from w2v_spark.errors import UserError
from w2v_spark.io import paths, storage
from w2v_spark.io.outputs import owned_output
from w2v_spark.session import job_group
from w2v_spark.vocab.tokenize import (
    check_token_pattern,
    decoded_length,
    normalise,
    read_corpus,
    replacement_chars,
    replacement_refusal,
    tokens,
)

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


def sentence_chunks(lines: DataFrame, cfg: VocabConfig) -> DataFrame:
    """``line``, ``chunk``, ``words: array<string>``, ``bad``, ``chars``: lines cut into sentences.

    A line is cut every ``max_sentence_length`` tokens, so a one-line corpus such as text8
    becomes many sentences (gensim cuts at 10,000 words too). A line without tokens keeps one
    empty chunk, so that ``bad`` (its U+FFFD count) and ``chars`` (its length in characters),
    both on chunk 0 only, are still counted.
    Tokenising the whole line once and slicing its array keeps this pure Spark SQL.
    """
    n = cfg.max_sentence_length
    tokenized = lines.select(
        "line",
        tokens(normalise(F.col("text"), cfg), cfg).alias("words"),
        replacement_chars(F.col("text")).alias("bad"),
        decoded_length(F.col("text")).alias("chars"),
    )
    last_chunk = F.greatest(F.floor((F.size("words") - 1) / n).cast("int"), F.lit(0))
    chunks = tokenized.select(
        "line", F.explode(F.sequence(F.lit(0), last_chunk)).alias("chunk"), "words", "bad", "chars"
    )
    return chunks.select(
        "line",
        "chunk",
        F.slice("words", F.col("chunk") * n + 1, n).alias("words"),
        F.when(F.col("chunk") == 0, F.col("bad")).otherwise(0).alias("bad"),
        F.when(F.col("chunk") == 0, F.col("chars")).otherwise(0).alias("chars"),
    )


def count_words(chunks: DataFrame) -> DataFrame:
    """``word``, ``count: long`` for every distinct token."""
    return (
        chunks.select(F.explode("words").alias("word"))
        .groupBy("word")
        .agg(F.count(F.lit(1)).alias("count"))
    )


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


ENCODED_SCHEMA = "line long, chunk int, ids array<int>"


def encode_batches(
    vocab_words: list[str],
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """An Arrow batch function ``(line, chunk, words) -> (line, chunk, ids)`` for mapInArrow.

    ``vocab_words[i]`` is the word with id ``i``. Out-of-vocabulary words are dropped; the
    lookup is Arrow's vectorised hash ``index_in``, not a Python loop over tokens.
    """

    def encode(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        value_set = pa.array(vocab_words, pa.string())
        for batch in batches:
            words = batch.column("words")
            found = pc.index_in(pc.list_flatten(words), value_set=value_set)
            known = pc.is_valid(found)
            ids = pc.filter(found, known).cast(pa.int32())
            owner = pc.filter(pc.list_parent_indices(words), known).to_numpy()
            offsets = np.zeros(len(words) + 1, dtype=np.int32)
            np.cumsum(np.bincount(owner, minlength=len(words)), out=offsets[1:])
            yield pa.RecordBatch.from_arrays(
                [
                    batch.column("line"),
                    batch.column("chunk"),
                    pa.ListArray.from_arrays(offsets, ids),
                ],
                names=["line", "chunk", "ids"],
            )

    return encode


def encode_sentences(chunks: DataFrame, vocab_words: Broadcast) -> DataFrame:
    """``line``, ``chunk``, ``ids``: in-vocabulary ids in order; emptied sentences dropped."""
    return chunks.mapInArrow(
        lambda batches: encode_batches(vocab_words.value)(batches), ENCODED_SCHEMA
    ).where(F.size("ids") > 0)


def build_vocabulary(
    spark: SparkSession, config: Config, *, corpus: str, out: str, overwrite: bool = False
) -> VocabSummary:
    """Run the vocabulary stage from ``corpus`` to a published ``out`` directory.

    Before any work: ``out`` must not overlap ``corpus``, its parent must be writable, the
    token pattern must compile, and no other run may be writing ``out`` (see
    :mod:`w2v_spark.io.outputs`).
    """
    if config.vocab.tokenizer == "pattern":
        check_token_pattern(spark, config.vocab.token_pattern)
    with owned_output(spark, out, inputs=[("--corpus", corpus)], job="vocab"):
        storage.refuse_existing(spark, out, overwrite)
        chunks = sentence_chunks(read_corpus(spark, corpus, config.vocab), config.vocab)
        return write_vocabulary(spark, config, chunks, corpus=corpus, out=out, overwrite=overwrite)


def token_array_chunks(frame: DataFrame, column: str, cfg: VocabConfig) -> DataFrame:
    """The :func:`sentence_chunks` of sentences already tokenised: an ``array<string>`` column.

    This is what ``pyspark.ml.feature.Word2Vec`` takes (the output of ``RegexTokenizer`` or
    ``StopWordsRemover``); the tokens are used as they are (no lowercasing or token pattern:
    the tokenizer upstream did that), null and empty tokens dropped, and a row is cut every
    ``max_sentence_length`` tokens as a text line is. Rows are numbered by
    ``monotonically_increasing_id``, which keeps the frame's order within each partition.
    """
    n = cfg.max_sentence_length
    words = F.filter(F.coalesce(F.col(column), F.array()), lambda w: w.isNotNull() & (w != ""))
    tokenized = frame.select(
        F.monotonically_increasing_id().alias("line"), words.cast("array<string>").alias("words")
    )
    last_chunk = F.greatest(F.floor((F.size("words") - 1) / n).cast("int"), F.lit(0))
    chunks = tokenized.select(
        "line", F.explode(F.sequence(F.lit(0), last_chunk)).alias("chunk"), "words"
    )
    return chunks.select(
        "line",
        "chunk",
        F.slice("words", F.col("chunk") * n + 1, n).alias("words"),
        F.lit(0).alias("bad"),
        F.lit(0).alias("chars"),
    )


def write_vocabulary(
    spark: SparkSession,
    config: Config,
    chunks: DataFrame,
    *,
    corpus: str,
    out: str,
    overwrite: bool,
) -> VocabSummary:
    """Count, choose and encode ``chunks`` (:func:`sentence_chunks` or
    :func:`token_array_chunks`), and publish the vocabulary at ``out``; ``corpus`` names the
    source in ``_meta.json``, logs and errors."""
    storage.refuse_existing(spark, out, overwrite)
    cfg = config.vocab
    started = time.time()
    parallelism = spark.sparkContext.defaultParallelism
    # Tokenise once; spread the sentences over the cores (a one-line corpus is one task).
    chunks = chunks.repartition(2 * parallelism).persist()
    try:
        with job_group(spark, "vocab: read and check the corpus"):
            stats = chunks.agg(
                F.count_if(F.col("chunk") == 0).alias("lines"),
                F.coalesce(F.sum("bad"), F.lit(0)).alias("bad"),
                F.coalesce(F.sum("chars"), F.lit(0)).alias("chars"),
            ).first()
        refusal = replacement_refusal(corpus, int(stats["bad"]), int(stats["chars"]), cfg)
        if refusal:
            raise UserError(refusal)
        with job_group(spark, "vocab: tokenise and count words"):
            counts = count_words(chunks).persist()
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
                vocab.coalesce(1).write.parquet(storage.join(tmp, paths.VOCABULARY))
                # The vocabulary, not the corpus: bounded by min_count and max_vocab_size,
                # the same size as the model the training job holds anyway.
                words = [row.word for row in vocab.orderBy("id").select("word").collect()]
            with job_group(spark, "vocab: encode corpus"):
                num_files = cfg.num_files or parallelism
                sentences = encode_sentences(chunks, spark.sparkContext.broadcast(words))
                (
                    sentences.repartitionByRange(num_files, "line", "chunk")
                    .sortWithinPartitions("line", "chunk")
                    .write.parquet(storage.join(tmp, paths.CORPUS))
                )
            with job_group(spark, "vocab: corpus statistics"):
                written = spark.read.parquet(storage.join(tmp, paths.CORPUS))
                n_sentences = written.count()
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
            storage.write_text(
                spark, storage.join(tmp, paths.VOCAB_META), meta_json(summary, config)
            )
            storage.write_text(spark, storage.join(tmp, paths.CONFIG), config.to_json())
    finally:
        chunks.unpersist()
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
        "format_version": paths.FORMAT_VERSION,
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
    path = storage.join(vocab_dir, paths.VOCAB_META)
    meta = json.loads(storage.read_text(spark, path))
    paths.check_format_version(meta, path)
    return meta
