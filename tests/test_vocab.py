"""The vocabulary job against plain-Python counts of the same tokenisation."""

from __future__ import annotations

import bz2
import gzip
import json
import re
import subprocess
import sys
from collections import Counter

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from chispa import assert_df_equality

from tests.conftest import ROOT, SAMPLE, corpus_path
from w2v_spark.config import build_config
from w2v_spark.errors import UserError
from w2v_spark.vocab.stage import build_vocabulary

# Python's spelling of the default pattern \p{L}+(?:'\p{L}+)*. [^\W\d_] is a letter or a
# numeric symbol such as "²" or "½"; those are not \p{L}, so they are blanked first.
PY_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")


def py_tokens(line: str) -> list[str]:
    text = "".join(" " if ch.isnumeric() and not ch.isalpha() else ch for ch in line.lower())
    return PY_TOKEN.findall(text)


def sample_lines() -> list[str]:
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as f:
        return f.read().splitlines()


def run_vocab(spark, corpus, out, *overrides, overwrite=False):
    config = build_config({}, list(overrides))
    return build_vocabulary(spark, config, corpus=str(corpus), out=str(out), overwrite=overwrite)


def read_vocab(out) -> list[tuple[int, str, int]]:
    rows = pq.read_table(out / "vocab.parquet").to_pylist()
    return [(r["id"], r["word"], r["count"]) for r in sorted(rows, key=lambda r: r["id"])]


def read_sentences(out) -> list[list[int]]:
    rows = pq.read_table(out / "corpus.parquet").to_pylist()
    return [r["ids"] for r in sorted(rows, key=lambda r: (r["line"], r["chunk"]))]


def expected_vocab(counter: Counter, min_count: int) -> list[tuple[int, str, int]]:
    kept = sorted(
        ((w, c) for w, c in counter.items() if c >= min_count), key=lambda x: (-x[1], x[0])
    )
    return [(i, w, c) for i, (w, c) in enumerate(kept)]


@pytest.fixture(scope="module")
def sample_vocab(spark, tmp_path_factory):
    out = tmp_path_factory.mktemp("sample") / "vocab"
    summary = run_vocab(spark, SAMPLE, out, "vocab.min_count=3")
    return out, summary


def test_vocabulary_equals_a_plain_python_counter_of_the_sample(sample_vocab):
    out, summary = sample_vocab
    counter = Counter(t for line in sample_lines() for t in py_tokens(line))
    assert read_vocab(out) == expected_vocab(counter, 3)
    assert summary.total_tokens == sum(counter.values())
    assert summary.distinct_words == len(counter)
    meta = json.loads((out / "_meta.json").read_text())
    assert meta["retained_tokens"] == sum(c for c in counter.values() if c >= 3)
    assert meta["settings"]["min_count"] == 3
    assert (out / "_SUCCESS").exists()
    assert json.loads((out / "config.json").read_text())["vocab"]["min_count"] == 3


def test_encoded_corpus_decodes_to_the_token_stream_without_oov_words_in_order(sample_vocab):
    out, _ = sample_vocab
    words = [w for _, w, _ in read_vocab(out)]
    known = set(words)
    decoded = [words[i] for ids in read_sentences(out) for i in ids]
    expected = [t for line in sample_lines() for t in py_tokens(line) if t in known]
    assert decoded == expected


def test_ids_do_not_depend_on_input_partitioning(spark, sample_vocab, tmp_path):
    out, _ = sample_vocab
    plain = tmp_path / "sample.txt"
    plain.write_text("\n".join(sample_lines()) + "\n", encoding="utf-8")
    spark.conf.set("spark.sql.files.maxPartitionBytes", str(256 * 1024))
    try:
        assert spark.read.text(str(plain)).rdd.getNumPartitions() > 1
        run_vocab(spark, plain, tmp_path / "v", "vocab.min_count=3", "vocab.num_files=5")
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
    assert_df_equality(
        spark.read.parquet(str(tmp_path / "v" / "vocab.parquet")),
        spark.read.parquet(str(out / "vocab.parquet")),
        ignore_row_order=True,
    )
    assert len(list((tmp_path / "v" / "corpus.parquet").glob("part-*.parquet"))) == 5


def test_bz2_and_parquet_inputs_give_the_same_vocabulary_as_gzip(spark, sample_vocab, tmp_path):
    out, _ = sample_vocab
    lines = sample_lines()
    (tmp_path / "bz").mkdir()
    with bz2.open(tmp_path / "bz" / "sample.txt.bz2", "wt", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    pq.write_table(
        pa.table({"body": lines, "other": list(range(len(lines)))}), tmp_path / "s.parquet"
    )
    run_vocab(spark, tmp_path / "bz", tmp_path / "v_bz", "vocab.min_count=3")
    run_vocab(
        spark,
        tmp_path / "s.parquet",
        tmp_path / "v_pq",
        "vocab.min_count=3",
        "vocab.text_column=body",
    )
    assert read_vocab(tmp_path / "v_bz") == read_vocab(out)
    assert read_vocab(tmp_path / "v_pq") == read_vocab(out)


def test_one_line_corpus_is_cut_into_ordered_sentences(spark, tmp_path):
    tokens = [t for line in sample_lines()[:400] for t in py_tokens(line)]
    one_line = tmp_path / "one.txt.gz"
    with gzip.open(one_line, "wt", encoding="utf-8") as f:
        f.write(" ".join(tokens))
    run_vocab(
        spark, one_line, tmp_path / "v", "vocab.min_count=1", "vocab.max_sentence_length=1000"
    )
    words = [w for _, w, _ in read_vocab(tmp_path / "v")]
    sentences = read_sentences(tmp_path / "v")
    assert len(sentences) == -(-len(tokens) // 1000)
    assert all(len(s) == 1000 for s in sentences[:-1])
    assert [words[i] for s in sentences for i in s] == tokens


def test_text8_head_one_line_corpus_counts_match_python(spark, tmp_path):
    path = corpus_path("text8-head.txt.gz")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        tokens = f.read().split()
    run_vocab(spark, path, tmp_path / "v", "vocab.tokenizer=whitespace")
    assert read_vocab(tmp_path / "v") == expected_vocab(Counter(tokens), 5)
    sentences = read_sentences(tmp_path / "v")
    assert max(len(s) for s in sentences) <= 10_000
    assert len(sentences) == -(-len(tokens) // 10_000)


def test_unicode_letters_and_apostrophes_tokenise_like_python(spark, tmp_path):
    text = (
        "Ünïcödé STRASSE straße café naïve O'Brien don't 'quoted' x2y\n"
        "Ελληνικά λέξεις, русский текст; 中文字符 and emoji 🙂 tabs\tand—dashes\n"
    )
    path = tmp_path / "u.txt"
    path.write_text(text * 3, encoding="utf-8")
    run_vocab(spark, path, tmp_path / "v", "vocab.min_count=1")
    counter = Counter(t for line in text.splitlines() * 3 for t in py_tokens(line))
    assert read_vocab(tmp_path / "v") == expected_vocab(counter, 1)
    assert "o'brien" in counter and "don't" in counter and "quoted" in counter


def test_whitespace_tokenizer_keeps_tokens_as_they_are(spark, tmp_path):
    path = tmp_path / "w.txt"
    path.write_text("A b, c!\n  b,  c! c!\n", encoding="utf-8")
    run_vocab(
        spark,
        path,
        tmp_path / "v",
        "vocab.min_count=1",
        "vocab.tokenizer=whitespace",
        "vocab.lowercase=false",
    )
    assert read_vocab(tmp_path / "v") == [(0, "c!", 3), (1, "b,", 2), (2, "A", 1)]


def test_max_vocab_size_keeps_the_most_frequent(spark, sample_vocab, tmp_path):
    out, _ = sample_vocab
    run_vocab(spark, SAMPLE, tmp_path / "v", "vocab.min_count=3", "vocab.max_vocab_size=100")
    assert read_vocab(tmp_path / "v") == read_vocab(out)[:100]
    assert max(i for s in read_sentences(tmp_path / "v") for i in s) == 99


def test_undecodable_bytes_are_replaced_counted_and_skipped(spark, tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"good words here\nbad \xff\xfe bytes here\ngood \xc3 words\n")
    # 3 of 44 characters (6.8%): above the default refusal threshold of 1%, so raise it.
    summary = run_vocab(
        spark, path, tmp_path / "v", "vocab.min_count=1", "vocab.max_replacement_fraction=0.1"
    )
    assert summary.replacement_chars == 3
    assert dict((w, c) for _, w, c in read_vocab(tmp_path / "v")) == {
        "good": 2,
        "words": 2,
        "here": 2,
        "bad": 1,
        "bytes": 1,
    }


@pytest.mark.parametrize(
    ("content", "overrides", "message"),
    [
        (None, [], "corpus not found"),
        ("", [], "has no tokens"),
        ("123 456 !!!\n", [], "has no tokens"),
        ("a b c a\n", ["vocab.min_count=5"], "no word occurs vocab.min_count=5 times"),
    ],
)
def test_bad_corpora_fail_with_one_clear_message_and_no_output(
    spark, tmp_path, content, overrides, message
):
    path = tmp_path / "c.txt"
    if content is not None:
        path.write_text(content)
    with pytest.raises(UserError, match=message):
        run_vocab(spark, path, tmp_path / "out", *overrides)
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_parquet_without_the_text_column_names_it(spark, tmp_path):
    pq.write_table(pa.table({"body": ["a b"]}), tmp_path / "s.parquet")
    with pytest.raises(UserError, match="no column 'text'"):
        run_vocab(spark, tmp_path / "s.parquet", tmp_path / "out")


def test_existing_output_is_refused_unless_overwrite(spark, tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("a a a b\n")
    run_vocab(spark, path, tmp_path / "out", "vocab.min_count=1")
    with pytest.raises(UserError, match="already exists"):
        run_vocab(spark, path, tmp_path / "out", "vocab.min_count=1")
    run_vocab(spark, path, tmp_path / "out", "vocab.min_count=2", overwrite=True)
    assert read_vocab(tmp_path / "out") == [(0, "a", 3)]


def test_vocab_job_reports_a_missing_corpus_in_one_line(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "jobs" / "vocab.py"),
            "--corpus",
            str(tmp_path / "missing.txt"),
            "--out",
            str(tmp_path / "out"),
            "--set",
            "spark.master=local[1]",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("w2v-spark")]
    assert errors == [f"w2v-spark vocab: error: corpus not found: {tmp_path / 'missing.txt'}"]
    assert "Traceback" not in result.stderr


def test_encode_batches_drops_unknown_words_and_keeps_order():
    from w2v_spark.vocab.stage import encode_batches

    batch = pa.RecordBatch.from_arrays(
        [
            pa.array([7, 7, 9], pa.int64()),
            pa.array([0, 1, 0], pa.int32()),
            pa.array([["b", "zz", "a", "b"], ["zz"], ["c", "a"]], pa.list_(pa.string())),
        ],
        names=["line", "chunk", "words"],
    )
    (out,) = list(encode_batches(["a", "b", "c"])([batch]))
    assert out.column("ids").to_pylist() == [[1, 0, 1], [], [2, 0]]
    assert out.column("line").to_pylist() == [7, 7, 9]
