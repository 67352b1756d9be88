"""Single-process skip-gram negative-sampling (SGNS) training kernel in NumPy.

Notation: ``syn0`` holds the word ("input") vectors ``v``, ``syn1neg`` the context ("output")
vectors ``v'``, both of shape ``(vocab_size, vector_size)``, float32. For a pair (centre ``w``,
context ``c``) with negatives ``n_1..n_k`` and learning rate ``lr`` the update is word2vec's::

    g   = lr * (1 - σ(v_w·v'_c))          g_i = -lr * σ(v_w·v'_{n_i})
    v_w += g * v'_c + Σ_i g_i * v'_{n_i}
    v'_c += g * v_w                       v'_{n_i} += g_i * v_w

Sentences are grouped in batches of about ``batch_words`` corpus words; all pairs and random
draws of a batch are generated with array operations, then applied in Hogwild steps of
``step_tokens`` centres: within a step every gradient is computed from the pre-step values,
then the updates are summed per row and added once. (One step per whole 10,000-word batch
diverges at alpha 0.025: a frequent row gets hundreds of summed stale updates.)

Design choices (measured in ``benchmarks/README.md``):

* negatives are drawn per pair, as in the C tool (default). ``negatives_per="centre"``
  shares one draw among all (up to ``2*window``) pairs of a centre, as in HogBatch (Ji et al.
  2016): 2.5x faster, but it halved analogy accuracy on wiki8, so it is not the default;
* negatives are drawn with an alias table (:func:`~w2v_spark.train.sampling.alias_table`, exact,
  O(1) per draw, built once per ``noise_cdf`` array), all of a batch at once;
* with per-pair negatives, all updates of a step form one CSR matrix ``C`` of shape (centre
  positions, unique output rows), one row per centre position with its pairs' entries
  ``[g, g_1..g_k]`` in pair order, which is already row-sorted, so it is built without a
  sort or duplicate summing; the row updates are two sparse-dense products ``C @ V'`` and
  ``C.T @ V``, the second added straight into the gathered output rows, by scipy's compiled
  loops called directly (building a ``csr_matrix`` per step cost a quarter of the sparse
  work), and repeated centre words are summed by a 0/1 selector the same way
  (``negatives_per="centre"`` and ``scatter="coo"`` build ``C`` over unique centre rows from
  COO triplets instead);
* the touched output rows are gathered once, in ascending order (walking the matrix in
  memory order made the gathers and write-backs about 20% faster on wiki8's 28 MB
  ``syn1neg``), updated there and written back once;
* all scores of a step (every pair's context and negatives) come from one ``take`` of the
  (pairs, k+1, dim) rows and one batched ``matmul``;
* the loss, which is only reported, is computed on one step in :data:`DEFAULT_LOSS_EVERY`.

A negative equal to the pair's positive context word is masked (it contributes nothing to
that pair's update, loss or touch count), as the C tool skips it.
"""

from __future__ import annotations

import contextlib
import logging
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

try:  # scipy's compiled sparse-dense loops (private module, stable since scipy 1.8)
    from scipy.sparse._sparsetools import csc_matvecs as _csc_matvecs
    from scipy.sparse._sparsetools import csr_matvecs as _csr_matvecs
except ImportError:  # pragma: no cover - a scipy that moved them: the public API instead
    _csc_matvecs = _csr_matvecs = None

from w2v_spark.train.sampling import (
    alias_table,
    draw_alias,
    draw_negatives,
    learning_rate,
    reduced_windows,
    subsample,
)

logger = logging.getLogger(__name__)

__all__ = [
    "TrainStats",
    "init_weights",
    "sgns_loss_and_grads",
    "sgns_update",
    "train_sentences",
]

_NEGATIVES_PER = ("centre", "pair")
#: Centres per Hogwild step in :func:`train_sentences` (see ``benchmarks/README.md``).
DEFAULT_STEP_TOKENS = 256
#: One step in this many computes the (only reported) loss in :func:`train_sentences`: every
#: step cost 7% of the time; 1 in 8 still averages a wiki8 epoch's loss over millions of pairs.
DEFAULT_LOSS_EVERY = 8
_SCATTER_METHODS = ("sparse", "coo", "add_at")
_SAMPLERS = ("alias", "cdf")
#: ``id(noise_cdf) -> (weakref to it, prob, alias)``: alias tables of live noise arrays.
_ALIAS_CACHE: dict[int, tuple[weakref.ref, np.ndarray, np.ndarray]] = {}


@dataclass(frozen=True)
class TrainStats:
    """Counters of one :func:`train_sentences` call; add them to combine partitions.

    Attributes
    ----------
    raw_words : int
        Tokens seen before subsampling (drives the learning-rate schedule).
    trained_words : int
        Tokens left after subsampling.
    pairs : int
        (centre, context) pairs trained.
    loss_sum : float
        Sum of ``-log σ(v_w·v'_c) - Σ_i log σ(-v_w·v'_{n_i})`` with pre-step values over the
        pairs of the steps whose loss was computed (see ``loss_every`` of
        :func:`train_sentences`).
    loss_pairs : int
        How many pairs ``loss_sum`` covers.
    """

    raw_words: int = 0
    trained_words: int = 0
    pairs: int = 0
    loss_sum: float = 0.0
    loss_pairs: int = 0

    @property
    def mean_loss(self) -> float:
        """Mean loss per pair (``nan`` when no loss was computed)."""
        return self.loss_sum / self.loss_pairs if self.loss_pairs else float("nan")

    def __add__(self, other: TrainStats) -> TrainStats:
        if not isinstance(other, TrainStats):
            return NotImplemented
        return TrainStats(
            self.raw_words + other.raw_words,
            self.trained_words + other.trained_words,
            self.pairs + other.pairs,
            self.loss_sum + other.loss_sum,
            self.loss_pairs + other.loss_pairs,
        )


def init_weights(vocab_size: int, vector_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Initial weights as in word2vec.

    Returns
    -------
    syn0 : np.ndarray
        Shape ``(vocab_size, vector_size)``, float32, uniform in ``[-0.5/vector_size,
        0.5/vector_size)``: small random word vectors break the symmetry.
    syn1neg : np.ndarray
        Shape ``(vocab_size, vector_size)``, float32, zeros (so every score starts at 0).
    """
    rng = np.random.default_rng(seed)
    half = 0.5 / vector_size
    syn0 = rng.uniform(-half, half, size=(vocab_size, vector_size)).astype(np.float32)
    syn1neg = np.zeros((vocab_size, vector_size), dtype=np.float32)
    return syn0, syn1neg


def _alias_table_cached(cdf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`~w2v_spark.train.sampling.alias_table` of ``cdf``, built once per live array.

    Spark calls :func:`train_sentences` once per partition and round with the same broadcast
    array, so the O(V) build is paid once per executor process. The cache is keyed by
    ``id(cdf)`` and checked through a weak reference (an id can be reused after the array is
    freed); the array must not be modified in place after the first call.
    """
    key = id(cdf)
    entry = _ALIAS_CACHE.get(key)
    if entry is not None and entry[0]() is cdf:
        return entry[1], entry[2]
    prob, alias = alias_table(cdf)
    for stale in [k for k, (ref, _, _) in _ALIAS_CACHE.items() if ref() is None]:
        del _ALIAS_CACHE[stale]
    with contextlib.suppress(TypeError):  # not weak-referenceable (not an ndarray): no cache
        _ALIAS_CACHE[key] = (weakref.ref(cdf), prob, alias)
    return prob, alias


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function, computed without overflow warnings."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _softplus(x: np.ndarray) -> np.ndarray:
    """``log(1 + exp(x)) = -log σ(-x)``, numerically stable."""
    return np.logaddexp(0.0, x)


def sgns_loss_and_grads(
    v_w: np.ndarray,
    v_c: np.ndarray,
    v_neg: np.ndarray,
    neg_mask: np.ndarray | None = None,
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Loss and gradients of a batch of independent pairs (reference, no side effects).

    ``loss = Σ_p [ -log σ(v_w·v'_c) - Σ_i mask_i log σ(-v_w·v'_{n_i}) ]``. The kernel's update
    is ``-lr`` times these gradients (it is what :func:`sgns_update` applies, row-summed).

    Parameters
    ----------
    v_w : np.ndarray
        Shape ``(pairs, dim)``: centre (syn0) vectors.
    v_c : np.ndarray
        Shape ``(pairs, dim)``: context (syn1neg) vectors.
    v_neg : np.ndarray
        Shape ``(pairs, k, dim)``: negative (syn1neg) vectors.
    neg_mask : np.ndarray, optional
        Shape ``(pairs, k)``, 1 for a used negative, 0 for a masked one; default all ones.

    Returns
    -------
    loss : float
    grad_w, grad_c, grad_neg : np.ndarray
        Gradients of ``loss`` with the shapes of ``v_w``, ``v_c``, ``v_neg`` (input dtype).
    """
    if neg_mask is None:
        neg_mask = np.ones(v_neg.shape[:2], dtype=v_neg.dtype)
    pos = np.einsum("pd,pd->p", v_w, v_c)
    neg = np.einsum("pd,pkd->pk", v_w, v_neg)
    loss = float(_softplus(-pos).sum() + (neg_mask * _softplus(neg)).sum())
    d_pos = _sigmoid(pos) - 1.0  # dloss/dpos
    d_neg = neg_mask * _sigmoid(neg)  # dloss/dneg
    grad_w = d_pos[:, None] * v_c + np.einsum("pk,pkd->pd", d_neg, v_neg)
    grad_c = d_pos[:, None] * v_w
    grad_neg = d_neg[:, :, None] * v_w[:, None, :]
    return loss, grad_w, grad_c, grad_neg


def window_pairs(
    windows: np.ndarray, segments: np.ndarray, window: int, start: int = 0, stop: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All (centre, context) position pairs of centres ``start..stop-1`` as a dense mask.

    Parameters
    ----------
    windows : np.ndarray
        Shape ``(n,)``: effective window of each token as a centre (from
        :func:`~w2v_spark.train.sampling.reduced_windows`).
    segments : np.ndarray
        Shape ``(n,)``: sentence number of each token; pairs never cross sentences.
    window : int
        Maximum window.
    start, stop : int
        The centres considered (default all ``n``); contexts may lie outside this range.

    Returns
    -------
    offsets : np.ndarray
        Shape ``(2*window,)``, intp: ``-window..-1, 1..window``.
    valid : np.ndarray
        Shape ``(stop-start, 2*window)``, bool: ``valid[i, s]`` iff position
        ``start + i + offsets[s]`` is a context of centre ``start + i``.
    context : np.ndarray
        Shape ``(stop-start, 2*window)``, intp: absolute context positions, clipped into
        ``[0, n)``.
    """
    n = segments.size
    stop = n if stop is None else stop
    offsets = np.concatenate([np.arange(-window, 0), np.arange(1, window + 1)]).astype(np.intp)
    centre = np.arange(start, stop, dtype=np.intp)[:, None]
    context = centre + offsets
    np.clip(context, 0, max(n - 1, 0), out=context)
    valid = np.abs(offsets) <= windows[start:stop, None]
    valid &= segments[context] == segments[start:stop, None]
    valid &= context - centre == offsets  # was not clipped
    return offsets, valid, context


def _local_rows(ids: np.ndarray, vocab_size: int) -> tuple[np.ndarray, np.ndarray]:
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


def _rowwise_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(a * b).sum(1)`` for 2-D float32 arrays, without the temporary."""
    return np.einsum("ij,ij->i", a, b)


def _positive_scores(v: np.ndarray, u: np.ndarray, offsets: np.ndarray, shift: int) -> np.ndarray:
    """Scores ``v[i]·u[i + shift + offsets[s]]``, shape (len(v), 2*window), on shifted slices.

    ``v`` holds the centres, ``u`` the context rows of a wider span starting ``shift``
    positions earlier; entries whose context falls outside ``u`` are 0.
    """
    m, span = v.shape[0], u.shape[0]
    scores = np.zeros((m, offsets.size), dtype=np.float32)
    for s, off in enumerate(offsets):
        lo = max(0, -(shift + off))
        hi = min(m, span - shift - off)
        if hi > lo:
            scores[lo:hi, s] = _rowwise_dot(v[lo:hi], u[lo + shift + off : hi + shift + off])
    return scores


def _negative_scores(v: np.ndarray, u_rows: np.ndarray, local_neg: np.ndarray) -> np.ndarray:
    """Scores ``v[r]·u_rows[local_neg[r, j]]`` of shape (r, k).

    One ``take`` of all (r, k, dim) rows (about 2x faster than fancy indexing on a small
    source) and one batched matrix-vector product.
    """
    gathered = u_rows.take(local_neg, axis=0)
    return np.matmul(gathered, v[:, :, None])[:, :, 0]


def _apply_coefficients(
    rows: np.ndarray,
    cols: np.ndarray,
    coef: np.ndarray,
    v_rows: np.ndarray,
    u_rows: np.ndarray,
    method: str,
) -> tuple[np.ndarray, np.ndarray]:
    """``(C @ u_rows, C.T @ v_rows)`` for ``C = Σ coef[e] * e_{rows[e]} e_{cols[e]}^T``.

    ``method="coo"`` (or ``"sparse"``) builds a scipy CSR matrix (duplicates summed in O(nnz), products in
    compiled loops); ``"add_at"`` uses ``np.add.at`` on (nnz, dim) temporaries (kept for the
    benchmark comparison).
    """
    shape = (v_rows.shape[0], u_rows.shape[0])
    if method in ("sparse", "coo"):
        matrix = sp.csr_matrix((coef, (rows, cols)), shape=shape)
        return matrix @ u_rows, matrix.T @ v_rows
    delta_v = np.zeros_like(v_rows)
    delta_u = np.zeros_like(u_rows)
    np.add.at(delta_v, rows, coef[:, None] * u_rows[cols])
    np.add.at(delta_u, cols, coef[:, None] * v_rows[rows])
    return delta_v, delta_u


def sgns_update(
    syn0: np.ndarray,
    syn1neg: np.ndarray,
    tokens: np.ndarray,
    windows: np.ndarray,
    segments: np.ndarray,
    negatives: np.ndarray,
    lr: float,
    *,
    window: int,
    centres: tuple[int, int] | None = None,
    touched0: np.ndarray | None = None,
    touched1: np.ndarray | None = None,
    negatives_per: str = "centre",
    scatter: str = "sparse",
) -> tuple[int, float]:
    """One Hogwild step: all pairs of some centres updated from the same pre-step values.

    Parameters
    ----------
    syn0, syn1neg : np.ndarray
        Shape ``(vocab_size, dim)``, float32, C-contiguous; updated in place.
    tokens : np.ndarray
        Shape ``(n,)``, integer word ids of the (already subsampled) batch.
    windows : np.ndarray
        Shape ``(n,)``: effective window of each token as a centre, in ``1..window``.
    segments : np.ndarray
        Shape ``(n,)``: sentence number of each token; pairs stay inside one sentence.
    negatives : np.ndarray
        Word ids. With ``negatives_per="centre"``, shape ``(stop-start, k)``: negatives of
        each centre, shared by all its pairs. With ``"pair"``, shape ``(pairs, k)``: negatives
        of each pair, in row-major order of the ``valid`` mask of :func:`window_pairs`
        (centre by centre, left context first).
    lr : float
        Learning rate of the step.
    window : int
        Maximum window (the number of offsets on each side).
    centres : tuple of int, optional
        ``(start, stop)``: train the pairs of centres ``tokens[start:stop]`` only (contexts
        may lie outside); default all tokens.
    touched0, touched1 : np.ndarray, optional
        Shape ``(vocab_size,)``, int64: incremented by the number of updates each syn0 /
        syn1neg row received (one per pair for the centre and the context, one per unmasked
        negative per pair for a negative).
    negatives_per : str
        ``"centre"`` (default) or ``"pair"``: the layout of ``negatives``, see above.
    scatter : str
        ``"sparse"`` (default, fastest measured): with per-pair negatives a pre-sorted CSR
        matrix over centre positions (see the module docstring), otherwise as ``"coo"``;
        ``"coo"``: a CSR matrix over unique centre rows built from COO triplets; ``"add_at"``:
        ``np.add.at`` (slow, kept for comparison). See :func:`_apply_coefficients`.

    Returns
    -------
    pairs : int
        Number of (centre, context) pairs trained.
    loss_sum : float
        Summed loss of those pairs (pre-step values).
    """
    tokens = np.asarray(tokens, dtype=np.intp)
    n = tokens.size
    start, stop = (0, n) if centres is None else centres
    offsets, valid, context = window_pairs(windows, segments, window, start, stop)
    pairs = int(np.count_nonzero(valid))
    expected = stop - start if negatives_per == "centre" else pairs
    if negatives.shape[0] != expected:
        raise ValueError(f"negatives has {negatives.shape[0]} rows, expected {expected}")
    return _sgns_step(
        syn0,
        syn1neg,
        tokens,
        offsets,
        valid,
        context,
        (start, stop),
        np.asarray(negatives, dtype=np.intp),
        lr,
        window=window,
        touched0=touched0,
        touched1=touched1,
        negatives_per=negatives_per,
        scatter=scatter,
    )


def _sgns_step(
    syn0: np.ndarray,
    syn1neg: np.ndarray,
    tokens: np.ndarray,
    offsets: np.ndarray,
    valid: np.ndarray,
    context: np.ndarray,
    centres: tuple[int, int],
    negatives: np.ndarray,
    lr: float,
    *,
    window: int,
    touched0: np.ndarray | None,
    touched1: np.ndarray | None,
    negatives_per: str,
    scatter: str,
    shared: bool = False,
    with_loss: bool = True,
) -> tuple[int, float]:
    """:func:`sgns_update` on pre-computed :func:`window_pairs` output of the step's centres.

    ``tokens`` is intp, ``negatives`` intp with the row count checked by the caller. The
    default (negatives per pair, sparse scatter) is :func:`_pair_step`; the code below serves
    the alternatives kept for comparison: negatives shared by a centre's pairs (HogBatch) and
    the ``"coo"``/``"add_at"`` scatters, over unique centre rows. It always computes the loss.
    """
    centre_pos, slot = np.nonzero(valid)
    pairs = centre_pos.size
    if pairs == 0:
        return 0, 0.0
    if negatives_per == "pair" and scatter == "sparse":
        return _pair_step(
            syn0,
            syn1neg,
            tokens,
            context,
            valid,
            (centre_pos, slot),
            centres,
            negatives,
            lr,
            touched0=touched0,
            touched1=touched1,
            shared=shared,
            with_loss=with_loss,
        )
    start, stop = centres
    n = tokens.size
    per_centre = negatives_per == "centre"
    vocab_size = syn0.shape[0]
    lr32 = np.float32(lr)
    span_lo, span_hi = max(start - window, 0), min(stop + window, n)
    centre_ids = tokens[start:stop]
    span_ids = tokens[span_lo:span_hi]

    uniq0, local0 = _local_rows(centre_ids, vocab_size)
    uniq1, local1 = _local_rows(np.concatenate([span_ids, negatives.ravel()]), vocab_size)
    local1_span, local1_neg = local1[: span_ids.size], local1[span_ids.size :]
    local1_neg = local1_neg.reshape(negatives.shape)
    v_rows = syn0[uniq0]
    u_rows = syn1neg.take(uniq1, axis=0)
    v_centres = v_rows[local0]

    # Positive pairs: scores per offset on shifted slices, coefficients g = lr * (1 - σ).
    all_scores = _positive_scores(
        v_centres, u_rows.take(local1_span, axis=0), offsets, start - span_lo
    )
    context_pos = context[centre_pos, slot]
    pos_scores = all_scores[centre_pos, slot]
    pos_coef = lr32 * (1.0 - _sigmoid(pos_scores))
    loss = float(_softplus(-pos_scores).sum(dtype=np.float64))

    # Negatives: multiplicity = how many pairs use each (owner, negative) and do not mask it.
    if per_centre:
        owner = np.arange(stop - start)
        context_ids = np.where(valid, tokens[context], -1)
        same = context_ids[:, :, None] == negatives[:, None, :]
        multiplicity = valid.sum(1)[:, None] - same.sum(1)
    else:
        owner = centre_pos
        multiplicity = negatives != tokens[context_pos][:, None]
    multiplicity = multiplicity.astype(np.float32)
    neg_scores = _negative_scores(v_centres[owner], u_rows, local1_neg)
    neg_coef = -lr32 * _sigmoid(neg_scores) * multiplicity
    loss += float((_softplus(neg_scores) * multiplicity).sum(dtype=np.float64))

    per_centre_pairs = np.count_nonzero(valid, axis=1)
    rows = np.concatenate([local0[centre_pos], np.repeat(local0[owner], negatives.shape[1])])
    cols = np.concatenate([local1_span[context_pos - span_lo], local1_neg.ravel()])
    coef = np.concatenate([pos_coef, neg_coef.ravel()]).astype(np.float32, copy=False)
    delta0, delta1 = _apply_coefficients(rows, cols, coef, v_rows, u_rows, scatter)
    touch_weights = np.concatenate([np.ones(pairs, dtype=np.float32), multiplicity.ravel()])
    if shared:
        # Other processes write these rows too: re-read them, so their updates since the
        # gather are kept (a lost update then needs a race within one fancy-index add).
        syn0[uniq0] += delta0
        syn1neg[uniq1] += delta1
    else:
        # syn0[uniq0] / syn1neg[uniq1] still hold v_rows / u_rows: add there, write back once.
        v_rows += delta0
        syn0[uniq0] = v_rows
        u_rows += delta1
        syn1neg[uniq1] = u_rows

    if touched0 is not None:
        counts0 = np.bincount(local0, weights=per_centre_pairs, minlength=uniq0.size)
        touched0[uniq0] += counts0.astype(np.int64)
    if touched1 is not None:
        counts1 = np.bincount(cols, weights=touch_weights, minlength=uniq1.size)
        touched1[uniq1] += np.rint(counts1).astype(np.int64)
    return pairs, loss


def _sorted_local_rows(ids: np.ndarray, vocab_size: int) -> tuple[np.ndarray, np.ndarray]:
    """``(unique, local)`` with ``unique`` sorted ascending and ``unique[local] == ids``.

    Sorted rows make the gathers and scatters of a step walk the weight matrix in memory
    order (about 20% faster on wiki8's 28 MB ``syn1neg``: fewer TLB and page-walk misses).
    ``local`` is int32 with the shape of ``ids``. A bitmap over the vocabulary costs O(V) per
    call, so large vocabularies sort the O(n) unique rows of :func:`_local_rows` instead.
    """
    flat = ids.ravel()
    if vocab_size > 32 * flat.size:
        unique, local = _local_rows(flat, vocab_size)
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


def _add_csr_product(
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


def _add_csr_transpose_product(
    out: np.ndarray, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, x: np.ndarray
) -> None:
    """``out += C.T @ x`` for the CSR matrix ``C = (data, indices, indptr)``, in place.

    ``C.T`` is the CSC matrix with the same three arrays; see :func:`_add_csr_product`.
    """
    if _csc_matvecs is None:
        c = sp.csr_matrix((data, indices, indptr), shape=(x.shape[0], out.shape[0]))
        out += c.T @ x
        return
    _csc_matvecs(
        out.shape[0], x.shape[0], x.shape[1], indptr, indices, data, x.ravel(), out.ravel()
    )


def _pair_step(
    syn0: np.ndarray,
    syn1neg: np.ndarray,
    tokens: np.ndarray,
    context: np.ndarray,
    valid: np.ndarray,
    pair_slots: tuple[np.ndarray, np.ndarray],
    centres: tuple[int, int],
    negatives: np.ndarray,
    lr: float,
    *,
    touched0: np.ndarray | None,
    touched1: np.ndarray | None,
    shared: bool,
    with_loss: bool,
) -> tuple[int, float]:
    """The default step (negatives per pair, sparse scatter) of :func:`_sgns_step`.

    Every pair's targets ``[context, negatives...]`` form one row of ``targets`` (pairs,
    k+1); one gather and one batched ``matmul`` give all scores, and the updates are one CSR
    matrix ``C`` (one row per centre position, entries pair by pair, already row-sorted, so
    ``indptr`` is a cumulative sum): ``C @ V'`` for the centres, ``C.T @ V`` added straight
    into the output rows. ``pair_slots`` is ``np.nonzero(valid)``, with at least one pair.
    Returns ``(pairs, loss)``; the loss is 0.0 unless ``with_loss``.
    """
    start, stop = centres
    centre_pos, slot = pair_slots
    pairs = centre_pos.size
    vocab_size = syn0.shape[0]
    lr32 = np.float32(lr)
    centre_ids = tokens[start:stop]
    context_ids = tokens[context[centre_pos, slot]]
    k1 = negatives.shape[1] + 1
    targets = np.empty((pairs, k1), dtype=np.intp)
    targets[:, 0] = context_ids
    targets[:, 1:] = negatives
    uniq1, local1 = _sorted_local_rows(targets, vocab_size)
    v_centres = syn0.take(centre_ids, axis=0)
    u_rows = syn1neg.take(uniq1, axis=0)

    scores = np.matmul(u_rows.take(local1, axis=0), v_centres.take(centre_pos, axis=0)[:, :, None])
    scores = scores[:, :, 0]
    # A negative equal to the pair's context is masked: coefficient 0, no loss, no touch.
    masked = negatives == context_ids[:, None]
    coef = _sigmoid(scores)
    coef *= -lr32
    coef[:, 0] += lr32  # positive: lr * (1 - σ); negatives: -lr * σ
    coef[:, 1:][masked] = 0.0
    loss = 0.0
    if with_loss:
        scores[:, 0] *= -1.0  # -log σ(s) = softplus(-s) for the context, softplus(s) else
        losses = _softplus(scores)
        losses[:, 1:][masked] = 0.0
        loss = float(losses.sum(dtype=np.float64))

    per_centre_pairs = np.count_nonzero(valid, axis=1)
    indptr = np.zeros(stop - start + 1, dtype=np.int32)
    np.cumsum(per_centre_pairs * k1, out=indptr[1:])
    cols = local1.ravel()
    data = coef.ravel()
    delta_centres = np.zeros_like(v_centres)
    _add_csr_product(delta_centres, indptr, cols, data, u_rows)
    # Other processes may write these rows too (shared): re-read them so their updates since
    # the gather are kept; otherwise u_rows still holds syn1neg[uniq1].
    rows1 = syn1neg.take(uniq1, axis=0) if shared else u_rows
    _add_csr_transpose_product(rows1, indptr, cols, data, v_centres)
    syn1neg[uniq1] = rows1
    # Repeated centre words: sum their positions into one row (a 0/1 selector, one 1 per
    # position, applied as the transpose of a CSR matrix with one entry per row).
    uniq0, local0 = _local_rows(centre_ids, vocab_size)
    local0 = local0.astype(np.int32)
    rows0 = syn0.take(uniq0, axis=0)
    positions = np.arange(stop - start + 1, dtype=np.int32)
    ones = np.ones(stop - start, dtype=syn0.dtype)
    _add_csr_transpose_product(rows0, positions, local0, ones, delta_centres)
    syn0[uniq0] = rows0

    if touched0 is not None:
        counts0 = np.bincount(local0, weights=per_centre_pairs, minlength=uniq0.size)
        touched0[uniq0] += counts0.astype(np.int64)
    if touched1 is not None:
        touches = local1.copy()
        touches[:, 1:][masked] = uniq1.size  # an extra bin, dropped below
        touched1[uniq1] += np.bincount(touches.ravel(), minlength=uniq1.size + 1)[:-1]
    return pairs, loss


def _chunks(sentences: Iterable[np.ndarray], max_words: int) -> Iterator[np.ndarray]:
    """Yield the sentences, cutting any longer than ``max_words`` into ``max_words`` pieces.

    A cut loses the few pairs that would straddle it (< window/max_words of them).
    """
    for sentence in sentences:
        sentence = np.asarray(sentence)
        if sentence.size <= max_words:
            yield sentence
        else:
            for start in range(0, sentence.size, max_words):
                yield sentence[start : start + max_words]


def _batches(sentences: Iterable[np.ndarray], batch_words: int) -> Iterator[list[np.ndarray]]:
    """Group sentences into lists of about ``batch_words`` raw tokens (at most one over)."""
    batch: list[np.ndarray] = []
    size = 0
    for sentence in _chunks(sentences, batch_words):
        if batch and size + sentence.size > batch_words:
            yield batch
            batch, size = [], 0
        batch.append(sentence)
        size += sentence.size
    if batch:
        yield batch


def _subsampled_batch(
    rng: np.random.Generator, batch: list[np.ndarray], keep_prob: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Subsample each sentence; return the kept tokens concatenated and their sentence numbers.

    Both outputs have shape ``(kept,)``, dtype intp.
    """
    kept = [subsample(rng, np.asarray(s, dtype=np.intp), keep_prob) for s in batch]
    lengths = np.fromiter((k.size for k in kept), dtype=np.intp, count=len(kept))
    tokens = np.concatenate(kept) if kept else np.empty(0, dtype=np.intp)
    return tokens, np.repeat(np.arange(lengths.size), lengths)


def train_sentences(
    syn0: np.ndarray,
    syn1neg: np.ndarray,
    sentences: Iterable[np.ndarray],
    *,
    keep_prob: np.ndarray,
    noise_cdf: np.ndarray,
    window: int,
    negative: int,
    alpha: float,
    min_alpha: float,
    progress_start: float,
    progress_per_word: float,
    rng: np.random.Generator,
    batch_words: int = 10_000,
    touched0: np.ndarray | None = None,
    touched1: np.ndarray | None = None,
    step_tokens: int = DEFAULT_STEP_TOKENS,
    negatives_per: str = "pair",
    scatter: str = "sparse",
    sampler: str = "alias",
    shared: bool = False,
    loss_every: int = DEFAULT_LOSS_EVERY,
    words_before: Callable[[int], int] | None = None,
) -> TrainStats:
    """Train skip-gram with negative sampling on ``sentences``, updating the weights in place.

    Sentences are taken in batches of about ``batch_words`` raw tokens. Per batch: subsample,
    draw effective windows, form every (centre, context) pair inside each sentence, draw
    negatives, and apply :func:`sgns_update` with the learning rate
    ``learning_rate(alpha, min_alpha, progress_start + raw_words_before_batch *
    progress_per_word)``, so Spark partitions share one global linear schedule.

    Parameters
    ----------
    syn0, syn1neg : np.ndarray
        Shape ``(vocab_size, dim)``, float32, C-contiguous; updated in place.
    sentences : iterable of np.ndarray
        1-D int32 word-id arrays (ids index the weight rows). Consumed once, lazily.
    keep_prob : np.ndarray
        Shape ``(vocab_size,)``, float32: from :func:`~w2v_spark.train.sampling.keep_probabilities`.
    noise_cdf : np.ndarray
        Shape ``(vocab_size,)``, float64: from :func:`~w2v_spark.train.sampling.noise_cdf`.
    window : int
        Maximum distance between centre and context (word2vec default 5).
    negative : int
        Negatives per pair (word2vec default 5).
    alpha, min_alpha : float
        Learning rate at progress 0 and 1 (word2vec: 0.025 and 0.0001).
    progress_start : float
        Global training progress (0..1) at the first word of ``sentences``.
    progress_per_word : float
        Progress added per raw word, ``1 / (epochs * corpus_words)`` for one global schedule.
    rng : np.random.Generator
        All randomness (subsampling, windows, negatives) comes from it.
    batch_words : int
        Raw words per Hogwild batch (default 10,000, gensim's batch size): larger batches
        amortise NumPy call overhead but use staler values; sentences longer than this are
        cut into pieces of this size.
    touched0, touched1 : np.ndarray, optional
        Shape ``(vocab_size,)``, int64: per-row update counters, incremented in place.
    step_tokens : int
        Centres per Hogwild step (default :data:`DEFAULT_STEP_TOKENS`): a batch's pairs are
        drawn at once, then applied in consecutive steps of this many (subsampled) centre
        tokens, each step's gradients computed from the values before that step. Larger
        steps are faster but staler: a frequent word's row receives the sum of all its
        updates in the step, and steps of a whole 10,000-word batch diverge at alpha 0.025.
    negatives_per : str
        ``"pair"`` (default): fresh negatives for every pair, like the C tool; ``"centre"``:
        each centre token's ``negative`` negatives are shared by all of its pairs (HogBatch),
        2.5x faster but about half the analogy accuracy on wiki8 (benchmarks/README.md).
    scatter : str
        ``"sparse"`` (default, fastest), ``"coo"`` or ``"add_at"``: how row updates are
        summed, see :func:`sgns_update`.
    sampler : str
        How negatives are drawn from ``noise_cdf``, both exact: ``"alias"`` (default) with
        :func:`~w2v_spark.train.sampling.draw_alias` from an alias table built once per
        ``noise_cdf`` array (cached while that array lives), about 5x faster per draw than
        ``"cdf"``, :func:`~w2v_spark.train.sampling.draw_negatives` (binary search in the CDF).
    shared : bool
        The weights are shared with concurrently training processes
        (:mod:`w2v_spark.train.replicas`): each step adds its updates to freshly read rows instead
        of writing back the rows it gathered. Same numbers when nobody else writes.
    loss_every : int
        The loss is computed on the first step and then on one step in every ``loss_every``
        (default :data:`DEFAULT_LOSS_EVERY`); it is only reported, and computing it on every
        step cost 7% of the training time. 1 computes it on every step.
    words_before : callable, optional
        Called with each batch's raw word count before the batch is trained; returns how many
        raw words were trained on these weights before it, which sets the batch's learning
        rate. Default: the words of earlier batches of this call. Tasks that share one copy
        of the weights pass one shared counter (:meth:`~w2v_spark.train.replicas.SharedReplica.
        claim_words`), so the rate follows the copy's progress, not each task's own.

    Returns
    -------
    TrainStats
    """
    if loss_every < 1:
        raise ValueError(f"loss_every must be at least 1, got {loss_every}")
    if negatives_per not in _NEGATIVES_PER:
        raise ValueError(f"negatives_per must be one of {_NEGATIVES_PER}, got {negatives_per!r}")
    if scatter not in _SCATTER_METHODS:
        raise ValueError(f"scatter must be one of {_SCATTER_METHODS}, got {scatter!r}")
    if sampler not in _SAMPLERS:
        raise ValueError(f"sampler must be one of {_SAMPLERS}, got {sampler!r}")
    if sampler == "alias":
        prob, alias = _alias_table_cached(noise_cdf)

        def draw(size: tuple[int, int]) -> np.ndarray:
            return draw_alias(rng, prob, alias, size)

    else:

        def draw(size: tuple[int, int]) -> np.ndarray:
            return draw_negatives(rng, noise_cdf, size)

    per_centre = negatives_per == "centre"
    stats = TrainStats()
    raw_done = steps = 0
    for batch in _batches(sentences, batch_words):
        raw = sum(s.size for s in batch)
        before = raw_done if words_before is None else words_before(raw)
        lr = learning_rate(alpha, min_alpha, progress_start + before * progress_per_word)
        raw_done += raw
        tokens, segments = _subsampled_batch(rng, batch, keep_prob)
        windows = reduced_windows(rng, tokens.size, window)
        offsets, valid, context = window_pairs(windows, segments, window)
        if per_centre:
            all_negatives = draw((tokens.size, negative))
        else:
            # first_pair[i]: index of centre i's first pair in the batch (row-major order).
            first_pair = np.zeros(tokens.size + 1, dtype=np.intp)
            np.cumsum(np.count_nonzero(valid, axis=1), out=first_pair[1:])
            all_negatives = draw((int(first_pair[-1]), negative))
        batch_pairs, batch_loss, batch_loss_pairs = 0, 0.0, 0
        for start in range(0, tokens.size, step_tokens):
            with_loss = steps % loss_every == 0
            steps += 1
            stop = min(start + step_tokens, tokens.size)
            if per_centre:
                negatives = all_negatives[start:stop]
            else:
                negatives = all_negatives[first_pair[start] : first_pair[stop]]
            pairs, loss = _sgns_step(
                syn0,
                syn1neg,
                tokens,
                offsets,
                valid[start:stop],
                context[start:stop],
                (start, stop),
                negatives,
                lr,
                window=window,
                touched0=touched0,
                touched1=touched1,
                negatives_per=negatives_per,
                scatter=scatter,
                shared=shared,
                with_loss=with_loss,
            )
            batch_pairs += pairs
            if with_loss:
                batch_loss += loss
                batch_loss_pairs += pairs
        stats = stats + TrainStats(raw, tokens.size, batch_pairs, batch_loss, batch_loss_pairs)
    logger.debug("trained %s", stats)
    return stats
