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
    update_output_rows,
)


@dataclass
class ContextWindows:
    """A CBOW step's context side: the hidden vectors and where their errors go back.

    ``S`` has one row per centre and one entry per context position (row-major order of
    ``valid``), as CSR arrays ``indptr`` / ``ids`` (global ``syn0`` rows): ``H = S @ syn0``
    reads the context rows where they are, and ``syn0 += S.T @ E`` adds the errors back in
    place. Shared by :func:`cbow_step` and :func:`w2v_spark.train.hs.hs_cbow_step`.
    """

    indptr: np.ndarray
    ids: np.ndarray
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
        ids = tokens[context[valid]].astype(np.int32)
        owner_count = np.repeat(np.maximum(per_centre, 1).astype(np.float32), per_centre)
        to_hidden = (1.0 / owner_count) if cbow_mean else np.ones_like(owner_count)
        hidden = np.zeros((m, syn0.shape[1]), dtype=syn0.dtype)
        add_csr_product(hidden, indptr, ids, to_hidden.astype(syn0.dtype), syn0)
        return cls(indptr, ids, owner_count, per_centre > 0, hidden)

    def scatter(
        self,
        syn0: np.ndarray,
        errors: np.ndarray,
        *,
        cbow_mean: bool,
        updates0: np.ndarray | None,
    ) -> None:
        """Add each centre's error to its context rows: whole (mean) or its share (sum)."""
        to_context = np.ones_like(self.owner_count) if cbow_mean else 1.0 / self.owner_count
        add_csr_transpose_product(
            syn0, self.indptr, self.ids, to_context.astype(syn0.dtype), errors
        )
        if updates0 is not None:
            np.add.at(updates0, self.ids, 1)


def apply_targets(
    syn1: np.ndarray,
    targets: np.ndarray,
    coef: np.ndarray,
    target_rows: np.ndarray,
    hidden: np.ndarray,
    output_coef: np.ndarray | None = None,
) -> np.ndarray:
    """``errors = C @ U`` for the centres, then ``syn1 += C.T @ H`` in place.

    ``C`` has one row per centre with one entry per target (``targets``, global rows, and
    ``coef``: (m, t)); ``target_rows`` is ``syn1[targets]`` (m, t, dim) from before the step.
    ``output_coef`` replaces ``coef`` on the ``syn1`` side only
    (:func:`~w2v_spark.train.rows.update_output_rows`). Returns the (m, dim) errors.
    """
    m, width = targets.shape
    indptr = np.arange(0, (m + 1) * width, width, dtype=np.int32)
    return update_output_rows(syn1, targets, target_rows, indptr, coef, hidden, output_coef)


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
    target_rows = syn1neg.take(targets, axis=0)  # (centres, k+1, dim)
    scores = np.matmul(target_rows, windows.hidden[:, :, None])[:, :, 0]
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

    errors = apply_targets(syn1neg, targets, coef, target_rows, windows.hidden)
    windows.scatter(syn0, errors, cbow_mean=cbow_mean, updates0=updates0)
    if updates1 is not None:
        counted = np.ones(targets.shape, dtype=bool)
        counted[:, 1:] = ~masked
        counted[~trained] = False
        np.add.at(updates1, targets[counted], 1)
    return examples, loss
