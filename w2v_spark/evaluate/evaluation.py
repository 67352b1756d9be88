"""Analogy and word-similarity evaluation of word vectors, on the driver with NumPy.

The numbers equal gensim 4's ``KeyedVectors.evaluate_word_analogies`` and
``evaluate_word_pairs`` on the same vectors (for word pairs see the float64 note in
:func:`evaluate_word_pairs`); the rules below are gensim's, spelled out:

* Only the first ``restrict_vocab`` words (the most frequent, when rows are in vocabulary
  order) take part: as question words and as candidate answers.
* ``case_insensitive``: every word is compared in ``str.upper()`` form. When several words of
  the vocabulary share an uppercase form, the first (most frequent) one stands for it.
* A question with any of its four words outside that vocabulary is skipped: it is not
  *covered* and counts neither as correct nor as wrong.
* 3CosAdd: the target is the direction of ``u(b) + u(c) - u(a)`` (``u`` = unit vector) and
  candidates are ranked by cosine with it; the rows of ``a``, ``b`` and ``c`` are excluded.
  gensim then walks its top 5 and predicts the first whose uppercase form is not one of the
  question words (which skips other case variants of them); if all five are such variants
  the last one stands as the (wrong) prediction. ``correct`` means prediction == expected.
* 3CosMul (Levy and Goldberg 2014, gensim's ``most_similar_cosmul``): candidates ranked by
  ``p(b) p(c) / (p(a) + 1e-6)`` with ``p(x) = (1 + cos(x, d)) / 2``; same selection rule.

Batching: the scores of a chunk of questions against all candidates are one matrix product;
the best and second-best candidate come from two ``argmax`` passes with the question words
masked. When the two are closer than the float32 rounding error of the products (or the best
is a case variant of a question word), that question is re-scored exactly as gensim does it
(same float32 operations, same partial sort), so ties and near-ties resolve the same way.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from w2v_spark.errors import UserError

logger = logging.getLogger(__name__)

Question = tuple[str, str, str, str]
AnalogySection = tuple[str, list[Question]]

#: Methods of ``evaluate_analogies``.
METHODS = ("3cosadd", "3cosmul")
#: gensim's ``evaluate_word_analogies`` looks at this many ranked candidates per question.
GENSIM_TOPN = 5
#: gensim's ``most_similar_cosmul`` adds this to the denominator.
COSMUL_EPSILON = 1e-6
#: Score-matrix elements per chunk of questions (float32): 16M = 64 MB per matrix; at
#: restrict_vocab 30,000 that is ~560 questions, enough rows for BLAS to run at full speed.
_CHUNK_ELEMENTS = 1 << 24
#: Unit roundoff of float32.
_U32 = 2.0**-24
#: Prefix of the syntactic sections of the Google set (gram1-adjective-to-adverb, ...).
SYNTACTIC_PREFIX = "gram"


# ----------------------------------------------------------------------------------------------
# shared helpers


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


def _canonical_rows(
    words: Sequence[str], index: dict[str, int], case_insensitive: bool
) -> np.ndarray:
    """For each candidate row, the row that stands for its key (itself unless a variant)."""
    return np.fromiter(
        (index[_key(w, case_insensitive)] for w in words),
        dtype=np.int64,
        count=len(words),
    )


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


# ----------------------------------------------------------------------------------------------
# analogies: reading


def _open_text(path: str | Path, what: str) -> list[str]:
    file = Path(path)
    if not file.is_file():
        raise UserError(f"{what} file not found: {file}")
    try:
        return file.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise UserError(f"{what} file {file} is not UTF-8 text ({exc.reason})") from None


def read_analogies(path: str | Path) -> list[AnalogySection]:
    """Read an analogy file in the Google format (``questions-words.txt``).

    Lines ``: name`` start a section; every other line is a question ``a b c d`` ("a is to b
    as c is to d"), words separated by whitespace. As in gensim, a line with other than four
    words is skipped (counted and logged), and blank lines are ignored.

    Parameters
    ----------
    path : str or Path
        The UTF-8 file.

    Returns
    -------
    list of (str, list of (str, str, str, str))
        Sections in file order, each with its questions in file order, words as written.

    Raises
    ------
    UserError
        Missing or non-UTF-8 file, or a question before the first section header.
    """
    sections: list[AnalogySection] = []
    skipped = 0
    for line_no, line in enumerate(_open_text(path, "analogy"), start=1):
        if line.startswith(": "):
            sections.append((line.lstrip(": ").strip(), []))
            continue
        parts = line.split()
        if not parts:
            continue
        if not sections:
            raise UserError(
                f"{path}: line {line_no} comes before any ': section' header; not an analogy file?"
            )
        if len(parts) != 4:
            skipped += 1
            logger.debug("%s: skipping line %d (not 4 words): %r", path, line_no, line)
            continue
        sections[-1][1].append((parts[0], parts[1], parts[2], parts[3]))
    if skipped:
        logger.warning("%s: skipped %d malformed lines (not 4 words)", path, skipped)
    logger.info(
        "%s: %d questions in %d sections", path, sum(len(q) for _, q in sections), len(sections)
    )
    return sections


# ----------------------------------------------------------------------------------------------
# analogies: scoring


@dataclass
class _AnalogySetup:
    """Everything the scoring of covered questions needs, shared by all chunks."""

    matrix: np.ndarray  # float32 (R, dim): the candidate rows as given
    norms: np.ndarray  # float32 (R,): their norms, as gensim's fill_norms computes them
    unit: np.ndarray  # float32 (R, dim): unit rows, for the batched products
    canonical: np.ndarray  # int64 (R,): the row that stands for each row's key
    method: str

    @property
    def tolerance(self) -> float:
        """Bound on |batched cosine - gensim's cosine| (two float32 dot products of dim terms)."""
        return (4 * self.matrix.shape[1] + 16) * _U32


def _setup(
    matrix: np.ndarray,
    words: Sequence[str],
    restrict: int,
    index: dict[str, int],
    case_insensitive: bool,
    method: str,
) -> _AnalogySetup:
    candidates = np.ascontiguousarray(matrix[:restrict])
    norms = _row_norms(candidates)
    return _AnalogySetup(
        matrix=candidates,
        norms=norms,
        unit=candidates / norms[:, None],
        canonical=_canonical_rows(words[:restrict], index, case_insensitive),
        method=method,
    )


def _gensim_ranked_candidates(setup: _AnalogySetup, ia: int, ib: int, ic: int) -> np.ndarray:
    """gensim's ``most_similar`` / ``most_similar_cosmul`` top 5 for one question, exactly."""
    matrix, norms = setup.matrix, setup.norms
    if setup.method == "3cosadd":
        units = [matrix[r] / norms[r] for r in (ib, ic, ia)]
        mean = _signed_mean_like_gensim(units, (1.0, 1.0, -1.0))
        scores = np.dot(matrix, mean) / norms
        excluded: Sequence[int] = (ib, ic, ia)
    else:
        pos = [(1 + np.dot(matrix, matrix[r] / norms[r]) / norms) / 2 for r in (ib, ic)]
        neg = [(1 + np.dot(matrix, matrix[ia] / norms[ia]) / norms) / 2]
        scores = np.prod(pos, axis=0) / (np.prod(neg, axis=0) + COSMUL_EPSILON)
        excluded = sorted({ia, ib, ic})
    best = _gensim_argsort_desc(scores, GENSIM_TOPN + len(excluded))
    return np.asarray([r for r in best if r not in excluded][:GENSIM_TOPN], dtype=np.int64)


def _gensim_is_correct(setup: _AnalogySetup, ids: np.ndarray) -> bool:
    """gensim's evaluation of one question ``ids = (a, b, c, expected)`` rows, exactly."""
    ia, ib, ic, iexp = (int(x) for x in ids)
    ignore = {ia, ib, ic}
    predicted = None
    for row in _gensim_ranked_candidates(setup, ia, ib, ic):
        predicted = int(setup.canonical[row])
        if predicted not in ignore:
            break
    return predicted == iexp


def _chunk_scores(setup: _AnalogySetup, ids: np.ndarray) -> np.ndarray:
    """Scores of a chunk of questions ``ids (n, 4)`` against every candidate, float32 ``(n, R)``."""
    unit = setup.unit
    a, b, c = unit[ids[:, 0]], unit[ids[:, 1]], unit[ids[:, 2]]
    if setup.method == "3cosadd":
        target = b + c - a
        target /= np.maximum(np.linalg.norm(target, axis=1, keepdims=True), np.float32(1e-30))
        return target @ unit.T
    # p(x) = (1 + cos) / 2, so p(b) p(c) / (p(a) + eps) = (1+cb)(1+cc) / (2 (1+ca) + 4 eps)
    scores = b @ unit.T
    scores += 1
    cos_c = c @ unit.T
    cos_c += 1
    scores *= cos_c
    denominator = np.matmul(a, unit.T, out=cos_c)
    denominator += 1
    denominator *= 2
    denominator += np.float32(4 * COSMUL_EPSILON)
    scores /= denominator
    return scores


def _best_two(scores: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows and scores ``(n, 2)`` of the best two candidates per question (question words masked).

    ``scores`` is modified in place.
    """
    rows = np.arange(scores.shape[0])
    for column in range(3):
        scores[rows, ids[:, column]] = -np.inf
    best = np.empty((len(rows), 2), dtype=np.int64)
    best_scores = np.empty((len(rows), 2), dtype=np.float64)
    for rank in range(2):
        best[:, rank] = np.argmax(scores, axis=1)
        best_scores[:, rank] = scores[rows, best[:, rank]]
        scores[rows, best[:, rank]] = -np.inf
    return best, best_scores


def _error_bound(
    setup: _AnalogySetup, ids: np.ndarray, best: np.ndarray, best_scores: np.ndarray
) -> np.ndarray:
    """Per question, a bound on how far gensim's scores of the best two may be from ours.

    3CosAdd scores are cosines: the bound is ``setup.tolerance``. A 3CosMul score
    ``p(b) p(c) / (p(a) + eps)`` moves relatively by ``err/2 * (1/p(b) + 1/p(c) + 1/den)``
    for a cosine error ``err``; the cosines of the two candidates are recomputed here.
    """
    if setup.method == "3cosadd":
        return np.full(len(ids), setup.tolerance)
    unit = setup.unit
    bound = np.zeros(len(ids))
    for rank in range(2):
        candidate = unit[best[:, rank]].astype(np.float64)
        p = [(1 + np.einsum("ij,ij->i", unit[ids[:, k]], candidate)) / 2 for k in range(3)]
        sensitivity = 0.5 / np.maximum(p[1], 1e-30) + 0.5 / np.maximum(p[2], 1e-30)
        sensitivity += 0.5 / (p[0] + COSMUL_EPSILON)
        score = np.abs(best_scores[:, rank])
        bound += score * (setup.tolerance * sensitivity + 8 * _U32)
    return bound


def _correct_in_chunk(setup: _AnalogySetup, ids: np.ndarray) -> tuple[np.ndarray, int]:
    """Correctness of each question of a chunk, bool ``(n,)``, and how many were re-scored."""
    best, best_scores = _best_two(_chunk_scores(setup, ids), ids)
    with np.errstate(invalid="ignore"):
        gap = best_scores[:, 0] - best_scores[:, 1]
        bound = _error_bound(setup, ids, best, best_scores)
    canonical_first = setup.canonical[best[:, 0]]
    is_variant = (
        (canonical_first == ids[:, 0])
        | (canonical_first == ids[:, 1])
        | (canonical_first == ids[:, 2])
    )
    unsure = ~np.isfinite(best_scores[:, 0]) | ~(gap > bound) | is_variant
    correct = canonical_first == ids[:, 3]
    for q in np.flatnonzero(unsure):
        correct[q] = _gensim_is_correct(setup, ids[q])
    return correct, int(unsure.sum())


def _score_questions(setup: _AnalogySetup, ids: np.ndarray) -> np.ndarray:
    """Correctness of every covered question, bool ``(n,)``, in chunks of questions."""
    correct = np.zeros(len(ids), dtype=bool)
    matrices = 1 if setup.method == "3cosadd" else 2  # score matrices alive at once
    chunk = max(1, _CHUNK_ELEMENTS // (matrices * max(1, setup.matrix.shape[0])))
    rescored = 0
    for start in range(0, len(ids), chunk):
        part, count = _correct_in_chunk(setup, ids[start : start + chunk])
        correct[start : start + chunk] = part
        rescored += count
    logger.debug(
        "re-scored %d of %d questions one by one (near ties or case variants on top)",
        rescored,
        len(ids),
    )
    return correct


def _encode_questions(
    sections: list[AnalogySection], index: dict[str, int], case_insensitive: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the covered questions ``(n, 4)`` int64 and their section numbers ``(n,)``."""
    rows: list[tuple[int, int, int, int]] = []
    section_of: list[int] = []
    for number, (_, questions) in enumerate(sections):
        for question in questions:
            found = [index.get(_key(word, case_insensitive)) for word in question]
            if None not in found:
                rows.append(tuple(found))  # type: ignore[arg-type]
                section_of.append(number)
    return (
        np.asarray(rows, dtype=np.int64).reshape(-1, 4),
        np.asarray(section_of, dtype=np.int64),
    )


def _accuracy(correct: int, covered: int) -> dict[str, int | float]:
    return {
        "correct": int(correct),
        "covered": int(covered),
        "accuracy": correct / covered if covered else 0.0,
    }


def _is_syntactic(section_name: str) -> bool:
    return section_name.startswith(SYNTACTIC_PREFIX)


def _summarise(
    sections: list[AnalogySection], section_of: np.ndarray, correct: np.ndarray, restrict: int
) -> dict:
    n = len(sections)
    right = np.bincount(section_of, weights=correct, minlength=n).astype(np.int64)
    covered = np.bincount(section_of, minlength=n).astype(np.int64)
    per_name: dict[str, list[int]] = {}
    for number, (name, _) in enumerate(sections):
        totals = per_name.setdefault(name, [0, 0])
        totals[0] += int(right[number])
        totals[1] += int(covered[number])
    semantic = [0, 0]
    syntactic = [0, 0]
    for name, (c, k) in per_name.items():
        group = syntactic if _is_syntactic(name) else semantic
        group[0] += c
        group[1] += k
        if k:
            logger.info("%s: %.1f%% (%d/%d)", name, 100.0 * c / k, c, k)
    return {
        "restrict_vocab": int(restrict),
        "questions": sum(len(q) for _, q in sections),
        "total": _accuracy(int(right.sum()), int(covered.sum())),
        "semantic": _accuracy(*semantic),
        "syntactic": _accuracy(*syntactic),
        "sections": {name: _accuracy(c, k) for name, (c, k) in per_name.items()},
    }


def evaluate_analogies(
    words: Sequence[str],
    vectors: np.ndarray,
    questions_path: str | Path,
    *,
    restrict_vocab: int = 30000,
    case_insensitive: bool = True,
    method: str = "3cosadd",
) -> dict:
    """Accuracy on an analogy set, equal to gensim's ``evaluate_word_analogies``.

    Parameters
    ----------
    words : sequence of str
        ``V`` words, in row order (most frequent first).
    vectors : numpy.ndarray
        Shape ``(V, dim)``, any float dtype (used as float32).
    questions_path : str or Path
        Analogy file in the Google format (see :func:`read_analogies`).
    restrict_vocab : int, optional
        Only the first 30,000 words (default, as gensim's and the C tool's usual setting) are
        question words and candidates.
    case_insensitive : bool, optional
        Compare uppercase forms (default True); the first of several variants stands for all.
    method : {"3cosadd", "3cosmul"}, optional
        3CosAdd (default; what gensim evaluates) or 3CosMul (Levy and Goldberg 2014).

    Returns
    -------
    dict
        ``{"restrict_vocab", "questions", "total", "semantic", "syntactic", "sections"}``.
        ``questions`` counts all well-formed questions in the file; the others are dicts
        ``{"correct", "covered", "accuracy"}`` with ``accuracy = correct / covered`` (0.0 when
        nothing is covered). ``total`` is gensim's "Total accuracy" (all sections).
        ``syntactic`` sums the sections named ``gram*`` and ``semantic`` all the others: on
        the Google set that is the first five versus the last nine, the split the C tool's
        ``compute-accuracy`` reports (gensim itself reports only sections and total).
        ``sections`` maps each section name (in file order) to its counts; sections with
        the same name are added together.

    Raises
    ------
    UserError
        Bad ``method`` or ``restrict_vocab``, shape mismatch, unreadable question file.
    """
    if method not in METHODS:
        raise UserError(f"unknown analogy method {method!r} (known: {', '.join(METHODS)})")
    if restrict_vocab < 1:
        raise UserError(f"restrict_vocab must be >= 1, got {restrict_vocab}")
    matrix = _check_vectors(words, vectors)
    sections = read_analogies(questions_path)
    started = time.perf_counter()
    restrict = min(restrict_vocab, len(words))
    index = _vocab_index(words, restrict, case_insensitive)
    ids, section_of = _encode_questions(sections, index, case_insensitive)
    correct = np.zeros(0, dtype=bool)
    if len(ids):
        setup = _setup(matrix, words, restrict, index, case_insensitive, method)
        correct = _score_questions(setup, ids)
    result = _summarise(sections, section_of, correct, restrict_vocab)
    total = result["total"]
    logger.info(
        "analogies (%s, restrict_vocab=%d): %.1f%% (%d/%d covered of %d questions) in %.1f s",
        method,
        restrict_vocab,
        100.0 * total["accuracy"],
        total["correct"],
        total["covered"],
        result["questions"],
        time.perf_counter() - started,
    )
    return result


# ----------------------------------------------------------------------------------------------
# word pairs


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
    from scipy import stats  # imported here: scipy.stats takes ~1 s, config imports this module

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


# ----------------------------------------------------------------------------------------------
# queries

_OPERATOR = re.compile(r"^([+-])(.*)$")


def parse_query(query: str) -> tuple[list[str], list[str]]:
    """Split ``"king - man + woman"`` into positive and negative words.

    Terms are separated by whitespace; ``+`` / ``-`` (alone or glued to the front of a word,
    as in ``-man``) give the sign of the next word; the first word is positive unless signed,
    and every later word needs its own operator (``"paris france"`` is an error, not a silent
    sum). A single word gives its nearest neighbours. Hyphens inside words (``well-known``)
    stay.

    Returns
    -------
    (list of str, list of str)
        Positive and negative words, in query order.

    Raises
    ------
    UserError
        Empty query, two operators in a row, an operator at the end, or two words with no
        operator between them.
    """
    positive: list[str] = []
    negative: list[str] = []
    sign: str | None = None
    previous: str | None = None  # the last word, while no operator has followed it
    for token in query.split():
        match = _OPERATOR.match(token)
        if match:
            if sign is not None:
                raise UserError(f"query {query!r}: two operators in a row")
            sign, token, previous = match.group(1), match.group(2), None
            if not token:
                continue
        elif previous is not None:
            raise UserError(
                f"query {query!r}: no + or - between {previous!r} and {token!r}; put + or - "
                'between words, e.g. "paris - france + italy"'
            )
        (negative if sign == "-" else positive).append(token)
        sign, previous = None, token
    if sign is not None:
        raise UserError(f"query {query!r}: ends with an operator")
    if not positive and not negative:
        raise UserError("empty query")
    return positive, negative


def _first_rows(words: Sequence[str]) -> dict[str, int]:
    rows: dict[str, int] = {}
    for i, word in enumerate(words):
        rows.setdefault(word, i)
    return rows


def missing_words(words: Sequence[str], query_words: Iterable[str]) -> list[str]:
    """The query words (exact spelling) that are not in ``words``, in query order."""
    known = set(words)
    return [w for w in query_words if w not in known]


#: A signed sum of the query's unit vectors shorter than this per word has no direction
#: ("king - king", or a word whose vector is zero): float32 rounding of unit vectors is ~1e-7.
NEAR_ZERO_QUERY = 1e-4


def _refuse_zero_query(
    units: Sequence[np.ndarray],
    weights: Sequence[float],
    positive: Sequence[str],
    negative: Sequence[str],
) -> None:
    """A query whose vector is (near) zero ranks every word alike: an error, not a list."""
    total = np.zeros(units[0].shape[0], dtype=np.float64)
    for weight, unit in zip(weights, units, strict=True):
        total += weight * unit.astype(np.float64)
    if float(np.linalg.norm(total)) > NEAR_ZERO_QUERY * len(units):
        return
    text = " ".join([*positive[:1], *(f"+ {w}" for w in positive[1:])])
    text = " ".join([text, *(f"- {w}" for w in negative)]).strip()
    raise UserError(
        f"query {text!r}: its vector is (near) zero (the words cancel out, or a vector is "
        "zero), so no word is nearer than another; ask with other words"
    )


def most_similar(
    words: Sequence[str],
    vectors: np.ndarray,
    positive: Sequence[str] | str,
    negative: Sequence[str] | str = (),
    topn: int = 10,
    restrict_vocab: int | None = None,
) -> list[tuple[str, float]]:
    """Nearest words to the signed mean of the query words' unit vectors (gensim's semantics).

    The target is ``normalise(mean(+u(p) for p in positive, -u(n) for n in negative))``;
    candidates are ranked by cosine similarity with it; the query words themselves are left
    out (their other case variants are not). Exact spelling: no case folding.

    Parameters
    ----------
    words : sequence of str
        ``V`` words in row order.
    vectors : numpy.ndarray
        Shape ``(V, dim)``.
    positive, negative : sequence of str or str
        Words added and subtracted; a single string is one word.
    topn : int, optional
        How many neighbours (default 10).
    restrict_vocab : int or None, optional
        Only the first ``restrict_vocab`` rows are candidates (default None: all).

    Returns
    -------
    list of (str, float)
        Up to ``topn`` (word, cosine) pairs, best first.

    Raises
    ------
    UserError
        No query words, words not in the vocabulary (all of them are named), or a query
        whose vector is (near) zero, such as ``"king - king"``.
    """
    positive = [positive] if isinstance(positive, str) else list(positive)
    negative = [negative] if isinstance(negative, str) else list(negative)
    if not positive and not negative:
        raise UserError("most_similar needs at least one word")
    if topn < 1:
        return []
    matrix = _check_vectors(words, vectors)
    rows = _first_rows(words)
    missing = [w for w in positive + negative if w not in rows]
    if missing:
        raise UserError(f"not in the vocabulary: {', '.join(missing)}")
    query_rows = [rows[w] for w in positive + negative]
    stop = len(words) if restrict_vocab is None else min(restrict_vocab, len(words))
    norms = _row_norms(matrix, stop)
    query_norms = _row_norms(matrix[query_rows])
    units = [matrix[row] / norm for row, norm in zip(query_rows, query_norms, strict=True)]
    weights = [1.0] * len(positive) + [-1.0] * len(negative)
    _refuse_zero_query(units, weights, positive, negative)
    mean = _signed_mean_like_gensim(units, weights)
    scores = np.dot(matrix[:stop], mean) / norms
    best = _gensim_argsort_desc(scores, topn + len(query_rows))
    excluded = set(query_rows)
    return [(words[r], float(scores[r])) for r in best if r not in excluded][:topn]
