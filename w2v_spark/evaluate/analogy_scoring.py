"""Which analogy questions gensim answers right (top-1) and which it lists in its top 5.

The rules are gensim 4's (``KeyedVectors.most_similar`` / ``most_similar_cosmul`` as
``evaluate_word_analogies`` uses them), spelled out:

* 3CosAdd: the target is the direction of ``u(b) + u(c) - u(a)`` (``u`` = unit vector) and
  candidates are ranked by cosine with it; the rows of ``a``, ``b`` and ``c`` are excluded.
  gensim then walks its top 5 and predicts the first whose uppercase form is not one of the
  question words (which skips other case variants of them); if all five are such variants
  the last one stands as the (wrong) prediction. ``correct`` means prediction == expected.
* 3CosMul (Levy and Goldberg 2014, gensim's ``most_similar_cosmul``): candidates ranked by
  ``p(b) p(c) / (p(a) + 1e-6)`` with ``p(x) = (1 + cos(x, d)) / 2``; same selection rule.
* Top-5 (the report's reality check of top-1): a question counts when the expected word is
  among those five ranked candidates (rows of ``a``, ``b``, ``c`` excluded; a case variant of
  the expected word stands for it, as in top-1), by the configured method's scores. Whenever
  top-1 counts a question, top-5 counts it too.

Batching: the scores of a chunk of questions against all candidates are one matrix product;
with the question words masked, one ``np.argpartition`` of that score matrix gives each
question's six best candidates, sorted by score. When the first two are closer than the
float32 rounding error of the products (or the best is a case variant of a question word),
or the fifth and sixth are (so the top-5 set is in doubt), that question is re-scored exactly
as gensim does it (same float32 operations, same partial sort), so ties and near-ties resolve
the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from w2v_spark.evaluate._common import (
    _gensim_argsort_desc,
    _key,
    _row_norms,
    _signed_mean_like_gensim,
)

logger = logging.getLogger(__name__)

#: gensim's ``evaluate_word_analogies`` looks at this many ranked candidates per question;
#: the report's top-5 accuracy asks whether the answer is among them.
GENSIM_TOPN = 5
#: gensim's ``most_similar_cosmul`` adds this to the denominator.
COSMUL_EPSILON = 1e-6
#: Score-matrix elements per chunk of questions (float32): 16M = 64 MB per matrix; at
#: restrict_vocab 30,000 that is ~560 questions, enough rows for BLAS to run at full speed.
_CHUNK_ELEMENTS = 1 << 24
#: Score-matrix elements per ``np.argpartition`` call: its int64 index matrix stays at 8 MB
#: (one call over a whole chunk would allocate 128 MB and run slower).
_PARTITION_ELEMENTS = 1 << 20
#: Unit roundoff of float32.
_U32 = 2.0**-24


def _canonical_rows(
    words: Sequence[str], index: dict[str, int], case_insensitive: bool
) -> np.ndarray:
    """For each candidate row, the row that stands for its key (itself unless a variant)."""
    return np.fromiter(
        (index[_key(w, case_insensitive)] for w in words),
        dtype=np.int64,
        count=len(words),
    )


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


def _gensim_is_correct(setup: _AnalogySetup, ids: np.ndarray) -> tuple[bool, bool]:
    """gensim's evaluation of one question ``ids = (a, b, c, expected)`` rows, exactly.

    Returns whether gensim's prediction is right (top-1) and whether the expected word is
    among gensim's five ranked candidates (top-5).
    """
    ia, ib, ic, iexp = (int(x) for x in ids)
    ignore = {ia, ib, ic}
    ranked = setup.canonical[_gensim_ranked_candidates(setup, ia, ib, ic)]
    predicted = None
    for row in ranked:
        predicted = int(row)
        if predicted not in ignore:
            break
    return predicted == iexp, bool(np.any(ranked == iexp))


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


def _best_k(scores: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows and scores ``(n, k)`` of the best ``k`` candidates per question, best first.

    The question words are masked (``-inf``; ``scores`` is modified in place), then
    ``np.argpartition`` over the chunk's score matrix (in slices of rows, to keep its index
    matrix small) finds the ``k`` best and only those ``k`` columns are sorted. Among equal scores the order is arbitrary, and NaN (a zero vector)
    sorts above every number, so a question with a NaN score has one among its ``k``: the
    caller re-scores such questions and near-ties exactly. Fewer than ``k`` candidates give
    fewer columns.
    """
    n, candidates = scores.shape
    rows = np.arange(n)
    for column in range(3):
        scores[rows, ids[:, column]] = -np.inf
    k = min(k, candidates)
    top = np.empty((n, k), dtype=np.int64)
    step = max(1, _PARTITION_ELEMENTS // max(1, candidates))
    for start in range(0, n, step):
        block = scores[start : start + step]
        top[start : start + step] = np.argpartition(block, candidates - k, axis=1)[:, -k:]
    top_scores = np.take_along_axis(scores, top, axis=1)
    order = np.argsort(-top_scores, axis=1, kind="stable")
    return (
        np.take_along_axis(top, order, axis=1),
        np.take_along_axis(top_scores, order, axis=1).astype(np.float64),
    )


def _error_bound(
    setup: _AnalogySetup, ids: np.ndarray, best: np.ndarray, best_scores: np.ndarray
) -> np.ndarray:
    """Per question, a bound on how far gensim's scores of two candidates may be from ours.

    ``best`` and ``best_scores`` are the rows and scores ``(n, 2)`` of the two candidates
    whose order is at stake (first and second for top-1, fifth and sixth for top-5).

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


def _correct_in_chunk(setup: _AnalogySetup, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Top-1 and top-5 correctness of a chunk's questions, bool ``(n,)`` each; how many re-scored."""
    k = GENSIM_TOPN + 1  # the sixth tells whether the top-5 set is certain
    best, best_scores = _best_k(_chunk_scores(setup, ids), ids, k)
    expected = ids[:, 3]
    canonical = setup.canonical[best]
    correct = canonical[:, 0] == expected
    correct_top5 = np.any(canonical[:, :GENSIM_TOPN] == expected[:, None], axis=1)
    if best.shape[1] < k:  # fewer than six candidates: gensim's own lists, one by one
        unsure = unsure_top5 = np.ones(len(ids), dtype=bool)
    else:
        with np.errstate(invalid="ignore"):
            gap = best_scores[:, 0] - best_scores[:, 1]
            bound = _error_bound(setup, ids, best[:, :2], best_scores[:, :2])
            gap_top5 = best_scores[:, k - 2] - best_scores[:, k - 1]
            bound_top5 = _error_bound(setup, ids, best[:, k - 2 :], best_scores[:, k - 2 :])
        has_nan = np.isnan(best_scores).any(axis=1)
        is_variant = (
            (canonical[:, 0] == ids[:, 0])
            | (canonical[:, 0] == ids[:, 1])
            | (canonical[:, 0] == ids[:, 2])
        )
        unsure = has_nan | ~np.isfinite(best_scores[:, 0]) | ~(gap > bound) | is_variant
        unsure_top5 = has_nan | ~(gap_top5 > bound_top5)
    for q in np.flatnonzero(unsure | unsure_top5):
        exact, exact_top5 = _gensim_is_correct(setup, ids[q])
        if unsure[q]:
            correct[q] = exact
        if unsure_top5[q]:
            correct_top5[q] = exact_top5
    return correct, correct_top5, int((unsure | unsure_top5).sum())


def _score_in_chunks(setup: _AnalogySetup, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Top-1 and top-5 correctness of every covered question, bool ``(n,)`` each, in chunks."""
    correct = np.zeros(len(ids), dtype=bool)
    correct_top5 = np.zeros(len(ids), dtype=bool)
    matrices = 1 if setup.method == "3cosadd" else 2  # score matrices alive at once
    chunk = max(1, _CHUNK_ELEMENTS // (matrices * max(1, setup.matrix.shape[0])))
    rescored = 0
    for start in range(0, len(ids), chunk):
        part, part_top5, count = _correct_in_chunk(setup, ids[start : start + chunk])
        correct[start : start + chunk] = part
        correct_top5[start : start + chunk] = part_top5
        rescored += count
    logger.debug(
        "re-scored %d of %d questions one by one (near ties or case variants on top)",
        rescored,
        len(ids),
    )
    return correct, correct_top5


def score_questions(
    matrix: np.ndarray,
    words: Sequence[str],
    ids: np.ndarray,
    *,
    restrict: int,
    index: dict[str, int],
    case_insensitive: bool,
    method: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Whether gensim answers each covered question right, and whether the answer is in its top 5.

    ``ids`` holds the rows ``(a, b, c, expected)`` of the questions, ``(n, 4)``; candidates
    are the first ``restrict`` rows of ``matrix`` (float32), ``index`` maps keys to rows.

    Returns
    -------
    correct, correct_top5 : numpy.ndarray
        Bool ``(n,)`` each: gensim's prediction is the expected word (top-1); the expected
        word is among the five best candidates by ``method``'s scores, question words
        excluded (top-5). ``correct`` implies ``correct_top5``.
    """
    setup = _setup(matrix, words, restrict, index, case_insensitive, method)
    return _score_in_chunks(setup, ids)
