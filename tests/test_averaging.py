"""Averaging of known row updates gives the expected numbers exactly."""

from __future__ import annotations

import numpy as np
import pytest

from w2v_spark.train.averaging import (
    RowBlock,
    add_mean_change,
    average_touched_rows,
    block_momentum,
    replica_row_block,
    touched_row_blocks,
)


def combine(
    w0: np.ndarray, copies: list[np.ndarray], updates: list[np.ndarray], block_rows: int = 2
) -> np.ndarray:
    """Run the executor side (blocks per partition, summed by key) and the driver's mean."""
    summed: dict[int, list] = {}
    for copy, upd in zip(copies, updates, strict=True):
        syn1 = np.zeros_like(copy)
        for key, block in touched_row_blocks(
            copy.copy(), syn1, upd, np.zeros_like(upd), block_rows
        ):
            summed[key] = block if key not in summed else summed[key] + block
    result = w0.copy()
    for key, block in summed.items():
        average_touched_rows(result, key * block_rows, block.stats0, block.rows0)
    return result


W0 = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0], [4.0, 4.0], [5.0, 5.0]], dtype=np.float32)
# Partition A touched rows 0 (3 updates) and 1 (1 update); partition B rows 0 (1) and 3 (2).
COPY_A = np.array([[1.4, 1.0], [2.0, 2.8], [3.0, 3.0], [4.0, 4.0], [5.0, 5.0]], dtype=np.float32)
COPY_B = np.array([[1.0, 0.6], [2.0, 2.0], [3.0, 3.0], [4.5, 4.0], [5.0, 5.0]], dtype=np.float32)
UPD_A = np.array([3, 1, 0, 0, 0])
UPD_B = np.array([1, 0, 0, 2, 0])


def test_mean_is_mllibs_plain_mean_over_touching_partitions():
    got = combine(W0, [COPY_A, COPY_B], [UPD_A, UPD_B])
    np.testing.assert_allclose(got[0], [1.2, 0.8], atol=1e-6)
    np.testing.assert_allclose(got[1], COPY_A[1], atol=1e-6)
    np.testing.assert_allclose(got[3], COPY_B[3], atol=1e-6)
    np.testing.assert_array_equal(got[[2, 4]], W0[[2, 4]])


def test_untouched_blocks_are_not_sent_back():
    keys = [
        k
        for k, _ in touched_row_blocks(
            COPY_B.copy(), np.zeros_like(COPY_B), UPD_B, np.zeros_like(UPD_B), 2
        )
    ]
    assert keys == [0, 1]  # rows 0-1 and 2-3; rows 4.. untouched


def test_unknown_and_retired_rules_are_rejected():
    from w2v_spark.train.averaging import resolve_rule

    for rule in ("median", "sum", "weighted", "matched", "sum/mean"):
        with pytest.raises(ValueError, match="unknown averaging rule"):
            resolve_rule(rule, 4)


def test_auto_rule_is_momentum_for_executor_copies_and_the_mean_for_partition_copies():
    from w2v_spark.train.averaging import resolve_rule, resolve_syncs

    assert [resolve_rule("auto", p) for p in (1, 2, 8, 32)] == ["mean"] * 4
    assert resolve_rule("momentum", 32) == "momentum"
    assert [resolve_syncs(0, p) for p in (1, 2, 8)] == [1, 1, 4]
    assert resolve_syncs(3, 8) == 3
    # One replica per executor: block momentum over executors, one sync per epoch, at any P.
    assert resolve_rule("auto", 32, "executor") == "momentum"
    assert resolve_syncs(0, 32, "executor") == 1


def combine_replicas(w0, tasks, block_rows=2):
    """Executor replicas: tasks send their changes keyed by (replica, block); summed per key,
    marked per replica, summed per block; the driver adds the mean change to ``w0``."""
    per_replica: dict[tuple[str, int], RowBlock] = {}
    for replica, change, upd in tasks:
        blocks = touched_row_blocks(
            change.copy(), np.zeros_like(change), upd, np.zeros_like(upd), block_rows
        )
        for block, rows in blocks:
            key = (replica, block)
            per_replica[key] = rows if key not in per_replica else per_replica[key] + rows
    summed: dict[int, RowBlock] = {}
    for item in per_replica.items():
        block, rows = replica_row_block(item)
        summed[block] = rows if block not in summed else summed[block] + rows
    result = w0.copy()
    for block, rows in summed.items():
        average_touched_rows(result, block * block_rows, rows.stats0, rows.rows0, deltas=True)
    return result


def test_replicas_combine_like_partition_copies_whatever_task_made_each_change():
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
    got = combine_replicas(W0, tasks)
    expected = combine(W0, [COPY_A, COPY_B], [UPD_A, UPD_B])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


def test_one_replica_keeps_the_sum_of_its_tasks_changes():
    change = COPY_A - W0
    got = combine_replicas(W0, [("a", change, UPD_A), ("a", change, UPD_A)])
    np.testing.assert_allclose(got, W0 + 2 * change, rtol=0, atol=1e-6)


def momentum_round(
    w: np.ndarray, moved: np.ndarray, copies: list[np.ndarray], updates: list[np.ndarray], mu: float
) -> tuple[np.ndarray, np.ndarray]:
    """One "momentum" round the driver's way: look ahead, copies train from there (given as
    changes from the look-ahead), blocks summed by key, mean change over all copies added."""
    moved = moved * np.float32(mu)
    start = w + moved
    summed: dict[int, RowBlock] = {}
    for change, upd in zip(copies, updates, strict=True):
        trained = start + change
        for key, block in touched_row_blocks(
            trained, np.zeros_like(trained), upd, np.zeros_like(upd), 2
        ):
            summed[key] = block if key not in summed else summed[key] + block
    for key, block in summed.items():
        add_mean_change(start, moved, key * 2, block.stats0, block.rows0, len(copies))
    return start, moved


def test_momentum_adds_the_mean_change_over_all_copies_and_remembers_the_move():
    change_a = COPY_A - W0  # rows 0 and 1
    change_b = COPY_B - W0  # rows 0 and 3
    w, moved = momentum_round(W0, np.zeros_like(W0), [change_a, change_b], [UPD_A, UPD_B], 0.5)
    expected = W0 + (change_a + change_b) / 2  # a row one copy touched gets half its change
    np.testing.assert_allclose(w, expected, atol=1e-6)
    np.testing.assert_allclose(moved, (change_a + change_b) / 2, atol=1e-6)
    # Next round, nobody touches row 1: it still moves by mu * its last move, and keeps
    # moving until its whole change is in: 1/2 + 1/4 + 1/8 + ... of it with mu = 1/2 = 1 - 1/E.
    none = [np.zeros_like(W0)] * 2
    zero = [np.zeros(5, np.int64)] * 2
    total = w - W0
    for _ in range(40):
        w, moved = momentum_round(w, moved, none, zero, 0.5)
    np.testing.assert_allclose((w - W0)[1], change_a[1], atol=1e-5)
    np.testing.assert_allclose(w - W0, 2 * total, atol=1e-5)


def test_momentum_of_a_row_every_copy_drives_to_one_point_dies_out():
    # Every copy moves row 0 to 10 from wherever the round starts (a saturated row): block
    # momentum settles at 10 instead of overshooting E-fold like the sum of the changes.
    w, moved = W0.copy(), np.zeros_like(W0)
    upd = [np.array([5, 0, 0, 0, 0])] * 4
    for _ in range(30):
        start = w + moved * np.float32(0.75)
        changes = [np.where(np.arange(5)[:, None] == 0, 10.0 - start, 0.0).astype(np.float32)] * 4
        w, moved = momentum_round(w, moved, changes, upd, 0.75)
    np.testing.assert_allclose(w[0], [10.0, 10.0], atol=1e-3)
    np.testing.assert_array_equal(w[1:], W0[1:])


def test_momentum_with_one_copy_is_the_copy_itself():
    assert block_momentum(1) == 0.0 and block_momentum(4) == 0.75
    change = COPY_A - W0
    w, _ = momentum_round(W0, np.ones_like(W0), [change], [UPD_A], block_momentum(1))
    np.testing.assert_allclose(w, COPY_A, atol=1e-6)


def test_momentum_from_executor_replicas_equals_momentum_from_partition_copies():
    # Partition copies send their touched rows; executor replicas send their changes.
    from_rows, moved_rows = W0.copy(), np.zeros_like(W0)
    from_deltas, moved_deltas = W0.copy(), np.zeros_like(W0)
    summed: dict[int, RowBlock] = {}
    for copy, upd in ((COPY_A, UPD_A), (COPY_B, UPD_B)):
        for key, block in touched_row_blocks(copy.copy(), np.zeros_like(copy), upd, upd, 2):
            summed[key] = block if key not in summed else summed[key] + block
    for key, block in summed.items():
        add_mean_change(from_rows, moved_rows, key * 2, block.stats0, block.rows0, 2)
    touched = (UPD_A > 0).astype(np.float64) + (UPD_B > 0)
    stats = np.stack([touched, UPD_A + UPD_B])
    changes = (COPY_A - W0) + (COPY_B - W0)
    add_mean_change(from_deltas, moved_deltas, 0, stats, changes, 2, deltas=True)
    np.testing.assert_allclose(from_rows, from_deltas, atol=1e-6)
    np.testing.assert_allclose(moved_rows, moved_deltas, atol=1e-6)
    np.testing.assert_allclose(from_rows[0], [1.2, 0.8], atol=1e-6)


def test_only_copies_combined_by_block_momentum_take_the_alpha_scale():
    from w2v_spark.train.averaging import resolve_copy_alpha_scale

    assert resolve_copy_alpha_scale(2.0, 4, "momentum") == 2.0
    assert resolve_copy_alpha_scale(2.0, 1, "momentum") == 1.0  # local mode: one copy
    assert resolve_copy_alpha_scale(2.0, 8, "mean") == 1.0  # partition copies keep alpha
    assert resolve_copy_alpha_scale(1.0, 4, "momentum") == 1.0  # the default
