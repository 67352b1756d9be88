"""The one place that builds a SparkSession."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator

from pyspark.sql import SparkSession

from w2v_spark.config import SparkConfig

log = logging.getLogger(__name__)


def get_session(cfg: SparkConfig | None = None) -> SparkSession:
    """Return the active session or build one from ``cfg``.

    Under ``spark-submit`` the master and memory come from the command line and win over
    ``cfg``; run as ``python jobs/x.py`` the master is ``$SPARK_MASTER`` if set, else
    ``cfg.master`` (local mode by default).
    """
    cfg = cfg or SparkConfig()
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder = SparkSession.builder.appName(cfg.app_name)
    # spark-submit starts the JVM first and hands Python its gateway: its settings win.
    if not os.environ.get("PYSPARK_GATEWAY_PORT"):
        # Python workers run this interpreter (with its packages), not whatever "python3" is
        # first on PATH, unless the user chose one.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = builder.master(os.environ.get("SPARK_MASTER", cfg.master))
        builder = builder.config("spark.driver.memory", cfg.driver_memory)
    builder = builder.config("spark.ui.showConsoleProgress", str(cfg.show_progress).lower())
    # Arrow makes toPandas/createDataFrame of weight matrices cheap.
    builder = builder.config("spark.sql.execution.arrow.pyspark.enabled", "true")
    for key, value in cfg.conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(os.environ.get("W2V_SPARK_LOG_LEVEL", "WARN"))
    _quiet(spark, "org.apache.spark.sql.execution.window.WindowExec")
    log.info("spark %s, master %s", spark.version, spark.sparkContext.master)
    return spark


def _quiet(spark: SparkSession, logger: str) -> None:
    """Silence a Spark logger whose warning does not apply to us.

    WindowExec warns that an unpartitioned window moves all rows to one partition; we number
    only the vocabulary that way (words past min_count), never the corpus.
    """
    try:
        jvm = spark.sparkContext._jvm
        level = jvm.org.apache.logging.log4j.Level.ERROR
        jvm.org.apache.logging.log4j.core.config.Configurator.setLevel(logger, level)
    except Exception:  # another logging backend: the warning stays, nothing breaks
        log.debug("could not quiet %s", logger)


@contextlib.contextmanager
def job_group(spark: SparkSession, name: str, level: int = logging.INFO) -> Iterator[None]:
    """Name the Spark jobs run inside, so the Spark UI reads as the pipeline does; the name
    is logged at ``level`` (DEBUG for steps that recur many times an epoch)."""
    sc = spark.sparkContext
    sc.setJobGroup(name.split(":")[0].strip().replace(" ", "-"), name)
    log.log(level, "%s", name)
    try:
        yield
    finally:
        sc.setLocalProperty("spark.job.description", None)
        sc.setLocalProperty("spark.jobGroup.id", None)


def stop_session(spark: SparkSession) -> None:
    """Stop the session; a JVM that already died must not hide the error that killed it."""
    try:
        spark.stop()
    except Exception:
        log.debug("spark.stop() failed", exc_info=True)
