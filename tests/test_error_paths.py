"""Error paths a user meets, each one readable line: a checkpoint made with other settings, and
a vocabulary whose ids are not 0..V-1."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.planted import planted_vocabulary
from w2v_spark.config import build_config
from w2v_spark.errors import UserError
from w2v_spark.train.stage import train_model

SETTINGS = [
    "vocab.min_count=1",
    "vocab.tokenizer=whitespace",
    "train.vector_size=16",
    "train.epochs=1",
    "train.num_partitions=2",
]


@pytest.fixture(scope="module")
def tiny_vocab(spark, tmp_path_factory) -> Path:
    """The vocabulary job's output on a small planted corpus (about 7,500 tokens)."""
    root = tmp_path_factory.mktemp("errors")
    return planted_vocabulary(spark, root, SETTINGS, seed=11, n_sentences=500)


def test_resume_with_other_settings_names_them_in_one_line(spark, tiny_vocab, tmp_path):
    out = tmp_path / "model"
    train_model(spark, build_config({}, SETTINGS), vocab_dir=str(tiny_vocab), out=str(out))
    assert (out / "checkpoints" / "epoch-001" / "_SUCCESS").exists()
    # A run that died after its checkpoint, before the model was published: resumable.
    (out / "_SUCCESS").unlink()
    other = build_config({}, [*SETTINGS, "train.vector_size=8", "train.window=3"])
    with pytest.raises(UserError) as caught:
        train_model(spark, other, vocab_dir=str(tiny_vocab), out=str(out), resume=True)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(
        "checkpoint was made with other settings (vector_size: 16 != 8; window: 5 != 3)"
    )
    assert f"checkpoints are in {out / 'checkpoints'} (last complete epoch 1)" in message
    # Nothing was trained or removed: the checkpoint still resumes a run with its settings.
    assert (out / "checkpoints" / "epoch-001" / "_SUCCESS").exists()
    assert not (out / "_SUCCESS").exists()


def rewrite_ids(vocab: Path, tmp_path: Path, change) -> Path:
    """A copy of ``vocab`` whose vocab.parquet ids went through ``change(ids) -> ids``."""
    copy = tmp_path / "vocab"
    shutil.copytree(vocab, copy)
    table = pq.read_table(copy / "vocab.parquet")
    ids = change(table.column("id").to_pylist())
    shutil.rmtree(copy / "vocab.parquet")
    (copy / "vocab.parquet").mkdir()
    field = table.schema.field("id")
    table = table.set_column(table.schema.get_field_index("id"), field, [pa.array(ids, field.type)])
    pq.write_table(table, copy / "vocab.parquet" / "part-00000.parquet")
    (copy / "vocab.parquet" / "_SUCCESS").write_bytes(b"")
    return copy


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda ids: [i + 1 if i >= 5 else i for i in ids], id="gap"),
        pytest.param(lambda ids: [i if i != 7 else 6 for i in ids], id="duplicate"),
        pytest.param(lambda ids: [i + 1 for i in ids], id="starts-at-1"),
    ],
)
def test_vocabulary_ids_that_are_not_0_to_v_minus_1_are_refused(
    spark, tiny_vocab, tmp_path, change
):
    vocab = rewrite_ids(tiny_vocab, tmp_path, change)
    with pytest.raises(UserError) as caught:
        train_model(
            spark, build_config({}, SETTINGS), vocab_dir=str(vocab), out=str(tmp_path / "model")
        )
    assert str(caught.value) == f"vocabulary at {vocab} has gaps in its ids: rebuild it"
    assert not (tmp_path / "model" / "_SUCCESS").exists()
