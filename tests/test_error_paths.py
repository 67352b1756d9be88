"""Error paths a user meets, each one readable line: a checkpoint made with other settings or
another vocabulary, and a vocabulary whose ids are not 0..V-1. Nothing is changed by a refusal."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.planted import planted_corpus, planted_vocabulary
from w2v_spark.config import build_config
from w2v_spark.errors import UserError
from w2v_spark.train.stage import train_model
from w2v_spark.vocab.stage import build_vocabulary

SETTINGS = [
    "vocab.min_count=1",
    "vocab.tokenizer=whitespace",
    "train.vector_size=16",
    "train.epochs=1",
    "train.num_partitions=2",
]
SEED, SENTENCES = 11, 500


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (hidden ones included) with its bytes."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def tiny_vocab(spark, tmp_path_factory) -> Path:
    """The vocabulary job's output on a small planted corpus (about 7,500 tokens)."""
    root = tmp_path_factory.mktemp("errors")
    return planted_vocabulary(spark, root, SETTINGS, seed=SEED, n_sentences=SENTENCES)


@pytest.fixture(scope="module")
def interrupted(spark, tiny_vocab, tmp_path_factory) -> Path:
    """A model directory of a run that died after its checkpoint, before the model was
    published: resumable with SETTINGS and tiny_vocab."""
    out = tmp_path_factory.mktemp("interrupted") / "model"
    train_model(spark, build_config({}, SETTINGS), vocab_dir=str(tiny_vocab), out=str(out))
    assert (out / "checkpoints" / "epoch-001" / "_SUCCESS").exists()
    (out / "_SUCCESS").unlink()
    return out


def resume_refused(spark, interrupted: Path, tmp_path: Path, vocab: Path, *settings: str) -> str:
    """Resume a copy of ``interrupted`` with SETTINGS + ``settings`` on ``vocab``; check it is
    refused in one line and leaves every file of the copy as it was. Returns the message."""
    out = tmp_path / "model"
    shutil.copytree(interrupted, out)
    before = snapshot(out)
    config = build_config({}, [*SETTINGS, *settings])
    with pytest.raises(UserError) as caught:
        train_model(spark, config, vocab_dir=str(vocab), out=str(out), resume=True)
    message = str(caught.value)
    assert "\n" not in message
    assert message.endswith(
        f"; this run's checkpoints are in {out / 'checkpoints'} (last complete epoch 1): rerun "
        "with --resume (same settings) to continue"
    )
    # Nothing was trained, written or removed: the checkpoint still resumes its own settings.
    assert snapshot(out) == before
    return message


@pytest.mark.parametrize(
    "settings, mismatch",
    [
        (["train.vector_size=8"], "vector_size: 16 in the checkpoint, 8 in this run"),
        (["train.window=3"], "window: 5 in the checkpoint, 3 in this run"),
        (
            ["train.vector_size=8", "train.window=3"],
            "vector_size: 16 in the checkpoint, 8 in this run; "
            "window: 5 in the checkpoint, 3 in this run",
        ),
    ],
    ids=["vector_size", "window", "both"],
)
def test_resuming_a_checkpoint_with_other_settings_names_each_one_and_changes_nothing(
    spark, tiny_vocab, interrupted, tmp_path, settings, mismatch
):
    message = resume_refused(spark, interrupted, tmp_path, tiny_vocab, *settings)
    assert message.startswith(f"checkpoint was made with other settings ({mismatch}); ")


def test_resuming_a_checkpoint_on_a_vocabulary_of_another_size_is_refused(
    spark, tiny_vocab, interrupted, tmp_path
):
    # The same corpus counted with min_count 2: a real vocabulary, smaller than the checkpoint's.
    smaller = planted_vocabulary(
        spark, tmp_path, [*SETTINGS, "vocab.min_count=2"], seed=SEED, n_sentences=SENTENCES
    )
    saved = pq.read_table(tiny_vocab / "vocab.parquet").num_rows
    now = pq.read_table(smaller / "vocab.parquet").num_rows
    assert now < saved
    message = resume_refused(spark, interrupted, tmp_path, smaller)
    assert message.startswith(
        f"checkpoint was made with other settings (vocab_size: {saved} in the checkpoint, "
        f"{now} in this run; vocabulary_digest: "
    )


def test_resuming_a_checkpoint_on_another_vocabulary_of_the_same_size_is_refused(
    spark, interrupted, tmp_path
):
    # The checkpoint's corpus with every word renamed: as many words, counts in the same order,
    # none of them the checkpoint's. Resuming would give each row's vector to another word.
    words, _, sentences, _ = planted_corpus(seed=SEED, n_sentences=SENTENCES)
    (tmp_path / "corpus.txt").write_text(
        "\n".join(" ".join("x" + words[i] for i in s) for s in sentences)
    )
    other = tmp_path / "vocab"
    build_vocabulary(
        spark, build_config({}, SETTINGS), corpus=str(tmp_path / "corpus.txt"), out=str(other)
    )
    message = resume_refused(spark, interrupted, tmp_path, other)
    assert message.startswith("checkpoint was made with other settings (vocabulary_digest: ")


def rewrite_ids(vocab: Path, tmp_path: Path, change) -> Path:
    """A copy of ``vocab`` whose vocab.parquet ids went through ``change(ids) -> ids``."""
    copy = tmp_path / "vocab"
    shutil.copytree(vocab, copy)
    table = pq.read_table(copy / "vocab.parquet")
    ids = change(table.column("id").to_pylist())
    shutil.rmtree(copy / "vocab.parquet")
    (copy / "vocab.parquet").mkdir()
    field = table.schema.field("id").with_nullable(None in ids)  # the job writes no nulls
    table = table.set_column(table.schema.get_field_index("id"), field, [pa.array(ids, field.type)])
    pq.write_table(table, copy / "vocab.parquet" / "part-00000.parquet")
    (copy / "vocab.parquet" / "_SUCCESS").write_bytes(b"")
    return copy


@pytest.mark.parametrize(
    "change, problem",
    [
        (lambda ids: [i + 1 if i >= 5 else i for i in ids], "lacks id 5"),
        (lambda ids: [i if i != 7 else 6 for i in ids], "has id 6 on 2 rows"),
        (lambda ids: [i + 1 for i in ids], "lacks id 0"),
        (lambda ids: [i - 1 for i in ids], "has a negative id (-1)"),
        (lambda ids: [None if i in (3, 9) else i for i in ids], "has no id on 2 of its rows"),
    ],
    ids=["gap", "duplicate", "starts-at-1", "negative", "null"],
)
def test_training_refuses_a_vocabulary_with_id_gaps_or_duplicates(
    spark, tiny_vocab, tmp_path, change, problem
):
    vocab = rewrite_ids(tiny_vocab, tmp_path, change)
    rows = pq.read_table(vocab / "vocab.parquet").num_rows
    before = snapshot(vocab)
    with pytest.raises(UserError) as caught:
        train_model(
            spark, build_config({}, SETTINGS), vocab_dir=str(vocab), out=str(tmp_path / "model")
        )
    assert str(caught.value) == (
        f"vocabulary at {vocab} {problem}; its ids must be 0..{rows - 1}, one row each: "
        "rebuild it with the vocabulary job"
    )
    assert snapshot(vocab) == before
    assert not (tmp_path / "model" / "_SUCCESS").exists()
