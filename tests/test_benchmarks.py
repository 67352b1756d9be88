"""The benchmark harness stays alive: --quick runs every system and fills every column."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def _compare_quick(tmp_path, *args: str) -> subprocess.CompletedProcess:
    """``benchmarks/compare.py --quick ARGS --out tmp_path``, output captured."""
    script = str(ROOT / "benchmarks" / "compare.py")
    return subprocess.run(
        [sys.executable, script, "--quick", *args, "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )


@pytest.mark.slow
def test_compare_quick_runs_every_system_and_fills_every_column(tmp_path):
    result = _compare_quick(tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (report,) = tmp_path.glob("compare-*.json")
    rows = json.loads(report.read_text())["rows"]
    assert [r["system"] for r in rows] == ["ours P=2", "gensim", "c", "mllib P=2"]
    for row in rows:
        if "skipped" in row:  # only the C tool may be absent (it compiles on install)
            assert row["system"] == "c", row
            continue
        for key in (
            "train_seconds",
            "total_seconds",
            "words_per_sec",
            "peak_total_mb",
            "analogy",
            "semantic",
            "syntactic",
            "covered",
            "wordsim353",
            "simlex999",
        ):
            assert row[key] is not None, (row["system"], key)
        assert row["covered"] > 1000
        assert row["words_per_sec"] > 0
    assert "| gensim |" in result.stdout


def _compare_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("compare", ROOT / "benchmarks" / "compare.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(system: str, round_: int, words_per_sec: float, analogy: float) -> dict:
    row = {"system": system, "round": round_, "words_per_sec": words_per_sec, "analogy": analogy}
    for key in ("train_seconds", "total_seconds", "peak_total_mb", "peak_single_mb"):
        row[key] = 10.0 * (round_ + 1)
    for key in ("semantic", "syntactic", "covered", "wordsim353", "simlex999"):
        row[key] = analogy
    return row


def test_compare_rounds_give_each_systems_medians_and_each_rounds_ratio():
    compare = _compare_module()
    rows = [
        _run("ours P=2", 0, 200.0, 0.30),
        _run("gensim", 0, 250.0, 0.30),
        _run("gensim", 1, 100.0, 0.40),
        _run("ours P=2", 1, 110.0, 0.36),
        _run("ours P=2", 2, 300.0, 0.33),
        _run("gensim", 2, 280.0, 0.33),
    ]
    medians = {r["system"]: r for r in compare.median_rows(rows)}
    assert medians["ours P=2"]["words_per_sec"] == 200.0
    assert medians["gensim"]["words_per_sec"] == 250.0
    assert medians["ours P=2"]["analogy"] == 0.33
    assert medians["gensim"]["rounds"] == 3
    assert medians["gensim"]["peak_total_mb"] == 20  # whole megabytes
    ratios = compare.round_ratios(rows)
    # within each round: 200/250, 110/100, 300/280; median 1.07 (the medians' ratio is 0.80)
    assert (
        "| ours P=2 | 0.80 / 1.10 / 1.07 | **1.07** | 1.000 / 0.900 / 1.000 | **1.000** |" in ratios
    )


def test_compare_single_round_keeps_the_run_as_it_is():
    compare = _compare_module()
    rows = [_run("gensim", 0, 250.0, 0.3), {"system": "c", "round": 0, "skipped": "no binary"}]
    assert compare.median_rows(rows) == rows


@pytest.mark.slow
def test_compare_records_a_failed_system_and_still_runs_the_others(tmp_path):
    result = _compare_quick(tmp_path, "--systems", "ours,gensim", "--set", "train.no_such_key=1")
    assert result.returncode == 0, result.stderr[-3000:]
    (report,) = tmp_path.glob("compare-*.json")
    ours, gensim = json.loads(report.read_text())["rows"]
    assert ours["skipped"].startswith("failed: w2v-spark pipeline: error:")
    assert "no_such_key" in ours["skipped"]
    assert gensim["words_per_sec"] > 0
    assert "| ours P=2 | skipped: failed:" in result.stdout
