"""The ``w2v-spark`` console script: the jobs' commands, same flags, one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from w2v_spark.commands import COMMANDS, main

SCRIPT = Path(sys.executable).parent / "w2v-spark"


def test_every_job_has_a_command_and_jobs_call_the_same_functions():
    root = Path(__file__).resolve().parents[1]
    for name in ("vocab", "train", "evaluate", "pipeline"):
        assert (
            f"from w2v_spark.commands import {name} as main"
            in (root / "jobs" / f"{name}.py").read_text()
        )
    assert set(COMMANDS) == {"vocab", "train", "evaluate", "pipeline", "query"}


def test_an_unknown_command_exits_2_with_the_usage(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["fit"])
    assert stopped.value.code == 2
    assert "unknown command 'fit'; usage: w2v-spark {vocab|train|evaluate|pipeline|query}" in (
        capsys.readouterr().err
    )


@pytest.mark.skipif(not SCRIPT.exists(), reason="w2v-spark is not installed (pip install -e .)")
def test_the_installed_script_runs_a_job_and_reports_a_bad_input_in_one_line(tmp_path):
    done = subprocess.run(
        [
            str(SCRIPT),
            "vocab",
            "--corpus",
            str(tmp_path / "absent.txt"),
            "--out",
            str(tmp_path / "v"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if "error" in line]
    assert errors[-1].startswith("w2v-spark vocab: error: ")
    assert "absent.txt" in errors[-1]
    assert not (tmp_path / "v").exists()
