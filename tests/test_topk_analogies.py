"""Top-5 analogy accuracy: the answer among the five best candidates, beside gensim's top-1."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from w2v_spark.evaluate import analogy_scoring
from w2v_spark.evaluate.analogies import evaluate_analogies, read_analogies
from w2v_spark.evaluate.markdown import render_markdown

KeyedVectors = pytest.importorskip("gensim.models").KeyedVectors

ROOT = Path(__file__).resolve().parents[1]
GOOGLE = ROOT / "w2v_spark" / "data" / "questions-words.txt"
WORDS = 300
DIM = 20
RESTRICT = 280  # the last 20 words are outside restrict_vocab: their questions are not covered
SECTIONS = ("capital-common-countries", "family", "gram1-adjective-to-adverb", "gram3-comparative")
COUNT_KEYS = ("correct", "covered", "accuracy", "correct_top5", "top5")


@pytest.fixture(scope="module")
def random_set(tmp_path_factory) -> tuple[list[str], np.ndarray, Path]:
    """300 random words (dim 20) and 400 questions in four sections.

    Half the questions have an answer planted near ``b - a + c`` with growing noise, so some
    are right at top-1, some only at top-5 and some at neither; the others are random. A few
    ask about unknown words or words beyond ``RESTRICT``: they are not covered.
    """
    rng = np.random.default_rng(7)
    words = [f"w{i:03d}" for i in range(WORDS)]
    vectors = rng.standard_normal((WORDS, DIM))
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    questions = []
    shuffled = rng.permutation(WORDS)
    answers, others = shuffled[:200], shuffled[200:]  # a, b, c keep their random vectors
    for n, d in enumerate(answers):
        a, b, c = rng.choice(others, size=3, replace=False)
        noise = 0.1 * (n % 10)
        vectors[d] = unit[b] - unit[a] + unit[c] + noise * rng.standard_normal(DIM)
        questions.append((a, b, c, d))
    questions += [tuple(rng.choice(WORDS, size=4, replace=False)) for _ in range(200)]
    order = rng.permutation(len(questions))
    lines: dict[str, list[str]] = {name: [] for name in SECTIONS}
    for k, q in enumerate(order):
        lines[SECTIONS[k % len(SECTIONS)]].append(" ".join(words[i] for i in questions[q]))
    lines["family"].append("w001 w002 w003 unknownword")
    path = tmp_path_factory.mktemp("topk") / "questions.txt"
    path.write_text(
        "".join(f": {name}\n" + "".join(f"{q}\n" for q in qs) for name, qs in lines.items()),
        encoding="utf-8",
    )
    return words, vectors.astype(np.float32), path


def brute_force_top5(
    words: list[str], vectors: np.ndarray, path: Path, restrict: int, method: str
) -> dict[str, tuple[int, int]]:
    """{section: (correct_top5, covered)} and "total", one question at a time in float64."""
    head = vectors[:restrict].astype(np.float64)
    unit = head / np.linalg.norm(head, axis=1, keepdims=True)
    row = {w: i for i, w in enumerate(words[:restrict])}
    counts: dict[str, tuple[int, int]] = {}
    for name, questions in read_analogies(path):
        right = covered = 0
        for question in questions:
            if not all(w in row for w in question):
                continue
            a, b, c, d = (row[w] for w in question)
            if method == "3cosadd":
                target = unit[b] - unit[a] + unit[c]
                scores = unit @ (target / np.linalg.norm(target))
            else:
                p = {x: (1 + unit @ unit[x]) / 2 for x in (a, b, c)}
                scores = p[b] * p[c] / (p[a] + 1e-6)
            scores[[a, b, c]] = -np.inf
            covered += 1
            right += d in np.argsort(-scores)[:5]
        counts[name] = (right, covered)
    counts["total"] = tuple(sum(v[i] for v in counts.values()) for i in range(2))
    return counts


def top5_counts(result: dict) -> dict[str, tuple[int, int]]:
    counts = {n: (s["correct_top5"], s["covered"]) for n, s in result["sections"].items()}
    counts["total"] = (result["total"]["correct_top5"], result["total"]["covered"])
    return counts


def keyed_vectors(words: list[str], vectors: np.ndarray) -> KeyedVectors:
    kv = KeyedVectors(vectors.shape[1])
    kv.add_vectors(words, vectors)
    return kv


@pytest.mark.parametrize("method", ["3cosadd", "3cosmul"])
def test_top5_equals_a_brute_force_count_per_section_and_in_total(random_set, method):
    words, vectors, path = random_set
    result = evaluate_analogies(words, vectors, path, restrict_vocab=RESTRICT, method=method)
    expected = brute_force_top5(words, vectors, path, RESTRICT, method)
    assert top5_counts(result) == expected
    # the planted answers make the counts informative: neither 0 nor every question
    assert 0 < result["total"]["correct"] < result["total"]["correct_top5"] < 400
    assert result["total"]["covered"] < result["questions"] == 401  # some are not covered
    for part in (result["total"], *result["sections"].values()):
        assert part["top5"] == pytest.approx(part["correct_top5"] / part["covered"])


@pytest.mark.parametrize("method", ["3cosadd", "3cosmul"])
def test_top5_is_never_below_top1(random_set, method):
    words, vectors, path = random_set
    result = evaluate_analogies(words, vectors, path, restrict_vocab=RESTRICT, method=method)
    parts = [result[g] for g in ("total", "semantic", "syntactic")]
    for part in (*parts, *result["sections"].values()):
        assert set(part) == set(COUNT_KEYS)
        assert part["correct"] <= part["correct_top5"] <= part["covered"]
        assert part["accuracy"] <= part["top5"]
    semantic, syntactic = result["semantic"], result["syntactic"]
    assert semantic["correct_top5"] + syntactic["correct_top5"] == result["total"]["correct_top5"]


def test_top1_is_unchanged_and_top5_is_gensims_top5_list(random_set):
    words, vectors, path = random_set
    result = evaluate_analogies(words, vectors, path, restrict_vocab=RESTRICT)
    kv = keyed_vectors(words, vectors)
    _, gensim_sections = kv.evaluate_word_analogies(str(path), restrict_vocab=RESTRICT)
    top1 = {n: (s["correct"], s["covered"]) for n, s in result["sections"].items()}
    top1["Total accuracy"] = (result["total"]["correct"], result["total"]["covered"])
    assert top1 == {
        s["section"]: (len(s["correct"]), len(s["correct"]) + len(s["incorrect"]))
        for s in gensim_sections
    }
    in_list = {}  # gensim's most_similar(topn=5): is the answer in the list?
    for name, questions in read_analogies(path):
        hits = 0
        for a, b, c, d in questions:
            if all(w in words[:RESTRICT] for w in (a, b, c, d)):
                top = kv.most_similar(
                    positive=[b, c], negative=[a], topn=5, restrict_vocab=RESTRICT
                )
                hits += d in [w for w, _ in top]
        in_list[name] = hits
    assert {n: s["correct_top5"] for n, s in result["sections"].items()} == in_list


def test_top1_on_the_google_set_still_equals_gensim(kv):
    ours = evaluate_analogies(kv.index_to_key, kv.vectors, GOOGLE, restrict_vocab=2000)
    _, sections = kv.evaluate_word_analogies(str(GOOGLE), restrict_vocab=2000)
    total = next(s for s in sections if s["section"] == "Total accuracy")
    assert ours["total"]["correct"] == len(total["correct"]) > 0
    assert ours["total"]["covered"] == len(total["correct"]) + len(total["incorrect"])
    assert ours["total"]["correct"] < ours["total"]["correct_top5"] <= ours["total"]["covered"]


def test_exact_ties_at_the_fifth_place_resolve_as_gensims_list(tmp_path):
    # seven candidates with identical vectors: gensim's partial sort picks which five it lists,
    # and top-5 counts exactly those (one section per question, to see each answer)
    words = ["abc", "def", "ghi", *(f"tie{i}" for i in range(7)), "far"]
    vectors = np.asarray(
        [[1, 0, 0], [1, 1, 0], [0, 0, 1], *([[0, 1, 1]] * 7), [0, -1, 0]], dtype=np.float32
    )
    path = tmp_path / "q.txt"
    path.write_text("".join(f": {w}\nabc def ghi {w}\n" for w in words[3:]), encoding="utf-8")
    result = evaluate_analogies(words, vectors, path)
    top = keyed_vectors(words, vectors).most_similar(["def", "ghi"], ["abc"], topn=5)
    listed = {w for w, _ in top}
    assert {w: s["correct_top5"] for w, s in result["sections"].items()} == {
        w: int(w in listed) for w in words[3:]
    }
    assert result["total"]["correct_top5"] == 5 and result["total"]["correct"] == 1


def test_chunking_does_not_change_the_counts(random_set, monkeypatch):
    words, vectors, path = random_set
    whole = evaluate_analogies(words, vectors, path, restrict_vocab=RESTRICT)
    monkeypatch.setattr(analogy_scoring, "_CHUNK_ELEMENTS", 7 * RESTRICT)  # 7 questions a chunk
    monkeypatch.setattr(analogy_scoring, "_PARTITION_ELEMENTS", 2 * RESTRICT)  # 2 rows a call
    assert evaluate_analogies(words, vectors, path, restrict_vocab=RESTRICT) == whole


def test_report_md_shows_a_top5_column(random_set):
    words, vectors, path = random_set
    analogy = evaluate_analogies(words, vectors, path, restrict_vocab=RESTRICT)
    report = {
        "analogy": analogy,
        "similarity": {},
        "examples": [],
        "vectors": {"words": WORDS, "dim": DIM, "path": "random.bin"},
    }
    markdown = render_markdown(report)
    assert "| section | correct | covered | accuracy | top-5 |" in markdown
    total = analogy["total"]
    row = (
        f"| **total** | {total['correct']} | {total['covered']} | "
        f"{100 * total['accuracy']:.2f}% | {100 * total['top5']:.2f}% |"
    )
    assert row in markdown
    assert "top-5 is the share of the same covered questions" in markdown
    # a report.json written before top-5 still renders
    for part in (analogy["total"], *analogy["sections"].values()):
        del part["correct_top5"], part["top5"]
    assert f"{100 * total['accuracy']:.2f}% | n/a |" in render_markdown(report)
