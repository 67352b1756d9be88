"""Word vectors in the word2vec C tool's formats, readable by gensim's ``load_word2vec_format``.

Both formats start with a header line ``"<number of words> <dimension>\\n"``. Then one row per
word, in vocabulary order (most frequent first):

* text: ``word v1 v2 ... vdim\\n``, values in decimal;
* binary: ``word `` followed by ``dim`` little-endian float32 values (4 bytes each) and ``\\n``.
  The C tool writes the trailing newline; gensim 4 writes none. Both are read here (newlines
  before a word are skipped, as gensim does).

Every file is written atomically (a temporary file in the same directory, then ``os.replace``):
a reader never sees a half-written file and a crash leaves the previous file in place.
"""

from __future__ import annotations

import contextlib
import logging
import mmap
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from w2v_spark.errors import UserError

logger = logging.getLogger(__name__)

#: Bytes order and width of binary values: the C tool and gensim write little-endian float32.
BINARY_DTYPE = np.dtype("<f4")
#: Significant digits of text values: 9 is enough for every float32 to read back exactly.
TEXT_DIGITS = 9
#: Rows buffered before each write call.
_WRITE_BATCH = 4096
#: Bytes read to decide whether a file without a telling extension is binary.
_SNIFF_BYTES = 1 << 16


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary file next to ``path``; on success move it over ``path`` atomically.

    Parameters
    ----------
    path : str or PathLike
        Final location. Its directory is created if missing.
    mode : str, optional
        ``"wb"`` (default) or ``"w"`` (text, UTF-8, ``\\n`` line endings).

    On an exception the temporary file is removed and ``path`` is left untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        if "b" in mode:
            handle: IO[Any] = os.fdopen(fd, mode)
        else:
            handle = os.fdopen(fd, mode, encoding="utf-8", newline="\n")
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise


# ----------------------------------------------------------------------------------------------
# writing


def _encoded_words(words: Sequence[str]) -> list[bytes]:
    """UTF-8 bytes of each word; a word that would break the row format is a UserError."""
    encoded = []
    for i, word in enumerate(words):
        if not isinstance(word, str) or not word:
            raise UserError(f"word #{i} is empty or not a string: {word!r}")
        if any(ch in word for ch in (" ", "\n", "\r", "\t")):
            raise UserError(
                f"word #{i} {word!r} contains whitespace; word2vec files cannot hold it"
            )
        encoded.append(word.encode("utf-8"))
    return encoded


def _checked_matrix(words: Sequence[str], vectors: np.ndarray) -> np.ndarray:
    matrix = np.asarray(vectors)
    if matrix.ndim != 2:
        raise UserError(f"vectors must be a 2-D array (words, dim), got shape {matrix.shape}")
    if matrix.shape[0] != len(words):
        raise UserError(f"{len(words)} words but {matrix.shape[0]} vectors")
    return np.ascontiguousarray(matrix, dtype=BINARY_DTYPE)


def _binary_rows(words: list[bytes], matrix: np.ndarray) -> Iterator[bytes]:
    for start in range(0, len(words), _WRITE_BATCH):
        stop = start + _WRITE_BATCH
        yield b"".join(
            word + b" " + row.tobytes() + b"\n"
            for word, row in zip(words[start:stop], matrix[start:stop], strict=True)
        )


def _text_rows(words: list[bytes], matrix: np.ndarray, digits: int) -> Iterator[bytes]:
    row_format = " ".join([f"%.{digits}g"] * matrix.shape[1])
    for start in range(0, len(words), _WRITE_BATCH):
        stop = start + _WRITE_BATCH
        lines = [
            word + b" " + (row_format % tuple(row)).encode("ascii") + b"\n"
            for word, row in zip(words[start:stop], matrix[start:stop].tolist(), strict=True)
        ]
        yield b"".join(lines)


def write_word2vec(
    path: str | os.PathLike[str],
    words: Sequence[str],
    vectors: np.ndarray,
    *,
    binary: bool,
    digits: int = TEXT_DIGITS,
) -> None:
    """Write vectors in the word2vec C format, atomically.

    Parameters
    ----------
    path : str or PathLike
        Output file (conventionally ``.bin`` for binary, ``.txt`` for text).
    words : sequence of str
        ``V`` words in row order; none may be empty or contain whitespace.
    vectors : numpy.ndarray
        Shape ``(V, dim)``; converted to float32.
    binary : bool
        True: the binary format (little-endian float32, a ``\\n`` after each row as the C tool
        writes it). False: text, each value with ``digits`` significant digits.
    digits : int, optional
        Significant digits in the text format; the default 9 reads back to the identical float32.

    Raises
    ------
    UserError
        Words and vectors disagree in number, a word is empty or contains whitespace.
    """
    encoded = _encoded_words(words)
    matrix = _checked_matrix(words, vectors)
    rows = _binary_rows(encoded, matrix) if binary else _text_rows(encoded, matrix, digits)
    with atomic_write(path, "wb") as out:
        out.write(f"{matrix.shape[0]} {matrix.shape[1]}\n".encode("ascii"))
        for block in rows:
            out.write(block)
    # debug: callers often write a local copy that they then publish; they log where it went.
    logger.debug(
        "wrote %d x %d vectors (%s) to %s",
        matrix.shape[0],
        matrix.shape[1],
        "binary" if binary else "text",
        path,
    )


# ----------------------------------------------------------------------------------------------
# reading


class _WordDecoder:
    """UTF-8 decoding that replaces bad bytes and counts the words that needed it."""

    def __init__(self) -> None:
        self.replaced = 0

    def __call__(self, raw: bytes) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            self.replaced += 1
            return raw.decode("utf-8", errors="replace")


def _parse_header(line: bytes, path: str | Path) -> tuple[int, int]:
    """``"V dim"`` as two integers, or a UserError naming the file."""
    parts = line.split()
    try:
        if len(parts) != 2:
            raise ValueError
        count, dim = int(parts[0]), int(parts[1])
    except ValueError:
        shown = line[:60].decode("utf-8", errors="replace").strip()
        raise UserError(
            f"{path}: not a word2vec file: the first line must be '<words> <dim>', got {shown!r}"
        ) from None
    if count < 0 or dim < 1:
        raise UserError(f"{path}: bad word2vec header: {count} words of dimension {dim}")
    return count, dim


def _looks_binary(path: Path, name: str | Path) -> bool:
    """Guess the format of a file with a header: is the first row decimal text?"""
    with open(path, "rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    header, _, rest = head.partition(b"\n")
    _, dim = _parse_header(header, name)
    first_row = rest.split(b"\n", 1)[0]
    values = first_row.split(b" ", 1)[1].split() if b" " in first_row else []
    if len(values) != dim:
        return True
    try:
        [float(v) for v in values]
    except ValueError:
        return True
    return False


def _detect_binary(path: Path, name: str | Path) -> bool:
    suffix = path.suffix.lower()
    if suffix == ".bin":
        return True
    if suffix in (".txt", ".vec"):
        return False
    return _looks_binary(path, name)


def _dedup_first(
    words: list[str], vectors: np.ndarray, name: str | Path
) -> tuple[list[str], np.ndarray]:
    """Keep the first row of each repeated word, as gensim's loader does."""
    seen: set[str] = set()
    keep = []
    for i, word in enumerate(words):
        if word not in seen:
            seen.add(word)
            keep.append(i)
    if len(keep) == len(words):
        return words, vectors
    logger.warning(
        "%s: %d repeated words; kept the first row of each (as gensim does)",
        name,
        len(words) - len(keep),
    )
    return [words[i] for i in keep], vectors[np.asarray(keep, dtype=np.int64)]


def _more_rows_error(name: str | Path, count: int, more: str) -> UserError:
    return UserError(
        f"{name}: the header announces {count} words but {more} follow them; fix the header, "
        f"or pass --limit {count} to read only the first {count} rows"
    )


def _read_binary_rows(
    path: Path, name: str | Path, decode: _WordDecoder, limit: int | None
) -> tuple[list[str], np.ndarray]:
    with open(path, "rb") as handle:
        header = handle.readline()
        announced, dim = _parse_header(header, name)
        count = announced if limit is None else min(limit, announced)
        body_start = len(header)
        size = os.fstat(handle.fileno()).st_size
        vectors = np.empty((count, dim), dtype=np.float32)
        words: list[str] = []
        if count == 0:
            return words, vectors
        if size <= body_start:
            raise UserError(f"{name}: truncated binary word2vec file: no rows after the header")
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            row_bytes = dim * BINARY_DTYPE.itemsize
            pos = body_start
            for i in range(count):
                while pos < size and buf[pos] == 0x0A:  # the C tool's "\n" after each row
                    pos += 1
                space = buf.find(b" ", pos)
                if space < 0 or space + 1 + row_bytes > size:
                    raise UserError(
                        f"{name}: truncated binary word2vec file: the header announces {announced} "
                        f"words, the data ends in row {i + 1}"
                    )
                words.append(decode(buf[pos:space]))
                vectors[i] = np.frombuffer(buf, dtype=BINARY_DTYPE, count=dim, offset=space + 1)
                pos = space + 1 + row_bytes
            trailing = buf[pos:size].strip(b"\n")
    if trailing and limit is None:
        raise _more_rows_error(name, announced, f"{len(trailing)} more bytes")
    if trailing:
        logger.info("%s: read the first %d rows (limit %d)", name, count, limit)
    return words, vectors


def _read_text_rows(
    path: Path, name: str | Path, decode: _WordDecoder, limit: int | None
) -> tuple[list[str], np.ndarray]:
    with open(path, "rb") as handle:
        announced, dim = _parse_header(handle.readline(), name)
        count = announced if limit is None else min(limit, announced)
        vectors = np.empty((count, dim), dtype=np.float32)
        words: list[str] = []
        for i in range(count):
            line = handle.readline()
            if not line:
                raise UserError(
                    f"{name}: truncated word2vec file: the header announces {announced} words, "
                    f"found {i}"
                )
            word, _, rest = line.rstrip(b"\r\n").partition(b" ")
            values = rest.split()
            if len(values) != dim:
                raise UserError(
                    f"{name}: line {i + 2}: expected {dim} values after the word, got {len(values)}"
                )
            try:
                vectors[i] = values
            except ValueError:
                raise UserError(f"{name}: line {i + 2}: values are not all numbers") from None
            words.append(decode(word))
        extra = sum(1 for line in handle if line.strip())
    if extra and limit is None:
        raise _more_rows_error(name, announced, f"{extra} more rows")
    if extra:
        logger.info("%s: read the first %d rows (limit %d)", name, count, limit)
    return words, vectors


def read_word2vec(
    path: str | os.PathLike[str],
    binary: bool | None = None,
    *,
    limit: int | None = None,
    name: str | None = None,
) -> tuple[list[str], np.ndarray]:
    """Read a word2vec C-format file (ours, the C tool's or gensim's ``save_word2vec_format``).

    Parameters
    ----------
    path : str or PathLike
        The file.
    binary : bool or None, optional
        The format. None (default) decides by extension: ``.bin`` is binary, ``.txt`` and
        ``.vec`` are text, anything else is sniffed from the first row.
    limit : int or None, optional
        Read only the first ``limit`` rows (gensim's ``limit``). None (default) reads every
        row the header announces, and a file with more rows than that is an error: its header
        is wrong, and reading on would silently drop words.
    name : str or None, optional
        How messages and errors name the file (default: ``path``), e.g. the remote path a
        local copy was made from.

    Returns
    -------
    words : list of str
        ``V`` words in file order. Bytes that are not UTF-8 are replaced by U+FFFD (the number
        of such words is logged as a warning); a repeated word keeps only its first row.
    vectors : numpy.ndarray
        float32, shape ``(V, dim)``.

    Raises
    ------
    UserError
        Missing file, bad header, truncated data, a row with the wrong number of values, rows
        beyond those the header announces (unless ``limit`` is given), ``limit`` below 1.
    """
    if limit is not None and limit < 1:
        raise UserError(f"limit must be >= 1, got {limit}")
    file = Path(path)
    if not file.is_file():
        raise UserError(f"vectors file not found: {file}")
    shown = name or file
    is_binary = _detect_binary(file, shown) if binary is None else binary
    decode = _WordDecoder()
    reader = _read_binary_rows if is_binary else _read_text_rows
    words, vectors = reader(file, shown, decode, limit)
    if decode.replaced:
        logger.warning(
            "%s: %d words were not valid UTF-8; undecodable bytes replaced by U+FFFD",
            shown,
            decode.replaced,
        )
    words, vectors = _dedup_first(words, vectors, shown)
    logger.info(
        "read %d x %d vectors (%s) from %s",
        vectors.shape[0],
        vectors.shape[1],
        "binary" if is_binary else "text",
        shown,
    )
    return words, vectors
