"""The Huffman tree of hierarchical softmax (``train.hs = 1``), as the word2vec C tool builds it.

Every word is a leaf of a binary tree whose ``V - 1`` inner nodes each own an output vector
(``syn1``); a word's probability is the product of the binary decisions on its path from the
root (:mod:`w2v_spark.train.hs`). A Huffman tree over the word counts gives frequent words
short paths, so the expected work per predicted word is minimal (Mikolov et al. 2013).

:func:`huffman_tree` is ``CreateBinaryTree`` of ``word2vec.c``: the counts sorted descending,
two queues (leaves from the rarest, inner nodes in creation order) merged by always joining
the two smallest, the first of them on branch 0 and the second on branch 1. Inner node ``a``
is the ``a``-th created (0..V-2), so the root is ``V - 2``: the C tool's ``point`` values
minus ``V``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["huffman_tree"]


def huffman_tree(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Huffman codes and paths of a vocabulary, as the C tool's ``CreateBinaryTree``.

    Ties, deterministic: words are ordered by count descending, equal counts by id (a stable
    sort; the vocabulary job already lists words by descending count, so this is the C tool's
    order). Leaves are taken from the rare end of that order, as the C tool walks its sorted
    vocabulary backwards, so of two equal leaves the higher id is joined first; between a leaf
    and an inner node of equal count the inner node is taken (the C tool's strict ``<``).

    Parameters
    ----------
    counts : np.ndarray
        Shape ``(V,)``, non-negative integers: each word's corpus count, indexed by word id.

    Returns
    -------
    codes : np.ndarray
        Shape ``(V, L)``, int8, 0 or 1: ``codes[w, j]`` is the branch word ``w``'s path takes
        at its ``j``-th inner node, from the root down; ``L`` is the longest code length.
        Entries ``j >= lengths[w]`` are 0.
    points : np.ndarray
        Shape ``(V, L)``, int32, in ``0..V-2``: ``points[w, j]`` is the ``j``-th inner node on
        ``w``'s path (``points[w, 0]`` is the root, ``V - 2``), the row of ``syn1`` it uses.
        Entries ``j >= lengths[w]`` repeat the root, a row every path uses anyway, so masked
        entries index no extra row; mask them with ``lengths``.
    lengths : np.ndarray
        Shape ``(V,)``, int32, ``>= 1``: each word's code length (its depth in the tree).

    Raises
    ------
    ValueError
        Fewer than two words (a tree needs two leaves), or a negative count.
    """
    counts = np.asarray(counts, dtype=np.int64).ravel()
    vocab_size = counts.size
    if vocab_size < 2:
        raise ValueError(
            f"hierarchical softmax needs at least 2 words for its tree, got {vocab_size}"
        )
    if (counts < 0).any():
        raise ValueError("word counts must be non-negative")
    order = np.argsort(-counts, kind="stable")  # sorted position -> word id
    inner = vocab_size - 1
    # Nodes 0..V-1 are the leaves in sorted order, V..2V-2 the inner nodes by creation.
    weight = counts[order].tolist() + [0] * inner
    parent = [0] * (2 * vocab_size - 1)
    branch = [0] * (2 * vocab_size - 1)
    leaf, made = vocab_size - 1, vocab_size  # next leaf (rarest first), next inner node to take

    def smallest(new: int) -> int:
        nonlocal leaf, made
        if leaf >= 0 and (made >= new or weight[leaf] < weight[made]):
            leaf -= 1
            return leaf + 1
        made += 1
        return made - 1

    for a in range(inner):
        new = vocab_size + a
        first, second = smallest(new), smallest(new)
        weight[new] = weight[first] + weight[second]
        parent[first] = parent[second] = new
        branch[second] = 1
    parent_of = np.asarray(parent, dtype=np.intp)
    branch_of = np.asarray(branch, dtype=np.int8)
    root = 2 * vocab_size - 2

    # Walk all leaves up at once; column k of ``up_*`` is the k-th step from the leaf.
    node = np.arange(vocab_size, dtype=np.intp)
    lengths_sorted = np.zeros(vocab_size, dtype=np.int32)
    up_codes, up_points = [], []
    while True:
        climbing = node != root
        if not climbing.any():
            break
        lengths_sorted += climbing
        up_codes.append(np.where(climbing, branch_of[node], 0))
        node = np.where(climbing, parent_of[node], root)
        up_points.append(node)
    longest = len(up_codes)
    up_c = np.column_stack(up_codes).astype(np.int8)
    up_p = np.column_stack(up_points)
    # Reverse each word's path: root first.
    src = lengths_sorted[:, None] - 1 - np.arange(longest)[None, :]
    on_path = src >= 0
    src = np.maximum(src, 0)
    codes_sorted = np.where(on_path, np.take_along_axis(up_c, src, axis=1), 0).astype(np.int8)
    points_sorted = np.where(on_path, np.take_along_axis(up_p, src, axis=1), root) - vocab_size

    codes = np.empty_like(codes_sorted)
    points = np.empty((vocab_size, longest), dtype=np.int32)
    lengths = np.empty(vocab_size, dtype=np.int32)
    codes[order] = codes_sorted
    points[order] = points_sorted
    lengths[order] = lengths_sorted
    return codes, points, lengths
