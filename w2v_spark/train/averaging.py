"""Combining weight copies after a sync, one block of rows at a time.

Only ``train.replicas`` ``"executor"`` (on a cluster) and ``"partition"`` train copies; the
default on a cluster, ``"blocks"`` (:mod:`w2v_spark.train.rotation`), has none, and one executor
(local mode) has one. Every copy starts a sync from the same weights ``W0`` and ends with its
own ``W_p``. It sends back, for each block of ``BLOCK_ROWS`` rows it touched, a
:class:`RowBlock`: per row a touched indicator and the touched rows (untouched rows carry 0).
Blocks are summed by key on the executors (``reduceByKey``), so the driver receives one
aggregate, never P matrices, and applies one of two rules:

- ``"mean"``: the mean of the copies that touched the row (Spark MLlib's rule);
  :func:`average_touched_rows`.
- ``"momentum"``: block momentum (BMUF, Chen & Huo 2016, with Nesterov look-ahead): the
  copies' changes are averaged over *all* ``E`` replicas, ``G = Σ_r (W_r - W0) / E`` (a row only
  one replica touched gets 1/E of its change now), and the next sync starts from
  ``W + mu * Δ``, where ``Δ`` is the last sync's move; see :func:`add_mean_change`.

Rows no copy touched keep ``W0`` (with ``"momentum"``, ``W0`` plus the look-ahead). Earlier
rules were retired by measurement (benchmarks/README.md): ``"sum"`` (every copy's change kept)
diverged at 4 copies, ``"weighted"`` (by update count) and ``"matched"`` (sum or mean by a
row's saturation) gained little over the mean, and block rotation keeps all of it.

With one replica per executor (:mod:`w2v_spark.train.replicas`) the copies being combined are the
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

AVERAGING_RULES = ("mean", "momentum")


def resolve_rule(rule: str, num_partitions: int, replicas: str = "partition") -> str:
    """``"auto"``: "momentum" with executor replicas (one copy, in local mode, is the same as
    "mean"; with 2 and 4 executors on 30% of wiki8 it kept 0.80x and 0.52x of gensim's analogy
    accuracy where "mean" kept 0.74x and 0.40x, benchmarks/README.md); "mean" for partition
    copies."""
    if rule != "auto":
        if rule not in AVERAGING_RULES:
            raise ValueError(f"unknown averaging rule {rule!r} (one of {AVERAGING_RULES})")
        return rule
    return "momentum" if replicas == "executor" else "mean"


def resolve_syncs(syncs_per_epoch: int, num_partitions: int, replicas: str = "partition") -> int:
    """``0`` (auto): one sync per epoch with executor replicas or up to 2 partitions, else 4
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


@dataclass
class RowBlock:
    """Sums for rows ``[block * BLOCK_ROWS, ...)`` of both matrices.

    ``stats0``/``stats1``: float64 (2, n): per row, summed over copies, how many copies
    touched it and their update counts; ``rows0``/``rows1``: float32 (n, dim), the summed
    rows (copies) or changes (executor replicas) of syn0 / syn1neg where touched.
    """

    stats0: np.ndarray
    rows0: np.ndarray
    stats1: np.ndarray
    rows1: np.ndarray

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.stats0, self.rows0, self.stats1, self.rows1))

    def __add__(self, other: RowBlock) -> RowBlock:
        return RowBlock(
            self.stats0 + other.stats0,
            self.rows0 + other.rows0,
            self.stats1 + other.stats1,
            self.rows1 + other.rows1,
        )


def row_stats(updates: np.ndarray) -> np.ndarray:
    """float64 (2, n): touched indicator and update count of each row."""
    return np.stack([(updates > 0).astype(np.float64), updates.astype(np.float64)])


def touched_row_blocks(
    syn0: np.ndarray,
    syn1neg: np.ndarray,
    updates0: np.ndarray,
    updates1: np.ndarray,
    block_rows: int = BLOCK_ROWS,
) -> Iterator[tuple[int, RowBlock]]:
    """``(block, RowBlock)`` for each block in which this partition touched a row.

    ``updates0``/``updates1``: shape ``(V,)``, int64, the number of updates each syn0 /
    syn1neg row received (:func:`~w2v_spark.train.kernel.train_sentences`); a row is touched
    when it received at least one.

    Zeroes the untouched rows of ``syn0``/``syn1neg`` in place (the partition's copy is
    finished with), so no second copy of the matrices is made.
    """
    stats = [row_stats(updates0), row_stats(updates1)]
    for block, start in enumerate(range(0, len(syn0), block_rows)):
        end = start + block_rows
        s0, s1 = stats[0][:, start:end], stats[1][:, start:end]
        if not (s0[0].any() or s1[0].any()):
            continue
        rows = []
        for matrix, s in ((syn0, s0), (syn1neg, s1)):
            part = matrix[start:end]
            part *= s[0][:, None].astype(np.float32)
            rows.append(part)
        yield block, RowBlock(s0, rows[0], s1, rows[1])


def replica_row_block(item: tuple[tuple[str, int], RowBlock]) -> tuple[int, RowBlock]:
    """``((replica, block), D) -> (block, RowBlock)``: one replica's summed changes.

    ``D`` sums the replica's reports (:meth:`w2v_spark.train.replicas.SharedReplica.report_changes`:
    raw changes, the tasks' update counts in ``stats[1]``); the result carries, per row, the
    replica's touched indicator (1, however many of its tasks touched it) and update count,
    ready to be summed over replicas.
    """
    (_, block), summed = item
    return block, RowBlock(
        row_stats(summed.stats0[1]), summed.rows0, row_stats(summed.stats1[1]), summed.rows1
    )


def average_touched_rows(
    weights: np.ndarray,
    start: int,
    stats: np.ndarray,
    summed_rows: np.ndarray,
    deltas: bool = False,
) -> None:
    """The ``"mean"`` rule for one block: the mean of the touching copies, written into
    ``weights[start:start + n]`` in place.

    ``deltas``: ``summed_rows`` sums *changes* ``W_r - W0`` (executor replicas,
    :func:`replica_row_block`) rather than copies ``W_p``.
    """
    target = weights[start : start + stats.shape[1]]
    touched = stats[0] > 0
    n = stats[0][touched][:, None]
    summed = summed_rows[touched].astype(np.float64)
    if deltas:  # Σ W_r = Σ D_r + n W0
        summed += n * target[touched].astype(np.float64)
    target[touched] = (summed / n).astype(weights.dtype)


def block_momentum(replicas: int) -> float:
    """BMUF's block momentum for ``replicas`` copies: ``1 - 1/E`` (Chen & Huo 2016).

    In a steady direction a sync's mean change ``G`` is applied ``1 / (1 - mu) = E`` times over
    the following syncs, so ``E`` copies that each trained ``1/E`` of the words move a row as far
    as one copy trained on all of them would (the sum of their changes); a row that every copy
    already drove to its optimum is pulled back by the next sync's copies, so its momentum dies
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

    ``weights`` holds the sync's start ``W0 = W + mu Δ`` (what was broadcast) and ``momentum``
    its look-ahead ``mu Δ``; both receive ``G``, so afterwards ``weights`` is the replicas' mean
    over all ``E = replicas`` (rows a replica did not touch count as unchanged) and
    ``momentum`` the sync's whole move ``Δ = mu Δ + G``. ``summed_rows`` sums changes
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
