"""One task trains the local executor's copy with one thread per core, as gensim's workers do.

Under a local master (``train.replicas = "executor"``, one executor on the driver's machine)
two Python workers can share a copy only through a file mapped in both (``/dev/shm`` or the
page cache: 4 KiB pages). With ``train.threads`` > 1 a sync runs as one task instead: it reads
the driver's copy into its own NumPy memory (anonymous, on 2 MiB pages where the kernel
allows; NumPy asks for them from 4 MiB), trains it with ``threads`` threads, thread t on the
t-th run of consecutive sentences as task t would (the step's heavy NumPy calls release the
GIL), and writes it back for the driver to read. The random gathers and in-place adds that
take over half of a step run 10-25% faster on huge pages (benchmarks/README.md, "Where the
rest goes: 4 KiB pages").
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor


class WordCounter:
    """Raw words trained on one copy by all its threads; :meth:`claim` is the ``claim`` of a
    :class:`~w2v_spark.train.sync_task.TaskSchedule`, so the threads share one schedule."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._words = 0

    def claim(self, n: int) -> int:
        """Count ``n`` words; return the count before them."""
        with self._lock:
            before = self._words
            self._words += n
            return before


def run_threads(work: Callable[[int], object], threads: int) -> list[object]:
    """``work(0) .. work(threads - 1)`` in ``threads`` threads; their results in that order.
    An exception in any thread is raised here once all have stopped."""
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="w2v-train") as pool:
        futures = [pool.submit(work, t) for t in range(threads)]
    return [f.result() for f in futures]
