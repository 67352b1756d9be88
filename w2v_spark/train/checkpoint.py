"""Complete, atomically published training state after each epoch, and finding the last good one.

Layout: ``MODEL/checkpoints/epoch-NNN/`` holding ``syn0.npy``, ``syn1neg.npy`` (float32,
vocab_size x vector_size), with block momentum ``momentum0.npy``/``momentum1.npy`` (the last
sync's move of each matrix, same shapes), ``state.json`` (epoch, words done, metrics so far, the settings that
must match on resume, and per array file its byte size, shape, dtype and SHA-256) and
``_SUCCESS``, written last before the directory is renamed into place.

On resume each checkpoint is verified against its ``state.json`` (every file read once); a
damaged one (truncated, changed bytes, unreadable state) is skipped with a warning naming it
and the reason, and the one before it is used. Checkpoints written before checksums were
recorded are verified by what they hold: the arrays must load with the fingerprint's shape.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass

import numpy as np
from py4j.protocol import Py4JJavaError
from pyspark.sql import SparkSession

from w2v_spark.config import TrainConfig
from w2v_spark.errors import UserError
from w2v_spark.io import storage

log = logging.getLogger(__name__)

EPOCH_DIR = re.compile(r"^epoch-(\d{3,})$")
WEIGHT_FILES = ("syn0.npy", "syn1neg.npy")
MOMENTUM_FILES = ("momentum0.npy", "momentum1.npy")


@dataclass
class Checkpoint:
    epoch: int
    syn0: np.ndarray
    syn1neg: np.ndarray
    state: dict
    momentum: tuple[np.ndarray, np.ndarray] | None = None
    path: str = ""


class DamagedCheckpoint(Exception):
    """A checkpoint that does not match what its ``state.json`` records; the text says why."""


def checkpoint_root(model_dir: str) -> str:
    return storage.join(model_dir, "checkpoints")


def file_record(local: str, array: np.ndarray) -> dict:
    """What ``state.json`` records of the ``.npy`` file ``local`` holding ``array``, to verify
    the copy on resume: byte size, shape, dtype and SHA-256 (about 0.1 s per 100 MB)."""
    return {
        "bytes": os.path.getsize(local),
        "shape": list(array.shape),
        "dtype": str(array.dtype),
        "sha256": _sha256(local),
    }


def write_array(spark: SparkSession, path: str, array: np.ndarray) -> dict:
    """Write ``array`` as a ``.npy`` file at ``path``; return its :func:`file_record`."""
    with tempfile.NamedTemporaryFile(suffix=".npy", delete=False) as tmp:
        np.save(tmp, array)
    try:
        record = file_record(tmp.name, array)
        storage.copy_from_local(spark, tmp.name, path)
    finally:
        os.unlink(tmp.name)
    return record


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
    """Publish ``epoch-NNN`` and delete all but the ``keep`` newest complete checkpoints.

    ``state`` is written to ``state.json`` with a ``files`` entry added: each array file's
    :func:`file_record`.
    """
    final = storage.join(checkpoint_root(model_dir), f"epoch-{epoch:03d}")
    arrays = dict(zip(WEIGHT_FILES, (syn0, syn1neg), strict=True))
    if momentum is not None:
        arrays.update(zip(MOMENTUM_FILES, momentum, strict=True))
    with storage.publishing(spark, final, overwrite=True) as tmp:
        files = {name: write_array(spark, storage.join(tmp, name), a) for name, a in arrays.items()}
        text = json.dumps({**state, "files": files}, indent=2)
        storage.write_text(spark, storage.join(tmp, "state.json"), text)
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


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return " ".join(text[0].split()) if text else type(exc).__name__


def _read_bytes(spark: SparkSession, path: str, name: str) -> bytes:
    """The bytes of ``path``; a file the file system cannot read (a missing or corrupt HDFS
    block) makes the checkpoint damaged, not the run failed."""
    if not storage.exists(spark, path):
        raise DamagedCheckpoint(f"{name} is missing")
    try:
        return storage.read_bytes(spark, path)
    except Py4JJavaError as exc:
        reason = " ".join(str(exc.java_exception.toString()).split())
        raise DamagedCheckpoint(f"{name} cannot be read ({reason})") from None


def read_state(spark: SparkSession, path: str) -> dict:
    """``state.json`` of the checkpoint at ``path``, or :class:`DamagedCheckpoint`."""
    data = _read_bytes(spark, storage.join(path, "state.json"), "state.json")
    try:
        state = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DamagedCheckpoint(f"state.json is not valid JSON ({_one_line(exc)})") from None
    if not isinstance(state, dict) or not {"words_done", "metrics", "fingerprint"} <= state.keys():
        raise DamagedCheckpoint("state.json lacks words_done, metrics or fingerprint")
    if not isinstance(state["fingerprint"], dict):
        raise DamagedCheckpoint("state.json's fingerprint is not an object")
    files = state.get("files", {})
    keys = {"bytes", "shape", "dtype", "sha256"}
    if not isinstance(files, dict) or not all(
        isinstance(r, dict) and keys <= r.keys() for r in files.values()
    ):
        raise DamagedCheckpoint("state.json's files entry is malformed")
    return state


def expected_shape(state: dict) -> tuple[int, int] | None:
    """vocab_size x vector_size from the fingerprint, when it records both."""
    fingerprint = state.get("fingerprint") or {}
    if "vocab_size" in fingerprint and "vector_size" in fingerprint:
        return int(fingerprint["vocab_size"]), int(fingerprint["vector_size"])
    return None


def _sha256(local: str) -> str:
    digest = hashlib.sha256()
    with open(local, "rb") as stream:
        while chunk := stream.read(1 << 24):
            digest.update(chunk)
    return digest.hexdigest()


def _fetch(spark: SparkSession, path: str, name: str, local: str) -> None:
    """Copy ``path`` to the local file ``local`` through Hadoop's file system (streamed: no
    byte array of the file's size in the JVM or through py4j, so matrices over 2 GB resume);
    a file it cannot read (a missing or corrupt HDFS block) makes the checkpoint damaged."""
    if not storage.exists(spark, path):
        raise DamagedCheckpoint(f"{name} is missing")
    try:
        storage.copy_to_local(spark, path, local)
    except Py4JJavaError as exc:
        reason = " ".join(str(exc.java_exception.toString()).split())
        raise DamagedCheckpoint(f"{name} cannot be read ({reason})") from None


def verified_array(spark: SparkSession, path: str, name: str, state: dict) -> np.ndarray:
    """Read ``name`` once, through a local temporary file; check its size and checksum (when
    recorded), then shape and dtype."""
    record = (state.get("files") or {}).get(name)
    with tempfile.TemporaryDirectory(prefix="w2v-checkpoint-") as tmp:
        local = os.path.join(tmp, name)
        _fetch(spark, storage.join(path, name), name, local)
        if record is not None:
            size = os.path.getsize(local)
            if size != record["bytes"]:
                raise DamagedCheckpoint(
                    f"{name} is {size} bytes, state.json records {record['bytes']} (truncated?)"
                )
            if _sha256(local) != record["sha256"]:
                raise DamagedCheckpoint(f"{name} fails its SHA-256 checksum (its bytes changed)")
        try:
            array = np.load(local, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise DamagedCheckpoint(f"{name} does not load ({_one_line(exc)})") from None
    if record is not None:
        shape, dtype = tuple(record["shape"]), np.dtype(record["dtype"])
    else:
        shape, dtype = expected_shape(state) or array.shape, np.dtype(np.float32)
    if array.shape != shape or array.dtype != dtype:
        raise DamagedCheckpoint(
            f"{name} holds {array.dtype} {array.shape}, expected {dtype} {shape}"
        )
    return array


def read_checkpoint(spark: SparkSession, path: str, epoch: int) -> Checkpoint:
    """The checkpoint at ``path``, every file verified; :class:`DamagedCheckpoint` if not."""
    state = read_state(spark, path)
    files = state.get("files")
    if files is not None:
        with_momentum = all(name in files for name in MOMENTUM_FILES)
    else:  # written before file records: momentum is there if its file is
        with_momentum = storage.exists(spark, storage.join(path, MOMENTUM_FILES[0]))
    syn0, syn1neg = (verified_array(spark, path, name, state) for name in WEIGHT_FILES)
    if syn0.shape != syn1neg.shape:
        raise DamagedCheckpoint(f"syn0.npy {syn0.shape} and syn1neg.npy {syn1neg.shape} differ")
    momentum = None
    if with_momentum:
        momentum = tuple(verified_array(spark, path, name, state) for name in MOMENTUM_FILES)
        if any(m.shape != syn0.shape for m in momentum):
            raise DamagedCheckpoint("the momentum arrays' shapes differ from syn0.npy's")
    return Checkpoint(epoch, syn0, syn1neg, state, momentum, path)


def load_last_checkpoint(spark: SparkSession, model_dir: str) -> Checkpoint | None:
    """The newest complete checkpoint that verifies, or None when there is no complete one.

    A damaged checkpoint is skipped with a warning naming it and why; when every one is
    damaged, :class:`~w2v_spark.errors.UserError` names the checkpoint directory.
    """
    root = checkpoint_root(model_dir)
    epochs = complete_epochs(spark, model_dir)
    if not epochs:
        return None
    skipped = []
    for epoch in reversed(epochs):
        path = storage.join(root, f"epoch-{epoch:03d}")
        try:
            checkpoint = read_checkpoint(spark, path, epoch)
        except DamagedCheckpoint as exc:
            log.warning("skipping damaged checkpoint %s: %s", path, exc)
            skipped.append(f"epoch-{epoch:03d}: {exc}")
            continue
        log.info("resuming from %s", path)
        return checkpoint
    raise UserError(
        f"no checkpoint under {root} verifies ({'; '.join(skipped)}): rerun with --overwrite "
        "to start again"
    )


#: Fingerprint keys that checkpoints written before them lack, with the value such a
#: checkpoint was trained with (None: not known, not compared): it still resumes.
ADDED_LATER: dict[str, object] = {"vocabulary_digest": None, "sg": 1, "cbow_mean": 1, "hs": 0}


def check_compatible(saved: dict, current: dict) -> None:
    """A checkpoint resumes only a run with the same settings: ``saved`` is the checkpoint's
    fingerprint, ``current`` this run's. The error names each setting that differs with both
    values, the checkpoint's first."""
    saved = {**{k: v for k, v in ADDED_LATER.items() if v is not None}, **saved}
    diffs = [
        f"{k}: {saved.get(k)!r} in the checkpoint, {v!r} in this run"
        for k, v in current.items()
        if saved.get(k) != v and not (k in ADDED_LATER and k not in saved)
    ]
    if diffs:
        raise UserError("checkpoint was made with other settings (" + "; ".join(diffs) + ")")


def vocabulary_digest(words: list[str]) -> str:
    """A short fingerprint of the words in row order: a checkpoint's row ``i`` is a word's
    vector only for the vocabulary it was trained on, not for another one of the same size."""
    return hashlib.sha256("\n".join(words).encode("utf-8")).hexdigest()[:16]


def resume_fingerprint(
    cfg: TrainConfig, words: list[str], num_partitions: int, replicas: str | None = None
) -> dict:
    """Settings a checkpoint must share with the run that resumes it (``replicas`` as
    resolved, when given: "auto" means different things in local mode and on a cluster)."""
    keys = (
        "vector_size",
        "window",
        "negative",
        "ns_exponent",
        "sample",
        "alpha",
        "min_alpha",
        "epochs",
        "seed",
        "syncs_per_epoch",
        "averaging",
        "copy_alpha_scale",
        "replicas",
        "block_passes",
        "batch_words",
        "sg",
        "cbow_mean",
        "hs",
    )
    return {
        **{k: getattr(cfg, k) for k in keys},
        **({"replicas": replicas} if replicas else {}),
        "vocab_size": len(words),
        "vocabulary_digest": vocabulary_digest(words),
        "num_partitions": num_partitions,
    }
