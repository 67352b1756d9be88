"""The pieces of training with threads in one task: one word counter, errors surfaced."""

from __future__ import annotations

import itertools
import threading

import pytest

from w2v_spark.train.threads import WordCounter, run_threads


def test_threads_claiming_words_each_get_a_distinct_start_and_the_total_is_their_sum():
    counter, starts = WordCounter(), []
    lock = threading.Lock()

    def work(thread: int) -> int:
        mine = [counter.claim(thread + 1) for _ in range(2_000)]
        with lock:
            starts.extend((s, thread + 1) for s in mine)
        return len(mine)

    assert run_threads(work, 4) == [2_000] * 4
    starts.sort()
    # Claimed ranges tile [0, total) without overlap or gap.
    assert starts[0][0] == 0
    for (start, n), (following, _) in itertools.pairwise(starts):
        assert following == start + n
    assert counter.claim(0) == 2_000 * (1 + 2 + 3 + 4)


def test_a_failing_thread_raises_in_the_task_after_the_others_finish():
    finished = []

    def work(thread: int) -> int:
        if thread == 1:
            raise ValueError("thread 1 failed")
        finished.append(thread)
        return thread

    with pytest.raises(ValueError, match="thread 1 failed"):
        run_threads(work, 3)
    assert sorted(finished) == [0, 2]
