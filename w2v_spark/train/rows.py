"""Row gathers and sparse scatters shared by the training steps (skip-gram, CBOW, blocks).

A step gathers the rows it reads (``take``), computes on the gathered copy, and adds its
updates straight into the weight matrices with scipy's compiled CSR loops
(:func:`add_csr_product`, :func:`add_csr_transpose_product`, :func:`add_to_rows`): no
gathered row is written back, so on a copy shared by several processes nobody's update is
overwritten. :func:`sorted_local_rows` numbers a step's distinct rows for the block
trainer, which works on compact copies of its blocks."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

try:  # scipy's compiled sparse-dense loops (private module, stable since scipy 1.8)
    from scipy.sparse._sparsetools import csc_matvecs as _csc_matvecs
    from scipy.sparse._sparsetools import csr_matvecs as _csr_matvecs
except ImportError:  # pragma: no cover - a scipy that moved them: the public API instead
    _csc_matvecs = _csr_matvecs = None


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function, computed without overflow warnings."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def softplus(x: np.ndarray) -> np.ndarray:
    """``log(1 + exp(x)) = -log σ(-x)``, numerically stable."""
    return np.logaddexp(0.0, x)


def local_rows(ids: np.ndarray, vocab_size: int) -> tuple[np.ndarray, np.ndarray]:
    """``(unique, local)`` with ``unique[local] == ids``, in O(n) (no sort).

    ``unique`` lists each distinct id once (order of last occurrence's first appearance is
    irrelevant to callers); ``local`` has the shape of ``ids``.
    """
    flat = ids.ravel()
    where = np.empty(vocab_size, dtype=np.intp)
    where[flat] = np.arange(flat.size)
    representative = where[flat]
    is_rep = representative == np.arange(flat.size)
    unique = flat[is_rep]
    rank = np.cumsum(is_rep) - 1
    return unique, rank[representative].reshape(ids.shape)


def sorted_local_rows(ids: np.ndarray, vocab_size: int) -> tuple[np.ndarray, np.ndarray]:
    """``(unique, local)`` with ``unique`` sorted ascending and ``unique[local] == ids``.

    Sorted rows make the gathers and scatters of a step walk the weight matrix in memory
    order (about 20% faster on wiki8's 28 MB ``syn1neg``: fewer TLB and page-walk misses).
    ``local`` is int32 with the shape of ``ids``. A bitmap over the vocabulary costs O(V) per
    call, so large vocabularies sort the O(n) unique rows of :func:`local_rows` instead.
    """
    flat = ids.ravel()
    if vocab_size > 32 * flat.size:
        unique, local = local_rows(flat, vocab_size)
        order = np.argsort(unique)
        rank = np.empty(order.size, dtype=np.int32)
        rank[order] = np.arange(order.size, dtype=np.int32)
        return unique[order], rank[local].reshape(ids.shape)
    present = np.zeros(vocab_size, dtype=bool)
    present[flat] = True
    unique = np.flatnonzero(present)
    where = np.empty(vocab_size, dtype=np.int32)
    where[unique] = np.arange(unique.size, dtype=np.int32)
    return unique, where[flat].reshape(ids.shape)


def add_csr_product(
    out: np.ndarray, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, x: np.ndarray
) -> None:
    """``out += C @ x`` for the CSR matrix ``C = (data, indices, indptr)``, in place.

    ``out`` and ``x`` are C-contiguous float32 (rows, dim); ``indptr``/``indices`` int32.
    scipy's compiled loop is called directly: building a ``csr_matrix`` validates its arrays
    and allocates the result, about a quarter of the sparse work at 128-centre steps.
    """
    if _csr_matvecs is None:
        out += sp.csr_matrix((data, indices, indptr), shape=(out.shape[0], x.shape[0])) @ x
        return
    _csr_matvecs(
        out.shape[0], x.shape[0], x.shape[1], indptr, indices, data, x.ravel(), out.ravel()
    )


def add_csr_transpose_product(
    out: np.ndarray, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, x: np.ndarray
) -> None:
    """``out += C.T @ x`` for the CSR matrix ``C = (data, indices, indptr)``, in place.

    ``C.T`` is the CSC matrix with the same three arrays; see :func:`add_csr_product`.
    ``out`` may be a whole weight matrix (``indices`` then are its row ids): it is written
    through a flat view, so it must be C-contiguous.
    """
    if not out.flags.c_contiguous:
        raise ValueError(
            "add_csr_transpose_product writes through a flat view: out must be C-contiguous"
        )
    if _csc_matvecs is None:
        c = sp.csr_matrix((data, indices, indptr), shape=(x.shape[0], out.shape[0]))
        out += c.T @ x
        return
    _csc_matvecs(
        out.shape[0], x.shape[0], x.shape[1], indptr, indices, data, x.ravel(), out.ravel()
    )


def add_to_rows(matrix: np.ndarray, ids: np.ndarray, values: np.ndarray) -> None:
    """``matrix[ids] += values`` in place, repeated ids summed (plain fancy-index ``+=`` keeps
    only one of them): the transpose of a CSR matrix with one entry per id."""
    positions = np.arange(ids.size + 1, dtype=np.int32)
    ones = np.ones(ids.size, dtype=matrix.dtype)
    add_csr_transpose_product(matrix, positions, ids.astype(np.int32), ones, values)


def update_output_rows(
    syn1: np.ndarray,
    targets: np.ndarray,
    target_rows: np.ndarray,
    indptr: np.ndarray,
    coef: np.ndarray,
    inputs: np.ndarray,
    output_coef: np.ndarray | None = None,
) -> np.ndarray:
    """The output side of a step, shared by skip-gram and CBOW: return ``C @ U`` (the inputs'
    updates) and add ``C.T @ inputs`` into ``syn1`` in place.

    ``C`` is the CSR matrix with one row per input (a centre position, or a CBOW window) and
    one entry per target, in the row-major order of ``targets`` (global ``syn1`` rows, shape
    ``(..., t)``) and ``coef`` (same shape); ``target_rows`` holds ``syn1[targets]`` (shape
    ``(..., t, dim)``) and ``inputs`` the input vectors, both from before the step. The
    products read the gathered rows in order and add straight into ``syn1``'s rows: no
    unique-row bookkeeping, no write-back of gathered copies, and with other processes
    writing ``syn1`` too (a shared copy) their updates are never overwritten.
    ``output_coef`` (shape of ``coef``), when given, replaces ``coef`` on the ``syn1`` side
    only (hierarchical softmax scales the busiest tree nodes' updates,
    :func:`w2v_spark.train.hs._capped_node_coefficients`).
    """
    data = coef.ravel()
    deltas = np.zeros_like(inputs)
    entries = np.arange(data.size, dtype=np.int32)
    add_csr_product(deltas, indptr, entries, data, target_rows.reshape(data.size, -1))
    out_data = data if output_coef is None else output_coef.ravel()
    add_csr_transpose_product(syn1, indptr, targets.ravel().astype(np.int32), out_data, inputs)
    return deltas


def scatter_pair_updates(
    syn0: np.ndarray,
    syn1: np.ndarray,
    centre_ids: np.ndarray,
    v_centres: np.ndarray,
    targets: np.ndarray,
    target_rows: np.ndarray,
    coef: np.ndarray,
    per_centre_pairs: np.ndarray,
    *,
    updates0: np.ndarray | None,
    output_coef: np.ndarray | None = None,
    centre_scale: np.ndarray | None = None,
) -> None:
    """Apply a skip-gram step's updates (negative sampling or hierarchical softmax alike).

    ``C`` is one CSR matrix with a row per centre position and its pairs' target entries
    (``targets``, ``coef``: (pairs, t), pair by pair, so already row-sorted and ``indptr`` is
    a cumulative sum): ``C @ U`` moves the centres, ``C.T @ V`` is added straight into the
    output rows (:func:`update_output_rows`). ``v_centres`` (centres, dim) and
    ``target_rows`` (pairs, t, dim) hold the pre-step values. Repeated centre words are summed
    into their row (:func:`add_to_rows`). ``output_coef``: see :func:`update_output_rows`.
    ``centre_scale`` (shape ``(centres,)``), when given, multiplies each centre position's
    update of its ``syn0`` row.
    """
    width = targets.shape[1]
    indptr = np.zeros(centre_ids.size + 1, dtype=np.int32)
    np.cumsum(per_centre_pairs * width, out=indptr[1:])
    delta_centres = update_output_rows(
        syn1, targets, target_rows, indptr, coef, v_centres, output_coef
    )
    if centre_scale is not None:
        delta_centres *= centre_scale[:, None]
    add_to_rows(syn0, centre_ids, delta_centres)
    if updates0 is not None:
        np.add.at(updates0, centre_ids, per_centre_pairs)
