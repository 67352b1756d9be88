"""The jobs on a real standalone cluster: a master and two workers on 127.0.0.1.

Everything is started from the installed pyspark (``bin/spark-class``, ``bin/spark-submit``)
and the package is shipped as ``--py-files`` built by ``scripts/build_dist.py``. The
executors run a Python that has the dependencies but *not* w2v_spark (``-S`` skips the
editable install's ``.pth``), so the jobs pass only if the zip works on executors.

Then faults: the driver SIGKILLed mid-training (nothing looks complete that is not; ``--resume``
continues from the last checkpoint) and a worker SIGKILLed with its executor mid-epoch (Spark
reschedules the lost tasks on the surviving worker and the run finishes).

Every process started here is stopped by its pid in the fixture's teardown, failure or not.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from scripts.loopback_cluster import (
    Cluster,
    build_zip,
    cmdline,
    kill_all,
    tail,
    tree,
    write_executor_python,
)
from tests.conftest import ROOT, SAMPLE
from tests.datasets import ANALOGY_QUESTIONS
from tests.planted import planted_corpus
from tests.test_training import SETTINGS as PLANTED
from tests.test_training import single_process_accuracy, solved_fraction
from w2v_spark.config import build_config, load_config
from w2v_spark.errors import UserError
from w2v_spark.evaluate.stage import evaluate_outputs
from w2v_spark.train.stage import train_model
from w2v_spark.vocab.stage import build_vocabulary

pytestmark = pytest.mark.cluster

PROFILE = ROOT / "conf" / "sample.toml"
EPOCHS = 4
# Small and quick, but with epochs of a few seconds so that a kill can land inside one.
SETS = [f"train.epochs={EPOCHS}", "train.vector_size=20", "train.syncs_per_epoch=2"]
JOB_TIMEOUT = 240


class JobCluster(Cluster):
    """The loopback cluster, submitting ``jobs/NAME`` with the sample profile and SETS."""

    def submit(self, job: str, *args: str, log: Path) -> subprocess.Popen:
        sets = (a for s in SETS for a in ("--set", s))
        cmd = self.submit_command(ROOT / "jobs" / job, "--config", str(PROFILE), *sets, *args)
        return super().submit(cmd, log)

    def run(self, job: str, *args: str, log: Path) -> str:
        """Submit, wait, and return the log; a failure or a hang fails the test with its tail."""
        proc = self.submit(job, *args, log=log)
        try:
            proc.wait(timeout=JOB_TIMEOUT)
        except subprocess.TimeoutExpired:
            kill_all(tree(proc.pid))
            pytest.fail(f"{job} did not finish in {JOB_TIMEOUT} s:\n{tail(log)}")
        assert proc.returncode == 0, f"{job} exited {proc.returncode}:\n{tail(log)}"
        return log.read_text(errors="replace")


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> tuple[Path, Path]:
    """The --py-files zip built by the script, and the executors' Python."""
    base = tmp_path_factory.mktemp("dist")
    return build_zip(base / "w.zip"), write_executor_python(base / "executor-python")


@pytest.fixture(scope="module")
def cluster(dist, tmp_path_factory) -> Iterator[JobCluster]:
    zip_path, executor_python = dist
    cluster = None
    try:
        cluster = JobCluster(tmp_path_factory.mktemp("cluster"), zip_path, executor_python)
        cluster.ensure_workers()
        yield cluster
    finally:
        if cluster is not None:
            cluster.stop()


@pytest.fixture(scope="module")
def killed_run(cluster, tmp_path_factory) -> tuple[Path, list[int]]:
    """The pipeline on the cluster with its driver SIGKILLed once epoch 1's checkpoint is out.

    Returns OUT and the complete checkpoints left behind.
    """
    cluster.ensure_workers()
    out = tmp_path_factory.mktemp("cluster-run") / "run"
    log = out.parent / "killed.log"
    proc = cluster.submit("pipeline.py", "--corpus", str(SAMPLE), "--out", str(out), log=log)
    wait_for(out / "model" / "checkpoints" / "epoch-001", proc, log)
    survivors = kill_all(tree(proc.pid))  # spark-submit's JVM and the Python driver under it
    proc.wait(timeout=30)
    assert not survivors, f"driver processes survived SIGKILL: {survivors}"
    assert proc.returncode == -signal.SIGKILL
    return out, checkpoint_epochs(out / "model")


def read_vocab(vocab: Path) -> list[tuple[int, str, int]]:
    rows = pq.read_table(vocab / "vocab.parquet").to_pylist()
    return sorted((r["id"], r["word"], r["count"]) for r in rows)


def read_sentences(vocab: Path) -> list[tuple[int, int, list[int]]]:
    rows = pq.read_table(vocab / "corpus.parquet").to_pylist()
    return sorted((r["line"], r["chunk"], r["ids"]) for r in rows)


def wait_for(path: Path, proc: subprocess.Popen, log: Path, timeout: float = JOB_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            pytest.fail(f"the job ended ({proc.returncode}) before {path} appeared:\n{tail(log)}")
        if time.monotonic() > deadline:
            pytest.fail(f"{path} did not appear in {timeout} s:\n{tail(log)}")
        time.sleep(0.05)


def checkpoint_epochs(model: Path) -> list[int]:
    return sorted(
        int(p.name.split("-")[1])
        for p in (model / "checkpoints").glob("epoch-*")
        if (p / "_SUCCESS").exists()
    )


def assert_valid_model(model: Path, vocab_size: int) -> np.ndarray:
    assert (model / "_SUCCESS").exists()
    rows = pq.read_table(model / "vectors.parquet").to_pylist()
    vectors = np.array([r["vector"] for r in rows], np.float32)
    assert vectors.shape == (vocab_size, 20)
    assert np.isfinite(vectors).all()
    # Trained: the initial vectors lie within ±0.5/dim, norms below 0.5/sqrt(dim) ≈ 0.11.
    assert np.linalg.norm(vectors, axis=1).mean() > 0.3
    metrics = json.loads((model / "metrics.json").read_text())
    assert [m["epoch"] for m in metrics["epochs"]] == list(range(1, EPOCHS + 1))
    assert all(m["words"] > 0 and np.isfinite(m["loss"]) for m in metrics["epochs"])
    return vectors


# Which files make each kind of directory complete, by name.
COMPLETE_FILES = {
    "vocab": ("vocab.parquet", "corpus.parquet", "_meta.json", "config.json"),
    "model": ("vectors.parquet", "vectors.bin", "vectors.txt", "metrics.json", "config.json"),
    "checkpoint": ("syn0.npy", "syn1neg.npy", "state.json"),
}


def assert_nothing_falsely_complete(root: Path) -> list[Path]:
    """Every visible directory with ``_SUCCESS`` holds all its files; return those found."""
    marked = []
    for success in root.rglob("_SUCCESS"):
        directory = success.parent
        rel = directory.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue  # a hidden temporary directory: no reader looks there
        marked.append(directory)
        kind = "checkpoint" if directory.name.startswith("epoch-") else directory.name
        for name in COMPLETE_FILES.get(kind, ()):
            assert (directory / name).exists(), f"{rel} has _SUCCESS but no {name}"
        if directory.suffix == ".parquet":  # Spark's committer marks a finished dataset
            assert list(directory.glob("part-*.parquet")), f"{rel} has _SUCCESS but no data"
        if kind == "checkpoint":
            state = json.loads((directory / "state.json").read_text())
            assert state["epoch"] == int(directory.name.split("-")[1])
            syn0 = np.load(directory / "syn0.npy")
            assert np.isfinite(syn0).all() and syn0.shape[1] == 20
    return marked


def test_the_zip_holds_the_package_and_is_what_executors_import(dist, tmp_path):
    zip_path, executor_python = dist
    names = zipfile.ZipFile(zip_path).namelist()
    assert "w2v_spark/__init__.py" in names and "w2v_spark/train/kernel.py" in names
    assert "w2v_spark/data/questions-words.txt" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert all(n.startswith("w2v_spark/") for n in names)
    # Without the zip the executors' Python cannot import the package...
    bare = subprocess.run(
        [str(executor_python), "-c", "import numpy, scipy, pandas, pyarrow; import w2v_spark"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bare.returncode != 0 and "No module named 'w2v_spark'" in bare.stderr
    # ...with it, everything that runs on executors imports, and the data files load.
    probe = (
        "import w2v_spark, w2v_spark.train.kernel, w2v_spark.train.sync_task, w2v_spark.train.sentences, "
        "w2v_spark.train.sampling, w2v_spark.train.averaging, w2v_spark.vocab.stage, w2v_spark.evaluate.report\n"
        "from w2v_spark.evaluate.report import dataset_path\n"
        "with dataset_path('', 'analogies') as p: assert p.read_text().startswith(': capital')\n"
        "print(w2v_spark.__file__)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(zip_path)}
    ok = subprocess.run(
        [str(executor_python), "-c", probe],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == f"{zip_path}/w2v_spark/__init__.py"


def test_killed_driver_leaves_nothing_looking_complete(spark, killed_run, tmp_path):
    out, done = killed_run
    # The kill landed inside training: the vocabulary stage is finished, the model is not.
    assert 1 in done and EPOCHS not in done, f"the kill missed training: {done}"
    assert (out / "vocab" / "_SUCCESS").exists()
    assert not (out / "model" / "_SUCCESS").exists()
    assert not (out / "model" / "vectors.parquet").exists()
    assert not (out / "report").exists()
    marked = assert_nothing_falsely_complete(out)
    assert sorted(d.relative_to(out).as_posix() for d in marked) == [
        *(f"model/checkpoints/epoch-{e:03d}" for e in done),
        "vocab",
        "vocab/corpus.parquet",
        "vocab/vocab.parquet",
    ]
    # Readers refuse the unfinished model.
    with pytest.raises(UserError, match="incomplete"):
        evaluate_outputs(spark, build_config(), model=str(out / "model"), out=str(tmp_path / "r"))
    with pytest.raises(UserError, match="unfinished run: pass --resume"):
        train_model(
            spark, load_config(PROFILE, SETS), vocab_dir=str(out / "vocab"), out=str(out / "model")
        )
    # The vocabulary the cluster built (before the kill) is the one local mode builds.
    local = tmp_path / "vocab"
    build_vocabulary(spark, load_config(PROFILE, SETS), corpus=str(SAMPLE), out=str(local))
    assert read_vocab(out / "vocab") == read_vocab(local)
    assert read_sentences(out / "vocab") == read_sentences(local)


def executor_apps(cluster: Cluster, index: int) -> set[str]:
    """Applications that ran an executor on worker ``index`` (from its work directory)."""
    return {p.parent.parent.name for p in (cluster.base / f"work-{index}").glob("app-*/*/stderr")}


@pytest.fixture(scope="module")
def resumed_run(cluster, killed_run) -> tuple[Path, str, set[str]]:
    """The README's recovery, on a copy of the killed run: rerun without --overwrite.

    Returns OUT, the log, and the applications that ran executors on both workers meanwhile.
    """
    killed, _ = killed_run
    out = killed.parent / "resumed"
    shutil.copytree(killed, out)  # the killed run stays as it was for the other tests
    cluster.ensure_workers()  # the master has noticed the driver is gone and freed the cores
    before = [executor_apps(cluster, i) for i in (0, 1)]
    log = cluster.run(
        "pipeline.py", "--corpus", str(SAMPLE), "--out", str(out), log=out.parent / "resumed.log"
    )
    new = [executor_apps(cluster, i) - before[i] for i in (0, 1)]
    return out, log, new[0] & new[1]


def test_rerun_resumes_from_the_last_checkpoint_and_finishes_every_stage(
    cluster, killed_run, resumed_run
):
    _, done = killed_run
    out, log, apps_on_both_workers = resumed_run
    assert f"master {cluster.url}" in log
    assert len(apps_on_both_workers) == 1, "the application did not use both workers"
    last = max(done)
    assert f"vocabulary already complete at {out}/vocab: kept" in log
    assert f"resuming from {out}/model/checkpoints/epoch-{last:03d}" in log
    assert re.search(rf"epochs {last + 1}\.\.{EPOCHS}, ", log), log[-3000:]
    trained = [int(e) for e in re.findall(rf"epoch (\d+)/{EPOCHS}: \d+ words", log)]
    assert trained == list(range(last + 1, EPOCHS + 1))  # epoch 1 was not trained again
    for stage in ("vocab", "model", "report"):
        assert (out / stage / "_SUCCESS").exists(), stage
    assert_nothing_falsely_complete(out)
    vocab_size = len(read_vocab(out / "vocab"))
    assert_valid_model(out / "model", vocab_size)
    report = json.loads((out / "report" / "report.json").read_text())
    assert report["vectors"] == {**report["vectors"], "words": vocab_size, "dim": 20}
    assert report["analogy"]["questions"] == ANALOGY_QUESTIONS
    assert report["analogy"]["total"]["covered"] > 1000
    assert 0 <= report["analogy"]["total"]["accuracy"] <= 1
    assert {"semantic", "syntactic", "sections"} <= set(report["analogy"])
    assert set(report["similarity"]) == {"wordsim353", "simlex999"}
    assert [m["epoch"] for m in report["metrics"]] == list(range(1, EPOCHS + 1))


def test_killed_worker_and_executor_mid_epoch_the_run_still_completes(
    cluster, killed_run, resumed_run
):
    run, _ = killed_run
    cluster.ensure_workers()
    # One copy per partition, the bit-reproducible mode: with executor replicas the lost
    # executor's shared copy and the timing of concurrent tasks change the numbers.
    partition_copies = ("--set", "train.replicas=partition")
    reference_model = run.parent / "uninterrupted" / "model"
    cluster.run(
        "train.py",
        *("--vocab", str(run / "vocab"), "--out", str(reference_model), *partition_copies),
        log=run.parent / "uninterrupted.log",
    )
    model = run.parent / "killed-worker" / "model"
    log_path = run.parent / "killed-worker.log"
    proc = cluster.submit(
        "train.py",
        *("--vocab", str(run / "vocab"), "--out", str(model), *partition_copies),
        log=log_path,
    )
    try:
        wait_for(model / "checkpoints" / "epoch-001", proc, log_path)
        worker = cluster.workers[1]
        victims = tree(worker.pid)
        executors = [p for p in victims[1:] if "CoarseGrainedExecutorBackend" in cmdline(p)]
        assert executors, f"worker 1 runs no executor: {[cmdline(p)[-80:] for p in victims]}"
        assert not kill_all(victims)
        worker.wait(timeout=30)
        assert proc.poll() is None and not (model / "_SUCCESS").exists(), "kill missed training"
        assert proc.wait(timeout=JOB_TIMEOUT) == 0, tail(log_path)
    finally:
        if proc.poll() is None:  # a failed assertion above: stop the job (not a reaped pid)
            kill_all(tree(proc.pid))
        cluster.start_worker(1)  # for any test that runs after this one
    log = log_path.read_text(errors="replace")
    assert "Lost executor" in log  # the driver saw the loss and rescheduled
    vectors = assert_valid_model(model, len(read_vocab(run / "vocab")))
    # Lost tasks are recomputed from the same sentences with the same seeds: the vectors are
    # those of the run without a lost worker.
    reference = assert_valid_model(reference_model, len(vectors))
    np.testing.assert_allclose(vectors, reference, rtol=0, atol=1e-5)


def test_two_executors_train_blocks_in_rotation_to_the_same_vectors_as_local_mode(
    spark, cluster, tmp_path
):
    # Two one-core workers on 127.0.0.1: on a cluster the default is block rotation, where no
    # executor holds a copy to combine; every draw is seeded by (seed, epoch, partition or
    # bucket), so the cluster must give local mode's vectors, and those solve the planted
    # analogies as one process does.
    cluster.ensure_workers()
    words, _, sentences, analogies = planted_corpus(seed=3, n_sentences=12_000)
    (tmp_path / "corpus.txt").write_text(
        "\n".join(" ".join(words[i] for i in s) for s in sentences)
    )
    vocab, model = tmp_path / "vocab", tmp_path / "model"
    build_vocabulary(
        spark, build_config({}, PLANTED), corpus=str(tmp_path / "corpus.txt"), out=str(vocab)
    )
    planted_sets = [a for s in PLANTED for a in ("--set", s)]
    cluster.run(
        "train.py",
        *("--vocab", str(vocab), "--out", str(model), *planted_sets),
        "--set", "train.num_partitions=4", "--set", "train.syncs_per_epoch=0",
        log=tmp_path / "train.log",
    )  # fmt: skip
    metrics = json.loads((model / "metrics.json").read_text())["epochs"]
    assert [(m["replicas"], m["blocks"]) for m in metrics] == [(1, 4)] * len(metrics)
    assert metrics[-1]["loss"] < metrics[0]["loss"]
    rows = pq.read_table(model / "vectors.parquet").to_pylist()
    trained_words = [r["word"] for r in rows]
    vectors = np.array([r["vector"] for r in rows], np.float32)
    local = train_model(
        spark,
        build_config({}, [*PLANTED, "train.num_partitions=4", "train.replicas=blocks"]),
        vocab_dir=str(vocab),
        out=str(tmp_path / "local-model"),
    )
    assert local.words == trained_words
    np.testing.assert_allclose(vectors, local.syn0, rtol=0, atol=1e-6)
    as_words = [tuple(words[i] for i in q) for q in analogies]
    cluster_accuracy = solved_fraction(trained_words, vectors, as_words)
    local_accuracy = single_process_accuracy(spark, str(vocab), as_words)
    # The bounds of the local planted test (calibrated there on corpus seeds 1-3): chance is
    # ~1/290 and one process solves >= 0.9 of the 112 analogies.
    assert local_accuracy >= 0.9
    assert cluster_accuracy >= 0.9
    assert cluster_accuracy >= local_accuracy - 0.05


def test_two_executors_with_shared_copies_report_them_and_remove_them(
    cluster, killed_run, tmp_path
):
    # train.replicas=executor on a cluster: each executor's tasks share a copy in a directory
    # of its own under the shared-memory directory, report the rows they updated, and the
    # run's end deletes the copies on the executors.
    run, _ = killed_run
    cluster.ensure_workers()
    shm = tmp_path / "shm"
    shm.mkdir()
    model = tmp_path / "model"
    cluster.run(
        "train.py",
        *("--vocab", str(run / "vocab"), "--out", str(model)),
        *("--set", "train.replicas=executor", "--set", "train.num_partitions=4"),
        *("--set", f"train.shared_memory_dir={shm}"),
        log=tmp_path / "train.log",
    )
    assert_valid_model(model, len(read_vocab(run / "vocab")))
    metrics = json.loads((model / "metrics.json").read_text())["epochs"]
    assert [m["replicas"] for m in metrics] == [2] * EPOCHS
    syncs = [s for m in metrics for s in m["syncs"]]
    assert len(syncs) == 2 * EPOCHS and all(s["report_bytes"] > 0 for s in syncs)
    assert metrics[-1]["loss"] < metrics[0]["loss"]
    assert list(shm.iterdir()) == [], "shared copies left behind on the executors"
