"""word2vec C formats: what we write gensim reads, what gensim writes we read, bad files fail clearly."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from w2v_spark.errors import UserError
from w2v_spark.io import vectors as vectors_io
from w2v_spark.io.vectors import read_word2vec, write_word2vec

if TYPE_CHECKING:
    from gensim.models import KeyedVectors

# kv: the session's gensim vectors of the sample corpus, real words and value ranges
# (tests/conftest.py). Tests that need gensim skip without it; the others still run.


@pytest.fixture
def small() -> tuple[list[str], np.ndarray]:
    """A few words with non-ASCII spellings and awkward values."""
    words = ["the", "köln", "東京", "naïve", "o'brien"]
    vectors = np.array(
        [
            [0.1, -0.2, 3.0e-8],
            [1.0 / 3.0, 12345.678, -0.0],
            [np.pi, -np.e, 1e-30],
            [0.0, 1.0, -1.0],
            [7.0, 8.0, 9.0],
        ],
        dtype=np.float32,
    )
    return words, vectors


def gensim_load(path: Path, binary: bool) -> KeyedVectors:
    models = pytest.importorskip("gensim.models")
    return models.KeyedVectors.load_word2vec_format(str(path), binary=binary)


# ----------------------------------------------------------------------------------------------
# our files in gensim


def test_gensim_loads_our_binary_file_with_identical_words_order_and_vectors(kv, tmp_path):
    path = tmp_path / "vectors.bin"
    write_word2vec(path, kv.index_to_key, kv.vectors, binary=True)
    loaded = gensim_load(path, binary=True)
    assert loaded.index_to_key == kv.index_to_key
    assert np.array_equal(loaded.vectors, kv.vectors)


def test_gensim_loads_our_text_file_with_same_words_and_vectors(kv, tmp_path):
    path = tmp_path / "vectors.txt"
    write_word2vec(path, kv.index_to_key, kv.vectors, binary=False)
    loaded = gensim_load(path, binary=False)
    assert loaded.index_to_key == kv.index_to_key
    assert np.array_equal(loaded.vectors, kv.vectors)  # 9 significant digits: exact float32


def test_text_file_with_fewer_digits_matches_to_printed_precision(kv, tmp_path):
    path = tmp_path / "vectors.txt"
    write_word2vec(path, kv.index_to_key, kv.vectors, binary=False, digits=6)
    loaded = gensim_load(path, binary=False)
    assert np.allclose(loaded.vectors, kv.vectors, rtol=1e-5, atol=1e-30)
    assert not np.array_equal(loaded.vectors, kv.vectors)


def test_binary_rows_follow_the_c_tools_layout(tmp_path, small):
    words, vectors = small
    path = tmp_path / "v.bin"
    write_word2vec(path, words, vectors, binary=True)
    data = path.read_bytes()
    expected = b"5 3\n" + b"".join(
        w.encode("utf-8") + b" " + v.astype("<f4").tobytes() + b"\n"
        for w, v in zip(words, vectors, strict=True)
    )
    assert data == expected


@pytest.mark.parametrize("binary", [True, False])
def test_non_ascii_words_round_trip_through_gensim_and_back(tmp_path, small, binary):
    words, vectors = small
    path = tmp_path / ("v.bin" if binary else "v.txt")
    write_word2vec(path, words, vectors, binary=binary)
    loaded = gensim_load(path, binary=binary)
    assert loaded.index_to_key == words
    assert np.array_equal(loaded.vectors, vectors)
    ours_words, ours_vectors = read_word2vec(path)
    assert ours_words == words
    assert ours_vectors.dtype == np.float32 and ours_vectors.shape == (5, 3)
    assert np.array_equal(ours_vectors, vectors)


# ----------------------------------------------------------------------------------------------
# gensim's files in our reader


@pytest.mark.parametrize("binary", [True, False])
def test_reader_loads_files_gensim_writes(kv, tmp_path, binary):
    path = tmp_path / ("gensim.bin" if binary else "gensim.txt")
    kv.save_word2vec_format(str(path), binary=binary)
    words, vectors = read_word2vec(path)
    reference = gensim_load(path, binary=binary)
    assert words == reference.index_to_key
    assert np.array_equal(vectors, reference.vectors)
    assert vectors.dtype == np.float32


@pytest.mark.parametrize("binary", [True, False])
def test_format_is_sniffed_when_the_extension_does_not_tell(kv, tmp_path, binary):
    path = tmp_path / "vectors"
    kv.save_word2vec_format(str(path), binary=binary)  # gensim: no newline after binary rows
    words, vectors = read_word2vec(path)
    assert words == kv.index_to_key
    assert np.allclose(vectors, kv.vectors, rtol=1e-6)


def test_c_tool_text_rows_with_trailing_space_are_read(tmp_path):
    path = tmp_path / "c.txt"
    path.write_bytes(b"2 3\nthe 0.1 0.2 0.3 \nof -1 2e-3 4 \n")
    words, vectors = read_word2vec(path)
    assert words == ["the", "of"]
    assert np.allclose(vectors, [[0.1, 0.2, 0.3], [-1.0, 0.002, 4.0]])


# ----------------------------------------------------------------------------------------------
# bad input


def test_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="not found"):
        read_word2vec(tmp_path / "nope.bin")


@pytest.mark.parametrize(
    "content",
    [b"the 0.1 0.2\n", b"2\nthe 0.1 0.2\n", b"two 2\nthe 0.1 0.2\n", b"", b"2 0\n"],
    ids=["no header", "one number", "not numbers", "empty", "zero dim"],
)
@pytest.mark.parametrize("suffix", [".txt", ".bin"])
def test_wrong_or_missing_header_is_a_user_error(tmp_path, content, suffix):
    path = tmp_path / f"bad{suffix}"
    path.write_bytes(content)
    with pytest.raises(UserError, match=r"header|first line"):
        read_word2vec(path)


@pytest.mark.parametrize("cut", [2, 4 * 3 + 1, 100])  # cutting 1 byte only drops the "\n"
def test_truncated_binary_file_is_a_user_error(tmp_path, small, cut):
    words, vectors = small
    path = tmp_path / "v.bin"
    write_word2vec(path, words, vectors, binary=True)
    path.write_bytes(path.read_bytes()[:-cut])
    with pytest.raises(UserError, match="truncated"):
        read_word2vec(path)


def test_binary_file_with_nothing_after_the_header_is_truncated(tmp_path):
    path = tmp_path / "v.bin"
    path.write_bytes(b"3 2\n")
    with pytest.raises(UserError, match="truncated"):
        read_word2vec(path)


def test_text_file_with_fewer_rows_than_announced_is_a_user_error(tmp_path):
    path = tmp_path / "v.txt"
    path.write_bytes(b"3 2\na 1 2\nb 3 4\n")
    with pytest.raises(UserError, match="announces 3 words, found 2"):
        read_word2vec(path)


@pytest.mark.parametrize("row", [b"b 3 4 5", b"b 3", b"b"])
def test_text_row_with_wrong_number_of_values_is_a_user_error(tmp_path, row):
    path = tmp_path / "v.txt"
    path.write_bytes(b"2 2\na 1 2\n" + row + b"\n")
    with pytest.raises(UserError, match="line 3: expected 2 values"):
        read_word2vec(path)


def test_text_row_with_a_non_number_is_a_user_error(tmp_path):
    path = tmp_path / "v.txt"
    path.write_bytes(b"1 2\na 1 x2\n")
    with pytest.raises(UserError, match="line 2"):
        read_word2vec(path)


@pytest.mark.parametrize("binary", [True, False])
def test_non_utf8_words_are_replaced_and_counted(tmp_path, binary, caplog):
    bad = [b"caf\xe9", b"\xff\xfe", b"ok"]
    rows = np.arange(6, dtype="<f4").reshape(3, 2)
    if binary:
        body = b"".join(w + b" " + r.tobytes() + b"\n" for w, r in zip(bad, rows, strict=True))
    else:
        body = b"".join(w + b" %g %g\n" % tuple(r) for w, r in zip(bad, rows, strict=True))
    path = tmp_path / ("v.bin" if binary else "v.txt")
    path.write_bytes(b"3 2\n" + body)
    with caplog.at_level(logging.WARNING, logger="w2v_spark.io.vectors"):
        words, vectors = read_word2vec(path)
    assert words == ["caf\ufffd", "\ufffd\ufffd", "ok"]
    assert np.array_equal(vectors, rows)
    assert "2 words were not valid UTF-8" in caplog.text


def test_repeated_words_keep_their_first_row_like_gensim(tmp_path, caplog):
    path = tmp_path / "v.txt"
    path.write_bytes(b"3 1\na 1\nb 2\na 3\n")
    with caplog.at_level(logging.WARNING, logger="w2v_spark.io.vectors"):
        words, vectors = read_word2vec(path)
    assert words == ["a", "b"] and vectors.ravel().tolist() == [1.0, 2.0]
    reference = gensim_load(path, binary=False)
    assert reference.key_to_index == {"a": 0, "b": 1} and reference["a"].tolist() == [1.0]
    assert "1 repeated words" in caplog.text


@pytest.mark.parametrize("word", ["two words", "tab\tword", "new\nline", ""])
def test_words_that_break_the_format_are_refused(tmp_path, word):
    with pytest.raises(UserError):
        write_word2vec(tmp_path / "v.txt", ["fine", word], np.zeros((2, 2)), binary=False)


def test_words_and_vectors_must_agree(tmp_path):
    with pytest.raises(UserError, match="2 words but 3 vectors"):
        write_word2vec(tmp_path / "v.bin", ["a", "b"], np.zeros((3, 2)), binary=True)
    with pytest.raises(UserError, match="2-D"):
        write_word2vec(tmp_path / "v.bin", ["a", "b"], np.zeros(2), binary=True)


def test_failed_write_leaves_the_previous_file_and_no_temporary(tmp_path, small, monkeypatch):
    words, vectors = small
    path = tmp_path / "v.bin"
    write_word2vec(path, words, vectors, binary=True)
    before = path.read_bytes()

    def failing_rows(*_args):
        yield b"half a row"
        raise OSError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(vectors_io, "_binary_rows", failing_rows)
        with pytest.raises(OSError, match="disk full"):
            write_word2vec(path, words, vectors, binary=True)
    assert path.read_bytes() == before
    write_word2vec(path, words[:2], vectors[:2], binary=True)  # a successful replace
    assert read_word2vec(path)[0] == words[:2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.bin"]
