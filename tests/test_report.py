"""The evaluation report: report.json keys, a readable report.md, a well-formed projection.svg."""

from __future__ import annotations

import dataclasses
import gzip
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from gensim.models import Word2Vec

from w2v_spark.config import EvaluateConfig
from w2v_spark.errors import UserError
from w2v_spark.evaluation import evaluate_analogies, most_similar
from w2v_spark.report import (
    build_report,
    pca_2d,
    projection_svg,
    svg_projection,
    write_report,
)

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample.txt.gz"
QUESTIONS = ROOT / "w2v_spark" / "data" / "questions-words.txt"
TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")
SVG = "{http://www.w3.org/2000/svg}"

METRICS = [
    {"epoch": 1, "words": 400_000, "words_per_sec": 123_456.7, "loss": 5.4321,
     "learning_rate": 0.0125, "seconds": 3.2},
    {"epoch": 2, "words": 400_000, "words_per_sec": 130_000.0, "loss": 4.321,
     "learning_rate": 0.0001, "seconds": 3.1},
]  # fmt: skip
SETTINGS = {"train": {"vector_size": 50, "epochs": 2}, "vocab": {"min_count": 3}}


@pytest.fixture(scope="module")
def model() -> tuple[list[str], list[int], np.ndarray]:
    """Quick CBOW vectors of the sample corpus: words, counts, vectors (V, 50) float32."""
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as handle:
        sentences = [TOKEN.findall(line.lower()) for line in handle]
    wv = Word2Vec(sentences, vector_size=50, min_count=3, epochs=2, workers=2, seed=1).wv
    counts = [wv.get_vecattr(w, "count") for w in wv.index_to_key]
    return list(wv.index_to_key), counts, wv.vectors


@pytest.fixture(scope="module")
def report(model) -> dict:
    words, counts, vectors = model
    cfg = EvaluateConfig(examples=[*EvaluateConfig().examples, "King - qqqx + zzzx", "Paris"])
    return build_report(
        words, counts, vectors, cfg, vectors_path="out/model/vectors.bin", metrics=METRICS,
        settings=SETTINGS,
    )  # fmt: skip


def test_report_has_every_key_of_the_design(report, model):
    words, _, _ = model
    assert {"analogy", "similarity", "examples", "vectors"} <= set(report)
    assert set(report["analogy"]) == {
        "restrict_vocab", "questions", "total", "semantic", "syntactic", "sections"
    }  # fmt: skip
    for part in ("total", "semantic", "syntactic", *report["analogy"]["sections"]):
        counts = report["analogy"].get(part) or report["analogy"]["sections"][part]
        assert set(counts) == {"correct", "covered", "accuracy"}
    assert report["analogy"]["restrict_vocab"] == 30000
    assert report["analogy"]["questions"] == 19544
    assert set(report["similarity"]) == {"wordsim353", "simlex999"}
    for part in report["similarity"].values():
        assert set(part) == {"spearman", "pairs", "oov"} and part["pairs"] > 0
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
