"""Tests of word2vec's sampling details (w2v_spark.train.sampling)."""

from __future__ import annotations

import numpy as np
import pytest

from w2v_spark.train.sampling import (
    alias_table,
    draw_alias,
    draw_negatives,
    keep_probabilities,
    learning_rate,
    noise_cdf,
    partition_rng,
    reduced_windows,
    subsample,
)

# Chi-square critical values at p = 0.001 (so a correct sampler fails 1 run in 1000; the
# seeds are fixed, so these tests are deterministic).
CHI2_999 = {4: 18.47, 5: 20.52, 9: 27.88}


def chi_square(observed: np.ndarray, expected: np.ndarray) -> float:
    return float(((observed - expected) ** 2 / expected).sum())


def test_keep_probability_matches_word2vec_formula():
    counts = np.array([1000, 100, 10, 1], dtype=np.int64)
    sample = 1e-2
    total = counts.sum()  # 1111, so s*T = 11.11
    threshold = sample * total
    expected = [(np.sqrt(f / threshold) + 1) * threshold / f for f in counts]
    # By hand for f = 1000: (sqrt(1000/11.11) + 1) * 11.11/1000 = (9.4873 + 1) * 0.01111
    assert expected[0] == pytest.approx(0.116515, rel=1e-4)
    keep = keep_probabilities(counts, sample)
    assert keep.dtype == np.float32
    np.testing.assert_allclose(keep[:2], expected[:2], rtol=1e-6)
    # f = 10 and f = 1 give values above 1, clipped.
    np.testing.assert_array_equal(keep[2:], [1.0, 1.0])


def test_keep_probability_is_one_when_sampling_disabled():
    keep = keep_probabilities(np.array([10**6, 5, 1]), 0.0)
    np.testing.assert_array_equal(keep, np.ones(3, dtype=np.float32))


def test_noise_cdf_is_cumulative_count_power_ending_at_one():
    counts = np.array([16, 1, 81, 0])
    cdf = noise_cdf(counts, 0.75)
    weights = np.array([8.0, 1.0, 27.0, 0.0])  # 16**.75, 1**.75, 81**.75, 0
    assert cdf.dtype == np.float64
    np.testing.assert_allclose(cdf, np.cumsum(weights) / 36.0)
    assert cdf[-1] == 1.0


def test_draw_negatives_follows_noise_distribution():
    counts = np.array([1000, 300, 100, 30, 10, 3])
    cdf = noise_cdf(counts, 0.75)
    probs = np.diff(np.concatenate([[0.0], cdf]))
    draws = draw_negatives(np.random.default_rng(0), cdf, 200_000)
    assert draws.min() >= 0 and draws.max() < counts.size
    observed = np.bincount(draws, minlength=counts.size)
    assert chi_square(observed, probs * draws.size) < CHI2_999[5]


def test_draw_negatives_never_draws_zero_count_words():
    cdf = noise_cdf(np.array([0, 5, 0, 5, 0]), 0.75)
    draws = draw_negatives(np.random.default_rng(1), cdf, (1000, 5))
    assert draws.shape == (1000, 5)
    assert set(np.unique(draws)) == {1, 3}


def test_alias_table_encodes_the_noise_distribution_exactly():
    counts = np.array([1000, 300, 0, 100, 30, 10, 3, 0])
    cdf = noise_cdf(counts, 0.75)
    probs = np.diff(np.concatenate([[0.0], cdf]))
    prob, alias = alias_table(cdf)
    assert prob.shape == alias.shape == counts.shape
    assert prob.min() >= 0.0 and prob.max() <= 1.0
    # P(i) = (prob[i] + Σ_{j: alias[j] = i} (1 - prob[j])) / V
    mass = prob.copy()
    np.add.at(mass, alias, 1.0 - prob)
    np.testing.assert_allclose(mass / counts.size, probs, atol=1e-15)
    np.testing.assert_array_equal(prob[counts == 0], 0.0)
    assert np.all(counts[alias[counts == 0]] > 0)


def test_draw_alias_follows_noise_distribution():
    counts = np.array([1000, 300, 100, 30, 10, 3])
    cdf = noise_cdf(counts, 0.75)
    probs = np.diff(np.concatenate([[0.0], cdf]))
    draws = draw_alias(np.random.default_rng(0), *alias_table(cdf), 200_000)
    assert draws.dtype == np.intp
    assert draws.min() >= 0 and draws.max() < counts.size
    observed = np.bincount(draws, minlength=counts.size)
    assert chi_square(observed, probs * draws.size) < CHI2_999[5]


def test_draw_alias_follows_a_large_zipf_distribution():
    # Vocabulary-sized case (many words below the mean, a few far above): pooled into 10
    # equal-probability bins of the CDF, the chi-square test has 9 degrees of freedom.
    counts = (1e6 / np.arange(1, 20_001)).astype(np.int64) + 1
    cdf = noise_cdf(counts, 0.75)
    draws = draw_alias(np.random.default_rng(1), *alias_table(cdf), 500_000)
    bins = np.searchsorted(cdf, np.linspace(0, 1, 11)[1:-1], side="right")
    edges = np.concatenate([[0], bins, [counts.size]])
    observed = np.add.reduceat(np.bincount(draws, minlength=counts.size), edges[:-1])
    expected = np.diff(np.concatenate([[0.0], cdf[edges[1:] - 1]])) * draws.size
    assert chi_square(observed, expected) < CHI2_999[9]


def test_draw_alias_never_draws_zero_count_words():
    cdf = noise_cdf(np.array([0, 5, 0, 5, 0]), 0.75)
    draws = draw_alias(np.random.default_rng(1), *alias_table(cdf), (1000, 5))
    assert draws.shape == (1000, 5)
    assert set(np.unique(draws)) == {1, 3}


def test_learning_rate_decays_linearly_and_clips():
    assert learning_rate(0.025, 0.0001, 0.0) == pytest.approx(0.025)
    assert learning_rate(0.025, 0.0001, 0.5) == pytest.approx(0.01255)
    assert learning_rate(0.025, 0.0001, 1.0) == pytest.approx(0.0001)
    assert learning_rate(0.025, 0.0001, 1.7) == pytest.approx(0.0001)
    assert learning_rate(0.025, 0.0001, -0.2) == pytest.approx(0.025)


def test_reduced_windows_are_uniform_on_one_to_window():
    windows = reduced_windows(np.random.default_rng(2), 100_000, 5)
    assert windows.min() == 1 and windows.max() == 5
    observed = np.bincount(windows, minlength=6)[1:]
    assert chi_square(observed, np.full(5, windows.size / 5)) < CHI2_999[4]


def test_subsample_keeps_each_word_with_its_keep_probability():
    keep_prob = np.linspace(0.1, 1.0, 10).astype(np.float32)
    ids = np.repeat(np.arange(10, dtype=np.int32), 20_000)
    kept = subsample(np.random.default_rng(3), ids, keep_prob)
    assert kept.dtype == ids.dtype
    assert np.all(np.diff(kept) >= 0)  # order preserved
    rate = np.bincount(kept, minlength=10) / 20_000
    # Binomial standard deviation is at most 0.0036 here; allow 5 of them.
    np.testing.assert_allclose(rate, keep_prob, atol=0.018)
    assert rate[-1] == 1.0


def test_subsample_draws_afresh_each_call():
    rng = np.random.default_rng(4)
    ids = np.arange(1000, dtype=np.int32)
    keep_prob = np.full(1000, 0.5, dtype=np.float32)
    assert not np.array_equal(subsample(rng, ids, keep_prob), subsample(rng, ids, keep_prob))


def test_partition_rng_is_reproducible_and_distinct_per_tuple():
    first = partition_rng(7, 1, 2).random(5)
    np.testing.assert_array_equal(first, partition_rng(7, 1, 2, 0).random(5))
    for other in [(7, 1, 3, 0), (7, 2, 2, 0), (8, 1, 2, 0), (7, 1, 2, 1)]:
        assert not np.array_equal(first, partition_rng(*other).random(5))
