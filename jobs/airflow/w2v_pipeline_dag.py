"""w2v-spark as an Airflow DAG: vocab -> train -> evaluate, one spark-submit task per stage.

Each task runs one of the repo's thin jobs (``jobs/vocab.py``, ``jobs/train.py``,
``jobs/evaluate.py``) with ``SparkSubmitOperator``, shipping the ``w2v_spark`` package to the
cluster as ``--py-files dist/w2v_spark.zip``. Needs the ``airflow`` extra
(``pip install -e ".[airflow]"``) where Airflow runs.

Deploy
------
1. Put the repo on the Airflow workers (the driver runs there: spark-submit client mode), build
   ``dist/w2v_spark.zip``, and give the Spark driver and executors a Python with the base
   dependencies (``pip install -e .``; the zip holds only the package's own code).
2. Symlink this file into the dags folder (``ln -s $PWD/jobs/airflow/w2v_pipeline_dag.py
   $AIRFLOW_HOME/dags/``): the repo root is then found from the file itself. If you copy it
   instead, set the Variable ``w2v_spark_home``.
3. Point the connection ``spark_default`` at the master, e.g.
   ``airflow connections add spark_default --conn-type spark --conn-host spark://host
   --conn-port 7077`` (or ``yarn`` / ``local[*]`` as host).

Variables (optional, read when a task runs)
    ``w2v_spark_home``      repo root holding ``jobs/`` and ``conf/`` (default: this file's repo)
    ``w2v_spark_py_files``  the package zip (default: ``<home>/dist/w2v_spark.zip``)
    ``w2v_spark_out_base``  where runs go, any Hadoop path such as ``s3a://bucket/w2v``
                            (default: ``<home>/runs/airflow``)
The connection id is ``spark_default``, or the environment variable ``W2V_SPARK_CONN_ID`` of
the DAG processor and workers (SparkSubmitOperator does not template ``conn_id``).

Params (per run, in the trigger form)
    ``corpus``   any path the vocab job reads (default: the bundled sample corpus)
    ``profile``  config profile: ``<home>/conf/<profile>.toml`` (default ``sample``)
    ``out``      output root; empty (default) means ``<out_base>/<run id>``, so every run
                 writes ``OUT/vocab``, ``OUT/model`` and ``OUT/report`` of its own

Retries (2, five minutes apart) are safe because every retry of a run writes the same paths:
- vocab and evaluate pass ``--overwrite``. Their outputs are published atomically, so a failed
  attempt leaves nothing behind and the retry simply runs again; if an attempt published and
  was still marked failed (worker lost, timeout), the retry recomputes the same result from the
  same input and swaps it in atomically, where without ``--overwrite`` it would fail forever.
- train passes ``--resume`` and never ``--overwrite``: a retry continues after the last
  complete epoch checkpoint instead of restarting (a first attempt simply starts). A finished
  model is never replaced: to train again, trigger a new run (a new ``out``).
Because ``--overwrite`` replaces what is there, an explicit ``out`` should be a fresh path.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk import DAG, Param

# The repo this file lives in (through the symlink): <root>/jobs/airflow/w2v_pipeline_dag.py.
REPO_ROOT = Path(__file__).resolve().parents[2]
SPARK_CONN_ID = os.environ.get("W2V_SPARK_CONN_ID", "spark_default")

# Jinja, rendered when a task runs: Variables are read then, not at every parse.
HOME = f"var.value.get('w2v_spark_home', '{REPO_ROOT}')"
OUT = (
    "(params.out or var.value.get('w2v_spark_out_base', "
    f"{HOME} ~ '/runs/airflow') ~ '/' ~ path_safe(run_id))"
)
PY_FILES = f"{{{{ var.value.get('w2v_spark_py_files', {HOME} ~ '/dist/w2v_spark.zip') }}}}"
COMMON = ["--config", f"{{{{ {HOME} }}}}/conf/{{{{ params.profile }}}}.toml"]
# The driver's console at WARN under spark-submit (README "Running on a cluster"): Spark's INFO
# lines would otherwise bury ours in the task log.
LOG4J = {
    "spark.driver.extraJavaOptions": (
        f"-Dlog4j2.configurationFile={{{{ {HOME} }}}}/conf/log4j2.properties"
    )
}


def path_safe(run_id: str) -> str:
    """A run id as one Hadoop path component (``manual__2025-01-01T00:00:00+00:00`` has ':')."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", run_id).lstrip("._") or "run"


def out(stage: str) -> str:
    return f"{{{{ {OUT} }}}}/{stage}"


def spark_job(stage: str, args: list[str]) -> SparkSubmitOperator:
    return SparkSubmitOperator(
        task_id=stage,
        conn_id=SPARK_CONN_ID,
        application=f"{{{{ {HOME} }}}}/jobs/{stage}.py",
        py_files=PY_FILES,
        conf=dict(LOG4J),
        name=f"w2v-{stage}",
        application_args=[*COMMON, *args],
    )


with DAG(
    dag_id="w2v_pipeline",
    description="Word2Vec on Spark: vocabulary, training, evaluation",
    doc_md=__doc__,
    schedule=None,
    catchup=False,
    tags=["w2v-spark", "spark"],
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    user_defined_macros={"path_safe": path_safe},
    params={
        "corpus": Param(
            str(REPO_ROOT / "data" / "sample.txt.gz"),
            type="string",
            minLength=1,
            description="text, .gz, .bz2, directory, glob or Parquet; local, hdfs:// or s3a://",
        ),
        "profile": Param(
            "sample", type="string", minLength=1, description="conf/<profile>.toml in the repo"
        ),
        "out": Param(
            "", type="string", description="output root; empty: <w2v_spark_out_base>/<run id>"
        ),
    },
) as dag:
    vocab = spark_job(
        "vocab", ["--corpus", "{{ params.corpus }}", "--out", out("vocab"), "--overwrite"]
    )
    train = spark_job("train", ["--vocab", out("vocab"), "--out", out("model"), "--resume"])
    evaluate = spark_job(
        "evaluate", ["--model", out("model"), "--out", out("report"), "--overwrite"]
    )
    vocab >> train >> evaluate
