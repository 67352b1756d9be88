"""Time the vocabulary job on ../shared/corpora/wiki8.txt.gz in local[2], with peak memory.

    .venv/bin/python benchmarks/vocab_wiki8.py [--corpus PATH] [--runs 1]

Wall time includes Spark start-up (the job runs as a user would: ``python jobs/vocab.py``).
Peak memory is sampled every 0.2 s over the job's process tree (driver JVM + Python).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "wiki8.txt.gz"


def run_once(corpus: Path, out: Path) -> dict:
    cmd = [
        sys.executable,
        str(ROOT / "jobs" / "vocab.py"),
        "--config",
        str(ROOT / "conf" / "wiki8.toml"),
        "--corpus",
        str(corpus),
        "--out",
        str(out),
        "--overwrite",
    ]
    started = time.perf_counter()
    proc = psutil.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak_total = peak_jvm = 0
    while proc.poll() is None:
        try:
            procs = [proc, *proc.children(recursive=True)]
            rss = {p.pid: p.memory_info().rss for p in procs}
            peak_total = max(peak_total, sum(rss.values()))
            peak_jvm = max([peak_jvm] + [rss[p.pid] for p in procs if "java" in p.name()])
        except psutil.Error:
            pass
        time.sleep(0.2)
    seconds = time.perf_counter() - started
    if proc.returncode:
        raise SystemExit(proc.stderr.read().decode()[-2000:])
    meta = json.loads((out / "_meta.json").read_text())
    return {
        "wall_seconds": round(seconds, 1),
        "job_seconds": meta["seconds"],
        "peak_rss_total_mb": peak_total >> 20,
        "peak_rss_jvm_mb": peak_jvm >> 20,
        "tokens": meta["total_tokens"],
        "vocab_size": meta["vocab_size"],
        "sentences": meta["sentences"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    if not args.corpus.exists():
        raise SystemExit(f"corpus not found: {args.corpus}")
    with tempfile.TemporaryDirectory() as tmp:
        results = [run_once(args.corpus, Path(tmp) / "vocab") for _ in range(args.runs)]
    for r in results:
        print(json.dumps(r))
    print(
        f"median wall {statistics.median(r['wall_seconds'] for r in results):.1f} s over {len(results)} run(s)"
    )


if __name__ == "__main__":
    main()
