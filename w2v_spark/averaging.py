"""Combining the partitions' weight copies after a sync, one block of rows at a time.

Every partition starts a sync from the same weights ``W0`` and ends with its own copy ``W_p``.
It sends back, for each block of ``BLOCK_ROWS`` rows it touched, a :class:`RowBlock`: per row
a weight ``w_p`` and the weighted rows ``w_p * W_p`` (untouched rows carry weight 0). Blocks
are summed by key on the executors (``reduceByKey``), so the driver receives one aggregate,
never P matrices. :func:`average_touched_rows` then applies the averaging rule:

- ``"weighted"``: ``w_p`` = how many updates partition p made to the row;
  ``W = Σ w_p W_p / Σ w_p``, so a partition that saw a word often outweighs one that saw it once.
- ``"mean"``: ``w_p`` = 1 if p touched the row (Spark MLlib's rule); ``W = mean of touching W_p``.
- ``"sum"``: ``W = W0 + Σ_p (W_p - W0)`` over touching partitions: every partition's change
  kept in full, as if the partitions had run one after another.

- ``"momentum"``: block momentum (BMUF, Chen & Huo 2016, with Nesterov look-ahead): the
  copies' changes are averaged over *all* ``E`` replicas, ``G = Σ_r (W_r - W0) / E`` (a row only
  one replica touched gets 1/E of its change now), and the next round starts from
  ``W + mu * Δ``, where ``Δ`` is the last round's move; see :func:`add_mean_change`.

Rows no partition touched keep ``W0`` (with ``"momentum"``, ``W0`` plus the look-ahead).

With one replica per executor (:mod:`w2v_spark.replicas`) the copies being combined are the
executors' shared copies, not the partitions': each finishing task sends the *changes*
of its executor's copy since the last report (keyed by executor and block), an executor's
reports are summed into its replica's change ``D_r = W_r - W0`` (:func:`replica_row_block`),
and the same rules combine the replicas, with ``deltas=True`` in :func:`average_touched_rows`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

# 4,096 rows x dim 100 x 4 bytes = 1.6 MB per matrix per block: big enough that per-record
# overhead is nothing, small enough that the driver assembles the result block by block.
BLOCK_ROWS = 4096

AVERAGING_RULES = ("weighted", "mean", "sum", "matched", "momentum")


def resolve_rule(rule: str, num_partitions: int, replicas: str = "partition") -> str:
    """``"auto"``: "momentum" with executor replicas (one copy, in local mode, is the same as
    "mean"; with 2 and 4 executors on 30% of wiki8 it kept 0.80x and 0.52x of gensim's analogy
    accuracy where "mean" kept 0.74x and 0.40x, benchmarks/README.md); with partition copies
    "mean" up to 2 partitions, else "matched"."""
    if rule != "auto":
        return rule
    if replicas == "executor":
        return "momentum"
    return "mean" if num_partitions <= 2 else "matched"


def resolve_syncs(syncs_per_epoch: int, num_partitions: int, replicas: str = "partition") -> int:
    """``0`` (auto): one round per epoch with executor replicas or up to 2 partitions, else 4
    (see benchmarks/README.md)."""
    if syncs_per_epoch:
        return syncs_per_epoch
    return 1 if replicas == "executor" or num_partitions <= 2 else 4


def resolve_copy_alpha_scale(setting: float, copies: int, rule: str) -> float:
    """How many times ``alpha`` each copy trains at: ``train.copy_alpha_scale`` when ``rule``
    is block momentum over more than one copy, else 1 (one copy, or partition copies).

    The copies' mean counts each copy's change 1/E; block momentum restores part of it and a
    higher rate more: on 30% of wiki8, 3 epochs, E = 2 / 4 / 8, block momentum kept 0.082 /
    0.040 / 0.018 analogy accuracy at 1x and 0.111 / 0.077 / 0.031 at 2x (one copy: 0.115);
    the mean diverged at 3x and 4x (benchmarks/README.md).
    """
    return setting if rule == "momentum" and copies > 1 else 1.0


def split_rule(rule: str) -> tuple[str, str]:
    """``"sum/mean"`` -> ``("sum", "mean")``: the rules for syn0 and syn1neg; ``"mean"`` -> both."""
    rule0, _, rule1 = rule.partition("/")
    rule1 = rule1 or rule0
    for r in (rule0, rule1):
        if r not in AVERAGING_RULES:
            raise ValueError(f"unknown averaging rule {r!r} (one of {AVERAGING_RULES})")
    return rule0, rule1


@dataclass
class RowBlock:
    """Sums for rows ``[block * BLOCK_ROWS, ...)`` of both matrices.

    ``stats0``/``stats1``: float64 (3, n): per row, summed over partitions, how many
    partitions touched it, their update counts, and their saturations ``1 - exp(-k c_p)``;
    ``rows0``/``rows1``: float32 (n, dim), the summed weighted rows of syn0 / syn1neg
    (weighted by update count for "weighted", by 1 where touched for the other rules).
    """

    stats0: np.ndarray
    rows0: np.ndarray
    stats1: np.ndarray
    rows1: np.ndarray

    def __add__(self, other: RowBlock) -> RowBlock:
        return RowBlock(
            self.stats0 + other.stats0,
            self.rows0 + other.rows0,
            self.stats1 + other.stats1,
            self.rows1 + other.rows1,
        )


def row_stats(updates: np.ndarray, step: float) -> np.ndarray:
    """float64 (3, n): touched indicator, update count, saturation ``1 - exp(-step * count)``."""
    counts = updates.astype(np.float64)
    return np.stack([(updates > 0).astype(np.float64), counts, -np.expm1(-step * counts)])


def touched_row_blocks(
    syn0: np.ndarray,
    syn1neg: np.ndarray,
    updates0: np.ndarray,
    updates1: np.ndarray,
    rule: str,
    block_rows: int = BLOCK_ROWS,
    step: float = 0.0,
) -> Iterator[tuple[int, RowBlock]]:
    """``(block, RowBlock)`` for each block in which this partition touched a row.

    ``step`` is the saturation rate used by the "matched" rule (learning rate x curvature).
    Scales ``syn0``/``syn1neg`` in place (the partition's copy is finished with), so no
    second copy of the matrices is made.
    """
    rules = split_rule(rule)
    stats = [row_stats(updates0, step), row_stats(updates1, step)]
    for block, start in enumerate(range(0, len(syn0), block_rows)):
        end = start + block_rows
        s0, s1 = stats[0][:, start:end], stats[1][:, start:end]
        if not (s0[0].any() or s1[0].any()):
            continue
        rows = []
        for matrix, s, r in ((syn0, s0, rules[0]), (syn1neg, s1, rules[1])):
            part = matrix[start:end]
            part *= (s[1] if r == "weighted" else s[0])[:, None].astype(np.float32)
            rows.append(part)
        yield block, RowBlock(s0, rows[0], s1, rows[1])


def replica_row_block(rule: str, step: float = 0.0):
    """``((replica, block), D) -> (block, RowBlock)``: one replica's summed changes, weighted.

    ``D`` sums the replica's reports (:meth:`w2v_spark.replicas.SharedReplica.report_changes`:
    raw changes, the tasks' update counts in ``stats[1]``); the result carries, per row, the
    replica's touched indicator, update count and saturation, and its change weighted as
    ``rule`` weights a copy (``"RULE0/RULE1"`` for syn0 and syn1neg), ready to be summed over
    replicas.
    """
    rules = split_rule(rule)

    def convert(item: tuple[tuple[str, int], RowBlock]) -> tuple[int, RowBlock]:
        (_, block), summed = item
        parts = []
        for s, rows, r in (
            (summed.stats0, summed.rows0, rules[0]),
            (summed.stats1, summed.rows1, rules[1]),
        ):
            stats = row_stats(s[1], step)
            if r == "weighted":
                rows = rows * stats[1][:, None].astype(np.float32)
            parts += [stats, rows]
        return block, RowBlock(*parts)

    return convert


def average_touched_rows(
    weights: np.ndarray,
    start: int,
    stats: np.ndarray,
    summed_rows: np.ndarray,
    rule: str,
    step: float = 0.0,
    deltas: bool = False,
) -> None:
    """Write the combined rows of one block into ``weights[start:start + n]`` in place.

    ``deltas``: ``summed_rows`` sums weighted *changes* ``w_r (W_r - W0)`` (executor replicas,
    :func:`replica_row_block`) rather than weighted copies ``w_p W_p``.
    """
    target = weights[start : start + stats.shape[1]]
    touched = stats[0] > 0
    n = stats[0][touched][:, None]
    summed = summed_rows[touched].astype(np.float64)
    old = target[touched].astype(np.float64)
    if deltas:  # Σ w_r W_r = Σ w_r D_r + (Σ w_r) W0
        summed += (stats[1][touched][:, None] if rule == "weighted" else n) * old
    if rule == "weighted":
        new = summed / stats[1][touched][:, None]
    elif rule == "mean":
        new = summed / n
    elif rule == "sum":
        # Σ_p W_p - (n - 1) W0 = W0 + Σ_p (W_p - W0), n = partitions that touched the row.
        new = summed - (n - 1) * old
    elif rule == "matched":
        # W0 + a Σ_p (W_p - W0) with a = (1 - exp(-k Σc)) / Σ_p (1 - exp(-k c_p)): a row that
        # moved a little in each partition keeps every change (a -> 1, "sum"); a row that each
        # partition already drove to its optimum is averaged (a -> 1/n, "mean").
        total = -np.expm1(-step * stats[1][touched])
        a = (total / np.maximum(stats[2][touched], 1e-300))[:, None]
        new = old + a * (summed - n * old)
    else:
        raise ValueError(f"unknown averaging rule {rule!r} (one of {AVERAGING_RULES})")
    target[touched] = new.astype(weights.dtype)


def block_momentum(replicas: int) -> float:
    """BMUF's block momentum for ``replicas`` copies: ``1 - 1/E`` (Chen & Huo 2016).

    In a steady direction a round's mean change ``G`` is applied ``1 / (1 - mu) = E`` times over
    the following rounds, so ``E`` copies that each trained ``1/E`` of the words move a row as far
    as one copy trained on all of them would (the sum of their changes); a row that every copy
    already drove to its optimum is pulled back by the next round's copies, so its momentum dies
    out instead of overshooting E-fold as the plain sum does. One copy: 0, the copy itself.
    """
    return 1.0 - 1.0 / max(replicas, 1)


def add_mean_change(
    weights: np.ndarray,
    momentum: np.ndarray,
    start: int,
    stats: np.ndarray,
    summed_rows: np.ndarray,
    replicas: int,
    deltas: bool = False,
) -> None:
    """The ``"momentum"`` rule's step for one block: add ``G = Σ_r (W_r - W0) / E`` in place.

    ``weights`` holds the round's start ``W0 = W + mu Δ`` (what was broadcast) and ``momentum``
    its look-ahead ``mu Δ``; both receive ``G``, so afterwards ``weights`` is the replicas' mean
    over all ``E = replicas`` (rows a replica did not touch count as unchanged) and
    ``momentum`` the round's whole move ``Δ = mu Δ + G``. ``summed_rows`` sums changes
    (``deltas``, executor replicas) or the touching copies ``Σ W_p`` (partition copies, rule
    weight 1 per touching copy).
    """
    target = weights[start : start + stats.shape[1]]
    touched = stats[0] > 0
    change = summed_rows[touched].astype(np.float64)
    if not deltas:  # Σ_p (W_p - W0) over the n copies that touched the row
        change -= stats[0][touched][:, None] * target[touched]
    change /= replicas
    target[touched] += change.astype(weights.dtype)
    moved = momentum[start : start + stats.shape[1]]
    moved[touched] += change.astype(momentum.dtype)
