"""The hierarchical-softmax steps (``train.hs = 1``), skip-gram and CBOW, as gensim's.

A word ``w`` is a leaf of the Huffman tree (:func:`~w2v_spark.train.huffman.huffman_tree`);
its path from the root visits inner nodes ``p_1..p_L`` and takes branches ``d_1..d_L``. Each
inner node has an output vector ``u_p`` (``syn1``: with hs it lives in the slot of
``syn1neg``, rows ``0..V-2``, row ``V-1`` unused), and for an input vector ``l1``::

    P(w | l1) = Π_j σ(s_j) if d_j = 0 else σ(-s_j),     s_j = l1·u_{p_j}

which sums to 1 over the vocabulary. gensim's (and the C tool's) update, per node ``j``::

    g_j  = lr * (1 - d_j - σ(s_j))        (= -lr * ∂(-log P)/∂s_j)
    e   += g_j * u_{p_j}                  u_{p_j} += g_j * l1
    l1  += e

Skip-gram (:func:`hs_pair_step`): for a pair (centre ``c``, context ``o``) the input is the
centre's ``syn0`` row and the path is the context word's, as in our negative-sampling step.
(gensim's ``fast_sentence_sg_hs`` uses the context's ``syn0`` and the centre's path: over a
sentence the same set of (word, word) pairs is trained, with the roles swapped.) CBOW
(:func:`hs_cbow_step`): the input is the mean (or sum) ``h`` of the contexts' rows, the path
the centre's, and each context gets ``e`` (``e / |C|`` with the sum), as
:mod:`w2v_spark.train.cbow` does for negative sampling.

The steps are vectorised as the negative-sampling ones: a step's paths are gathered as a
(examples, L) array of nodes (``L`` the longest code of the step's predicted words), entries
past a word's code length get coefficient 0 and count no update; all scores come from one
gather and one batched ``matmul``, and the updates are CSR products
(:func:`~w2v_spark.train.rows.add_csr_product`), every example from the pre-step values.
"""

from __future__ import annotations

import numpy as np

from w2v_spark.train.cbow import ContextWindows, apply_targets
from w2v_spark.train.rows import (
    scatter_pair_updates,
    sigmoid,
    softplus,
    sorted_local_rows,
)

#: The most updates an inner node's ``syn1`` row takes from one step at full weight; a node
#: on more of the step's paths gets their mean times this (see
#: :func:`_capped_node_coefficients`). Skip-gram, 30% of wiki8, 3 epochs, one process,
#: 128-centre steps (gensim 0.1648): 64 diverged, 32 gave 0.1619 analogy, 16 0.1548, 8 0.1486,
#: 4 0.1360. CBOW steps (one path per centre, 128 centres) diverged on full wiki8 without it.
NODE_UPDATES_PER_STEP = 32

#: The most pairs a centre word's ``syn0`` row takes at full weight from one skip-gram step
#: (:func:`_capped_centre_scale`); a centre position has at most ``2 * window`` pairs.
CENTRE_PAIRS_PER_STEP = 32

#: ``(codes, points, lengths)`` of :func:`~w2v_spark.train.huffman.huffman_tree`.
Tree = tuple[np.ndarray, np.ndarray, np.ndarray]


def _paths(tree: Tree, words: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(points, codes, on_path)`` of ``words`` (shape ``(n,)``), each ``(n, L)``: ``L`` is
    the longest code among them; ``on_path`` masks the entries past each word's length."""
    codes, points, lengths = tree
    word_lengths = lengths[words]
    longest = int(word_lengths.max()) if words.size else 1
    on_path = np.arange(longest) < word_lengths[:, None]
    return points[words, :longest].astype(np.intp), codes[words, :longest], on_path


def _coefficients(
    scores: np.ndarray, path_codes: np.ndarray, on_path: np.ndarray, lr: float, with_loss: bool
) -> tuple[np.ndarray, float]:
    """``g = lr * (1 - code - σ(s))`` (0 off the path) and the summed loss ``Σ -log P``.

    ``-log σ(s)`` for code 0 and ``-log σ(-s)`` for code 1, i.e. ``softplus((2 code - 1) s)``;
    all arrays ``(examples, L)``, ``scores`` float32.
    """
    lr32 = np.float32(lr)
    coef = sigmoid(scores)
    coef *= -lr32
    coef += lr32 * (1 - path_codes).astype(scores.dtype)
    coef[~on_path] = 0.0
    loss = 0.0
    if with_loss:
        sign = (2 * path_codes.astype(scores.dtype)) - 1
        losses = softplus(sign * scores)
        loss = float(losses[on_path].sum(dtype=np.float64))
    return coef, loss


def _count_node_updates(updates1: np.ndarray | None, targets: np.ndarray, used: np.ndarray) -> None:
    """``updates1[node] += 1`` per used path entry (``used``: shape of ``targets``)."""
    if updates1 is not None:
        np.add.at(updates1, targets[used], 1)


def _capped_node_coefficients(
    coef: np.ndarray, targets: np.ndarray, on_path: np.ndarray, n_rows: int
) -> np.ndarray:
    """``coef`` for the ``syn1`` side of a step, scaled down on busy nodes.

    Every pair updates the root and the top of the tree: a 128-centre skip-gram step has
    about 760 pairs, so the root would receive 760 updates computed from the same stale value
    at once, and training diverged on wiki8 (max weight 3.6e9 in epoch 1); CBOW's 128 paths
    per step (one per centre) diverged in epoch 1 of full wiki8 at P = 2. The sequential
    loops of gensim and the C tool apply them one by one, each seeing the last. Here a node
    on ``n > NODE_UPDATES_PER_STEP`` of the step's paths gets its summed update scaled by
    ``NODE_UPDATES_PER_STEP / n``: the mean gradient, taken that many times. Nodes below
    the top few levels are on fewer paths and keep the exact sum, as do the centres' rows.
    """
    return coef * _capped_scale(targets, on_path, n_rows, NODE_UPDATES_PER_STEP)


def _capped_scale(rows: np.ndarray, weights: np.ndarray, n_rows: int, cap: int) -> np.ndarray:
    """Per entry of ``rows``: ``min(1, cap / n)``, ``n`` the summed ``weights`` of its row's
    entries (float32, the shape of ``rows``)."""
    uniq, local = sorted_local_rows(rows, n_rows)
    per_row = np.bincount(local.ravel(), weights=weights.ravel(), minlength=uniq.size)
    return np.minimum(1.0, cap / np.maximum(per_row, 1.0)).astype(np.float32)[local]


def _capped_centre_scale(
    centre_ids: np.ndarray, per_centre_pairs: np.ndarray, n_rows: int
) -> np.ndarray:
    """The factor of each centre position's ``syn0`` update: a word that is the centre of
    ``n > CENTRE_PAIRS_PER_STEP`` of the step's pairs gets ``CENTRE_PAIRS_PER_STEP / n``.

    Each pair's update is its context's whole path, so a word repeated through a step (wiki8's
    citation templates repeat ``urlencode``, ``rft``, ``editorgiven`` dozens of times in a row)
    sums hundreds of path updates from one stale value; on a copy shared by two processes
    such rows reached 33 (typical 2) in epoch 1 of wiki8, and one run diverged.
    """
    return _capped_scale(centre_ids, per_centre_pairs, n_rows, CENTRE_PAIRS_PER_STEP)


def hs_pair_step(
    syn0: np.ndarray,
    syn1: np.ndarray,
    tokens: np.ndarray,
    context: np.ndarray,
    valid: np.ndarray,
    centres: tuple[int, int],
    tree: Tree,
    lr: float,
    *,
    updates0: np.ndarray | None = None,
    updates1: np.ndarray | None = None,
    with_loss: bool = True,
) -> tuple[int, float]:
    """One Hogwild skip-gram hierarchical-softmax step over centres ``tokens[start:stop]``.

    The counterpart of :func:`~w2v_spark.train.kernel.sgns_update`'s step with the tree in
    place of the negatives: each pair (centre, context) updates the centre's ``syn0`` row and
    the ``syn1`` rows of the context word's path (module docstring).

    Parameters
    ----------
    syn0 : np.ndarray
        Shape ``(V, dim)``, float32, C-contiguous; updated in place.
    syn1 : np.ndarray
        Shape ``(V, dim)``, float32, C-contiguous: inner node ``i``'s vector in row ``i``
        (``0..V-2``; the ``syn1neg`` slot of the model); updated in place.
    tokens : np.ndarray
        Shape ``(n,)``, intp: the (subsampled) batch.
    context, valid : np.ndarray
        Shape ``(stop-start, 2*window)``: :func:`~w2v_spark.train.kernel.window_pairs` rows of
        the step's centres.
    centres : tuple of int
        ``(start, stop)``.
    tree : tuple of np.ndarray
        ``(codes, points, lengths)`` of :func:`~w2v_spark.train.huffman.huffman_tree`.
    lr : float
        Learning rate of the step.
    updates0, updates1 : np.ndarray, optional
        Shape ``(V,)``, int64: incremented by the updates each row received (a centre row once
        per pair, an inner node once per pair whose path visits it).
    with_loss : bool
        Compute the loss (only reported).

    Returns
    -------
    pairs : int
        Number of (centre, context) pairs trained.
    loss_sum : float
        ``Σ -log P(context | centre)`` over them, pre-step values (0.0 unless ``with_loss``).
    """
    centre_pos, slot = np.nonzero(valid)
    pairs = centre_pos.size
    if pairs == 0:
        return 0, 0.0
    start, stop = centres
    centre_ids = tokens[start:stop]
    targets, path_codes, on_path = _paths(tree, tokens[context[centre_pos, slot]])
    v_centres = syn0.take(centre_ids, axis=0)
    target_rows = syn1.take(targets, axis=0)  # (pairs, L, dim)
    scores = np.matmul(target_rows, v_centres.take(centre_pos, axis=0)[:, :, None])
    coef, loss = _coefficients(scores[:, :, 0], path_codes, on_path, lr, with_loss)

    per_centre_pairs = np.count_nonzero(valid, axis=1)
    scatter_pair_updates(
        syn0,
        syn1,
        centre_ids,
        v_centres,
        targets,
        target_rows,
        coef,
        per_centre_pairs,
        updates0=updates0,
        output_coef=_capped_node_coefficients(coef, targets, on_path, syn1.shape[0]),
        centre_scale=_capped_centre_scale(centre_ids, per_centre_pairs, syn0.shape[0]),
    )
    _count_node_updates(updates1, targets, on_path)
    return pairs, loss


def hs_cbow_step(
    syn0: np.ndarray,
    syn1: np.ndarray,
    tokens: np.ndarray,
    context: np.ndarray,
    valid: np.ndarray,
    centres: tuple[int, int],
    tree: Tree,
    lr: float,
    *,
    cbow_mean: bool = True,
    updates0: np.ndarray | None = None,
    updates1: np.ndarray | None = None,
    with_loss: bool = True,
) -> tuple[int, float]:
    """One Hogwild CBOW hierarchical-softmax step over centres ``tokens[start:stop]``.

    The counterpart of :func:`~w2v_spark.train.cbow.cbow_step` with the tree in place of the
    negatives: the hidden vector ``h`` of each centre's contexts follows the centre word's
    path (module docstring).

    Parameters
    ----------
    syn0, syn1, tokens, context, valid, centres, tree, lr
        As :func:`hs_pair_step`.
    cbow_mean : bool
        ``h`` is the mean of the context vectors (default, gensim's ``cbow_mean=1``; every
        context gets the whole error) or their sum (each gets ``1/|C|`` of it).
    updates0, updates1 : np.ndarray, optional
        Shape ``(V,)``, int64: incremented by the updates each row received (a context row
        once per centre it serves, an inner node once per trained centre whose path visits
        it).
    with_loss : bool
        Compute the loss (only reported).

    Returns
    -------
    examples : int
        Centres trained (those with at least one context word).
    loss_sum : float
        ``Σ -log P(centre | h)`` over them (0.0 unless ``with_loss``).
    """
    start, stop = centres
    windows = ContextWindows.gather(syn0, tokens, context, valid, cbow_mean)
    trained = windows.trained
    examples = int(np.count_nonzero(trained))
    if examples == 0:
        return 0, 0.0
    targets, path_codes, on_path = _paths(tree, tokens[start:stop])
    on_path &= trained[:, None]  # a centre without contexts trains nothing
    target_rows = syn1.take(targets, axis=0)  # (centres, L, dim)
    scores = np.matmul(target_rows, windows.hidden[:, :, None])[:, :, 0]
    coef, loss = _coefficients(scores, path_codes, on_path, lr, with_loss)
    capped = _capped_node_coefficients(coef, targets, on_path, syn1.shape[0])
    errors = apply_targets(syn1, targets, coef, target_rows, windows.hidden, capped)
    windows.scatter(syn0, errors, cbow_mean=cbow_mean, updates0=updates0)
    _count_node_updates(updates1, targets, on_path)
    return examples, loss
