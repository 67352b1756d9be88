"""The evaluation report: report.json keys, a readable report.md, a well-formed projection.svg."""

from __future__ import annotations

import dataclasses
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from tests.datasets import ANALOGY_QUESTIONS, SIMLEX999_PAIRS, WORDSIM353_PAIRS
from w2v_spark.config import Config, EvaluateConfig
from w2v_spark.errors import UserError
from w2v_spark.evaluate.analogies import evaluate_analogies
from w2v_spark.evaluate.neighbours import most_similar
from w2v_spark.evaluate.projection import pca_2d, projection_svg, svg_projection
from w2v_spark.evaluate.report import build_report, write_report

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "w2v_spark" / "data" / "questions-words.txt"
SVG = "{http://www.w3.org/2000/svg}"

METRICS = [
    {"epoch": 1, "words": 400_000, "words_per_sec": 123_456.7, "loss": 5.4321,
     "learning_rate": 0.0125, "seconds": 3.2},
    {"epoch": 2, "words": 400_000, "words_per_sec": 130_000.0, "loss": 4.321,
     "learning_rate": 0.0001, "seconds": 3.1},
]  # fmt: skip
SETTINGS = {"train": {"vector_size": 50, "epochs": 2}, "vocab": {"min_count": 3}}
# The vocab section of a model's metrics.json (training.write_model).
CORPUS = {
    "corpus": "data/sample.txt.gz", "total_tokens": 458_289, "retained_tokens": 432_020,
    "vocab_size": 13_085,
}  # fmt: skip


@pytest.fixture(scope="module")
def model(kv) -> tuple[list[str], list[int], np.ndarray]:
    """The session's gensim vectors of the sample corpus (tests/conftest.py): words, counts,
    vectors (V, 50) float32."""
    counts = [kv.get_vecattr(w, "count") for w in kv.index_to_key]
    return list(kv.index_to_key), counts, kv.vectors


@pytest.fixture(scope="module")
def report(model) -> dict:
    words, counts, vectors = model
    cfg = EvaluateConfig(examples=[*EvaluateConfig().examples, "King - qqqx + zzzx", "Paris"])
    return build_report(
        words, counts, vectors, cfg, vectors_path="out/model/vectors.bin", metrics=METRICS,
        settings=SETTINGS, corpus=CORPUS,
    )  # fmt: skip


def test_report_has_every_key_of_the_design(report, model):
    words, _, _ = model
    assert {"analogy", "similarity", "examples", "vectors"} <= set(report)
    assert set(report["analogy"]) == {
        "restrict_vocab", "questions", "total", "semantic", "syntactic", "sections"
    }  # fmt: skip
    for part in ("total", "semantic", "syntactic", *report["analogy"]["sections"]):
        counts = report["analogy"].get(part) or report["analogy"]["sections"][part]
        assert set(counts) == {"correct", "covered", "accuracy", "correct_top5", "top5"}
        assert counts["correct"] <= counts["correct_top5"] <= counts["covered"]
    assert report["analogy"]["restrict_vocab"] == 30000
    assert report["analogy"]["questions"] == ANALOGY_QUESTIONS
    assert set(report["similarity"]) == {"wordsim353", "simlex999"}
    for part in report["similarity"].values():
        assert set(part) == {"spearman", "pairs", "oov", "total"} and part["pairs"] > 0
    assert report["datasets"] == {
        "analogies": {
            "file": "questions-words.txt",
            "bundled": True,
            "questions": ANALOGY_QUESTIONS,
        },
        "wordsim353": {"file": "wordsim353.tsv", "bundled": True, "pairs": WORDSIM353_PAIRS},
        "simlex999": {"file": "simlex999.txt", "bundled": True, "pairs": SIMLEX999_PAIRS},
    }
    assert report["corpus"] == CORPUS
    assert report["vectors"] == {"words": len(words), "dim": 50, "path": "out/model/vectors.bin"}
    assert report["metrics"] == METRICS and report["settings"] == SETTINGS


def test_report_analogy_equals_a_direct_evaluation(report, model):
    words, _, vectors = model
    assert report["analogy"] == evaluate_analogies(words, vectors, QUESTIONS)


def test_examples_list_neighbours_and_name_missing_words(report, model):
    words, _, vectors = model
    queries = [e["query"] for e in report["examples"]]
    assert queries == [*EvaluateConfig().examples, "King - qqqx + zzzx", "Paris"]
    by_query = {e["query"]: e for e in report["examples"]}
    king = by_query["king - man + woman"]
    expected = most_similar(
        words, vectors, ["king", "woman"], ["man"], topn=5, restrict_vocab=30000
    )
    assert [w for w, _ in king["top"]] == [w for w, _ in expected]
    assert all(isinstance(s, float) for _, s in king["top"])
    assert by_query["King - qqqx + zzzx"]["missing"] == ["qqqx", "zzzx"]
    assert by_query["King - qqqx + zzzx"]["top"] == []
    assert len(by_query["Paris"]["top"]) == 5  # falls back to the lowercase word
    assert "paris" not in [w for w, _ in by_query["Paris"]["top"]]


def test_write_report_writes_json_markdown_and_svg(report, model, tmp_path):
    words, _, vectors = model
    written = write_report(report, tmp_path / "report", words=words, vectors=vectors)
    assert set(written) == {"json", "markdown", "svg"}
    assert json.loads((tmp_path / "report" / "report.json").read_text()) == json.loads(
        json.dumps(report)
    )
    markdown = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    for section in report["analogy"]["sections"]:
        assert f"| {section} |" in markdown
    for heading in ("**semantic**", "**syntactic**", "**total**", "wordsim353", "simlex999"):
        assert heading in markdown
    for example in report["examples"]:
        assert example["query"] in markdown
    assert "not in the vocabulary: qqqx, zzzx" in markdown
    assert "| 2 | 4.3210 | 130,000 | 0.000100 | 3.1 |" in markdown  # training curve row
    assert "| train.vector_size | 50 |" in markdown
    assert "](projection.svg)" in markdown
    root = ET.parse(tmp_path / "report" / "projection.svg").getroot()
    assert root.tag == f"{SVG}svg"
    labels = {t.text for t in root.iter(f"{SVG}text")}
    assert {"france", "paris", "king", "queen"} <= labels
    arrows = [line for line in root.iter(f"{SVG}line") if line.get("marker-end")]
    assert len(arrows) >= 4


def markdown_tables(markdown: str) -> list[list[str]]:
    """Every table row of a Markdown page (separator rows left out), split into cells."""
    rows = []
    for line in markdown.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]])
    return rows


def test_report_md_names_the_corpus_and_the_evaluation_sets(report, tmp_path):
    write_report(report, tmp_path)
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "| corpus | `data/sample.txt.gz` |" in markdown
    assert "| tokens | 458,289 (432,020 of them in the vocabulary" in markdown
    assert "| vocabulary | 13,085 words |" in markdown
    assert "| analogies | `questions-words.txt` (bundled; the Google analogy set" in markdown
    assert f"): {ANALOGY_QUESTIONS:,} questions |" in markdown
    assert "| wordsim353 | `wordsim353.tsv` (bundled; WordSim-353" in markdown
    assert f"): {WORDSIM353_PAIRS:,} pairs |" in markdown
    assert f"): {SIMLEX999_PAIRS:,} pairs |" in markdown
    reading = markdown.split("## How to read the numbers")[1].split("## ")[0]
    assert "**Analogy accuracy**" in reading and "**Spearman**" in reading
    assert "**gensim on this corpus**: not known" in reading


def test_report_md_has_no_empty_cell_with_the_default_settings(model, tmp_path):
    # The issue: evaluate.analogies = "" (the shipped file) showed as an empty cell.
    words, counts, vectors = model
    cfg = EvaluateConfig(restrict_vocab=2000)
    settings = Config(evaluate=cfg).to_dict()
    metrics = [{**METRICS[0], "loss": None}]  # a missing number reads n/a
    built = build_report(
        words, counts, vectors, cfg, vectors_path="v", metrics=metrics, settings=settings,
        corpus=CORPUS,
    )  # fmt: skip
    write_report(built, tmp_path)
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    rows = markdown_tables(markdown)
    assert len(rows) > 50
    assert not [row for row in rows if "" in row]
    assert "| evaluate.analogies | (bundled questions-words.txt) |" in markdown
    assert "| evaluate.simlex999 | (bundled simlex999.txt) |" in markdown
    assert "| 1 | n/a | 123,457 | 0.012500 | 3.2 |" in markdown


def test_report_md_quotes_gensim_on_wiki8_and_says_when_the_corpus_is_not_known(model, tmp_path):
    words, _, vectors = model
    cfg = EvaluateConfig(examples=["france"], restrict_vocab=2000)
    wiki8 = {"corpus": "s3a://b/wiki8.txt.gz", "total_tokens": 16_940_016,
             "retained_tokens": 16_718_844, "vocab_size": 71_290}  # fmt: skip
    built = build_report(words, None, vectors, cfg, vectors_path="v", corpus=wiki8)
    write_report(built, tmp_path / "wiki8")
    markdown = (tmp_path / "wiki8" / "report.md").read_text(encoding="utf-8")
    assert "**gensim on this corpus**, wiki8" in markdown
    assert "analogy accuracy 0.3648, WordSim-353 0.6510, SimLex-999 0.3145" in markdown
    plain = build_report(words, None, vectors, cfg, vectors_path="other.bin")
    assert plain["corpus"] is None
    write_report(plain, tmp_path / "plain")
    markdown = (tmp_path / "plain" / "report.md").read_text(encoding="utf-8")
    assert "| corpus | not known (vectors read from a word2vec file) |" in markdown
    assert "**gensim on this corpus**: not known" in markdown


def test_report_md_names_a_configured_evaluation_file(model, tmp_path):
    words, _, vectors = model
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("king\tqueen\t8.5\nking\tcabbage\t0.2\nman\twoman\t8.3\n", "utf-8")
    cfg = EvaluateConfig(examples=["france"], restrict_vocab=2000, wordsim353=str(pairs))
    built = build_report(words, None, vectors, cfg, vectors_path="v")
    assert built["datasets"]["wordsim353"] == {"file": str(pairs), "bundled": False, "pairs": 3}
    write_report(built, tmp_path / "out")
    markdown = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert f"| wordsim353 | `{pairs}`: 3 pairs |" in markdown


def test_write_report_without_vectors_has_no_picture(report, tmp_path):
    written = write_report(report, tmp_path)
    assert set(written) == {"json", "markdown"}
    assert not (tmp_path / "projection.svg").exists()
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "projection.svg" not in markdown
    assert "## Training" in markdown  # the report's own metrics are used


def test_report_without_metrics_has_no_training_table(model, tmp_path):
    words, _, vectors = model
    cfg = EvaluateConfig(examples=["france"], restrict_vocab=500)
    plain = build_report(words, None, vectors, cfg, vectors_path="v.bin")
    assert plain["analogy"]["restrict_vocab"] == 500
    assert "metrics" not in plain and "settings" not in plain
    write_report(plain, tmp_path)
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "## Training" not in markdown and "## Settings" not in markdown


def test_configured_data_set_that_does_not_exist_is_a_user_error(model, tmp_path):
    words, _, vectors = model
    for key in ("analogies", "simlex999"):
        cfg = dataclasses.replace(EvaluateConfig(restrict_vocab=500), **{key: str(tmp_path / "x")})
        with pytest.raises(UserError, match=rf"evaluate.{key}: file not found"):
            build_report(words, None, vectors, cfg, vectors_path="v.bin")


def test_pca_projection_keeps_distances_of_points_on_a_plane():
    rng = np.random.default_rng(3)
    plane = rng.standard_normal((12, 2)) * [5.0, 1.0]
    basis, _ = np.linalg.qr(rng.standard_normal((20, 2)))
    coords = pca_2d(plane @ basis.T + 7.0)
    assert coords.shape == (12, 2)

    def distances(x):
        return np.linalg.norm(x[:, None] - x[None], axis=-1)

    assert np.allclose(distances(coords), distances(plane))


def test_svg_escapes_labels_and_parses():
    svg = svg_projection(
        ["a<b", "c&d", "e"], np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.5]]),
        [(0, 1, "male → female")], title="t & <t>",
    )  # fmt: skip
    root = ET.fromstring(svg)
    assert {"a<b", "c&d", "e", "t & <t>"} <= {t.text for t in root.iter(f"{SVG}text")}


def test_no_projection_without_two_known_pairs():
    assert projection_svg(["king", "queen", "cat"], np.eye(3, dtype=np.float32)) is None
