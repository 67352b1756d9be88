"""The CBOW step with negative sampling (``train.sg = 0``), as gensim's and the C tool's.

For a centre word ``w`` with context positions ``C`` (the same dynamic window as skip-gram),
the hidden vector is ``h = Σ_{c∈C} v_c / |C|`` (``cbow_mean = 1``, gensim's default) or the
plain sum (``cbow_mean = 0``); ``h`` predicts ``w`` against ``k`` negatives drawn per centre::

    g   = lr * (1 - σ(h·v'_w))            g_i = -lr * σ(h·v'_{n_i})
    e   = g * v'_w + Σ_i g_i * v'_{n_i}
    v'_w += g * h                         v'_{n_i} += g_i * h
    v_c += e        for every c in C      (e / |C| with cbow_mean = 0)

(gensim's ``fast_sentence_cbow_neg``: with the mean, every context receives the whole error;
with the sum, the error is divided over them.) A negative equal to the centre word is
skipped, as in gensim. As the skip-gram step, a step's centres are all computed from the
pre-step values and their updates summed per row: the hidden vectors are one CSR product
``S @ V`` (``S``: centres x context rows), the errors ``C @ V'`` and ``V' += C.T @ H``,
``V += S.T @ E``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from w2v_spark.train.rows import (
    add_csr_product,
    add_csr_transpose_product,
    sigmoid,
    softplus,
    sorted_local_rows,
    update_output_rows,
)


@dataclass
class ContextWindows:
    """A CBOW step's context side: the hidden vectors and where their errors go back.

    ``S`` has one row per centre and one entry per context position (row-major order of
    ``valid``), as CSR arrays ``indptr`` / ``local`` over the gathered rows ``uniq``; ``rows``
    holds ``syn0[uniq]`` from before the step. Shared by :func:`cbow_step` and
    :func:`w2v_spark.train.hs.hs_cbow_step`.
    """

    indptr: np.ndarray
    uniq: np.ndarray
    local: np.ndarray
    rows: np.ndarray
    owner_count: np.ndarray
    trained: np.ndarray
    hidden: np.ndarray

    @classmethod
    def gather(
        cls,
        syn0: np.ndarray,
        tokens: np.ndarray,
        context: np.ndarray,
        valid: np.ndarray,
        cbow_mean: bool,
    ) -> ContextWindows:
        """``h`` per centre: the mean (or sum) of its context rows, from pre-step values."""
        per_centre = np.count_nonzero(valid, axis=1)
        m = per_centre.size
        indptr = np.zeros(m + 1, dtype=np.int32)
        np.cumsum(per_centre, out=indptr[1:])
        uniq, local = sorted_local_rows(tokens[context[valid]], syn0.shape[0])
        owner_count = np.repeat(np.maximum(per_centre, 1).astype(np.float32), per_centre)
        to_hidden = (1.0 / owner_count) if cbow_mean else np.ones_like(owner_count)
        rows = syn0.take(uniq, axis=0)
        hidden = np.zeros((m, syn0.shape[1]), dtype=syn0.dtype)
        add_csr_product(hidden, indptr, local, to_hidden.astype(syn0.dtype), rows)
        return cls(indptr, uniq, local, rows, owner_count, per_centre > 0, hidden)

    def scatter(
        self,
        syn0: np.ndarray,
        errors: np.ndarray,
        *,
        cbow_mean: bool,
        shared: bool,
        updates0: np.ndarray | None,
    ) -> None:
        """Add each centre's error to its context rows: whole (mean) or its share (sum)."""
        to_context = np.ones_like(self.owner_count) if cbow_mean else 1.0 / self.owner_count
        rows = syn0.take(self.uniq, axis=0) if shared else self.rows
        add_csr_transpose_product(
            rows, self.indptr, self.local, to_context.astype(syn0.dtype), errors
        )
        syn0[self.uniq] = rows
        if updates0 is not None:
            updates0[self.uniq] += np.bincount(self.local, minlength=self.uniq.size)


def apply_targets(
    syn1: np.ndarray,
    uniq1: np.ndarray,
    local1: np.ndarray,
    coef: np.ndarray,
    u_rows: np.ndarray,
    hidden: np.ndarray,
    *,
    shared: bool,
) -> np.ndarray:
    """``errors = C @ U`` for the centres, then ``U += C.T @ H`` written back to ``syn1``.

    ``C`` has one row per centre with one entry per target (``local1``, ``coef``: (m, t));
    ``u_rows`` is ``syn1[uniq1]`` from before the step. Returns the (m, dim) errors.
    """
    m, width = local1.shape
    indptr = np.arange(0, (m + 1) * width, width, dtype=np.int32)
    return update_output_rows(syn1, uniq1, u_rows, indptr, local1, coef, hidden, shared=shared)


def cbow_step(
    syn0: np.ndarray,
    syn1neg: np.ndarray,
    tokens: np.ndarray,
    context: np.ndarray,
    valid: np.ndarray,
    centres: tuple[int, int],
    negatives: np.ndarray,
    lr: float,
    *,
    cbow_mean: bool = True,
    updates0: np.ndarray | None = None,
    updates1: np.ndarray | None = None,
    shared: bool = False,
    with_loss: bool = True,
) -> tuple[int, float]:
    """One Hogwild CBOW step over centres ``tokens[start:stop]``, weights updated in place.

    Parameters
    ----------
    syn0, syn1neg : np.ndarray
        Shape ``(vocab_size, dim)``, float32, C-contiguous.
    tokens : np.ndarray
        Shape ``(n,)``, intp: the (subsampled) batch.
    context, valid : np.ndarray
        Shape ``(stop-start, 2*window)``: :func:`~w2v_spark.train.kernel.window_pairs` rows of
        the step's centres (absolute context positions, and which of them are contexts).
    centres : tuple of int
        ``(start, stop)``.
    negatives : np.ndarray
        Shape ``(stop-start, k)``, intp: each centre's negatives.
    lr : float
        Learning rate of the step.
    cbow_mean : bool
        ``h`` is the mean of the context vectors (default, gensim's ``cbow_mean=1``) or their
        sum.
    updates0, updates1 : np.ndarray, optional
        Shape ``(vocab_size,)``, int64: incremented by the updates each row received (a
        context row once per centre it serves, a target row once per unmasked use).
    shared : bool
        Other processes write the weights too: add to freshly read rows.
    with_loss : bool
        Compute the loss (only reported).

    Returns
    -------
    examples : int
        Centres trained (those with at least one context word).
    loss_sum : float
        ``Σ -log σ(h·v'_w) - Σ_i log σ(-h·v'_{n_i})`` over them (0.0 unless ``with_loss``).
    """
    start, stop = centres
    windows = ContextWindows.gather(syn0, tokens, context, valid, cbow_mean)
    trained = windows.trained
    examples = int(np.count_nonzero(trained))
    if examples == 0:
        return 0, 0.0
    lr32 = np.float32(lr)
    targets = np.empty((stop - start, negatives.shape[1] + 1), dtype=np.intp)
    targets[:, 0] = tokens[start:stop]
    targets[:, 1:] = negatives
    uniq1, local1 = sorted_local_rows(targets, syn0.shape[0])
    u_rows = syn1neg.take(uniq1, axis=0)
    scores = np.matmul(u_rows.take(local1, axis=0), windows.hidden[:, :, None])[:, :, 0]
    masked = negatives == targets[:, :1]
    coef = sigmoid(scores)
    coef *= -lr32
    coef[:, 0] += lr32
    coef[:, 1:][masked] = 0.0
    coef[~trained] = 0.0
    loss = 0.0
    if with_loss:
        scores[:, 0] *= -1.0
        losses = softplus(scores)
        losses[:, 1:][masked] = 0.0
        loss = float(losses[trained].sum(dtype=np.float64))

    errors = apply_targets(syn1neg, uniq1, local1, coef, u_rows, windows.hidden, shared=shared)
    windows.scatter(syn0, errors, cbow_mean=cbow_mean, shared=shared, updates0=updates0)
    if updates1 is not None:
        used = local1.copy()
        used[:, 1:][masked] = uniq1.size
        used[~trained] = uniq1.size
        updates1[uniq1] += np.bincount(used.ravel(), minlength=uniq1.size + 1)[:-1]
    return examples, loss
