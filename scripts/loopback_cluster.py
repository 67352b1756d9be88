"""A Spark standalone cluster on 127.0.0.1: a master and one-core workers, from the installed pyspark.

For trying the jobs as a cluster runs them on one machine, and for the cluster tests and the
executor benchmark (``benchmarks/compare.py --executors``). Each worker is its own JVM with
one core, so E workers give E executors, each with its own copy of the weights:

    .venv/bin/python scripts/loopback_cluster.py --workers 4     # prints the master URL; Ctrl-C stops
    .venv/bin/python scripts/build_dist.py
    .venv/bin/spark-submit --master spark://127.0.0.1:PORT --executor-cores 1 \\
        --py-files dist/w2v_spark.zip jobs/train.py --config conf/wiki8.toml --vocab ... --out ...

Every process started is kept, and :meth:`Cluster.stop` stops it (and its children) by pid.
Only loopback addresses are used. On a 2-core machine more than two workers share the cores:
judge accuracy there, and speed only with workers <= cores.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil
import pyspark

ROOT = Path(__file__).resolve().parents[1]
SPARK_HOME = Path(pyspark.__file__).resolve().parent
# Short-lived JVMs on 2 cores: the C1 compiler alone starts and warms up in less CPU.
QUICK_JVM = "-XX:TieredStopAtLevel=1"


class ClusterError(RuntimeError):
    """The cluster did not come up, or a submitted job failed or hung."""


def free_ports(n: int) -> list[int]:
    """``n`` distinct ports free on the loopback interface right now."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(n)]
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def tree(pid: int) -> list[psutil.Process]:
    """The process and all its descendants (empty if it is gone)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def kill_all(procs: list[psutil.Process], timeout: float = 30) -> list[psutil.Process]:
    """SIGKILL each process (root first, so it cannot react); return those still alive."""
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.send_signal(signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(p) for p in procs):
        time.sleep(0.1)
    return [p for p in procs if alive(p)]


def cmdline(proc: psutil.Process) -> str:
    try:
        return " ".join(proc.cmdline())
    except psutil.Error:
        return ""


def tail(path: Path, lines: int = 40) -> str:
    text = path.read_text(errors="replace") if path.exists() else "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def write_executor_python(path: Path) -> Path:
    """A Python with numpy, pyarrow, scipy, pandas and pyspark but without w2v_spark.

    ``-S`` skips ``site`` and with it the editable install's ``.pth`` hook; the libraries
    come back through PYTHONPATH, after what Spark puts there (pyspark, the --py-files zip).
    So executors can import the package only from the ``--py-files`` zip, as on a real cluster.
    """
    paths = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    path.write_text(
        "#!/bin/sh\n"
        f'PYTHONPATH="${{PYTHONPATH:+$PYTHONPATH:}}{":".join(paths)}" '
        f'exec "{sys.executable}" -S "$@"\n'
    )
    path.chmod(0o755)
    return path


def build_zip(target: Path) -> Path:
    """The ``--py-files`` zip, built by ``scripts/build_dist.py``."""
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_dist.py"), "--out", str(target)],
        check=True,
        timeout=60,
        stdout=subprocess.DEVNULL,
    )
    return target


class Cluster:
    """A standalone master and workers; every Popen is kept so :meth:`stop` can stop it by pid.

    ``worker_memory``: what each worker offers its executor (``--memory``).
    """

    def __init__(
        self, base: Path, zip_path: Path, executor_python: Path, worker_memory: str = "2g"
    ) -> None:
        self.base = base
        self.zip = zip_path
        self.executor_python = executor_python
        self.worker_memory = worker_memory
        self.logs = base / "logs"
        self.logs.mkdir(exist_ok=True)
        (base / "conf").mkdir(exist_ok=True)  # an empty SPARK_CONF_DIR: no user settings leak in
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PYSPARK_", "SPARK_")) and k != "PYTHONPATH"
        }
        self.env.update(
            SPARK_HOME=str(SPARK_HOME),
            SPARK_CONF_DIR=str(base / "conf"),
            SPARK_LOCAL_IP="127.0.0.1",
            SPARK_LOG_DIR=str(self.logs),
            SPARK_WORKER_DIR=str(base / "work"),
            SPARK_DAEMON_MEMORY="512m",
            SPARK_DAEMON_JAVA_OPTS=QUICK_JVM,
        )
        self.procs: list[subprocess.Popen] = []
        self.ports: list[int] = []
        self.workers: dict[int, subprocess.Popen] = {}
        self.port, self.webui = free_ports(2)
        self.ports += [self.port, self.webui]
        self.url = f"spark://127.0.0.1:{self.port}"
        self.master = self._spawn(
            "master",
            "org.apache.spark.deploy.master.Master",
            "--host", "127.0.0.1", "--port", str(self.port), "--webui-port", str(self.webui),
        )  # fmt: skip

    def _spawn(self, name: str, cls: str, *args: str) -> subprocess.Popen:
        log = (self.logs / f"{name}.log").open("ab")
        cmd = [str(SPARK_HOME / "bin" / "spark-class"), cls, *args]
        # spark-class execs java, so the pid is the JVM's.
        proc = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.procs.append(proc)
        return proc

    def start_worker(self, index: int) -> None:
        port, webui = free_ports(2)
        self.ports += [port, webui]
        work = self.base / f"work-{index}"
        self.workers[index] = self._spawn(
            f"worker-{index}",
            "org.apache.spark.deploy.worker.Worker",
            self.url,
            "--host", "127.0.0.1", "--port", str(port), "--webui-port", str(webui),
            "--cores", "1", "--memory", self.worker_memory, "--work-dir", str(work),
        )  # fmt: skip

    def state(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.webui}/json/", timeout=5) as r:
            return json.load(r)

    def wait_ready(self, workers: int, timeout: float = 90) -> None:
        """Until ``workers`` workers are alive and no application holds them."""
        deadline, last = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            if self.master.poll() is not None:
                raise ClusterError(f"the master exited:\n{tail(self.logs / 'master.log')}")
            with contextlib.suppress(OSError, ValueError):
                last = self.state()
                if last.get("aliveworkers") == workers and not last.get("activeapps"):
                    return
            time.sleep(0.5)
        logs = "\n".join(tail(p, 15) for p in sorted(self.logs.glob("*.log")))
        raise ClusterError(f"cluster not ready after {timeout} s: {last}\n{logs}")

    def ensure_workers(self, workers: int = 2) -> None:
        """Start (or restart) workers 0..workers-1, then wait for them and an idle master."""
        for index in range(workers):
            if index not in self.workers or self.workers[index].poll() is not None:
                self.start_worker(index)
        self.wait_ready(workers)

    def submit_command(
        self, script: Path, *args: str, driver_memory: str = "1g", conf: dict | None = None
    ) -> list[str]:
        """The ``spark-submit`` line: one-core executors, the package from the zip."""
        settings = {
            "spark.executor.cores": "1",
            "spark.executor.memory": "1g",
            "spark.pyspark.python": str(self.executor_python),
            "spark.pyspark.driver.python": sys.executable,
            "spark.ui.enabled": "false",
            "spark.sql.shuffle.partitions": "4",
            "spark.driver.extraJavaOptions": QUICK_JVM,
            "spark.executor.extraJavaOptions": QUICK_JVM,
            **(conf or {}),
        }
        return [
            str(SPARK_HOME / "bin" / "spark-submit"),
            "--master", self.url,
            "--py-files", str(self.zip),
            "--driver-memory", driver_memory,
            *(a for k, v in settings.items() for a in ("--conf", f"{k}={v}")),
            str(script),
            *args,
        ]  # fmt: skip

    def submit(self, cmd: list[str], log: Path) -> subprocess.Popen:
        with log.open("ab") as out:
            proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=out, stderr=out)
        self.procs.append(proc)
        return proc

    def run(self, cmd: list[str], log: Path, timeout: float) -> str:
        """Submit, wait, and return the log; a failure or a hang raises with the log's tail."""
        proc = self.submit(cmd, log)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_all(tree(proc.pid))
            raise ClusterError(f"{cmd[-1]} did not finish in {timeout} s:\n{tail(log)}") from None
        if proc.returncode != 0:
            raise ClusterError(f"job exited {proc.returncode}:\n{tail(log)}")
        return log.read_text(errors="replace")

    def stop(self) -> None:
        """SIGTERM, wait, SIGKILL every process started (and their children, e.g. executors)."""
        # Only Popens not yet reaped: a reaped child's pid may already belong to someone else.
        procs = [p for popen in self.procs if popen.poll() is None for p in tree(popen.pid)]
        for proc in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.terminate()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(alive(p) for p in procs):
            time.sleep(0.2)
        left = kill_all(procs)
        for popen in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                popen.wait(timeout=10)
        if left:
            raise ClusterError(f"processes survived teardown: {left}")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(listening(p) for p in self.ports):
            time.sleep(0.5)
        if [p for p in self.ports if listening(p)]:
            raise ClusterError("a cluster port is still listening")


@contextlib.contextmanager
def loopback_cluster(workers: int, base: Path, worker_memory: str = "2g"):
    """A started cluster of ``workers`` one-core workers under ``base``; stopped on exit."""
    base.mkdir(parents=True, exist_ok=True)
    zip_path = build_zip(base / "w2v_spark.zip")
    cluster = Cluster(
        base, zip_path, write_executor_python(base / "executor-python"), worker_memory
    )
    try:
        cluster.ensure_workers(workers)
        yield cluster
    finally:
        cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="one-core workers (default 2)")
    parser.add_argument("--memory", default="2g", help="memory each worker offers (default 2g)")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="loopback-cluster-") as tmp,
        loopback_cluster(args.workers, Path(tmp), args.memory) as cluster,
    ):
        print(f"{cluster.url}  ({args.workers} one-core workers; Ctrl-C stops)", flush=True)
        print(f"executors' Python: {cluster.executor_python}; zip: {cluster.zip}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()


if __name__ == "__main__":
    main()
