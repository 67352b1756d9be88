"""Reading a corpus and turning its text into tokens, with Spark SQL functions only."""

from __future__ import annotations

import logging

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType

from w2v_spark.config import VocabConfig
from w2v_spark.errors import UserError
from w2v_spark.io import storage

log = logging.getLogger(__name__)

REPLACEMENT_CHAR = "\ufffd"


def input_format(spark: SparkSession, path: str, cfg: VocabConfig) -> str:
    """``text`` or ``parquet``: as configured, or guessed from the path."""
    if cfg.input_format != "auto":
        return cfg.input_format
    if path.rstrip("/").endswith(".parquet"):
        return "parquet"
    names = storage.list_names(spark, path) if "*" not in path else []
    if any(name.endswith(".parquet") for name in names):
        return "parquet"
    return "text"


def read_corpus(spark: SparkSession, path: str, cfg: VocabConfig) -> DataFrame:
    """Lines of the corpus as ``line: long`` (corpus order within each file) and ``text``.

    Text input may be plain, ``.gz`` or ``.bz2``, a directory or a glob, on any Hadoop path;
    Parquet input takes the string column ``cfg.text_column``. Bytes that are not UTF-8
    become U+FFFD, which is not a letter, so they never join a token.
    """
    if storage.matches(spark, path) == 0:
        raise UserError(f"corpus not found: {path}")
    fmt = input_format(spark, path, cfg)
    if fmt == "parquet":
        frame = spark.read.parquet(path)
        if cfg.text_column not in frame.columns:
            raise UserError(
                f"Parquet corpus {path} has no column {cfg.text_column!r} "
                f"(columns: {', '.join(frame.columns)}); set vocab.text_column"
            )
        column_type = frame.schema[cfg.text_column].dataType
        if not isinstance(column_type, StringType):
            raise UserError(
                f"Parquet corpus {path}: column {cfg.text_column!r} is "
                f"{column_type.simpleString()}, not string; set vocab.text_column to a string "
                "column (or cast it when writing the Parquet)"
            )
        text = F.col(cfg.text_column)
        frame = frame.select(F.coalesce(text, F.lit("")).alias("text"))
    else:
        frame = spark.read.text(path).select(F.col("value").alias("text"))
    return frame.select(F.monotonically_increasing_id().alias("line"), "text")


def normalise(text: Column, cfg: VocabConfig) -> Column:
    return F.lower(text) if cfg.lowercase else text


def tokens(text: Column, cfg: VocabConfig) -> Column:
    """``array<string>`` of the tokens of ``text``: pattern matches, or whitespace-split words."""
    if cfg.tokenizer == "whitespace":
        return F.filter(F.split(text, r"\s+"), lambda t: t != F.lit(""))
    return F.regexp_extract_all(text, F.lit(cfg.token_pattern), F.lit(0))


def replacement_chars(text: Column) -> Column:
    """How many U+FFFD characters (undecodable input bytes) a line holds."""
    return F.regexp_count(text, F.lit(REPLACEMENT_CHAR))


def decoded_length(text: Column) -> Column:
    """Characters of a line as decoded, each undecodable byte one U+FFFD.

    ``F.length`` counts the raw bytes' UTF-8 lead bytes, so it undercounts invalid input;
    a regex function decodes the line as :func:`replacement_chars` does.
    """
    good = F.length(F.regexp_replace(text, F.lit(REPLACEMENT_CHAR), F.lit("")))
    return good + replacement_chars(text)


def replacement_refusal(corpus: str, bad: int, chars: int, cfg: VocabConfig) -> str | None:
    """Why a corpus with ``bad`` U+FFFD among ``chars`` characters is refused, or None.

    A corpus that is mostly undecodable (a binary file, or text in another encoding read as
    UTF-8) would otherwise give a vocabulary of stray letters.
    """
    if chars <= 0 or bad / chars <= cfg.max_replacement_fraction:
        return None
    return (
        f"corpus {corpus} is not UTF-8 text: {100 * bad / chars:.1f}% of its characters "
        f"({bad} of {chars}) are undecodable bytes (U+FFFD), above "
        f"vocab.max_replacement_fraction={cfg.max_replacement_fraction:g}; re-encode it as "
        "UTF-8, or raise that key to accept it"
    )


def check_token_pattern(spark: SparkSession, pattern: str) -> None:
    """Compile ``vocab.token_pattern`` with the JVM's regex engine (the one Spark SQL uses)
    before any work, so a typo fails in one line instead of deep inside a job."""
    jvm = spark.sparkContext._jvm
    try:
        jvm.java.util.regex.Pattern.compile(pattern)
    except Exception as exc:
        java = getattr(exc, "java_exception", None)
        reason = java.getMessage().splitlines()[0] if java is not None else str(exc)
        raise UserError(f"vocab.token_pattern {pattern!r} is not a valid regex: {reason}") from None
