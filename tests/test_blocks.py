"""Block rotation: the math (w2v_spark.train.blocks) and its layout on Spark (w2v_spark.train.rotation)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from tests.oracle import sgns_loss_and_grads
from w2v_spark.train.blocks import (
    PairBucket,
    _pairs_step,
    assign_blocks,
    block_noise,
    bucket_pairs,
    local_ids,
    rotation,
    train_pairs,
)
from w2v_spark.train.kernel import batches, init_weights, subsampled_batch, window_pairs
from w2v_spark.train.params import SgnsParams
from w2v_spark.train.rotation import bucket_partition, step_pairs_for
from w2v_spark.train.sampling import draw_alias, keep_probabilities, reduced_windows


def zipf_counts(vocab: int = 500) -> np.ndarray:
    return (100_000 / np.arange(1, vocab + 1)).astype(np.int64) + 5


def test_blocks_carry_equal_mass_and_every_block_has_words():
    counts = zipf_counts()
    mass = counts * keep_probabilities(counts, 1e-3)
    for blocks in (2, 4, 8):
        block_of = assign_blocks(mass, blocks)
        loads = np.bincount(block_of, weights=mass, minlength=blocks)
        assert set(block_of.tolist()) == set(range(blocks))
        assert loads.max() / loads.mean() < 1.02
    assert not assign_blocks(mass, 1).any()
    with pytest.raises(ValueError):
        assign_blocks(mass, 0)


def test_local_ids_number_each_blocks_words_in_id_order():
    block_of = np.array([1, 0, 1, 2, 0, 1], dtype=np.int32)
    assert local_ids(block_of).tolist() == [0, 0, 1, 0, 1, 2]


def test_a_sub_round_gives_every_task_its_own_syn0_block_and_its_own_syn1neg_block():
    for blocks in (1, 2, 5):
        seen = set()
        for r in range(blocks):
            buckets = rotation(blocks, r)
            assert sorted(i for i, _ in buckets) == list(range(blocks))
            assert sorted(j for _, j in buckets) == list(range(blocks))
            seen |= set(buckets)
        assert len(seen) == blocks * blocks  # every bucket once per rotation


def test_a_sub_rounds_buckets_are_consecutive_shuffle_partitions():
    blocks, passes = 3, 2
    where = {
        (i, j, p): bucket_partition((i, j, p), blocks)
        for i in range(blocks)
        for j in range(blocks)
        for p in range(passes)
    }
    assert sorted(where.values()) == list(range(passes * blocks * blocks))
    for p in range(passes):
        for r in range(blocks):
            first = (p * blocks + r) * blocks
            assert [where[(i, j, p)] for i, j in rotation(blocks, r)] == list(
                range(first, first + blocks)
            )


def test_bucketed_pairs_are_exactly_the_kernels_pairs_with_the_same_draws():
    rng = np.random.default_rng(0)
    counts = zipf_counts(300)
    keep = keep_probabilities(counts, 1e-2)
    sentences = [rng.integers(0, 300, rng.integers(1, 40)).astype(np.int32) for _ in range(300)]
    block_of = assign_blocks(counts.astype(float), 3)
    local = local_ids(block_of)
    buckets = bucket_pairs(
        sentences,
        SgnsParams(window=4, batch_words=500),
        keep_prob=keep,
        rng=np.random.default_rng(7),
        block_of=block_of,
        local=local,
        blocks=3,
    )
    expected, raw = Counter(), 0
    draws = np.random.default_rng(7)
    for batch in batches(sentences, 500):
        raw += sum(s.size for s in batch)
        tokens, segments = subsampled_batch(draws, batch, keep)
        windows = reduced_windows(draws, tokens.size, 4)
        _, valid, context = window_pairs(windows, segments, 4)
        centre_pos, slot = np.nonzero(valid)
        pairs = (tokens[centre_pos], tokens[context[centre_pos, slot]])
        expected.update(zip(pairs[0].tolist(), pairs[1].tolist(), strict=True))
    members = [np.flatnonzero(block_of == b) for b in range(3)]
    found = Counter()
    for (i, j), bucket in buckets.items():
        centres, contexts = members[i][bucket.centres], members[j][bucket.contexts]
        assert (block_of[centres] == i).all() and (block_of[contexts] == j).all()
        found.update(zip(centres.tolist(), contexts.tolist(), strict=True))
    assert found == expected and sum(expected.values()) > 1000
    assert sum(b.raw_words for b in buckets.values()) == pytest.approx(raw)


def test_block_noise_draws_the_unigram_power_restricted_to_the_block():
    counts = zipf_counts(60)
    block_of = assign_blocks(counts.astype(float), 3)
    members = np.flatnonzero(block_of == 1)
    prob, alias = block_noise(counts, block_of, 1, 0.75)
    draws = draw_alias(np.random.default_rng(1), prob, alias, 400_000)
    seen = np.bincount(draws, minlength=members.size) / draws.size
    want = counts[members] ** 0.75 / (counts[members] ** 0.75).sum()
    np.testing.assert_allclose(seen, want, atol=0.003)


def test_a_step_of_distinct_rows_is_minus_lr_times_the_reference_gradients():
    syn0, syn1 = init_weights(12, 6, seed=3)
    syn1 += np.random.default_rng(2).normal(0, 0.3, syn1.shape).astype(np.float32)
    centres = np.array([0, 1, 2])
    contexts = np.array([3, 4, 5])
    negatives = np.array([[6, 7], [8, 9], [10, 11]])
    loss, gw, gc, gn = sgns_loss_and_grads(syn0[centres], syn1[contexts], syn1[negatives])
    before0, before1 = syn0.copy(), syn1.copy()
    reported = _pairs_step(syn0, syn1, centres, contexts, negatives, 0.1, True)
    assert reported == pytest.approx(loss, rel=1e-5)
    np.testing.assert_allclose(syn0[centres] - before0[centres], -0.1 * gw, atol=1e-6)
    np.testing.assert_allclose(syn1[contexts] - before1[contexts], -0.1 * gc, atol=1e-6)
    np.testing.assert_allclose(syn1[negatives] - before1[negatives], -0.1 * gn, atol=1e-6)


def test_repeated_rows_in_a_step_receive_the_sum_and_a_negative_equal_to_the_context_is_masked():
    syn0, syn1 = init_weights(5, 4, seed=1)
    syn1 += 0.2
    centres, contexts = np.array([0, 0]), np.array([1, 2])
    negatives = np.array([[3, 1], [3, 4]])  # pair 0 draws its own context: masked
    before0, before1 = syn0.copy(), syn1.copy()
    _pairs_step(syn0, syn1, centres, contexts, negatives, 0.05, False)
    mask = np.array([[1.0, 0.0], [1.0, 1.0]], np.float32)
    _, gw, gc, gn = sgns_loss_and_grads(
        before0[centres], before1[contexts], before1[negatives], mask
    )
    np.testing.assert_allclose(syn0[0] - before0[0], -0.05 * gw.sum(0), atol=1e-6)
    want1 = np.zeros_like(before1)
    np.add.at(want1, contexts, -0.05 * gc)
    np.add.at(want1, negatives.ravel(), -0.05 * gn.reshape(-1, 4))
    np.testing.assert_allclose(syn1 - before1, want1, atol=1e-6)


def test_training_a_bucket_twice_lowers_its_loss():
    rng = np.random.default_rng(5)
    syn0, syn1 = init_weights(20, 8, seed=5)
    centres = rng.integers(0, 10, 6000).astype(np.int32)
    contexts = (centres + 10).astype(np.int32)  # each centre has one true context
    bucket = PairBucket(centres, contexts, 6000.0)
    prob, alias = block_noise(np.ones(20), np.zeros(20, np.int32), 0, 0.75)
    params = SgnsParams(negative=3, alpha=0.05, min_alpha=0.05, loss_every=1)
    first = train_pairs(
        syn0, syn1, bucket, params, noise=(prob, alias), rng=rng,
        progress_start=0.0, progress_per_word=0.0, step_pairs=8,
    )  # fmt: skip
    second = train_pairs(
        syn0, syn1, bucket, params, noise=(prob, alias), rng=rng,
        progress_start=0.0, progress_per_word=0.0, step_pairs=8,
    )  # fmt: skip
    assert first.pairs == second.pairs == 6000 and first.raw_words == 6000
    assert second.mean_loss < 0.7 * first.mean_loss


def test_steps_shrink_as_blocks_concentrate_the_frequent_rows():
    assert step_pairs_for(1) == 1024 and step_pairs_for(4) == 256
    assert step_pairs_for(1000) >= 16
