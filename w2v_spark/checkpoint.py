"""Complete, atomically published training state after each epoch, and finding the last one.

Layout: ``MODEL/checkpoints/epoch-NNN/`` holding ``syn0.npy``, ``syn1neg.npy`` (float32,
vocab_size x vector_size), with block momentum ``momentum0.npy``/``momentum1.npy`` (the last
sync's move of each matrix, same shapes), ``state.json`` (epoch, words done, metrics so far, the settings that
must match on resume) and ``_SUCCESS``, written last before the directory is renamed into place.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass

import numpy as np
from pyspark.sql import SparkSession

from w2v_spark import storage
from w2v_spark.errors import UserError

log = logging.getLogger(__name__)

EPOCH_DIR = re.compile(r"^epoch-(\d{3,})$")


@dataclass
class Checkpoint:
    epoch: int
    syn0: np.ndarray
    syn1neg: np.ndarray
    state: dict
    momentum: tuple[np.ndarray, np.ndarray] | None = None


def checkpoint_root(model_dir: str) -> str:
    return storage.join(model_dir, "checkpoints")


def write_array(spark: SparkSession, path: str, array: np.ndarray) -> None:
    with tempfile.NamedTemporaryFile(suffix=".npy", delete=False) as tmp:
        np.save(tmp, array)
    try:
        storage.copy_from_local(spark, tmp.name, path)
    finally:
        os.unlink(tmp.name)


def read_array(spark: SparkSession, path: str) -> np.ndarray:
    return np.load(io.BytesIO(storage.read_bytes(spark, path)))


def save_checkpoint(
    spark: SparkSession,
    model_dir: str,
    epoch: int,
    syn0: np.ndarray,
    syn1neg: np.ndarray,
    state: dict,
    keep: int = 2,
    momentum: tuple[np.ndarray, np.ndarray] | None = None,
) -> str:
    """Publish ``epoch-NNN`` and delete all but the ``keep`` newest complete checkpoints."""
    final = storage.join(checkpoint_root(model_dir), f"epoch-{epoch:03d}")
    with storage.publishing(spark, final, overwrite=True) as tmp:
        write_array(spark, storage.join(tmp, "syn0.npy"), syn0)
        write_array(spark, storage.join(tmp, "syn1neg.npy"), syn1neg)
        for i, array in enumerate(momentum or ()):
            write_array(spark, storage.join(tmp, f"momentum{i}.npy"), array)
        storage.write_text(spark, storage.join(tmp, "state.json"), json.dumps(state, indent=2))
    for old in complete_epochs(spark, model_dir)[:-keep]:
        storage.delete(spark, storage.join(checkpoint_root(model_dir), f"epoch-{old:03d}"))
    return final


def complete_epochs(spark: SparkSession, model_dir: str) -> list[int]:
    root = checkpoint_root(model_dir)
    epochs = []
    for name in storage.list_names(spark, root):
        match = EPOCH_DIR.match(name)
        if match and storage.is_complete(spark, storage.join(root, name)):
            epochs.append(int(match.group(1)))
    return sorted(epochs)


def load_last_checkpoint(spark: SparkSession, model_dir: str) -> Checkpoint | None:
    epochs = complete_epochs(spark, model_dir)
    if not epochs:
        return None
    path = storage.join(checkpoint_root(model_dir), f"epoch-{epochs[-1]:03d}")
    log.info("resuming from %s", path)
    momentum = None
    if storage.exists(spark, storage.join(path, "momentum0.npy")):
        momentum = tuple(read_array(spark, storage.join(path, f"momentum{i}.npy")) for i in (0, 1))
    return Checkpoint(
        epoch=epochs[-1],
        syn0=read_array(spark, storage.join(path, "syn0.npy")),
        syn1neg=read_array(spark, storage.join(path, "syn1neg.npy")),
        state=json.loads(storage.read_text(spark, storage.join(path, "state.json"))),
        momentum=momentum,
    )


def check_compatible(saved: dict, current: dict) -> None:
    """A checkpoint resumes only a run with the same settings."""
    diffs = [f"{k}: {saved.get(k)!r} != {v!r}" for k, v in current.items() if saved.get(k) != v]
    if diffs:
        raise UserError("checkpoint was made with other settings (" + "; ".join(diffs) + ")")
