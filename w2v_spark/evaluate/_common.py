"""Small helpers the evaluation modules share; gensim's ``KeyedVectors`` arithmetic, spelled out.

The vectors' checks and row norms (gensim's ``fill_norms``), the vocabulary lookup under
``restrict_vocab`` and ``case_insensitive``, gensim's ``argsort`` and ``get_mean_vector`` in
the same float32/float64 steps, the reading of an evaluation file, and the spelling lookup
of the report's query words. Used by :mod:`~w2v_spark.evaluate.analogies`,
:mod:`~w2v_spark.evaluate.analogy_scoring`, :mod:`~w2v_spark.evaluate.similarity`,
:mod:`~w2v_spark.evaluate.neighbours`, :mod:`~w2v_spark.evaluate.projection` and
:mod:`~w2v_spark.evaluate.report`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from w2v_spark.errors import UserError


def _check_vectors(words: Sequence[str], vectors: np.ndarray) -> np.ndarray:
    matrix = np.asarray(vectors)
    if matrix.ndim != 2 or matrix.shape[0] != len(words):
        raise UserError(
            f"expected a (words, dim) matrix for {len(words)} words, got shape {matrix.shape}"
        )
    return np.ascontiguousarray(matrix, dtype=np.float32)


def _row_norms(matrix: np.ndarray, stop: int | None = None, block: int = 65536) -> np.ndarray:
    """L2 norm of each of the first ``stop`` rows, float32, shape ``(stop,)``.

    Computed like gensim's ``fill_norms`` (``np.linalg.norm(axis=1)``, identical per row) but
    in blocks of rows, so no temporary copy of a big matrix. Zero norms become 1 (a zero
    vector then scores 0 against everything instead of NaN).
    """
    stop = matrix.shape[0] if stop is None else min(stop, matrix.shape[0])
    norms = np.empty(stop, dtype=np.float32)
    for start in range(0, stop, block):
        end = min(start + block, stop)
        norms[start:end] = np.linalg.norm(matrix[start:end], axis=1)
    norms[norms == 0] = 1.0
    return norms


def _key(word: str, case_insensitive: bool) -> str:
    return word.upper() if case_insensitive else word


def _vocab_index(
    words: Sequence[str], restrict_vocab: int, case_insensitive: bool
) -> dict[str, int]:
    """Key -> row of its first occurrence among the first ``restrict_vocab`` words."""
    index: dict[str, int] = {}
    for i, word in enumerate(words[:restrict_vocab]):
        index.setdefault(_key(word, case_insensitive), i)
    return index


def _gensim_argsort_desc(scores: np.ndarray, topn: int) -> np.ndarray:
    """gensim's ``matutils.argsort(scores, topn, reverse=True)``: same calls, same tie order."""
    x = -scores
    if topn >= x.size:
        return np.argsort(x)[:topn]
    most_extreme = np.argpartition(x, topn)[:topn]
    return most_extreme.take(np.argsort(x.take(most_extreme)))


def _unitvec_like_gensim(vector: np.ndarray) -> np.ndarray:
    """gensim's ``matutils.unitvec(v).astype(float32)`` for a float64 vector."""
    length = float(np.linalg.norm(vector))
    if length > 0.0:
        vector = (1.0 / length) * vector
    return vector.astype(np.float32)


def _signed_mean_like_gensim(units: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """gensim's ``get_mean_vector(pre_normalize=True, post_normalize=True)``, float32 (dim,).

    ``units`` are the float32 unit vectors of the keys; the same float32/float64 steps as
    gensim (float64 weights, a float32 accumulator, float64 division and normalisation).
    """
    mean = np.zeros(units[0].shape[0], dtype=np.float32)
    weight_array = np.asarray(weights, dtype=np.float64)
    total = np.float64(0.0)
    for weight, unit in zip(weight_array, units, strict=True):
        mean += weight * unit
        total += abs(weight)
    return _unitvec_like_gensim(mean / total)


def _open_text(path: str | Path, what: str) -> list[str]:
    file = Path(path)
    if not file.is_file():
        raise UserError(f"{what} file not found: {file}")
    try:
        return file.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise UserError(f"{what} file {file} is not UTF-8 text ({exc.reason})") from None


def _lookup_words(words: Sequence[str]) -> dict[str, str]:
    """Spelling variants -> the vocabulary word: each word, and its lowercase form if free."""
    lookup: dict[str, str] = {}
    for word in words:
        lookup.setdefault(word, word)
    for word in words:
        lookup.setdefault(word.lower(), word)
    return lookup
