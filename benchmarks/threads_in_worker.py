"""Inside a Spark Python worker: two threads on a private copy against two tasks on a shared one.

    .venv/bin/python benchmarks/threads_in_worker.py threads 40 128
    .venv/bin/python benchmarks/threads_in_worker.py procs 40 128

``threads``: one task (``local[2]``) builds the model in its own NumPy memory (anonymous, on
2 MiB pages where the kernel allows) and trains it with two threads, each on every other
10,000-word sentence. ``procs``: two tasks attach one copy memory-mapped from ``/dev/shm``
(4 KiB pages) and train their halves, as ``train.replicas = executor`` does. Each task reads
the first MB megabytes of wiki8 itself (outside the timed part), so the JVM feeds no data;
words/s = raw words / the slowest task's training seconds. Prints each task's CPU user and
system seconds and the worker's ``AnonHugePages`` (kB). Scratch-level measurement for issue
19 (``benchmarks/README.md``, session 13); run with nothing else on the machine.
"""

from __future__ import annotations

import gzip
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WIKI8 = ROOT.parent / "shared" / "corpora" / "wiki8.txt.gz"
SHARED = "/dev/shm/w2v_threads_in_worker.npy"


def wiki8_ids(megabytes: int) -> tuple[np.ndarray, np.ndarray]:
    """Word ids (by falling count, min_count 5) of the first megabytes of wiki8, and counts."""
    with gzip.open(WIKI8, "rt") as f:
        tokens = f.read(megabytes * 2**20).split()[:-1]
    words, inverse, counts = np.unique(tokens, return_inverse=True, return_counts=True)
    keep = counts >= 5
    order = np.argsort(-counts[keep], kind="stable")
    new_id = np.full(len(words), -1)
    new_id[np.flatnonzero(keep)[order]] = np.arange(keep.sum())
    ids = new_id[inverse]
    return ids[ids >= 0].astype(np.int32), np.sort(counts[keep])[::-1]


def train_task(mode: str, megabytes: int, step: int, part: int, parts: int):
    import resource
    import threading

    from w2v_spark.train.kernel import init_weights, train_sentences
    from w2v_spark.train.params import SgnsParams
    from w2v_spark.train.sampling import keep_probabilities, noise_cdf, partition_rng

    ids, counts = wiki8_ids(megabytes)
    sentences = [ids[i : i + 10_000] for i in range(0, len(ids), 10_000)]
    keep, noise = keep_probabilities(counts, 1e-3), noise_cdf(counts, 0.75)
    if mode == "threads":
        syn0, syn1neg = init_weights(len(counts), 100, 1)
        shares = [(p, sentences[p::2]) for p in range(2)]
    else:
        shared = np.load(SHARED, mmap_mode="r+")
        syn0, syn1neg = shared[0], shared[1]
        shares = [(part, sentences[part::parts])]
    words = {}

    def work(p: int, share: list[np.ndarray]) -> None:
        stats = train_sentences(
            syn0,
            syn1neg,
            share,
            SgnsParams(step_tokens=step),
            keep_prob=keep,
            noise_cdf=noise,
            rng=partition_rng(1, 1, p, 0),
            progress_start=0.0,
            progress_per_word=1.0 / len(ids),
        )
        words[p] = stats.raw_words

    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    threads = [threading.Thread(target=work, args=share) for share in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    huge = next(
        (
            line.split()[1]
            for line in Path("/proc/self/smaps_rollup").read_text().splitlines()
            if line.startswith("AnonHugePages")
        ),
        "?",
    )
    user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    yield part, sum(words.values()), seconds, round(user, 1), round(system, 1), huge


def main() -> None:
    from pyspark.sql import SparkSession

    from w2v_spark.train.kernel import init_weights

    mode, megabytes, step = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    spark = SparkSession.builder.master("local[2]").getOrCreate()
    parts = 1 if mode == "threads" else 2
    if mode == "procs":
        counts = wiki8_ids(megabytes)[1]
        np.save(SHARED, np.stack(init_weights(len(counts), 100, 1)))
    tasks = spark.sparkContext.parallelize(range(parts), parts)
    out = tasks.mapPartitionsWithIndex(
        lambda i, _: train_task(mode, megabytes, step, i, parts)
    ).collect()
    spark.stop()
    Path(SHARED).unlink(missing_ok=True)
    words, seconds = sum(o[1] for o in out), max(o[2] for o in out)
    tasks_cpu = [(o[0], o[3], o[4], o[5]) for o in out]
    print(
        f"{mode} step={step} words/s={words / seconds:,.0f} (task, user s, sys s, huge kB): {tasks_cpu}"
    )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
