"""How training scales with the vocabulary size V at 300 dimensions, on synthetic Zipf corpora.

    .venv/bin/python benchmarks/zipf_sizes.py     # V = 100k, 300k, 1M; 6M tokens; dim 300; 1 epoch
    .venv/bin/python benchmarks/zipf_sizes.py --sizes 2000 --tokens 100000 --dim 20   # smoke test
    .venv/bin/python benchmarks/zipf_sizes.py --set train.syncs_per_epoch=4 --keep --work /tmp/zs

For each V the vocabulary job and then the training job (``jobs/vocab.py``, ``jobs/train.py``)
run one after the other, each in its own child process, with ``conf/wiki8.toml`` and
``vocab.min_count=1``, ``vocab.tokenizer=whitespace``, ``train.vector_size=--dim``,
``train.epochs=--epochs``, ``train.checkpoint=false``, ``spark.master=local[--cores]``,
``spark.driver_memory=--driver-memory``, then every ``--set`` given here. The corpus is the
same size for every V, so what grows is the model (2 x V x dim float32, in the table for
reference) and what moves it: the broadcast of the weights, the tasks' attach (copying them
into the shared replica), the reports of changed rows, the driver's combine.

The corpus (``WORK/V<V>/corpus.txt``, never kept beside the repo): ``--tokens`` word ids, of
which ``--tokens - V`` are drawn independently (numpy ``default_rng([--seed, V])``) from a
Zipf-Mandelbrot law truncated to V words, P(rank r) proportional to 1 / (r + 2.7)^s for
r = 1..V (s = ``--exponent``, 1.0), and V are one occurrence of every word; the whole is
shuffled, so every word occurs at least once and with ``min_count=1`` the vocabulary is
exactly V words (checked against the vocabulary job's ``_meta.json``). Word of rank r is
``w<r-1>`` (``w0`` the most frequent). Written as text, 1,000 words a line.

Timing: each job's wall seconds (JVM start included); from the model's ``metrics.json`` the
epoch seconds, words/s and, when the training records them (the epoch's ``"syncs"``), per sync
the broadcast, attach, train and report seconds (the largest over the sync's tasks), the time
after the tasks (job - attach - train - report), the combine, and the bytes reported. The
non-training share is (epoch seconds - sum of the syncs' train seconds) / epoch seconds.

Memory, sampled every 0.5 s over the job's process tree (``psutil``): per process RSS, and PSS
and USS from ``memory_full_info()`` (RSS where that fails). Pages shared by several processes,
such as a model copy in a memory-mapped file, count once in the sum of PSS ("total"), where a
sum of RSS would count them once per process. Also the driver JVM's RSS, the largest Python
worker (Python processes under the JVM) by RSS and by PSS, and the size of what lies under
``/dev/shm`` (``train.shared_memory_dir``) in entries named ``w2v-*``, the replicas' files
(allocated blocks; the pages a process maps are in its PSS too, so the columns overlap). Each
is the peak over the samples.

Results: the machine, a Markdown table per V and one per sync on stdout, and
``WORK/zipf_sizes.json`` and ``WORK/zipf_sizes.md``. ``--work`` defaults to a new directory
under /tmp; without ``--keep`` the corpora and job outputs are deleted after each V and only
the two result files stay.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from compare import machine  # noqa: E402

from w2v_spark.config import load_config  # noqa: E402

SHM = Path("/dev/shm")
SHM_PREFIX = "w2v-"
LINE_WORDS = 1_000
MANDELBROT_OFFSET = 2.7
SAMPLE_SECONDS = 0.5
MB = 1 << 20


# ---------------------------------------------------------------- the corpus
def zipf_ids(vocab_size: int, tokens: int, exponent: float, seed: int) -> np.ndarray:
    """``tokens`` word ids in 0..V-1, Zipf-Mandelbrot distributed, every id at least once."""
    if tokens < vocab_size:
        raise SystemExit(f"--tokens {tokens:,} is less than V = {vocab_size:,}")
    rng = np.random.default_rng([seed, vocab_size])
    weights = 1.0 / (np.arange(1, vocab_size + 1) + MANDELBROT_OFFSET) ** exponent
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    drawn = np.searchsorted(cdf, rng.random(tokens - vocab_size), side="right")
    ids = np.concatenate([np.minimum(drawn, vocab_size - 1), np.arange(vocab_size)])
    return rng.permutation(ids.astype(np.int32))


def write_corpus(path: Path, ids: np.ndarray, vocab_size: int) -> None:
    words = np.array([f"w{i}" for i in range(vocab_size)], dtype=object)
    with open(path, "w", encoding="ascii") as out:
        for start in range(0, len(ids), LINE_WORDS):
            out.write(" ".join(words[ids[start : start + LINE_WORDS]].tolist()) + "\n")


# ---------------------------------------------------------------- measuring a job
def shm_bytes(root: Path | str, prefix: str = SHM_PREFIX, inside: bool = False) -> int:
    """Allocated bytes of the files under ``root`` named ``prefix*`` or inside such a directory."""
    total = 0
    try:
        with os.scandir(root) as entries:
            for entry in entries:
                match = inside or entry.name.startswith(prefix)
                try:
                    if entry.is_dir(follow_symlinks=False):
                        total += shm_bytes(entry.path, prefix, match)
                    elif match and entry.is_file(follow_symlinks=False):
                        total += entry.stat(follow_symlinks=False).st_blocks * 512
                except OSError:  # deleted while we looked
                    continue
    except OSError:
        pass
    return total


@dataclass
class Peaks:
    """Peaks over the samples of one process tree, bytes."""

    total_pss: int = 0
    total_rss: int = 0
    total_uss: int = 0
    jvm_rss: int = 0
    worker_rss: int = 0
    worker_pss: int = 0
    shm: int = 0
    processes: int = 0
    samples: int = 0
    pss_fallbacks: int = 0


class TreeSampler:
    """Samples the memory of a process tree, the driver JVM and its Python workers, and
    ``/dev/shm/w2v-*``, keeping the peaks."""

    def __init__(self, root: psutil.Process, shm: Path = SHM) -> None:
        self.root, self.shm, self.peaks = root, shm, Peaks()
        self.names: set[str] = set()

    def memory(self, proc: psutil.Process) -> tuple[int, int, int]:
        """RSS, PSS, USS; PSS and USS are the RSS where smaps cannot be read."""
        try:
            full = proc.memory_full_info()
            return full.rss, full.pss, full.uss
        except (psutil.AccessDenied, AttributeError, OSError):
            self.peaks.pss_fallbacks += 1
            rss = proc.memory_info().rss
            return rss, rss, rss

    def sample(self) -> None:
        try:
            procs = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return
        mem: dict[int, tuple[int, int, int]] = {}
        names: dict[int, str] = {}
        for proc in procs:
            try:
                names[proc.pid] = proc.name()
                mem[proc.pid] = self.memory(proc)
            except psutil.Error:  # gone
                names.pop(proc.pid, None)
        self.names.update(names.values())
        jvms = [pid for pid, name in names.items() if name == "java"]
        workers: set[int] = set()
        by_pid = {proc.pid: proc for proc in procs}
        for jvm in jvms:
            try:
                below = by_pid[jvm].children(recursive=True)
            except psutil.Error:
                continue
            workers |= {c.pid for c in below if names.get(c.pid, "").startswith("python")}
        p = self.peaks
        p.samples += 1
        p.processes = max(p.processes, len(mem))
        p.total_rss = max(p.total_rss, sum(m[0] for m in mem.values()))
        p.total_pss = max(p.total_pss, sum(m[1] for m in mem.values()))
        p.total_uss = max(p.total_uss, sum(m[2] for m in mem.values()))
        p.jvm_rss = max([p.jvm_rss, *(mem[pid][0] for pid in jvms)])
        p.worker_rss = max([p.worker_rss, *(mem[pid][0] for pid in workers)])
        p.worker_pss = max([p.worker_pss, *(mem[pid][1] for pid in workers)])
        p.shm = max(p.shm, shm_bytes(self.shm))


def run_measured(cmd: list[str], log: Path, shm: Path = SHM) -> dict:
    """Run ``cmd`` (output to ``log``), sampling its tree every SAMPLE_SECONDS: wall seconds
    and the peaks (bytes)."""
    started = time.perf_counter()
    with open(log, "w") as out:
        proc = psutil.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        sampler = TreeSampler(proc, shm)
        while proc.poll() is None:
            tick = time.perf_counter()
            sampler.sample()
            time.sleep(max(0.0, SAMPLE_SECONDS - (time.perf_counter() - tick)))
    seconds = time.perf_counter() - started
    if proc.returncode:
        tail = "".join(log.read_text(errors="replace").splitlines(keepends=True)[-30:])
        print(tail, file=sys.stderr)
        raise RuntimeError(f"{cmd[1]} failed with exit code {proc.returncode} (log {log})")
    return {"seconds": round(seconds, 3), **asdict(sampler.peaks), "names": sorted(sampler.names)}


# ---------------------------------------------------------------- one vocabulary size
def overrides(args: argparse.Namespace) -> list[str]:
    return [
        "vocab.min_count=1",
        "vocab.tokenizer=whitespace",
        f"train.vector_size={args.dim}",
        f"train.epochs={args.epochs}",
        "train.checkpoint=false",
        f"spark.master=local[{args.cores}]",
        f"spark.driver_memory={args.driver_memory}",
        *args.set,
    ]


def job_command(job: str, args: argparse.Namespace, *paths: str) -> list[str]:
    cmd = [sys.executable, str(ROOT / "jobs" / f"{job}.py"), "--config", str(args.config)]
    cmd += [*paths, "--overwrite"]
    for item in overrides(args):
        cmd += ["--set", item]
    return cmd


def get(d: dict, key: str) -> float | None:
    value = d.get(key)
    return value if isinstance(value, (int, float)) else None


def total(values: list[float | None]) -> float | None:
    """The sum, or None when any is missing (or there are none)."""
    known = [v for v in values if v is not None]
    return sum(known) if known and len(known) == len(values) else None


def sync_row(sync: dict) -> dict:
    row: dict[str, float | None] = {k: get(sync, k) for k in SYNC_KEYS}
    job, attach, train, report = (
        row[k] for k in ("job_seconds", "attach_seconds", "train_seconds", "report_seconds")
    )
    row["after_tasks_seconds"] = (
        job - attach - train - report
        if job is not None and attach is not None and train is not None and report is not None
        else None
    )
    return row


SYNC_KEYS = (
    "sync",
    "broadcast_seconds",
    "job_seconds",
    "combine_seconds",
    "attach_seconds",
    "train_seconds",
    "report_seconds",
    "report_bytes",
    "worker_peak_bytes",
)


def measure_size(vocab_size: int, args: argparse.Namespace, work: Path) -> dict:
    """Corpus, vocabulary job, training job for one V; the row of the results."""
    here = work / f"V{vocab_size}"
    here.mkdir(parents=True, exist_ok=True)
    try:
        return measure_in(here, vocab_size, args)
    finally:
        if not args.keep:
            shutil.rmtree(here, ignore_errors=True)


def measure_in(here: Path, vocab_size: int, args: argparse.Namespace) -> dict:
    corpus, vocab_dir, model_dir = here / "corpus.txt", here / "vocab", here / "model"
    started = time.perf_counter()
    ids = zipf_ids(vocab_size, args.tokens, args.exponent, args.seed)
    write_corpus(corpus, ids, vocab_size)
    corpus_seconds = time.perf_counter() - started
    singletons = int(np.count_nonzero(np.bincount(ids, minlength=vocab_size) == 1))
    del ids
    print(
        f"V={vocab_size:,}: corpus {args.tokens:,} tokens ({singletons:,} words once) in "
        f"{corpus_seconds:.1f} s; vocabulary job ...",
        file=sys.stderr,
        flush=True,
    )
    vocab = run_measured(
        job_command("vocab", args, "--corpus", str(corpus), "--out", str(vocab_dir)),
        here / "vocab.log",
        args.shm,
    )
    meta = json.loads((vocab_dir / "_meta.json").read_text())
    if meta.get("vocab_size") != vocab_size:
        print(
            f"warning: the vocabulary has {meta.get('vocab_size')} words, not {vocab_size}",
            file=sys.stderr,
        )
    print(f"V={vocab_size:,}: training job ...", file=sys.stderr, flush=True)
    train = run_measured(
        job_command("train", args, "--vocab", str(vocab_dir), "--out", str(model_dir)),
        here / "train.log",
        args.shm,
    )
    metrics = json.loads((model_dir / "metrics.json").read_text())
    epochs = []
    for m in metrics.get("epochs", []):
        syncs = [sync_row(s) for s in m.get("syncs", [])]
        epochs.append(
            {
                **{k: m.get(k) for k in ("epoch", "words", "seconds", "words_per_sec", "loss")},
                "replicas": m.get("replicas"),
                "syncs": syncs,
            }
        )
    epoch_seconds = total([get(m, "seconds") for m in epochs])
    words = total([get(m, "words") for m in epochs])
    train_seconds = total([s["train_seconds"] for m in epochs for s in m["syncs"]])
    report_bytes = total([s["report_bytes"] for m in epochs for s in m["syncs"]])
    row = {
        "vocab_size": vocab_size,
        "vocab_size_found": meta.get("vocab_size"),
        "tokens": args.tokens,
        "singletons": singletons,
        "model_bytes": 2 * vocab_size * args.dim * 4,
        "corpus_seconds": round(corpus_seconds, 3),
        "vocab": {**vocab, "stage_seconds": meta.get("seconds")},
        "train": train,
        "epoch_seconds": epoch_seconds,
        "words_per_sec": words / epoch_seconds if words and epoch_seconds else None,
        "sync_train_seconds": train_seconds,
        "not_training_share": (
            (epoch_seconds - train_seconds) / epoch_seconds
            if epoch_seconds and train_seconds is not None
            else None
        ),
        "report_bytes": report_bytes,
        "epochs": epochs,
    }
    return row


# ---------------------------------------------------------------- output
def sec(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def mb(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x / MB:,.0f}" if x >= 100 * MB else f"{x / MB:,.1f}"


def markdown(rows: list[dict], header: dict) -> str:
    cols = [
        "V",
        "model MB",
        "vocab job s",
        "vocab peak MB (PSS)",
        "train job s",
        "epoch s",
        "words/s",
        "not training",
        "report MB",
        "total PSS MB",
        "JVM RSS MB",
        "worker RSS / PSS MB",
        "/dev/shm MB",
    ]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---:|" * len(cols)]
    for r in rows:
        t, share, speed = r["train"], r["not_training_share"], r["words_per_sec"]
        lines.append(
            f"| {r['vocab_size']:,} | {mb(r['model_bytes'])} | {sec(r['vocab']['seconds'])} | "
            f"{mb(r['vocab']['total_pss'])} | {sec(t['seconds'])} | {sec(r['epoch_seconds'])} | "
            f"{'-' if speed is None else f'{speed:,.0f}'} | "
            f"{'-' if share is None else f'{share:.1%}'} | {mb(r['report_bytes'])} | "
            f"{mb(t['total_pss'])} | {mb(t['jvm_rss'])} | "
            f"{mb(t['worker_rss'])} / {mb(t['worker_pss'])} | {mb(t['shm'])} |"
        )
    sync_cols = [
        "V",
        "epoch",
        "sync",
        "broadcast s",
        "attach s",
        "train s",
        "report s",
        "after tasks s",
        "job s",
        "combine s",
        "report MB",
        "worker peak MB",
    ]
    sync_lines = ["| " + " | ".join(sync_cols) + " |", "|" + "---:|" * len(sync_cols)]
    for r in rows:
        for m in r["epochs"]:
            for s in m["syncs"] or [{k: None for k in (*SYNC_KEYS, "after_tasks_seconds")}]:
                sync_lines.append(
                    f"| {r['vocab_size']:,} | {m['epoch']} | {s['sync'] or '-'} | "
                    f"{sec(s['broadcast_seconds'])} | {sec(s['attach_seconds'])} | "
                    f"{sec(s['train_seconds'])} | {sec(s['report_seconds'])} | "
                    f"{sec(s['after_tasks_seconds'])} | {sec(s['job_seconds'])} | "
                    f"{sec(s['combine_seconds'])} | {mb(s['report_bytes'])} | "
                    f"{mb(s['worker_peak_bytes'])} |"
                )
    m = header["machine"]
    head = (
        f"Zipf corpora of {header['tokens']:,} tokens (s = {header['exponent']}), dim "
        f"{header['dim']}, {header['epochs']} epoch(s), local[{header['cores']}], driver "
        f"{header['driver_memory']}, config {header['config']}"
        + (f", --set {' '.join(header['set'])}" if header["set"] else "")
        + f"; single run each; {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, "
        f"Python {m['python']}, pyspark {m['pyspark']}, {m['date']}"
    )
    notes = (
        "Peaks sampled every 0.5 s: total PSS over the job's process tree, the driver JVM's "
        "RSS, the largest Python worker's RSS / PSS, /dev/shm/w2v-*. Not training = (epoch s - "
        "sum of the syncs' train s) / epoch s. Per sync, attach / train / report are the "
        "largest over the sync's tasks; after tasks = job - attach - train - report."
    )
    return head + "\n\n" + "\n".join(lines) + "\n\n" + "\n".join(sync_lines) + "\n\n" + notes + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", default="100000,300000,1000000", help="comma-separated vocabulary sizes V"
    )
    parser.add_argument("--tokens", type=int, default=6_000_000, help="corpus tokens, every V")
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--cores", type=int, default=2, help="local[cores]")
    parser.add_argument("--driver-memory", default="8g", help="spark.driver_memory")
    parser.add_argument("--exponent", type=float, default=1.0, help="Zipf exponent s")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--config", type=Path, default=ROOT / "conf" / "wiki8.toml")
    parser.add_argument(
        "--set", action="append", default=[], help="extra --set for both jobs (repeatable)"
    )
    parser.add_argument(
        "--work", type=Path, default=None, help="working directory (default: new, under /tmp)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the corpora, job outputs and logs under --work"
    )
    args = parser.parse_args()
    config = load_config(args.config, overrides(args))  # a bad --set fails here, not in a child
    # Where the replicas' files go (train.shared_memory_dir; "" puts them in Spark's work dir).
    args.shm = Path(getattr(config.train, "shared_memory_dir", "") or SHM)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    work = args.work or Path(tempfile.mkdtemp(prefix="zipf-sizes-", dir="/tmp"))
    work.mkdir(parents=True, exist_ok=True)
    header = {
        "tokens": args.tokens,
        "exponent": args.exponent,
        "mandelbrot_offset": MANDELBROT_OFFSET,
        "dim": args.dim,
        "epochs": args.epochs,
        "cores": args.cores,
        "driver_memory": args.driver_memory,
        "config": str(
            args.config.relative_to(ROOT) if args.config.is_relative_to(ROOT) else args.config
        ),
        "set": args.set,
        "seed": args.seed,
        "shm": str(args.shm),
        "machine": machine(),
    }
    print(json.dumps(header["machine"]), file=sys.stderr)
    rows = []
    for vocab_size in sizes:
        row = measure_size(vocab_size, args, work)
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "epochs"}), file=sys.stderr)
    table = markdown(rows, header)
    print(table)
    (work / "zipf_sizes.json").write_text(json.dumps({"header": header, "rows": rows}, indent=2))
    (work / "zipf_sizes.md").write_text(table)
    print(f"results: {work / 'zipf_sizes.json'}, {work / 'zipf_sizes.md'}", file=sys.stderr)


if __name__ == "__main__":
    main()
