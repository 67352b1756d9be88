"""CBOW with negative sampling (``train.sg = 0``): the step, its gradients, and what it learns."""

from __future__ import annotations

import numpy as np
import pytest

from tests.planted import planted_corpus
from w2v_spark.config import build_config
from w2v_spark.errors import UserError
from w2v_spark.train.cbow import cbow_step
from w2v_spark.train.kernel import init_weights, train_sentences, window_pairs
from w2v_spark.train.params import SgnsParams
from w2v_spark.train.replicas import resolve_replicas
from w2v_spark.train.sampling import keep_probabilities, noise_cdf, partition_rng


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _setup(seed: int = 0, vocab: int = 15, dim: int = 6, n: int = 24, window: int = 3):
    rng = np.random.default_rng(seed)
    syn0 = rng.normal(scale=0.5, size=(vocab, dim)).astype(np.float32)
    syn1 = rng.normal(scale=0.5, size=(vocab, dim)).astype(np.float32)
    tokens = rng.integers(0, vocab, size=n).astype(np.intp)
    tokens[5] = tokens[9]  # a repeated centre and context word
    segments = np.repeat([0, 1, 2], [10, 1, 13])  # a one-word sentence: a centre with no context
    windows = rng.integers(1, window + 1, size=n)
    _, valid, context = window_pairs(windows, segments, window)
    negatives = rng.integers(0, vocab, size=(n, 4)).astype(np.intp)
    negatives[::3, 0] = tokens[::3]  # a negative equal to the centre is skipped
    return syn0, syn1, tokens, valid, context, negatives


def _reference(syn0, syn1, tokens, valid, context, negatives, lr, cbow_mean):
    """gensim's per-centre CBOW update, every centre from the pre-step values, summed."""
    d0, d1 = np.zeros_like(syn0, np.float64), np.zeros_like(syn1, np.float64)
    loss = 0.0
    for i in range(tokens.size):
        ctx = tokens[context[i][valid[i]]]
        if ctx.size == 0:
            continue
        h = syn0[ctx].astype(np.float64).sum(0)
        if cbow_mean:
            h /= ctx.size
        error = np.zeros_like(h)
        for label, target in [(1.0, tokens[i]), *[(0.0, n) for n in negatives[i]]]:
            if label == 0.0 and target == tokens[i]:
                continue
            score = h @ syn1[target]
            loss += -np.log(_sigmoid(score)) if label else -np.log(_sigmoid(-score))
            g = lr * (label - _sigmoid(score))
            error += g * syn1[target]
            d1[target] += g * h
        for c in ctx:
            d0[c] += error if cbow_mean else error / ctx.size
    return syn0 + d0, syn1 + d1, loss


@pytest.mark.parametrize("cbow_mean", [True, False], ids=["mean", "sum"])
def test_a_step_equals_gensims_per_centre_updates_from_pre_step_values(cbow_mean):
    syn0, syn1, tokens, valid, context, negatives = _setup()
    want0, want1, want_loss = _reference(
        syn0, syn1, tokens, valid, context, negatives, 0.1, cbow_mean
    )
    updates0 = np.zeros(len(syn0), np.int64)
    updates1 = np.zeros(len(syn1), np.int64)
    examples, loss = cbow_step(
        syn0,
        syn1,
        tokens,
        context,
        valid,
        (0, tokens.size),
        negatives,
        0.1,
        cbow_mean=cbow_mean,
        updates0=updates0,
        updates1=updates1,
    )
    assert examples == int((valid.sum(1) > 0).sum()) == tokens.size - 1
    np.testing.assert_allclose(syn0, want0, atol=2e-6)
    np.testing.assert_allclose(syn1, want1, atol=2e-6)
    assert loss == pytest.approx(want_loss, rel=1e-5)
    # Each context row once per centre it serves; each target once per unmasked use.
    has = valid.sum(1) > 0
    want_updates0 = np.bincount(tokens[context[valid]], minlength=len(syn0))
    targets = np.column_stack([tokens, negatives])[has]
    used = np.ones_like(targets, bool)
    used[:, 1:] = negatives[has] != tokens[has, None]
    np.testing.assert_array_equal(updates0, want_updates0)
    np.testing.assert_array_equal(updates1, np.bincount(targets[used], minlength=len(syn1)))


@pytest.mark.parametrize("cbow_mean", [1, 0], ids=["mean", "sum"])
def test_the_update_is_the_loss_gradient_scaled_as_gensim_scales_it(cbow_mean):
    """syn1neg moves by exactly ``-lr * ∂loss/∂v'``; a context row by ``-lr * ∂loss/∂v_c``
    times ``|C|`` with the mean and divided by ``|C|`` with the sum: gensim's (and the C
    tool's) convention, which gives every context the whole error of the mean."""
    rng = np.random.default_rng(1)
    syn0 = rng.normal(scale=0.5, size=(12, 5))
    syn1 = rng.normal(scale=0.5, size=(12, 5))
    tokens = np.array([3, 7, 1, 8, 4, 6], np.intp)
    _, valid, context = window_pairs(np.full(6, 2), np.zeros(6, int), 2)
    negatives = np.full((6, 2), 10, np.intp)
    negatives[:, 1] = 11
    centre = 2  # contexts at positions 0, 1, 3, 4
    ctx = tokens[context[centre][valid[centre]]]
    assert ctx.tolist() == [3, 7, 8, 4]

    def loss(s0, s1):
        h = s0[ctx].sum(0) / (ctx.size if cbow_mean else 1)
        value = -np.log(_sigmoid(h @ s1[tokens[centre]]))
        return value - sum(np.log(_sigmoid(-h @ s1[n])) for n in negatives[centre])

    def finite_difference(matrix, row, other_first):
        grad, eps = np.zeros(matrix.shape[1]), 1e-6
        for j in range(matrix.shape[1]):
            up, down = matrix.copy(), matrix.copy()
            up[row, j] += eps
            down[row, j] -= eps
            args = ((up, syn1), (down, syn1)) if other_first else ((syn0, up), (syn0, down))
            grad[j] = (loss(*args[0]) - loss(*args[1])) / (2 * eps)
        return grad

    lr = 1e-3
    s0, s1 = syn0.astype(np.float32), syn1.astype(np.float32)
    only_centre = np.zeros_like(valid)
    only_centre[centre] = valid[centre]
    cbow_step(
        s0, s1, tokens, context, only_centre, (0, 6), negatives, lr, cbow_mean=bool(cbow_mean)
    )
    scale = ctx.size if cbow_mean else 1 / ctx.size
    for c in ctx:
        want = -lr * scale * finite_difference(syn0, c, True)
        np.testing.assert_allclose(s0[c] - syn0[c].astype(np.float32), want, atol=2e-6)
    for target in [tokens[centre], *negatives[centre]]:
        want = -lr * finite_difference(syn1, target, False)
        np.testing.assert_allclose(s1[target] - syn1[target].astype(np.float32), want, atol=2e-6)
    untouched = [r for r in range(12) if r not in {*ctx, tokens[centre], 10, 11}]
    np.testing.assert_array_equal(s0[untouched], syn0[untouched].astype(np.float32))


def _solved(words, vectors, analogies) -> float:
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    solved = 0
    for a, b, c, d in analogies:
        scores = unit @ (unit[b] - unit[a] + unit[c])
        scores[[a, b, c]] = -np.inf
        solved += int(np.argmax(scores)) == d
    return solved / len(analogies)


def test_cbow_learns_the_planted_analogies():
    words, counts, sentences, analogies = planted_corpus(seed=3, n_sentences=6000)
    syn0, syn1 = init_weights(len(words), 32, seed=1)
    params = SgnsParams(sg=0)
    keep, cdf = keep_probabilities(counts, 1e-3), noise_cdf(counts, 0.75)
    total = sum(map(len, sentences)) * 5
    for epoch in range(5):
        stats = train_sentences(
            syn0,
            syn1,
            sentences,
            params,
            keep_prob=keep,
            noise_cdf=cdf,
            rng=partition_rng(1, epoch, 0),
            progress_start=epoch / 5,
            progress_per_word=1 / total,
        )
        assert stats.pairs <= stats.trained_words  # one example per centre
    # Chance is ~1/290; skip-gram solves 1.0 of them on this corpus.
    assert _solved(words, syn0, analogies) >= 0.9


def test_cbow_is_refused_with_block_rotation_and_auto_picks_executor_copies():
    with pytest.raises(UserError, match="CBOW"):
        build_config({}, ["train.sg=0", "train.replicas=blocks"])
    assert resolve_replicas("auto", 8, local_master=False, sg=0) == "executor"
    assert resolve_replicas("auto", 8, local_master=False, sg=1) == "blocks"
    with pytest.raises(ValueError, match="sg must be 0 or 1"):
        SgnsParams(sg=2)
