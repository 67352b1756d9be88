"""One task trains the local executor's copy with one thread per core, as gensim's workers do.

Under a local master (``train.replicas = "executor"``, one executor on the driver's machine)
two Python workers can share a copy only through a file mapped in both (``/dev/shm`` or the
page cache: 4 KiB pages). With ``train.threads`` > 1 a sync runs as one task instead: it reads
the driver's copy into its own NumPy memory (anonymous, on 2 MiB pages where the kernel
allows; NumPy asks for them from 4 MiB), trains it with ``threads`` threads that take
sentences from one queue (the step's heavy NumPy calls release the GIL), and writes it back
for the driver to read. The random gathers and in-place adds that take over half of a step
run 10-25% faster on huge pages (benchmarks/README.md, "Where the rest goes: 4 KiB pages").
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np


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


def shared_queue(sentences: Iterable[np.ndarray]) -> Callable[[], Iterator[np.ndarray]]:
    """A function giving each thread an iterator over one shared stream of ``sentences``: every
    sentence goes to exactly one thread, whichever asks first (no thread idles while another
    still has a share)."""
    stream = iter(sentences)
    lock = threading.Lock()

    def take() -> Iterator[np.ndarray]:
        while True:
            with lock:
                sentence = next(stream, None)
            if sentence is None:
                return
            yield sentence

    return take


def run_threads(work: Callable[[int], object], threads: int) -> list[object]:
    """``work(0) .. work(threads - 1)`` in ``threads`` threads; their results in that order.
    An exception in any thread is raised here once all have stopped."""
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="w2v-train") as pool:
        futures = [pool.submit(work, t) for t in range(threads)]
    return [f.result() for f in futures]
