"""Reference skip-gram negative-sampling loss and gradients: the tests' oracle for the kernels.

Plain NumPy over independent pairs (no row summing, no side effects) and independent of
:mod:`w2v_spark.train.kernel`, so a kernel step can be checked against ``-lr`` times these
gradients summed per row.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sgns_loss_and_grads"]


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

    ``loss = Σ_p [ -log σ(v_w·v'_c) - Σ_i mask_i log σ(-v_w·v'_{n_i}) ]``. The kernels'
    update is ``-lr`` times these gradients, summed per row
    (:func:`w2v_spark.train.kernel.sgns_update`, :func:`w2v_spark.train.blocks.train_pairs`).

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
