"""Word-pair similarity: Spearman correlation of cosines with human scores (WordSim-353, SimLex-999).

Equal to gensim 4's ``KeyedVectors.evaluate_word_pairs`` on the same vectors (see the float64
note in :func:`evaluate_word_pairs`). Owns reading word-pair files and the rank correlation.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from w2v_spark.errors import UserError
from w2v_spark.evaluate._common import _check_vectors, _key, _open_text, _vocab_index

logger = logging.getLogger(__name__)


def read_word_pairs(path: str | Path, delimiter: str = "\t") -> list[tuple[str, str, float]]:
    """Read a word-similarity file (WordSim-353, SimLex-999 in gensim's layout).

    Lines starting with ``#`` and blank lines are ignored. Every other line must be
    ``word1<delimiter>word2<delimiter>score``; as in gensim, a line that is not (or whose score
    is not a number) is skipped, counted and logged. Words are kept exactly as written.

    Parameters
    ----------
    path : str or Path
        The UTF-8 file.
    delimiter : str, optional
        Field separator, a tab by default (gensim's default).

    Returns
    -------
    list of (str, str, float)
        The pairs in file order with their human score.
    """
    pairs: list[tuple[str, str, float]] = []
    skipped = 0
    for line in _open_text(path, "word-pair"):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split(delimiter)
        try:
            if len(parts) != 3:
                raise ValueError
            pairs.append((parts[0], parts[1], float(parts[2])))
        except ValueError:
            skipped += 1
            logger.debug("%s: skipping invalid line %r", path, line)
    if skipped:
        logger.warning("%s: skipped %d malformed lines", path, skipped)
    return pairs


def spearman(x: Iterable[float], y: Iterable[float]) -> float | None:
    """Spearman's rank correlation of ``x`` and ``y``: ``scipy.stats.spearmanr``, as gensim's
    ``evaluate_word_pairs`` computes it (ties share their average rank).

    Returns None when it is undefined (fewer than two values, or one side constant), where
    scipy returns NaN with a warning.
    """
    a = np.asarray(x if isinstance(x, np.ndarray) else list(x), dtype=np.float64)
    b = np.asarray(y if isinstance(y, np.ndarray) else list(y), dtype=np.float64)
    if len(a) != len(b):
        raise ValueError("spearman: x and y differ in length")
    if len(a) < 2 or np.all(a == a[0]) or np.all(b == b[0]):
        return None
    from scipy import stats  # imported here: scipy.stats takes ~1 s to import

    rho = float(stats.spearmanr(a, b).statistic)
    return max(-1.0, min(1.0, rho)) if math.isfinite(rho) else None


def _pair_cosines(matrix: np.ndarray, rows_a: np.ndarray, rows_b: np.ndarray) -> np.ndarray:
    """Cosine of each row pair, float64 ``(n,)``, computed in float64.

    float64 on purpose: gensim's float32 cosines carry ~1e-7 of rounding noise, enough to swap
    two nearly tied pairs and move Spearman by 1e-5 on SimLex; in float64 the result equals
    gensim's on float64 vectors (``KeyedVectors(..., dtype=float64)``) to ~1e-12.
    """
    a = matrix[rows_a].astype(np.float64)
    b = matrix[rows_b].astype(np.float64)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return np.einsum("ij,ij->i", a, b) / np.where(norms > 0, norms, 1.0)


def evaluate_word_pairs(
    words: Sequence[str],
    vectors: np.ndarray,
    pairs_path: str | Path,
    *,
    restrict_vocab: int = 300000,
    case_insensitive: bool = True,
) -> dict:
    """Spearman correlation of cosine similarities with human scores, as gensim's.

    The cosines are computed in float64: the result equals gensim's ``evaluate_word_pairs``
    on the same vectors held as float64, and on float32 vectors up to gensim's own float32
    rounding (which can swap nearly tied pairs; typically |difference| < 1e-5).

    Parameters
    ----------
    words : sequence of str
        ``V`` words in row order.
    vectors : numpy.ndarray
        Shape ``(V, dim)``.
    pairs_path : str or Path
        Word-pair file (see :func:`read_word_pairs`).
    restrict_vocab : int, optional
        Only the first 300,000 words (gensim's default) are looked up.
    case_insensitive : bool, optional
        Compare uppercase forms (default True; the first variant stands for all).

    Returns
    -------
    dict
        ``{"spearman": float or None, "pairs": int, "oov": float, "total": int}``: ``pairs``
        is the number of pairs with both words known (those the correlation uses); ``oov`` is
        gensim's ``oov_ratio``, the **percentage** (0-100) of the file's pairs skipped for an
        unknown word; ``total`` is the number of pairs in the file. ``spearman`` is None when
        fewer than two pairs are known.
    """
    if restrict_vocab < 1:
        raise UserError(f"restrict_vocab must be >= 1, got {restrict_vocab}")
    matrix = _check_vectors(words, vectors)
    pairs = read_word_pairs(pairs_path)
    index = _vocab_index(words, restrict_vocab, case_insensitive)
    known = [
        (index[_key(a, case_insensitive)], index[_key(b, case_insensitive)], score)
        for a, b, score in pairs
        if _key(a, case_insensitive) in index and _key(b, case_insensitive) in index
    ]
    oov = len(pairs) - len(known)
    result: dict = {"spearman": None, "pairs": len(known), "oov": 0.0, "total": len(pairs)}
    if pairs:
        result["oov"] = 100.0 * oov / len(pairs)
    if known:
        model = _pair_cosines(
            matrix,
            np.asarray([k[0] for k in known], dtype=np.int64),
            np.asarray([k[1] for k in known], dtype=np.int64),
        )
        result["spearman"] = spearman([k[2] for k in known], model)
    logger.info(
        "%s: Spearman %s on %d pairs, %.1f%% with unknown words",
        pairs_path,
        "n/a" if result["spearman"] is None else f"{result['spearman']:.4f}",
        result["pairs"],
        result["oov"],
    )
    return result
