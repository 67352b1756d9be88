"""``report.md``: the evaluation report as a Markdown page for people.

Tables of the corpus and evaluation sets, settings, training curve, analogy sections, word
similarity and example queries, with a short guide to reading the numbers and gensim's figures
on the same corpus when :data:`GENSIM_REFERENCES` knows it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from w2v_spark.evaluate.datasets import DATASET_TITLES, DEFAULT_DATASETS

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


def _percent(part: dict, key: str = "accuracy") -> str:
    """A share of ``part`` as a percentage; "n/a" when missing (a report from before top-5)."""
    value = part.get(key)
    return "n/a" if value is None else f"{100.0 * value:.2f}%"


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
    named = [*analogy["sections"].items()]
    named += [(f"**{group}**", analogy[group]) for group in ("semantic", "syntactic", "total")]
    rows = [
        [name, part["correct"], part["covered"], _percent(part), _percent(part, "top5")]
        for name, part in named
    ]
    return [
        "## Word analogies",
        "",
        f"{analogy['questions']} questions; a question is covered when its four words are "
        f"among the {analogy['restrict_vocab']:,} most frequent words (case-insensitive "
        "matching as gensim's `evaluate_word_analogies`). Accuracy = correct / covered. "
        "Semantic = the non-`gram` sections, syntactic = the `gram*` sections.",
        "",
        "Accuracy is top-1, gensim's number: the best-scoring word must be *d*; top-5 is the "
        "share of the same covered questions whose answer *d* is among the five best-scoring "
        "words (question words excluded), the reality check of top-1: a top-5 far above "
        "top-1 means the answer is near the top but not first.",
        "",
        *_table(["section", "correct", "covered", "accuracy", "top-5"], rows),
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
