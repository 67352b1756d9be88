"""Averaging of known row updates gives the expected numbers exactly."""

from __future__ import annotations

import numpy as np
import pytest

from w2v_spark.averaging import (
    RowBlock,
    average_touched_rows,
    replica_row_block,
    touched_row_blocks,
)


def combine(
    w0: np.ndarray,
    copies: list[np.ndarray],
    updates: list[np.ndarray],
    rule: str,
    block_rows: int = 2,
) -> np.ndarray:
    """Run the executor side (blocks per partition, summed by key) and the driver side."""
    summed: dict[int, list] = {}
    for copy, upd in zip(copies, updates, strict=True):
        syn1 = np.zeros_like(copy)
        for key, block in touched_row_blocks(
            copy.copy(), syn1, upd, np.zeros_like(upd), rule, block_rows
        ):
            summed[key] = block if key not in summed else summed[key] + block
    result = w0.copy()
    for key, block in summed.items():
        average_touched_rows(result, key * block_rows, block.stats0, block.rows0, rule)
    return result


W0 = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0], [4.0, 4.0], [5.0, 5.0]], dtype=np.float32)
# Partition A touched rows 0 (3 updates) and 1 (1 update); partition B rows 0 (1) and 3 (2).
COPY_A = np.array([[1.4, 1.0], [2.0, 2.8], [3.0, 3.0], [4.0, 4.0], [5.0, 5.0]], dtype=np.float32)
COPY_B = np.array([[1.0, 0.6], [2.0, 2.0], [3.0, 3.0], [4.5, 4.0], [5.0, 5.0]], dtype=np.float32)
UPD_A = np.array([3, 1, 0, 0, 0])
UPD_B = np.array([1, 0, 0, 2, 0])


def test_weighted_average_weights_each_copy_by_its_update_count():
    got = combine(W0, [COPY_A, COPY_B], [UPD_A, UPD_B], "weighted")
    expected = W0.copy()
    expected[0] = (3 * COPY_A[0] + 1 * COPY_B[0]) / 4  # [1.3, 0.9]
    expected[1] = COPY_A[1]
    expected[3] = COPY_B[3]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(got[0], [1.3, 0.9], atol=1e-6)


def test_mean_is_mllibs_plain_mean_over_touching_partitions():
    got = combine(W0, [COPY_A, COPY_B], [UPD_A, UPD_B], "mean")
    np.testing.assert_allclose(got[0], [1.2, 0.8], atol=1e-6)
    np.testing.assert_allclose(got[1], COPY_A[1], atol=1e-6)
    np.testing.assert_allclose(got[3], COPY_B[3], atol=1e-6)
    np.testing.assert_array_equal(got[[2, 4]], W0[[2, 4]])


def test_sum_keeps_every_partitions_change_in_full():
    got = combine(W0, [COPY_A, COPY_B], [UPD_A, UPD_B], "sum")
    # W0 + (A - W0) + (B - W0) on row 0: [1 + 0.4 + 0, 1 + 0 - 0.4]
    np.testing.assert_allclose(got[0], [1.4, 0.6], atol=1e-6)
    np.testing.assert_allclose(got[3], COPY_B[3], atol=1e-6)


def test_untouched_blocks_are_not_sent_back():
    keys = [
        k
        for k, _ in touched_row_blocks(
            COPY_B.copy(), np.zeros_like(COPY_B), UPD_B, np.zeros_like(UPD_B), "weighted", 2
        )
    ]
    assert keys == [0, 1]  # rows 0-1 and 2-3; rows 4.. untouched


def test_unknown_rule_is_rejected():
    with pytest.raises(ValueError, match="median"):
        list(touched_row_blocks(COPY_A.copy(), COPY_A.copy(), UPD_A, UPD_A, "median", 2))


def test_auto_rule_averages_up_to_two_partitions_and_matches_beyond():
    from w2v_spark.averaging import resolve_rule, resolve_syncs

    assert [resolve_rule("auto", p) for p in (1, 2, 8, 32)] == [
        "mean",
        "mean",
        "matched",
        "matched",
    ]
    assert resolve_rule("sum", 32) == "sum"
    assert [resolve_syncs(0, p) for p in (1, 2, 8)] == [1, 1, 4]
    assert resolve_syncs(3, 8) == 3
    # One replica per executor: the mean over executors, one sync per epoch, at any P.
    assert resolve_rule("auto", 32, "executor") == "mean"
    assert resolve_syncs(0, 32, "executor") == 1


def test_matched_rule_sums_small_moves_and_averages_saturated_rows():
    # Two partitions each moved row 0 by +0.1 with one update (barely saturated) and row 1 by
    # +1.0 with 10,000 updates each (fully saturated): row 0 keeps both moves, row 1 the mean.
    w0 = np.zeros((2, 1), np.float32)
    copy = np.array([[0.1], [1.0]], np.float32)
    updates = np.array([1, 10_000])
    got = w0.copy()
    summed = None
    for _ in range(2):
        for _key, block in touched_row_blocks(
            copy.copy(),
            np.zeros_like(copy),
            updates,
            np.zeros_like(updates),
            "matched",
            2,
            step=1e-3,
        ):
            summed = block if summed is None else summed + block
    average_touched_rows(got, 0, summed.stats0, summed.rows0, "matched", step=1e-3)
    np.testing.assert_allclose(got[:, 0], [0.2, 1.0], rtol=2e-3)


def combine_replicas(w0, tasks, rule, block_rows=2):
    """Executor replicas: tasks send their changes keyed by (replica, block); summed per key,
    weighted per replica, summed per block; the driver adds the combined change to ``w0``."""
    per_replica: dict[tuple[str, int], RowBlock] = {}
    for replica, change, upd in tasks:
        blocks = touched_row_blocks(
            change.copy(), np.zeros_like(change), upd, np.zeros_like(upd), "sum", block_rows
        )
        for block, rows in blocks:
            key = (replica, block)
            per_replica[key] = rows if key not in per_replica else per_replica[key] + rows
    summed: dict[int, RowBlock] = {}
    for item in per_replica.items():
        block, rows = replica_row_block(rule)(item)
        summed[block] = rows if block not in summed else summed[block] + rows
    result = w0.copy()
    for block, rows in summed.items():
        average_touched_rows(result, block * block_rows, rows.stats0, rows.rows0, rule, deltas=True)
    return result


@pytest.mark.parametrize("rule", ["weighted", "mean", "sum"])
def test_replicas_combine_like_partition_copies_whatever_task_made_each_change(rule):
    # Replica "a" is COPY_A, made by two tasks whose changes and update counts add up to it;
    # replica "b" is COPY_B made by one task. Combining the replicas must equal combining the
    # two copies as partitions.
    change_a, change_b = COPY_A - W0, COPY_B - W0
    first = np.zeros_like(change_a)
    first[0] = change_a[0] * 0.25
    tasks = [
        ("a", first, np.array([1, 0, 0, 0, 0])),
        ("a", change_a - first, UPD_A - np.array([1, 0, 0, 0, 0])),
        ("b", change_b, UPD_B),
    ]
    got = combine_replicas(W0, tasks, rule)
    expected = combine(W0, [COPY_A, COPY_B], [UPD_A, UPD_B], rule)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


def test_one_replica_keeps_the_sum_of_its_tasks_changes():
    change = COPY_A - W0
    got = combine_replicas(W0, [("a", change, UPD_A), ("a", change, UPD_A)], "mean")
    np.testing.assert_allclose(got, W0 + 2 * change, rtol=0, atol=1e-6)
