"""Reference skip-gram losses and gradients: the tests' oracle for the kernels.

Plain NumPy (no side effects) and independent of :mod:`w2v_spark.train.kernel`:

* :func:`sgns_loss_and_grads`, negative sampling over independent pairs (no row summing), so
  a kernel step can be checked against ``-lr`` times these gradients summed per row;
* :func:`full_softmax_loss_and_grads`, the full-softmax skip-gram objective that negative
  sampling approximates, exact and O(pairs × V × dim): for tiny vocabularies only.
"""

from __future__ import annotations

import numpy as np

__all__ = ["full_softmax_loss_and_grads", "sgns_loss_and_grads"]


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


def full_softmax_loss_and_grads(
    syn0: np.ndarray,
    syn1: np.ndarray,
    centres: np.ndarray,
    contexts: np.ndarray,
) -> tuple[float, np.ndarray, np.ndarray]:
    """Full-softmax skip-gram loss of a list of pairs and its exact gradients (tiny V only).

    ``loss = Σ_p -log softmax(V' v_{w_p})[c_p] = Σ_p [ -v_{w_p}·v'_{c_p} + log Σ_j
    exp(v_{w_p}·v'_j) ]``, with ``v = syn0`` and ``v' = syn1``. With ``P_p = softmax(V'
    v_{w_p})`` and ``e_c`` the one-hot vector of ``c``, ``∂loss/∂s_p = P_p - e_{c_p}`` for the
    scores ``s_p = V' v_{w_p}``, so

    * ``∂loss/∂v_w = Σ_{p: w_p = w} (Σ_j P_pj v'_j - v'_{c_p})``,
    * ``∂loss/∂v'_j = Σ_p (P_pj - [j = c_p]) v_{w_p}``.

    Parameters
    ----------
    syn0, syn1 : np.ndarray
        Shape ``(V, dim)``: word ("input") and context ("output") vectors.
    centres, contexts : np.ndarray
        Shape ``(pairs,)``, integer word ids of each pair's centre ``w_p`` and context ``c_p``.

    Returns
    -------
    loss : float
    grad_syn0, grad_syn1 : np.ndarray
        Gradients of ``loss``, shape ``(V, dim)`` each, in the dtype of the inputs.
    """
    centres = np.asarray(centres, dtype=np.intp)
    contexts = np.asarray(contexts, dtype=np.intp)
    v_w = syn0[centres]  # (pairs, dim)
    scores = v_w @ syn1.T  # (pairs, V)
    log_z = np.logaddexp.reduce(scores, axis=1)
    rows = np.arange(centres.size)
    loss = float((log_z - scores[rows, contexts]).sum())
    d_scores = np.exp(scores - log_z[:, None])  # softmax P_p
    d_scores[rows, contexts] -= 1.0  # P_p - e_{c_p}
    grad_syn0 = np.zeros_like(syn0)
    np.add.at(grad_syn0, centres, d_scores @ syn1)
    grad_syn1 = d_scores.T @ v_w
    return loss, grad_syn0, grad_syn1
