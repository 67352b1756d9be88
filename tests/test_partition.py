"""What a partition does in a sync: the learning rate it trains with, and what it reports."""

from __future__ import annotations

import itertools
import uuid

import numpy as np
import pytest

from tests.planted import planted_corpus
from w2v_spark.config import TrainConfig
from w2v_spark.train.averaging import RowBlock
from w2v_spark.train.kernel import init_weights, train_sentences
from w2v_spark.train.params import DEFAULT_STEP_TOKENS, SgnsParams
from w2v_spark.train.replicas import attach_shared_weights, remove_shared_weights
from w2v_spark.train.sampling import keep_probabilities, learning_rate, noise_cdf, partition_rng
from w2v_spark.train.sync_task import (
    REPLICA_KEY,
    SHARED_STEP_TOKENS,
    STATS_KEY,
    TASK_KEY,
    SyncTask,
    sgns_params,
)

ALPHA, MIN_ALPHA = 0.025, 0.0001
BATCH = 1_000


@pytest.fixture(scope="module")
def corpus():
    """The planted corpus cut into sentences of 100 words: batches of exactly 10 sentences."""
    words, counts, sentences, _ = planted_corpus(seed=1, n_sentences=1_500)
    stream = np.concatenate(sentences)
    cut = [stream[i : i + 100] for i in range(0, stream.size - stream.size % 100, 100)]
    return len(words), counts, cut[:200]  # 20,000 words, 20 batches


class Rates:
    """A ``words_before`` for train_sentences that records the rate of every batch."""

    def __init__(self, total: int, claim=None) -> None:
        self.total, self.claim, self.done, self.rates = total, claim, 0, []

    def __call__(self, words: int) -> int:
        before = self.claim(words) if self.claim is not None else self.done
        self.done += words
        self.rates.append(learning_rate(ALPHA, MIN_ALPHA, before / self.total))
        return before


def train(syn0, syn1neg, counts, sentences, rates: Rates):
    return train_sentences(
        syn0,
        syn1neg,
        sentences,
        SgnsParams(alpha=ALPHA, min_alpha=MIN_ALPHA, batch_words=BATCH),
        keep_prob=keep_probabilities(counts, 1e-3),
        noise_cdf=noise_cdf(counts, 0.75),
        rng=partition_rng(1, 1, 0, 0),
        progress_start=0.0,
        progress_per_word=1.0 / rates.total,
        words_before=rates,
    )


def test_kernel_params_come_from_the_train_config_with_shorter_steps_for_a_shared_copy():
    cfg = TrainConfig(window=7, negative=3, alpha=0.05, min_alpha=0.001, batch_words=2_000)
    own = sgns_params(cfg)
    assert own == SgnsParams(7, 3, 0.05, 0.001, 2_000, DEFAULT_STEP_TOKENS)
    assert sgns_params(cfg, shared=True).step_tokens == SHARED_STEP_TOKENS < DEFAULT_STEP_TOKENS
    scaled = sgns_params(cfg, alpha_scale=2.0)
    assert (scaled.alpha, scaled.min_alpha) == (0.1, 0.001)  # the floor is not scaled


def test_tasks_sharing_a_copy_one_after_another_continue_one_schedule(spark, corpus):
    vocab_size, counts, sentences = corpus
    total = sum(map(len, sentences))
    alone = Rates(total)
    train(*init_weights(vocab_size, 16, 1), counts, sentences, alone)
    assert len(alone.rates) == 20

    token = uuid.uuid4().hex
    broadcast = spark.sparkContext.broadcast(init_weights(vocab_size, 16, 1))
    try:
        rates = []
        for part in (sentences[:60], sentences[60:130], sentences[130:]):  # 3 tasks, in turn
            replica = attach_shared_weights(token, 1, 0, broadcast)
            task = Rates(total, replica.claim_words)
            train(*replica.weights, counts, part, task)
            rates += task.rates
    finally:
        broadcast.unpersist()
        remove_shared_weights(token)
    # One monotone sequence, the single process's: no task starts the schedule over.
    assert rates == alone.rates
    assert all(a > b for a, b in itertools.pairwise(rates))


def run_tasks(spark, corpus, parts, replicas: str, total: int, progress_stop: float = 1.0):
    """SyncTask over ``parts`` one after another (as one core of an executor runs them);
    returns each task's records as a dict. ``total``: words of the run per copy-word."""
    vocab_size, counts, _ = corpus
    sc = spark.sparkContext
    broadcast = sc.broadcast(init_weights(vocab_size, 16, 1))
    tables = sc.broadcast((keep_probabilities(counts, 1e-3), noise_cdf(counts, 0.75)))
    token = uuid.uuid4().hex
    task = SyncTask(
        weights=broadcast,
        tables=tables,
        seed=1,
        epoch=1,
        sync=0,
        syncs=1,
        params=sgns_params(
            TrainConfig(alpha=ALPHA, min_alpha=MIN_ALPHA, batch_words=BATCH),
            shared=replicas == "executor",
        ),
        progress_start=0.0,
        progress_per_word=1.0 / total,
        progress_stop=progress_stop,
        averaging="mean",
        replicas=replicas,
        run_token=token,
    )
    try:
        return [dict(task(i, iter(part))) for i, part in enumerate(parts)]
    finally:
        broadcast.unpersist()
        tables.unpersist()
        remove_shared_weights(token)


def replica_names(records: list[dict]) -> list:
    return [k for r in records for k in r if isinstance(k, tuple) and k[0] == REPLICA_KEY]


def test_executor_tasks_report_rates_that_continue_each_other_and_one_replica(spark, corpus):
    sentences = corpus[2]
    total = sum(map(len, sentences))  # one executor: its words are all the words
    records = run_tasks(spark, corpus, (sentences[:100], sentences[100:]), "executor", total)
    first, second = (r[(TASK_KEY, i)] for i, r in enumerate(records))
    # (first words, last words, first rate, last rate): the second task goes on where the
    # first stopped (10 batches of 1,000 words), down to the schedule's last batch.
    assert first[:2] == (0, 9_000) and second[:2] == (10_000, 19_000)
    assert second[2] == pytest.approx(learning_rate(ALPHA, MIN_ALPHA, 0.5))
    assert second[3] == pytest.approx(learning_rate(ALPHA, MIN_ALPHA, 0.95))
    # Both tasks wrote one replica, and said so under the same name.
    names = replica_names(records)
    assert len(names) == 2 and len(set(names)) == 1
    assert all(STATS_KEY in r for r in records)


@pytest.mark.parametrize("replicas", ["executor", "partition"])
def test_each_task_records_its_phases_and_the_bytes_it_sent(spark, corpus, replicas):
    sentences = corpus[2]
    total = sum(map(len, sentences))
    records = run_tasks(spark, corpus, (sentences[:100], sentences[100:]), replicas, total)
    for i, record in enumerate(records):
        phases = record[(TASK_KEY, i)][4]
        sent = sum(v.nbytes for k, v in record.items() if isinstance(v, RowBlock))
        assert sent > 0 and phases["report_bytes"] == sent
        assert phases["train_seconds"] > 0
        assert phases["attach_seconds"] >= 0 and phases["report_seconds"] >= 0
        assert phases["worker_peak_bytes"] > 2**20


def test_private_copies_each_follow_their_own_share_of_the_schedule(spark, corpus):
    sentences = corpus[2]
    # Two copies side by side: each word of a copy is two words of the run.
    total = sum(map(len, sentences)) // 2
    records = run_tasks(spark, corpus, (sentences[:100], sentences[100:]), "partition", total)
    for i, record in enumerate(records):
        words_first, words_last, rate_first, rate_last, _ = record[(TASK_KEY, i)]
        assert (words_first, words_last) == (0, 9_000)
        assert rate_first == ALPHA
        assert rate_last == pytest.approx(learning_rate(ALPHA, MIN_ALPHA, 0.9))
    assert set(replica_names(records)) == {
        (REPLICA_KEY, "partition 0"),
        (REPLICA_KEY, "partition 1"),
    }


def test_a_task_never_runs_past_its_syncs_end_of_the_schedule(spark, corpus):
    sentences = corpus[2]
    # This sync ends a quarter into the run; the task has all the words (an executor that
    # ran more tasks than its share): its rate stops at the sync's end.
    total = sum(map(len, sentences))
    (records,) = run_tasks(spark, corpus, (sentences,), "partition", total, progress_stop=0.25)
    record = records[(TASK_KEY, 0)]
    assert record[1] == 5_000
    assert record[3] == pytest.approx(learning_rate(ALPHA, MIN_ALPHA, 0.25))
