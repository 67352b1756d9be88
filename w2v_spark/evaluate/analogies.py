"""Analogy accuracy: the Google set's questions, equal to gensim 4's ``evaluate_word_analogies``.

Owns reading the analogy file, finding the covered questions and counting them per section,
top-1 (gensim's number) and top-5 (the answer among the five best candidates); which answer
gensim predicts is :mod:`~w2v_spark.evaluate.analogy_scoring`. gensim's rules, spelled out:

* Only the first ``restrict_vocab`` words (the most frequent, when rows are in vocabulary
  order) take part: as question words and as candidate answers.
* ``case_insensitive``: every word is compared in ``str.upper()`` form. When several words of
  the vocabulary share an uppercase form, the first (most frequent) one stands for it.
* A question with any of its four words outside that vocabulary is skipped: it is not
  *covered* and counts neither as correct nor as wrong.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from w2v_spark.errors import UserError
from w2v_spark.evaluate._common import _check_vectors, _key, _open_text, _vocab_index
from w2v_spark.evaluate.analogy_scoring import score_questions

logger = logging.getLogger(__name__)

Question = tuple[str, str, str, str]
AnalogySection = tuple[str, list[Question]]

#: Methods of ``evaluate_analogies``.
METHODS = ("3cosadd", "3cosmul")
#: Prefix of the syntactic sections of the Google set (gram1-adjective-to-adverb, ...).
SYNTACTIC_PREFIX = "gram"


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


def _accuracy(correct: int, covered: int, correct_top5: int) -> dict[str, int | float]:
    return {
        "correct": int(correct),
        "covered": int(covered),
        "accuracy": correct / covered if covered else 0.0,
        "correct_top5": int(correct_top5),
        "top5": correct_top5 / covered if covered else 0.0,
    }


def _is_syntactic(section_name: str) -> bool:
    return section_name.startswith(SYNTACTIC_PREFIX)


def _summarise(
    sections: list[AnalogySection],
    section_of: np.ndarray,
    correct: np.ndarray,
    correct_top5: np.ndarray,
    restrict: int,
) -> dict:
    n = len(sections)
    right = np.bincount(section_of, weights=correct, minlength=n).astype(np.int64)
    covered = np.bincount(section_of, minlength=n).astype(np.int64)
    right_top5 = np.bincount(section_of, weights=correct_top5, minlength=n).astype(np.int64)
    per_name: dict[str, list[int]] = {}  # name: [correct, covered, correct_top5]
    for number, (name, _) in enumerate(sections):
        totals = per_name.setdefault(name, [0, 0, 0])
        totals[0] += int(right[number])
        totals[1] += int(covered[number])
        totals[2] += int(right_top5[number])
    semantic = [0, 0, 0]
    syntactic = [0, 0, 0]
    for name, counts in per_name.items():
        group = syntactic if _is_syntactic(name) else semantic
        for i, count in enumerate(counts):
            group[i] += count
        c, k, c5 = counts
        if k:
            logger.info(
                "%s: %.1f%% (%d/%d), top-5 %.1f%%", name, 100.0 * c / k, c, k, 100.0 * c5 / k
            )
    return {
        "restrict_vocab": int(restrict),
        "questions": sum(len(q) for _, q in sections),
        "total": _accuracy(int(right.sum()), int(covered.sum()), int(right_top5.sum())),
        "semantic": _accuracy(*semantic),
        "syntactic": _accuracy(*syntactic),
        "sections": {name: _accuracy(*counts) for name, counts in per_name.items()},
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
        ``{"correct", "covered", "accuracy", "correct_top5", "top5"}`` with
        ``accuracy = correct / covered`` and ``top5 = correct_top5 / covered`` (0.0 when
        nothing is covered). ``total`` is gensim's "Total accuracy" (all sections).
        ``correct_top5`` counts the covered questions whose answer is among the five best
        candidates by ``method`` (question words excluded; gensim's ``topn=5`` list), the
        same questions and vocabulary as ``correct``, so ``correct_top5 >= correct``.
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
    correct = correct_top5 = np.zeros(0, dtype=bool)
    if len(ids):
        correct, correct_top5 = score_questions(
            matrix,
            words,
            ids,
            restrict=restrict,
            index=index,
            case_insensitive=case_insensitive,
            method=method,
        )
    result = _summarise(sections, section_of, correct, correct_top5, restrict_vocab)
    total = result["total"]
    logger.info(
        "analogies (%s, restrict_vocab=%d): %.1f%% (%d/%d covered of %d questions), "
        "top-5 %.1f%%, in %.1f s",
        method,
        restrict_vocab,
        100.0 * total["accuracy"],
        total["correct"],
        total["covered"],
        result["questions"],
        100.0 * total["top5"],
        time.perf_counter() - started,
    )
    return result
