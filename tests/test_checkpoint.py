"""Resuming never trips over a damaged checkpoint when an earlier one is intact (issue 15)."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.planted import planted_vocabulary
from w2v_spark.config import build_config
from w2v_spark.errors import UserError
from w2v_spark.train import stage as training
from w2v_spark.train.checkpoint import load_last_checkpoint, save_checkpoint
from w2v_spark.train.stage import train_model

# One copy per partition: the bit-reproducible mode, so a resumed epoch equals the lost one.
SETTINGS = [
    "vocab.min_count=1",
    "vocab.tokenizer=whitespace",
    "train.vector_size=16",
    "train.epochs=2",
    "train.num_partitions=2",
    "train.replicas=partition",
]


def train(spark, vocab: str, out: Path, **kwargs):
    return train_model(spark, build_config({}, SETTINGS), vocab_dir=vocab, out=str(out), **kwargs)


@pytest.fixture(scope="module")
def tiny_vocab(spark, tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("tiny")
    return str(planted_vocabulary(spark, root, SETTINGS, seed=5, n_sentences=1500))


@pytest.fixture(scope="module")
def crashed_run(spark, tiny_vocab, tmp_path_factory) -> tuple[Path, np.ndarray]:
    """A run killed right after its last epoch's checkpoint (epoch-001 and epoch-002 kept),
    and the epoch-2 weights as written."""
    out = tmp_path_factory.mktemp("crashed") / "model"
    mp = pytest.MonkeyPatch()
    real_save = training.save_checkpoint

    def crash_after_last_epoch(spark_, model_dir, epoch, *args, **kwargs):
        path = real_save(spark_, model_dir, epoch, *args, **kwargs)
        if epoch == 2:
            raise RuntimeError("driver killed")
        return path

    mp.setattr(training, "save_checkpoint", crash_after_last_epoch)
    try:
        with pytest.raises(RuntimeError, match="driver killed"):
            train(spark, tiny_vocab, out)
    finally:
        mp.undo()
    names = sorted(p.name for p in (out / "checkpoints").iterdir())
    assert names == ["epoch-001", "epoch-002"]
    return out, np.load(out / "checkpoints" / "epoch-002" / "syn0.npy")


def copy_of(crashed_run, tmp_path: Path) -> Path:
    out = tmp_path / "model"
    shutil.copytree(crashed_run[0], out)
    return out


def resume_past_damage(spark, tiny_vocab, out: Path, epoch2_syn0: np.ndarray, caplog) -> str:
    """Resume; check it restarted from epoch 1 and finished as the lost epoch 2 had. Returns
    the warnings logged."""
    with caplog.at_level(logging.INFO, logger="w2v_spark.train.checkpoint"):
        result = train(spark, tiny_vocab, out, resume=True)
    assert f"resuming from {out}/checkpoints/epoch-001" in caplog.text
    assert [m["epoch"] for m in result.metrics] == [1, 2]
    assert (out / "_SUCCESS").exists()
    np.testing.assert_allclose(result.syn0, epoch2_syn0, rtol=0, atol=1e-5)
    # The epoch-2 checkpoint was written again, whole.
    assert load_last_checkpoint(spark, str(out)).epoch == 2
    return "\n".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


def test_truncated_newest_checkpoint_falls_back_to_the_one_before(
    spark, tiny_vocab, crashed_run, tmp_path, caplog
):
    out = copy_of(crashed_run, tmp_path)
    damaged = out / "checkpoints" / "epoch-002" / "syn0.npy"
    size = damaged.stat().st_size
    damaged.write_bytes(damaged.read_bytes()[: size // 2])
    warnings = resume_past_damage(spark, tiny_vocab, out, crashed_run[1], caplog)
    assert f"skipping damaged checkpoint {out}/checkpoints/epoch-002" in warnings
    assert f"syn0.npy is {size // 2} bytes, state.json records {size}" in warnings


def test_a_flipped_byte_fails_the_checksum_and_falls_back(
    spark, tiny_vocab, crashed_run, tmp_path, caplog
):
    out = copy_of(crashed_run, tmp_path)
    damaged = out / "checkpoints" / "epoch-002" / "syn0.npy"
    data = bytearray(damaged.read_bytes())
    data[-3] ^= 0x40  # same size, still a loadable array
    damaged.write_bytes(bytes(data))
    warnings = resume_past_damage(spark, tiny_vocab, out, crashed_run[1], caplog)
    assert "epoch-002: syn0.npy fails its SHA-256 checksum" in warnings


def small_checkpoints(spark, model: Path, momentum: bool = False) -> None:
    """Epochs 1 and 2 of a 6 x 4 model, straight through save_checkpoint."""
    rng = np.random.default_rng(0)
    for epoch in (1, 2):
        syn0, syn1neg = rng.random((2, 6, 4), dtype=np.float32)
        state = {
            "epoch": epoch,
            "words_done": 100 * epoch,
            "metrics": [],
            "fingerprint": {"vocab_size": 6, "vector_size": 4},
        }
        moves = (syn0 * 0.1, syn1neg * 0.1) if momentum else None
        save_checkpoint(spark, str(model), epoch, syn0, syn1neg, state, momentum=moves)


def test_state_json_records_each_array_file(spark, tmp_path):
    small_checkpoints(spark, tmp_path / "model", momentum=True)
    path = tmp_path / "model" / "checkpoints" / "epoch-002"
    files = json.loads((path / "state.json").read_text())["files"]
    assert sorted(files) == ["momentum0.npy", "momentum1.npy", "syn0.npy", "syn1neg.npy"]
    assert files["syn0.npy"]["bytes"] == (path / "syn0.npy").stat().st_size
    assert files["syn0.npy"]["shape"] == [6, 4] and files["syn0.npy"]["dtype"] == "float32"
    last = load_last_checkpoint(spark, str(tmp_path / "model"))
    assert last.epoch == 2 and last.momentum[1].shape == (6, 4)


def test_unreadable_state_json_is_skipped_with_its_reason(spark, tmp_path, caplog):
    small_checkpoints(spark, tmp_path / "model")
    (tmp_path / "model" / "checkpoints" / "epoch-002" / "state.json").write_text('{"epoch": 2,')
    with caplog.at_level(logging.WARNING, logger="w2v_spark.train.checkpoint"):
        last = load_last_checkpoint(spark, str(tmp_path / "model"))
    assert last.epoch == 1
    assert "epoch-002: state.json is not valid JSON" in caplog.text


def test_a_checkpoint_without_file_records_is_still_verified_by_its_shapes(spark, tmp_path, caplog):
    # Written before state.json recorded files: a truncated array no longer loads.
    small_checkpoints(spark, tmp_path / "model")
    for epoch in (1, 2):
        state_path = tmp_path / "model" / "checkpoints" / f"epoch-{epoch:03d}" / "state.json"
        state = json.loads(state_path.read_text())
        del state["files"]
        state_path.write_text(json.dumps(state))
    damaged = tmp_path / "model" / "checkpoints" / "epoch-002" / "syn1neg.npy"
    damaged.write_bytes(damaged.read_bytes()[:-10])
    with caplog.at_level(logging.WARNING, logger="w2v_spark.train.checkpoint"):
        last = load_last_checkpoint(spark, str(tmp_path / "model"))
    assert last.epoch == 1
    assert "epoch-002: syn1neg.npy does not load" in caplog.text


def test_when_no_checkpoint_verifies_one_line_names_the_directory_and_the_way_out(spark, tmp_path):
    small_checkpoints(spark, tmp_path / "model")
    root = tmp_path / "model" / "checkpoints"
    (root / "epoch-002" / "syn0.npy").write_bytes(b"")
    (root / "epoch-001" / "state.json").write_text("not json")
    with pytest.raises(UserError) as caught:
        load_last_checkpoint(spark, str(tmp_path / "model"))
    message = str(caught.value)
    assert "\n" not in message
    assert f"no checkpoint under {root} verifies" in message
    assert "epoch-002: syn0.npy is 0 bytes" in message
    assert "epoch-001: state.json is not valid JSON" in message
    assert message.endswith("rerun with --overwrite to start again")


def test_a_checkpoint_from_before_the_training_modes_resumes_skip_gram_with_negatives():
    from w2v_spark.train.checkpoint import check_compatible

    before = {"vector_size": 8, "vocab_size": 10}  # no sg, cbow_mean, hs, vocabulary_digest
    now = {**before, "sg": 1, "cbow_mean": 1, "hs": 0, "vocabulary_digest": "ab12"}
    check_compatible(before, now)
    with pytest.raises(UserError, match=r"sg: 1 in the checkpoint, 0 in this run"):
        check_compatible(before, {**now, "sg": 0})
