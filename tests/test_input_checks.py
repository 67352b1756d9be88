"""Degenerate input is refused in one line, and finished results stay as they were (issue 15,
cases 6 and 9): undecodable or mistyped corpora, corpora without training pairs, epochs that
train nothing, evaluations that cover nothing, word2vec headers that disagree with their rows,
queries without a direction, and files named by their user's path."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import ROOT
from tests.datasets import ANALOGY_QUESTIONS, WORD_PAIRS
from w2v_spark.config import build_config, load_config
from w2v_spark.errors import UserError
from w2v_spark.evaluate import query
from w2v_spark.evaluate.markdown import render_markdown
from w2v_spark.evaluate.report import build_report, check_coverage
from w2v_spark.evaluate.stage import evaluate_outputs
from w2v_spark.io.vectors import read_word2vec, write_word2vec
from w2v_spark.train import stage as training
from w2v_spark.train.stage import train_model
from w2v_spark.vocab.stage import build_vocabulary
from w2v_spark.vocab.tokenize import read_corpus, replacement_refusal

# The Google set's first question, "Athens Greece Baghdad Iraq", in lowercase.
ATHENS = ["athens", "greece", "baghdad", "iraq"]


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its bytes."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def vectors(n: int, dim: int = 4, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)


def vocab(spark, corpus: Path, out: Path, *overrides: str, overwrite: bool = False):
    config = build_config({}, ["vocab.min_count=1", *overrides])
    return build_vocabulary(spark, config, corpus=str(corpus), out=str(out), overwrite=overwrite)


def finished_output(root: Path, *names: str) -> Path:
    """A stand-in for a finished stage output: what must survive a refused ``--overwrite``."""
    root.mkdir()
    for name in names:
        (root / name).write_bytes(f"earlier {name}".encode())
    (root / "_SUCCESS").write_bytes(b"")
    return root


def encoded_vocabulary(root: Path, words: list[str], sentences: list[list[int]]) -> str:
    """A finished vocabulary directory as the vocabulary job lays it out (DESIGN.md)."""
    root.mkdir()
    counts = np.bincount([i for s in sentences for i in s], minlength=len(words))
    pq.write_table(
        pa.table(
            {
                "id": pa.array(range(len(words)), pa.int32()),
                "word": words,
                "count": pa.array(counts, pa.int64()),
            }
        ),
        root / "vocab.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "line": pa.array(range(len(sentences)), pa.int64()),
                "chunk": pa.array([0] * len(sentences), pa.int32()),
                "ids": pa.array(sentences, pa.list_(pa.int32())),
            }
        ),
        root / "corpus.parquet",
    )
    (root / "_meta.json").write_text("{}")
    (root / "_SUCCESS").write_bytes(b"")
    return str(root)


# ----------------------------------------------------------------------------------------------
# vocabulary


def test_mostly_undecodable_corpus_is_refused_with_its_figure(spark, tmp_path):
    earlier = finished_output(tmp_path / "vocab", "vocab.parquet")
    before = snapshot(earlier)
    binary = tmp_path / "ls"  # a binary file read as text: bytes 0x80-0xff are never UTF-8
    binary.write_bytes((bytes(range(0x80, 0x100)) + b" ab cd\n") * 20)
    with pytest.raises(UserError) as err:
        vocab(spark, binary, earlier, overwrite=True)
    assert str(err.value) == (
        f"corpus {binary} is not UTF-8 text: 95.5% of its characters (2560 of 2680) are "
        "undecodable bytes (U+FFFD), above vocab.max_replacement_fraction=0.01; re-encode it "
        "as UTF-8, or raise that key to accept it"
    )
    assert snapshot(earlier) == before
    accept_all = build_config({}, ["vocab.max_replacement_fraction=1"]).vocab
    assert replacement_refusal(str(binary), 2560, 2680, accept_all) is None


def test_parquet_text_column_that_is_not_a_string_names_column_and_type(spark, tmp_path):
    pq.write_table(pa.table({"text": [1, 2, 3]}), tmp_path / "numbers.parquet")
    cfg = build_config().vocab
    with pytest.raises(UserError) as err:
        read_corpus(spark, str(tmp_path / "numbers.parquet"), cfg)
    assert str(err.value) == (
        f"Parquet corpus {tmp_path / 'numbers.parquet'}: column 'text' is bigint, not string; "
        "set vocab.text_column to a string column (or cast it when writing the Parquet)"
    )


# ----------------------------------------------------------------------------------------------
# training

TINY = ["train.vector_size=8", "train.epochs=2", "train.num_partitions=1"]


def test_corpus_without_a_training_pair_is_refused_before_training(spark, tmp_path):
    # One word per sentence (a word list, or all but one word under min_count): no pair.
    vocab_dir = encoded_vocabulary(tmp_path / "vocab", ["alpha", "beta"], [[0], [1], [0], [1]])
    model = finished_output(tmp_path / "model", "vectors.bin", "metrics.json")
    before = snapshot(model)
    config = build_config({}, TINY)
    with pytest.raises(UserError) as err:
        train_model(spark, config, vocab_dir=vocab_dir, out=str(model), overwrite=True)
    message = str(err.value)
    assert message.startswith(
        f"vocabulary {tmp_path / 'vocab'}: no (centre, context) pair to train on: all 4 "
        "sentences have fewer than 2 in-vocabulary words; lower vocab.min_count or give a "
        "corpus with longer sentences"
    )
    assert "\n" not in message
    assert snapshot(model) == before


def test_an_epoch_that_trains_no_pair_stops_the_run(spark, tmp_path):
    vocab_dir = encoded_vocabulary(
        tmp_path / "vocab", ["alpha", "beta", "gamma", "delta"], [[0, 1], [2, 3]] * 5
    )
    # Subsampling at 1e-12 keeps each word with probability ~1e-6: no pair survives.
    config = build_config({}, [*TINY, "train.sample=1e-12"])
    with pytest.raises(UserError) as err:
        train_model(spark, config, vocab_dir=vocab_dir, out=str(tmp_path / "m"))
    assert str(err.value).startswith(
        "training stopped in epoch 1: it trained no (centre, context) pair (loss nan): "
        "subsampling (train.sample=1e-12) left fewer than 2 words in every sentence"
    )
    assert not (tmp_path / "m" / "_SUCCESS").exists()
    assert not (tmp_path / "m" / "checkpoints" / "epoch-001").exists()


def test_a_non_finite_loss_stops_the_run_naming_the_epoch():
    cfg = build_config().train
    training.check_epoch_trained([{"epoch": 1, "pairs": 10, "loss": 2.5}], cfg)
    with pytest.raises(UserError, match=r"^training diverged in epoch 2: the loss is nan"):
        training.check_epoch_trained(
            [{"epoch": 1, "pairs": 10, "loss": 2.5}, {"epoch": 2, "pairs": 10, "loss": math.nan}],
            cfg,
        )
    with pytest.raises(UserError, match=r"^training stopped in epoch 3: it trained no"):
        training.check_epoch_trained([{"epoch": 3, "pairs": 0, "loss": None}], cfg)


# ----------------------------------------------------------------------------------------------
# evaluation


@pytest.mark.parametrize(
    ("words", "reason"),
    [
        (
            ATHENS,
            "case mismatch: 4 question words are in the vocabulary only in another case "
            "(e.g. 'Athens' as 'athens'); set evaluate.case_insensitive=true",
        ),
        (
            ["AMAZING", "AMAZINGLY", "CALM", "CALMLY"],
            "case mismatch: 4 question words are in the vocabulary only in another case "
            "(e.g. 'amazing' as 'AMAZING'); set evaluate.case_insensitive=true",
        ),
    ],
    ids=["questions-mixed-vocabulary-lower", "questions-lower-vocabulary-upper"],
)
def test_no_coverage_from_a_case_mismatch_says_so(words, reason):
    cfg = build_config({}, ["evaluate.case_insensitive=false"]).evaluate
    report = build_report(words, None, vectors(len(words)), cfg, vectors_path="v")
    assert report["analogy"]["total"]["covered"] == 0
    with pytest.raises(UserError) as err:
        check_coverage(report, words, cfg)
    assert str(err.value) == (
        f"evaluation covers nothing: 0 of {ANALOGY_QUESTIONS} analogy questions and 0 of "
        f"{WORD_PAIRS} word pairs have all their words among the 4 vectors; {reason}"
    )


def test_no_coverage_from_restrict_vocab_or_a_tiny_vocabulary_says_so():
    words = ["qqqx", "zzzx", *ATHENS]
    cfg = build_config({}, ["evaluate.restrict_vocab=2"]).evaluate
    report = build_report(words, None, vectors(len(words)), cfg, vectors_path="v")
    with pytest.raises(UserError, match=r"4 question words come after the first evaluate\."):
        check_coverage(report, words, cfg)
    cfg = build_config().evaluate
    report = build_report(words[:2], None, vectors(2), cfg, vectors_path="v")
    with pytest.raises(UserError, match=r"vectors; the vocabulary is too small: it holds 0 of"):
        check_coverage(report, words[:2], cfg)


def test_evaluate_names_the_users_file_and_reads_the_first_rows_on_request(spark, tmp_path):
    path = tmp_path / "other.txt"  # the header announces 4 rows, 5 follow
    write_word2vec(path, ATHENS, vectors(4), binary=False)
    path.write_bytes(path.read_bytes() + b"extra 1 2 3 4\n")
    config = build_config()
    with pytest.raises(UserError) as err:
        evaluate_outputs(spark, config, vectors=str(path), out=str(tmp_path / "report"))
    assert str(err.value) == (
        f"{path}: the header announces 4 words but 1 more rows follow them; fix the header, "
        "or pass --limit 4 to read only the first 4 rows"
    )
    assert not (tmp_path / "report").exists()
    report = evaluate_outputs(
        spark, config, vectors=str(path), out=str(tmp_path / "report"), limit=4
    )
    assert report["analogy"]["total"]["covered"] == 3  # "Athens Greece Baghdad Iraq" thrice
    before = snapshot(tmp_path / "report")
    # Vectors that cover nothing: the error names the reason; the earlier report stays.
    unknown = tmp_path / "unknown.bin"
    write_word2vec(unknown, ["qqqx", "zzzx"], vectors(2), binary=True)
    with pytest.raises(
        UserError, match=rf"^evaluation covers nothing: 0 of {ANALOGY_QUESTIONS} analogy"
    ):
        evaluate_outputs(
            spark, config, vectors=str(unknown), out=str(tmp_path / "report"), overwrite=True
        )
    assert snapshot(tmp_path / "report") == before


def test_evaluate_job_that_covers_nothing_exits_2_in_one_line(tmp_path):
    unknown = tmp_path / "unknown.bin"
    write_word2vec(unknown, ["qqqx", "zzzx"], vectors(2), binary=True)
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "jobs" / "evaluate.py"),
            "--vectors",
            str(unknown),
            "--out",
            str(tmp_path / "report"),
            "--set",
            "spark.master=local[1]",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("w2v-spark")]
    assert len(errors) == 1
    assert errors[0].startswith(
        f"w2v-spark evaluate: error: evaluation covers nothing: 0 of {ANALOGY_QUESTIONS} "
    )
    assert errors[0].endswith("train on a larger corpus or lower vocab.min_count")
    assert not (tmp_path / "report").exists()


# ----------------------------------------------------------------------------------------------
# word2vec files


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_header_announcing_fewer_rows_than_the_file_has_is_an_error_unless_limited(
    tmp_path, binary
):
    path = tmp_path / ("v.bin" if binary else "v.txt")
    words, matrix = ["a", "b", "c"], vectors(3)
    write_word2vec(path, words, matrix, binary=binary)
    data = path.read_bytes()
    path.write_bytes(b"2" + data[1:])  # header "3 4" -> "2 4"
    more = f"{len('c ') + 4 * 4} more bytes" if binary else "1 more rows"
    with pytest.raises(UserError) as err:
        read_word2vec(path)
    assert str(err.value) == (
        f"{path}: the header announces 2 words but {more} follow them; fix the header, "
        "or pass --limit 2 to read only the first 2 rows"
    )
    read, rows = read_word2vec(path, limit=2)
    assert read == words[:2]
    np.testing.assert_array_equal(rows, matrix[:2])
    path.write_bytes(data)
    assert read_word2vec(path, limit=1)[0] == ["a"]  # fewer rows than announced, on request
    with pytest.raises(UserError, match="limit must be >= 1"):
        read_word2vec(path, limit=0)


# ----------------------------------------------------------------------------------------------
# query


def test_query_on_a_file_inside_an_unfinished_model_directory_is_refused(tmp_path, capsys):
    model = tmp_path / "model"
    write_word2vec(model / "vectors.bin", ATHENS, vectors(4), binary=True)
    (model / "metrics.json").write_text("{}")
    assert query.main([str(model / "vectors.bin"), "athens"]) == 2
    assert capsys.readouterr().err == (
        f"error: {model}: the model is incomplete (no _SUCCESS): finish it with --resume\n"
    )
    (model / "_SUCCESS").write_bytes(b"")
    assert query.main([str(model / "vectors.bin"), "athens", "--topn", "2"]) == 0
    # A word2vec file outside any model directory needs no _SUCCESS.
    write_word2vec(tmp_path / "loose" / "v.txt", ATHENS, vectors(4), binary=False)
    assert query.main([str(tmp_path / "loose" / "v.txt"), "athens", "--topn", "2"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 4


def test_query_with_a_zero_vector_is_an_error_not_arbitrary_words(tmp_path, capsys):
    path = tmp_path / "v.txt"
    matrix = vectors(5)
    matrix[4] = 0
    write_word2vec(path, [*ATHENS, "void"], matrix, binary=False)
    assert query.main([str(path), "athens - athens"]) == 2
    assert capsys.readouterr().err == (
        "error: query 'athens - athens': its vector is (near) zero (the words cancel out, or a "
        "vector is zero), so no word is nearer than another; ask with other words\n"
    )
    assert query.main([str(path), "similar", "void"]) == 2
    assert "its vector is (near) zero" in capsys.readouterr().err
    assert query.main([str(path), "athens - greece + iraq"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == ["baghdad", "void"]
    assert query.main([str(path), "athens", "--limit", "3", "--topn", "5"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == [
        "greece",
        "baghdad",
    ]


# ----------------------------------------------------------------------------------------------
# config


def test_a_config_file_that_is_not_utf8_names_the_file(tmp_path):
    path = tmp_path / "profile.toml"
    path.write_bytes(b"\x7fELF\x02\x01\x01\x00\xff\xfe")
    with pytest.raises(UserError) as err:
        load_config(path)
    assert str(err.value) == (
        f"config file {path} is not UTF-8 text (byte 8: invalid start byte); give a TOML "
        "profile such as conf/sample.toml"
    )
    path.write_bytes(b"\x00\x01[vocab]\n")
    with pytest.raises(UserError, match=rf"^config file {path} is not valid TOML"):
        load_config(path)
    assert json.loads(load_config(None).to_json())["vocab"]["max_replacement_fraction"] == 0.01


def test_a_report_example_with_a_zero_vector_shows_the_error_and_the_report_goes_on():
    cfg = build_config({}, ["evaluate.examples=['athens - athens', 'athens']"]).evaluate
    report = build_report(ATHENS, None, vectors(4), cfg, vectors_path="v")
    assert report["examples"][0] == {
        "query": "athens - athens",
        "error": "query 'athens - athens': its vector is (near) zero (the words cancel out, or a "
        "vector is zero), so no word is nearer than another; ask with other words",
        "top": [],
    }
    assert len(report["examples"][1]["top"]) == 3
    assert "its vector is (near) zero" in render_markdown(report)
