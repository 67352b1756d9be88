"""The Airflow DAG (jobs/airflow/w2v_pipeline_dag.py) loads in Airflow's DagBag and is wired right.

Airflow reads its configuration and sets up logging when it is first imported, and it would make
~/airflow otherwise. So the DagBag is loaded in a child Python with its own AIRFLOW_HOME in a
temporary directory and no bytecode writing (nothing lands in the repo), and the child prints
what the assertions need as JSON: the suite's interpreter never imports airflow.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DAG_FILE = REPO / "jobs" / "airflow" / "w2v_pipeline_dag.py"

if importlib.util.find_spec("airflow") is None:  # a find, not an import: see the docstring
    pytest.skip(
        'Airflow is not installed (pip install -e ".[test,airflow]"; CI installs it)',
        allow_module_level=True,
    )

CHILD = r"""
import inspect, json, sys
from airflow.models import DagBag

class Variables:  # the context's var.value accessor, with the Variables this run has set
    def __init__(self, values):
        self.values = values
    def get(self, key, default=None):
        return self.values.get(key, default)

def rendered(dag, variables, params):
    context_params = {**{k: dag.params[k] for k in dag.params}, **params}
    out = {}
    for task in dag.tasks:
        task = task.prepare_for_execution()  # a copy: rendering mutates the operator
        task.render_template_fields(
            {"params": context_params, "run_id": "manual__2025-06-01T12:30:00+00:00",
             "var": {"value": Variables(variables)}}
        )
        out[task.task_id] = {"application": task.application, "py_files": task.py_files,
                             "args": task.application_args, "conf": task.conf}
    return out

# Airflow 3.3 dropped include_examples (examples became a bundle, and are off here anyway).
older = "include_examples" in inspect.signature(DagBag).parameters
bag = DagBag(dag_folder=sys.argv[1], **({"include_examples": False} if older else {}))
dag = bag.dags.get("w2v_pipeline")
result = {"import_errors": {str(k): str(v) for k, v in bag.import_errors.items()},
          "dag_ids": sorted(bag.dags)}
if dag is not None:
    result.update(
        schedule=str(dag.schedule), catchup=dag.catchup, tags=sorted(dag.tags),
        tasks={t.task_id: {"upstream": sorted(t.upstream_task_ids),
                           "downstream": sorted(t.downstream_task_ids),
                           "retries": t.retries, "retry_delay": t.retry_delay.total_seconds(),
                           "conn_id": t._conn_id, "declared_args": t.application_args}
               for t in dag.tasks},
        defaults=rendered(dag, {}, {}),
        custom=rendered(
            dag,
            {"w2v_spark_home": "/opt/w2v", "w2v_spark_out_base": "s3a://bucket/w2v",
             "w2v_spark_py_files": "/opt/w2v/w2v_spark-0.1.zip"},
            {"corpus": "s3a://bucket/corpus/", "profile": "wiki8"},
        ),
        explicit_out=rendered(dag, {}, {"out": "hdfs:///w2v/fixed"}),
    )
print("RESULT" + json.dumps(result))
"""


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> dict:
    home = tmp_path_factory.mktemp("airflow_home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(home / "dags"),
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.pop("W2V_SPARK_CONN_ID", None)
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(DAG_FILE)],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=180,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT")]
    assert proc.returncode == 0 and lines, f"DagBag child failed:\n{proc.stdout}\n{proc.stderr}"
    return json.loads(lines[-1][len("RESULT") :])


def test_dag_imports_cleanly(loaded: dict) -> None:
    assert loaded["import_errors"] == {}
    assert loaded["dag_ids"] == ["w2v_pipeline"]
    assert loaded["schedule"] == "None"
    assert loaded["catchup"] is False
    assert "w2v-spark" in loaded["tags"]


def test_three_tasks_in_order(loaded: dict) -> None:
    tasks = loaded["tasks"]
    assert sorted(tasks) == ["evaluate", "train", "vocab"]
    assert tasks["vocab"]["upstream"] == []
    assert tasks["vocab"]["downstream"] == ["train"]
    assert tasks["train"]["upstream"] == ["vocab"]
    assert tasks["train"]["downstream"] == ["evaluate"]
    assert tasks["evaluate"]["upstream"] == ["train"]
    assert tasks["evaluate"]["downstream"] == []


def test_retries_and_connection(loaded: dict) -> None:
    for task in loaded["tasks"].values():
        assert task["retries"] == 2
        assert task["retry_delay"] == 300
        assert task["conn_id"] == "spark_default"


def test_retry_flags(loaded: dict) -> None:
    # train resumes from its last checkpoint and never replaces a model; vocab and evaluate
    # republish the same result atomically (see the DAG's docstring).
    declared = {name: task["declared_args"] for name, task in loaded["tasks"].items()}
    assert "--resume" in declared["train"]
    assert "--overwrite" not in declared["train"]
    assert "--overwrite" in declared["vocab"]
    assert "--overwrite" in declared["evaluate"]


def test_default_rendering_points_at_this_repo(loaded: dict) -> None:
    rendered = loaded["defaults"]
    out = f"{REPO}/runs/airflow/manual__2025-06-01T12_30_00_00_00"
    config = f"{REPO}/conf/sample.toml"
    for stage, task in rendered.items():
        application = Path(task["application"])
        assert application == REPO / "jobs" / f"{stage}.py"
        assert application.is_file()
        assert task["py_files"] == f"{REPO}/dist/w2v_spark.zip"
        assert task["args"][:2] == ["--config", config]
        log4j = f"{REPO}/conf/log4j2.properties"
        assert task["conf"] == {
            "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={log4j}"
        }
        assert Path(log4j).is_file()
    assert Path(config).is_file()
    assert rendered["vocab"]["args"][2:] == [
        "--corpus",
        f"{REPO}/data/sample.txt.gz",
        "--out",
        f"{out}/vocab",
        "--overwrite",
    ]
    assert Path(rendered["vocab"]["args"][3]).is_file()
    assert rendered["train"]["args"][2:] == [
        "--vocab",
        f"{out}/vocab",
        "--out",
        f"{out}/model",
        "--resume",
    ]
    assert rendered["evaluate"]["args"][2:] == [
        "--model",
        f"{out}/model",
        "--out",
        f"{out}/report",
        "--overwrite",
    ]


def test_variables_and_params_override(loaded: dict) -> None:
    custom = loaded["custom"]
    out = "s3a://bucket/w2v/manual__2025-06-01T12_30_00_00_00"
    assert custom["vocab"]["application"] == "/opt/w2v/jobs/vocab.py"
    assert custom["train"]["py_files"] == "/opt/w2v/w2v_spark-0.1.zip"
    assert custom["train"]["args"][:2] == ["--config", "/opt/w2v/conf/wiki8.toml"]
    assert custom["train"]["conf"] == {
        "spark.driver.extraJavaOptions": "-Dlog4j2.configurationFile=/opt/w2v/conf/log4j2.properties"
    }
    assert custom["vocab"]["args"][2:6] == [
        "--corpus",
        "s3a://bucket/corpus/",
        "--out",
        f"{out}/vocab",
    ]
    assert custom["evaluate"]["args"][2:6] == ["--model", f"{out}/model", "--out", f"{out}/report"]
    explicit = loaded["explicit_out"]
    assert explicit["train"]["args"][2:6] == [
        "--vocab",
        "hdfs:///w2v/fixed/vocab",
        "--out",
        "hdfs:///w2v/fixed/model",
    ]
