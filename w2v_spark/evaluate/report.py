"""The evaluation report: ``report.json`` for scripts, ``report.md`` and ``projection.svg`` for people.

``report.json`` holds the keys listed in DESIGN.md::

    {"analogy": {...evaluate_analogies...},
     "similarity": {"wordsim353": {...}, "simlex999": {...}},
     "examples": [{"query": "king - man + woman", "top": [["queen", 0.71], ...]}, ...],
     "vectors": {"words": V, "dim": dim, "path": "..."}}

plus ``"metrics"`` (per-epoch training numbers) and ``"settings"`` when they are given.
Beside gensim's top-1 ``correct`` / ``accuracy``, every analogy count (``total``,
``semantic``, ``syntactic``, each section) holds ``correct_top5`` / ``top5``: the answer among
the five best candidates.

Owns building the report (:func:`build_report`), refusing one that covers nothing
(:func:`check_coverage`) and writing the files (:func:`write_report`); the page is
:mod:`~w2v_spark.evaluate.markdown`, the picture :mod:`~w2v_spark.evaluate.projection`.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from w2v_spark.config import EvaluateConfig
from w2v_spark.errors import UserError
from w2v_spark.evaluate._common import _lookup_words
from w2v_spark.evaluate.analogies import evaluate_analogies, read_analogies
from w2v_spark.evaluate.datasets import DEFAULT_DATASETS, dataset_path
from w2v_spark.evaluate.markdown import render_markdown
from w2v_spark.evaluate.neighbours import parse_query
from w2v_spark.evaluate.projection import projection_svg
from w2v_spark.evaluate.similarity import evaluate_word_pairs, read_word_pairs
from w2v_spark.evaluate.word_vectors import WordVectors
from w2v_spark.io import paths
from w2v_spark.io.vectors import atomic_write

logger = logging.getLogger(__name__)

#: gensim's default vocabulary cut for word-pair similarity (all words of most models).
SIMILARITY_RESTRICT_VOCAB = 300_000


# ----------------------------------------------------------------------------------------------
# building


def _dataset_name(configured: str, name: str) -> str:
    """How report.md names an evaluation file: the configured path, or the shipped file."""
    return configured or DEFAULT_DATASETS[name]


def _warn_if_not_by_frequency(counts: Sequence[int] | None) -> None:
    if counts is None or len(counts) < 2:
        return
    array = np.asarray(counts)
    if np.any(array[1:] > array[:-1]):
        logger.warning(
            "rows are not in descending count order: restrict_vocab keeps the first rows, "
            "not the most frequent words"
        )


def _resolve(lookup: dict[str, str], word: str) -> str | None:
    """The vocabulary word for a query word: same spelling, else its lowercase form."""
    return lookup.get(word, lookup.get(word.lower()))


def _example(
    query: str,
    vectors: WordVectors,
    lookup: dict[str, str],
    top_n: int,
    restrict_vocab: int,
) -> dict[str, Any]:
    """One entry of ``examples``: neighbours of a word or the answer of ``a - b + c``.

    ``vectors`` is built once for all the examples (its norms and index are kept); ``lookup``
    maps spelling variants to vocabulary words (:func:`_resolve`).
    """
    positive, negative = parse_query(query)
    missing = [w for w in positive + negative if _resolve(lookup, w) is None]
    missing.sort(key=query.find)  # in query order
    if missing:
        return {"query": query, "missing": missing, "top": []}
    try:
        top = vectors.most_similar(
            [lookup[w] if w in lookup else lookup[w.lower()] for w in positive],
            [lookup[w] if w in lookup else lookup[w.lower()] for w in negative],
            topn=top_n,
            restrict_vocab=restrict_vocab,
        )
    except UserError as exc:  # e.g. a query whose vector is zero: shown, not fatal
        return {"query": query, "error": str(exc), "top": []}
    return {"query": query, "top": [[w, round(s, 6)] for w, s in top if math.isfinite(s)]}


def build_report(
    words: Sequence[str],
    counts_or_none: Sequence[int] | None,
    vectors: np.ndarray,
    cfg: EvaluateConfig,
    *,
    vectors_path: str,
    metrics: list[dict] | None = None,
    settings: dict | None = None,
    corpus: dict | None = None,
) -> dict:
    """Evaluate vectors and gather the report (the keys of DESIGN.md's report.json).

    Parameters
    ----------
    words : sequence of str
        ``V`` words in row order (most frequent first: ``restrict_vocab`` keeps the first rows).
    counts_or_none : sequence of int or None
        Corpus counts in row order, if known; only used to warn when rows are not sorted.
    vectors : numpy.ndarray
        Shape ``(V, dim)``.
    cfg : EvaluateConfig
        Data sets (empty: the shipped copies), ``restrict_vocab``, ``case_insensitive`` and
        ``method`` for analogies, ``examples`` and ``top_n`` for the example queries.
        Examples rank only the first ``restrict_vocab`` words (rare words make noisy lists);
        word-pair similarity uses gensim's default 300,000.
    vectors_path : str
        Where the vectors came from, recorded in ``vectors.path``.
    metrics, settings : optional
        Per-epoch training metrics and the resolved settings, stored as ``metrics`` and
        ``settings`` when given.
    corpus : dict, optional
        The ``vocab`` section of the model's ``metrics.json`` (``corpus``, ``total_tokens``,
        ``retained_tokens``, ``vocab_size``), stored as ``corpus``; None for vectors from a
        word2vec file, whose corpus is not known.

    Returns
    -------
    dict
        ``analogy`` (:func:`~w2v_spark.evaluate.analogies.evaluate_analogies`: top-1
        ``correct`` / ``accuracy`` as gensim's, and ``correct_top5`` / ``top5``),
        ``similarity`` (``wordsim353``, ``simlex999``), ``examples`` (a query
        with unknown words gets ``"missing": [...]`` and an empty ``top``; one whose vector is
        zero, such as ``"king - king"``, gets ``"error"`` and an empty ``top``), ``vectors``,
        ``datasets`` (per evaluation set: ``file``, ``bundled`` and its ``questions`` or
        ``pairs``) and ``corpus`` (None when not known).
    """
    matrix = np.asarray(vectors)
    if matrix.ndim != 2 or matrix.shape[0] != len(words):
        raise UserError(f"{len(words)} words but vectors of shape {matrix.shape}")
    _warn_if_not_by_frequency(counts_or_none)
    report: dict[str, Any] = {}
    with dataset_path(cfg.analogies, "analogies") as path:
        report["analogy"] = evaluate_analogies(
            words,
            matrix,
            path,
            restrict_vocab=cfg.restrict_vocab,
            case_insensitive=cfg.case_insensitive,
            method=cfg.method,
        )
    report["similarity"] = {}
    for name in ("wordsim353", "simlex999"):
        with dataset_path(getattr(cfg, name), name) as path:
            report["similarity"][name] = evaluate_word_pairs(
                words,
                matrix,
                path,
                restrict_vocab=SIMILARITY_RESTRICT_VOCAB,
                case_insensitive=cfg.case_insensitive,
            )
    lookup = _lookup_words(words)
    word_vectors = WordVectors(words, matrix)  # one index and one set of norms for every query
    report["examples"] = [
        _example(q, word_vectors, lookup, cfg.top_n, cfg.restrict_vocab) for q in cfg.examples
    ]
    report["vectors"] = {"words": len(words), "dim": int(matrix.shape[1]), "path": vectors_path}
    report["datasets"] = {
        "analogies": {
            "file": _dataset_name(cfg.analogies, "analogies"),
            "bundled": not cfg.analogies,
            "questions": report["analogy"]["questions"],
        },
        **{
            name: {
                "file": _dataset_name(getattr(cfg, name), name),
                "bundled": not getattr(cfg, name),
                "pairs": report["similarity"][name]["total"],
            }
            for name in ("wordsim353", "simlex999")
        },
    }
    report["corpus"] = dict(corpus) if corpus else None
    if metrics is not None:
        report["metrics"] = metrics
    if settings is not None:
        report["settings"] = settings
    return report


# ----------------------------------------------------------------------------------------------
# coverage


def _asked_words(cfg: EvaluateConfig) -> tuple[set[str], int]:
    """Every word the analogy and word-pair files ask about, and how many pairs they hold."""
    asked: set[str] = set()
    with dataset_path(cfg.analogies, "analogies") as path:
        for _, questions in read_analogies(path):
            for question in questions:
                asked.update(question)
    pairs = 0
    for name in ("wordsim353", "simlex999"):
        with dataset_path(getattr(cfg, name), name) as path:
            for a, b, _ in read_word_pairs(path):
                asked.update((a, b))
                pairs += 1
    return asked, pairs


def _no_coverage_reason(words: Sequence[str], cfg: EvaluateConfig, asked: set[str]) -> str:
    """Why no question is covered: case, restrict_vocab, or too small a vocabulary."""
    if not cfg.case_insensitive:
        exact = asked & set(words)
        by_upper = {w.upper(): w for w in reversed(words)}  # first (most frequent) wins
        other_case = sorted(w for w in asked - exact if w.upper() in by_upper)
        if len(other_case) > len(exact):
            example = other_case[0]
            return (
                f"case mismatch: {len(other_case)} question words are in the vocabulary only "
                f"in another case (e.g. {example!r} as {by_upper[example.upper()]!r}); set "
                "evaluate.case_insensitive=true"
            )
    fold = str.upper if cfg.case_insensitive else str
    keys = {fold(w) for w in asked}
    known = keys & {fold(w) for w in words}
    head = keys & {fold(w) for w in words[: cfg.restrict_vocab]}
    if len(known) > len(head):
        return (
            f"{len(known) - len(head)} question words come after the first "
            f"evaluate.restrict_vocab={cfg.restrict_vocab} words; raise evaluate.restrict_vocab"
        )
    return (
        f"the vocabulary is too small: it holds {len(known)} of the {len(keys)} question words; "
        "train on a larger corpus or lower vocab.min_count"
    )


def check_coverage(report: dict, words: Sequence[str], cfg: EvaluateConfig) -> None:
    """Refuse a report that covers no analogy question and no word pair.

    Every number of such a report is 0/0; the error names the reason instead: a case
    mismatch between the questions and the vocabulary (``evaluate.case_insensitive`` off),
    question words beyond ``evaluate.restrict_vocab``, or too small a vocabulary.

    Raises
    ------
    UserError
        Nothing is covered.
    """
    analogy = report["analogy"]
    pairs = sum(r["pairs"] for r in report["similarity"].values())
    if analogy["total"]["covered"] or pairs:
        if not analogy["total"]["covered"]:
            logger.warning("no analogy question is covered; only word-pair similarity is scored")
        return
    asked, asked_pairs = _asked_words(cfg)
    raise UserError(
        f"evaluation covers nothing: 0 of {analogy['questions']} analogy questions and 0 of "
        f"{asked_pairs} word pairs have all their words among the {len(words)} vectors; "
        + _no_coverage_reason(words, cfg, asked)
    )


# ----------------------------------------------------------------------------------------------
# writing


def _json_safe(value: Any) -> Any:
    """NaN and infinities (not valid JSON) become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return _json_safe(value.item())
    return value


def write_report(
    report: dict,
    out_dir: Path,
    *,
    metrics: list[dict] | None = None,
    settings: dict | None = None,
    words: Sequence[str] | None = None,
    vectors: np.ndarray | None = None,
) -> dict[str, Path]:
    """Write ``report.json``, ``report.md`` and (given words and vectors) ``projection.svg``.

    Parameters
    ----------
    report : dict
        From :func:`build_report`.
    out_dir : Path
        Created if missing; each file is replaced atomically.
    metrics, settings : optional
        Shown in report.md; default to the report's own ``metrics`` / ``settings``.
    words, vectors : optional
        ``V`` words and their ``(V, dim)`` vectors for the projection picture; without them
        (or with fewer than two known pairs) no picture is written.

    Returns
    -------
    dict of str to Path
        The files written, by kind (``json``, ``markdown``, ``svg``).
    """
    out = Path(out_dir)
    metrics = metrics if metrics is not None else report.get("metrics")
    settings = settings if settings is not None else report.get("settings")
    written: dict[str, Path] = {}
    with atomic_write(out / paths.REPORT_JSON, "w") as handle:
        json.dump(_json_safe(report), handle, indent=2, ensure_ascii=False, allow_nan=False)
        handle.write("\n")
    written["json"] = out / paths.REPORT_JSON
    svg = projection_svg(words, vectors) if words is not None and vectors is not None else None
    if svg is not None:
        with atomic_write(out / paths.PROJECTION, "w") as handle:
            handle.write(svg)
        written["svg"] = out / paths.PROJECTION
    markdown = render_markdown(
        report,
        metrics=metrics,
        settings=settings,
        projection=paths.PROJECTION if svg is not None else None,
    )
    with atomic_write(out / paths.REPORT_MD, "w") as handle:
        handle.write(markdown)
    written["markdown"] = out / paths.REPORT_MD
    # debug: the evaluation stage writes a local copy and logs where it publishes it.
    logger.debug("report written to %s", out)
    return written
