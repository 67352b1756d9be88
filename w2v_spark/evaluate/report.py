"""The evaluation report: ``report.json`` for scripts, ``report.md`` and ``projection.svg`` for people.

``report.json`` holds the keys listed in DESIGN.md::

    {"analogy": {...evaluate_analogies...},
     "similarity": {"wordsim353": {...}, "simlex999": {...}},
     "examples": [{"query": "king - man + woman", "top": [["queen", 0.71], ...]}, ...],
     "vectors": {"words": V, "dim": dim, "path": "..."}}

plus ``"metrics"`` (per-epoch training numbers) and ``"settings"`` when they are given.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import json
import logging
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np

from w2v_spark.config import EvaluateConfig
from w2v_spark.errors import UserError
from w2v_spark.evaluate.evaluation import (
    evaluate_analogies,
    evaluate_word_pairs,
    most_similar,
    parse_query,
    read_analogies,
    read_word_pairs,
)
from w2v_spark.io.vectors import atomic_write

logger = logging.getLogger(__name__)

#: Shipped evaluation sets (``w2v_spark/data/``) used when the config path is empty.
DEFAULT_DATASETS = {
    "analogies": "questions-words.txt",
    "wordsim353": "wordsim353.tsv",
    "simlex999": "simlex999.txt",
}
#: What each shipped evaluation set is, for report.md.
DATASET_TITLES = {
    "analogies": "the Google analogy set, Mikolov et al. 2013",
    "wordsim353": "WordSim-353, human relatedness scores",
    "simlex999": "SimLex-999, human similarity scores",
}
#: gensim's figures on a corpus benchmarks/README.md measured, by the corpus's token count (the
#: same corpus under any file name): ``Word2Vec(sg=1)`` with conf/wiki8.toml's settings.
GENSIM_REFERENCES: dict[int, dict[str, Any]] = {
    16_940_016: {
        "corpus": "wiki8 (text8-style English Wikipedia, 16,940,016 tokens)",
        "settings": "conf/wiki8.toml: skip-gram, dim 100, window 5, negative 5, 5 epochs",
        "analogy": 0.3648,
        "wordsim353": 0.6510,
        "simlex999": 0.3145,
        "ours": 0.3681,  # local[2], train.num_partitions = 2, same run
        "source": "benchmarks/README.md, full wiki8 run of 2026-11-30",
    },
}
#: gensim's default vocabulary cut for word-pair similarity (all words of most models).
SIMILARITY_RESTRICT_VOCAB = 300_000
#: Word pairs drawn in projection.svg when both words are in the vocabulary.
COUNTRY_CAPITAL_PAIRS = (
    ("france", "paris"),
    ("germany", "berlin"),
    ("italy", "rome"),
    ("japan", "tokyo"),
    ("china", "beijing"),
    ("russia", "moscow"),
    ("spain", "madrid"),
    ("england", "london"),
)
MALE_FEMALE_PAIRS = (
    ("man", "woman"),
    ("king", "queen"),
    ("he", "she"),
    ("boy", "girl"),
    ("father", "mother"),
    ("brother", "sister"),
)
PAIR_COLOURS = {"country → capital": "#1f77b4", "male → female": "#d62728"}
PROJECTION_FILE = "projection.svg"


# ----------------------------------------------------------------------------------------------
# building


@contextlib.contextmanager
def dataset_path(configured: str, name: str) -> Iterator[Path]:
    """The evaluation file ``configured``, or the shipped one for ``name`` when it is empty.

    Parameters
    ----------
    configured : str
        A path from :class:`~w2v_spark.config.EvaluateConfig` (``analogies``, ...), or "".
    name : str
        A key of :data:`DEFAULT_DATASETS`.
    """
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise UserError(f"evaluate.{name}: file not found: {path}")
        yield path
        return
    resource = importlib.resources.files("w2v_spark") / "data" / DEFAULT_DATASETS[name]
    with importlib.resources.as_file(resource) as path:
        yield Path(path)


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


def _lookup_words(words: Sequence[str]) -> dict[str, str]:
    """Spelling variants -> the vocabulary word: each word, and its lowercase form if free."""
    lookup: dict[str, str] = {}
    for word in words:
        lookup.setdefault(word, word)
    for word in words:
        lookup.setdefault(word.lower(), word)
    return lookup


def _resolve(lookup: dict[str, str], word: str) -> str | None:
    """The vocabulary word for a query word: same spelling, else its lowercase form."""
    return lookup.get(word, lookup.get(word.lower()))


def _example(
    query: str,
    words: Sequence[str],
    vectors: np.ndarray,
    lookup: dict[str, str],
    top_n: int,
    restrict_vocab: int,
) -> dict[str, Any]:
    """One entry of ``examples``: neighbours of a word or the answer of ``a - b + c``."""
    positive, negative = parse_query(query)
    missing = [w for w in positive + negative if _resolve(lookup, w) is None]
    missing.sort(key=query.find)  # in query order
    if missing:
        return {"query": query, "missing": missing, "top": []}
    try:
        top = most_similar(
            words,
            vectors,
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
        ``analogy``, ``similarity`` (``wordsim353``, ``simlex999``), ``examples`` (a query
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
    report["examples"] = [
        _example(q, words, matrix, lookup, cfg.top_n, cfg.restrict_vocab) for q in cfg.examples
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
# projection.svg


def _projection_pairs(words: Sequence[str]) -> list[tuple[str, str, str]]:
    """(from, to, kind) for each drawable pair whose two words are in the vocabulary."""
    lookup = _lookup_words(words)
    pairs = []
    for kind, candidates in (
        ("country → capital", COUNTRY_CAPITAL_PAIRS),
        ("male → female", MALE_FEMALE_PAIRS),
    ):
        for a, b in candidates:
            if a in lookup and b in lookup:
                pairs.append((lookup[a], lookup[b], kind))
    return pairs


def pca_2d(points: np.ndarray) -> np.ndarray:
    """Project rows onto their first two principal components (NumPy SVD).

    Parameters
    ----------
    points : numpy.ndarray
        Shape ``(n, dim)``.

    Returns
    -------
    numpy.ndarray
        float64 ``(n, 2)``; a missing component (n or dim < 2) is zero.
    """
    centred = np.asarray(points, dtype=np.float64)
    centred = centred - centred.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    coords = np.zeros((len(centred), 2))
    k = min(2, components.shape[0])
    coords[:, :k] = centred @ components[:k].T
    return coords


def _scale(coords: np.ndarray, width: float, height: float, margin: float) -> np.ndarray:
    low, high = coords.min(axis=0), coords.max(axis=0)
    span = np.where(high - low > 0, high - low, 1.0)
    unit = (coords - low) / span
    x = margin + unit[:, 0] * (width - 2 * margin)
    y = height - margin - unit[:, 1] * (height - 2 * margin)  # SVG y grows downwards
    return np.stack([x, y], axis=1)


def svg_projection(
    labels: Sequence[str],
    coords: np.ndarray,
    arrows: Sequence[tuple[int, int, str]],
    *,
    title: str,
    width: int = 720,
    height: int = 540,
) -> str:
    """A standalone SVG of labelled points with arrows, written by hand.

    Parameters
    ----------
    labels : sequence of str
        ``n`` point labels.
    coords : numpy.ndarray
        ``(n, 2)`` data coordinates (any scale; fitted into the picture).
    arrows : sequence of (int, int, str)
        ``(from point, to point, kind)``; ``kind`` is a key of :data:`PAIR_COLOURS`.
    title : str
        Caption at the top.
    """
    xy = _scale(np.asarray(coords, dtype=np.float64), width, height, margin=60)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13">',
        "<defs>",
    ]
    for i, colour in enumerate(PAIR_COLOURS.values()):
        parts.append(
            f'<marker id="arrow{i}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
            f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
            f'fill="{colour}"/></marker>'
        )
    parts.append("</defs>")
    parts.append(f'<rect width="{width}" height="{height}" fill="white"/>')
    parts.append(f'<text x="{width / 2}" y="24" text-anchor="middle">{escape(title)}</text>')
    kinds = list(PAIR_COLOURS)
    for start, end, kind in arrows:
        (x1, y1), (x2, y2) = xy[start], xy[end]
        length = math.hypot(x2 - x1, y2 - y1) or 1.0
        shorten = min(6.0, length / 2) / length  # stop at the point's circle
        x2, y2 = x2 - (x2 - x1) * shorten, y2 - (y2 - y1) * shorten
        parts.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            f'stroke="{PAIR_COLOURS[kind]}" stroke-width="1.5" '
            f'marker-end="url(#arrow{kinds.index(kind)})"/>'
        )
    for label, (x, y) in zip(labels, xy, strict=True):
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="#333"/>')
        parts.append(f'<text x="{x + 6:.1f}" y="{y - 6:.1f}">{escape(label)}</text>')
    for i, (kind, colour) in enumerate(PAIR_COLOURS.items()):
        y = height - 30 + 16 * i - 8
        parts.append(
            f'<line x1="12" y1="{y}" x2="36" y2="{y}" stroke="{colour}" stroke-width="2"/>'
            f'<text x="42" y="{y + 4}">{escape(kind)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def projection_svg(words: Sequence[str], vectors: np.ndarray) -> str | None:
    """PCA picture of the country–capital and male–female pairs found in ``words``.

    Returns None when fewer than two pairs are in the vocabulary.
    """
    pairs = _projection_pairs(words)
    if len(pairs) < 2:
        logger.info("projection.svg skipped: fewer than two example pairs in the vocabulary")
        return None
    labels: list[str] = []
    for a, b, _ in pairs:
        for word in (a, b):
            if word not in labels:
                labels.append(word)
    rows = {}
    for i, word in enumerate(words):
        rows.setdefault(word, i)
    matrix = np.asarray(vectors, dtype=np.float64)[[rows[w] for w in labels]]
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    coords = pca_2d(matrix / np.where(norms > 0, norms, 1.0))
    arrows = [(labels.index(a), labels.index(b), kind) for a, b, kind in pairs]
    return svg_projection(
        labels, coords, arrows, title="PCA of unit word vectors: country → capital, male → female"
    )


# ----------------------------------------------------------------------------------------------
# report.md


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return [*lines, ""]


def _setting_text(name: str, value: Any) -> str:
    """A setting's table cell; never empty (an empty data set path means the shipped file)."""
    if not isinstance(value, str):
        return json.dumps(value)
    if value:
        return value
    key = name.removeprefix("evaluate.")
    if name.startswith("evaluate.") and key in DEFAULT_DATASETS:
        return f"(bundled {DEFAULT_DATASETS[key]})"
    return '""'


def _flatten(settings: dict, prefix: str = "") -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = []
    for key, value in settings.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            items += _flatten(value, name + ".")
        else:
            items.append((name, _setting_text(name, value)))
    return items


def _number(value: Any, fmt: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return format(value, fmt) if isinstance(value, (int, float)) else str(value)


def _count(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else "not known"


def _dataset_text(name: str, entry: dict, what: str) -> str:
    size = f"{entry[what]:,} {what}"
    if entry["bundled"]:
        return f"`{entry['file']}` (bundled; {DATASET_TITLES[name]}): {size}"
    return f"`{entry['file']}`: {size}"


def _corpus_lines(report: dict) -> list[str]:
    """What the vectors were trained on and evaluated with."""
    corpus = report.get("corpus") or {}
    rows = []
    if corpus:
        total, kept = corpus.get("total_tokens"), corpus.get("retained_tokens")
        tokens = _count(total)
        if isinstance(kept, int):
            tokens += f" ({kept:,} of them in the vocabulary: the words trained on)"
        rows += [
            ["corpus", f"`{corpus['corpus']}`" if corpus.get("corpus") else "not known"],
            ["tokens", tokens],
            ["vocabulary", f"{_count(corpus.get('vocab_size'))} words"],
        ]
    else:
        rows.append(["corpus", "not known (vectors read from a word2vec file)"])
    datasets = report.get("datasets") or {}
    for name, what in (("analogies", "questions"), ("wordsim353", "pairs"), ("simlex999", "pairs")):
        if name in datasets:
            rows.append([name, _dataset_text(name, datasets[name], what)])
    return ["## Corpus and evaluation sets", "", *_table(["what", "value"], rows)]


def gensim_reference(corpus: dict | None) -> dict | None:
    """gensim's figures on this corpus (:data:`GENSIM_REFERENCES`), or None when not known."""
    total = (corpus or {}).get("total_tokens")
    return GENSIM_REFERENCES.get(total) if isinstance(total, int) else None


def _reading_lines(report: dict) -> list[str]:
    """How to read the numbers, and what gensim scores on the same corpus when known."""
    restrict = report["analogy"]["restrict_vocab"]
    lines = [
        "## How to read the numbers",
        "",
        "- **Analogy accuracy**: a question `a b c d` (athens greece baghdad iraq) asks for the "
        "word nearest to *b − a + c*, the three question words excluded; the answer counts "
        f"only when it is exactly *d*, found among the {restrict:,} most frequent words. "
        "Accuracy is the share of covered questions answered right (0 to 1; guessing scores "
        "about 0). It grows with the corpus: about 0.01 on the bundled sample (~0.46M tokens), "
        "0.36 for gensim and for w2v-spark on wiki8 (17M tokens).",
        "- **Spearman**: the rank correlation between the model's cosine similarities and "
        "people's scores of the same word pairs, from −1 to 1: 0 is no relation, 1 the same "
        "order as people's. WordSim-353 scores relatedness (cup, coffee), SimLex-999 strict "
        "similarity, which skip-gram captures less well (gensim on wiki8: 0.65 and 0.31).",
    ]
    reference = gensim_reference(report.get("corpus"))
    if reference is None:
        lines.append(
            "- **gensim on this corpus**: not known (benchmarks/README.md measures wiki8 only)."
        )
    else:
        lines.append(
            f"- **gensim on this corpus**, {reference['corpus']}, with {reference['settings']}: "
            f"analogy accuracy {reference['analogy']:.4f}, WordSim-353 "
            f"{reference['wordsim353']:.4f}, SimLex-999 {reference['simlex999']:.4f} "
            f"(w2v-spark in the same run: {reference['ours']:.4f}; {reference['source']})."
        )
    return [*lines, ""]


def _percent(part: dict) -> str:
    return f"{100.0 * part['accuracy']:.2f}%"


def _training_lines(metrics: list[dict]) -> list[str]:
    rows = [
        [
            m.get("epoch", ""),
            _number(m.get("loss"), ".4f"),
            _number(m.get("words_per_sec"), ",.0f"),
            _number(m.get("learning_rate"), ".6f"),
            _number(m.get("seconds"), ".1f"),
        ]
        for m in metrics
    ]
    return ["## Training", "", *_table(["epoch", "loss", "words/s", "lr", "seconds"], rows)]


def _analogy_lines(analogy: dict) -> list[str]:
    rows = [
        [name, part["correct"], part["covered"], _percent(part)]
        for name, part in analogy["sections"].items()
    ]
    for group in ("semantic", "syntactic", "total"):
        part = analogy[group]
        rows.append([f"**{group}**", part["correct"], part["covered"], _percent(part)])
    return [
        "## Word analogies",
        "",
        f"{analogy['questions']} questions; a question is covered when its four words are "
        f"among the {analogy['restrict_vocab']:,} most frequent words (case-insensitive "
        "matching as gensim's `evaluate_word_analogies`). Accuracy = correct / covered. "
        "Semantic = the non-`gram` sections, syntactic = the `gram*` sections.",
        "",
        *_table(["section", "correct", "covered", "accuracy"], rows),
    ]


def _similarity_lines(similarity: dict) -> list[str]:
    rows = [
        [
            name,
            "n/a" if part["spearman"] is None else f"{part['spearman']:.4f}",
            part["pairs"],
            f"{part['oov']:.1f}",
        ]
        for name, part in similarity.items()
    ]
    return [
        "## Word similarity",
        "",
        "Spearman rank correlation between cosine similarity and human scores, over the pairs "
        "whose two words are known; OOV % = share of the data set's pairs skipped.",
        "",
        *_table(["data set", "Spearman", "pairs", "OOV %"], rows),
    ]


def _example_lines(examples: list[dict]) -> list[str]:
    lines = ["## Examples", ""]
    for example in examples:
        lines.append(f"**{_cell(example['query'])}**")
        lines.append("")
        if example.get("missing"):
            lines += [f"not in the vocabulary: {', '.join(example['missing'])}", ""]
            continue
        if example.get("error"):
            lines += [_cell(example["error"]), ""]
            continue
        lines += _table(["word", "cosine"], [[w, f"{s:.4f}"] for w, s in example["top"]])
    return lines


def render_markdown(
    report: dict,
    *,
    metrics: list[dict] | None = None,
    settings: dict | None = None,
    projection: str | None = None,
) -> str:
    """The report as a Markdown page (``projection``: file name of the picture, if any)."""
    vectors = report["vectors"]
    lines = [
        "# Word2Vec evaluation report",
        "",
        f"Vectors: `{vectors['path']}`, {vectors['words']:,} words × {vectors['dim']} dimensions.",
        "",
    ]
    lines += _corpus_lines(report)
    lines += _reading_lines(report)
    if settings:
        lines += ["## Settings", "", *_table(["setting", "value"], _flatten(settings))]
    if metrics:
        lines += _training_lines(metrics)
    lines += _analogy_lines(report["analogy"])
    lines += _similarity_lines(report["similarity"])
    lines += _example_lines(report["examples"])
    if projection:
        lines += [
            "## Projection",
            "",
            f"![PCA projection of country–capital and male–female pairs]({projection})",
            "",
        ]
    return "\n".join(lines)


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
    with atomic_write(out / "report.json", "w") as handle:
        json.dump(_json_safe(report), handle, indent=2, ensure_ascii=False, allow_nan=False)
        handle.write("\n")
    written["json"] = out / "report.json"
    svg = projection_svg(words, vectors) if words is not None and vectors is not None else None
    if svg is not None:
        with atomic_write(out / PROJECTION_FILE, "w") as handle:
            handle.write(svg)
        written["svg"] = out / PROJECTION_FILE
    markdown = render_markdown(
        report,
        metrics=metrics,
        settings=settings,
        projection=PROJECTION_FILE if svg is not None else None,
    )
    with atomic_write(out / "report.md", "w") as handle:
        handle.write(markdown)
    written["markdown"] = out / "report.md"
    # debug: the evaluation stage writes a local copy and logs where it publishes it.
    logger.debug("report written to %s", out)
    return written
