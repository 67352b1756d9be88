"""Owning an output before any work: no overlap with an input, a writable parent, one writer.

Every stage enters :func:`owned_output` before it reads anything:

1. the output may not be an input, contain one, or lie inside one (``--out`` equal to
   ``--vocab``, or a report written into the corpus folder), compared as qualified paths and,
   for a glob input, against every path the glob names;
2. the output's nearest existing ancestor must be a directory (and writable, for local paths),
   so a bad ``--out`` fails in the first second instead of at publish time;
3. a lock marker ``PARENT/.NAME.lock`` (JSON: job, host, pid, start time, Spark application) is
   created atomically; a second run on the same output fails in one line naming the owner. The
   owner refreshes the marker's modification time every :data:`HEARTBEAT_SECONDS`; a marker
   whose process is gone (same host) or whose heartbeat stopped :data:`STALE_AFTER_SECONDS` ago
   belongs to a dead run and is taken over with a log line;
4. with the lock held no other run of this output is alive, so the hidden temporaries that dead
   runs left behind (``.NAME.tmp-*`` beside it, ``*.tmp-XXXXXXXX`` inside it and in its
   ``checkpoints/``) are removed. A previous model set aside by an interrupted swap
   (``.NAME.replaced-*``) is put back if the output is missing, else removed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator, Sequence

from pyspark.sql import SparkSession

from w2v_spark.errors import UserError
from w2v_spark.io import paths, storage

log = logging.getLogger(__name__)

# The owner touches its lock this often; a lock untouched for STALE_AFTER_SECONDS is a dead
# run's even on another host (a live driver's daemon thread never stalls for two minutes).
HEARTBEAT_SECONDS = 15.0
STALE_AFTER_SECONDS = 120.0

TEMPORARY = re.compile(r"\.tmp-[0-9a-f]{8}$")


def split_parent(path: str) -> tuple[str, str]:
    parent, _, name = path.rstrip("/").rpartition("/")
    return parent or ".", name


def sibling(path: str, suffix: str) -> str:
    """``PARENT/.NAME<suffix>``: a hidden path beside ``path``."""
    parent, name = split_parent(path)
    return storage.join(parent, f".{name}{suffix}")


def lock_path(out: str) -> str:
    return sibling(out, ".lock")


# ---------------------------------------------------------------------------------------------
# 1. Overlap


def paths_overlap(a: str, b: str) -> bool:
    """Same path, or one inside the other (both qualified, e.g. ``file:/x/y``)."""
    a, b = a.rstrip("/"), b.rstrip("/")
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


def input_paths(spark: SparkSession, path: str) -> list[str]:
    """The qualified paths an input names: what a glob matches, else the path itself."""
    fs, jpath = storage._jvm_path(spark, path)
    found = fs.globStatus(jpath)
    named = [s.getPath().toString() for s in found] if found else []
    return named or [storage.qualify(spark, path)]


def check_no_overlap(spark: SparkSession, out: str, inputs: Sequence[tuple[str, str]]) -> None:
    """``inputs`` are ``(option, path)`` pairs such as ``("--vocab", "runs/x/vocab")``."""
    target = storage.qualify(spark, out)
    for option, path in inputs:
        for named in input_paths(spark, path):
            if paths_overlap(target, named):
                raise UserError(
                    f"--out {out} overlaps the input {option} {path}: writing it would destroy "
                    "the input; choose another --out"
                )


# ---------------------------------------------------------------------------------------------
# 2. A writable parent


def check_parent_writable(spark: SparkSession, out: str) -> None:
    """The nearest existing ancestor of ``out`` is a directory we may write into."""
    fs, jpath = storage._jvm_path(spark, out)
    ancestor = fs.makeQualified(jpath).getParent()
    while ancestor is not None and not fs.exists(ancestor):
        ancestor = ancestor.getParent()
    if ancestor is None:
        return
    if not fs.getFileStatus(ancestor).isDirectory():
        raise UserError(
            f"cannot write --out {out}: {ancestor.toUri().getPath()} is a file, not a directory"
        )
    if fs.getScheme() == "file" and not os.access(ancestor.toUri().getPath(), os.W_OK):
        raise UserError(f"cannot write --out {out}: {ancestor.toUri().getPath()} is not writable")


# ---------------------------------------------------------------------------------------------
# 3. One writer


def lock_owner(spark: SparkSession, job: str, token: str) -> dict:
    return {
        "job": job,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "app_id": spark.sparkContext.applicationId,
        "token": token,
    }


def create_exclusively(spark: SparkSession, path: str, data: bytes) -> bool:
    """Create ``path`` holding ``data`` unless it exists; True when we created it."""
    fs, jpath = storage._jvm_path(spark, path)
    parent = jpath.getParent()
    if parent is not None and not fs.exists(parent):
        fs.mkdirs(parent)
    if fs.getScheme() == "file":
        try:
            fd = os.open(jpath.toUri().getPath(), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return True
    if fs.exists(jpath):
        return False
    try:
        stream = fs.create(jpath, False)  # HDFS: fails if another run created it first
    except Exception:  # FileAlreadyExistsException: lost the race
        return False
    try:
        stream.write(bytearray(data))
    finally:
        stream.close()
    return True


def read_owner(spark: SparkSession, path: str) -> tuple[dict, float] | None:
    """The lock's owner and the age of its last heartbeat in seconds (None if it vanished)."""
    fs, jpath = storage._jvm_path(spark, path)
    try:
        modified = fs.getFileStatus(jpath).getModificationTime() / 1000.0
        text = storage.read_text(spark, path)
    except Exception:
        return None
    try:
        owner = json.loads(text)
    except ValueError:
        owner = {}
    return owner, max(0.0, time.time() - modified)


def process_alive(pid: int) -> bool:
    """Whether ``pid`` runs on this host; a killed process not yet reaped (a zombie) is dead."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b")")[2].split()[0] != b"Z"
    except (OSError, IndexError):  # no /proc (macOS): the signal test is all there is
        return True


def is_stale(owner: dict, age: float) -> bool:
    if age > STALE_AFTER_SECONDS:
        return True
    same_host = owner.get("host") == socket.gethostname()
    return same_host and isinstance(owner.get("pid"), int) and not process_alive(owner["pid"])


def describe(owner: dict) -> str:
    return (
        f"{owner.get('job', '?')} run, pid {owner.get('pid', '?')} on {owner.get('host', '?')}, "
        f"started {owner.get('started', '?')}"
    )


def acquire_lock(spark: SparkSession, out: str, job: str) -> str:
    """Create ``out``'s lock or fail in one line; returns our token."""
    path = lock_path(out)
    token = uuid.uuid4().hex
    data = json.dumps(lock_owner(spark, job, token)).encode()
    for _ in range(3):
        if create_exclusively(spark, path, data):
            return token
        found = read_owner(spark, path)
        if found is None:  # released between our two calls
            continue
        owner, age = found
        if not is_stale(owner, age):
            raise UserError(
                f"--out {out} is being written by another {describe(owner)}: wait for it to "
                f"finish (if that run is dead, delete {path})"
            )
        # Set the dead run's marker aside by renaming it: only one contender wins the rename.
        aside = f"{path}.stale-{token[:8]}"
        fs, jpath = storage._jvm_path(spark, path)
        _, jaside = storage._jvm_path(spark, aside)
        if fs.rename(jpath, jaside):
            fs.delete(jaside, False)
            log.warning("took over the lock of a dead %s (%s)", describe(owner), path)
    raise UserError(f"could not lock --out {out}: {path} keeps reappearing")


def release_lock(spark: SparkSession, out: str, token: str) -> None:
    path = lock_path(out)
    found = read_owner(spark, path)
    if found is not None and found[0].get("token") == token:
        storage.delete(spark, path)


def heartbeat(spark: SparkSession, path: str, stop: threading.Event) -> None:
    fs, jpath = storage._jvm_path(spark, path)
    while not stop.wait(HEARTBEAT_SECONDS):
        try:
            fs.setTimes(jpath, int(time.time() * 1000), -1)
        except Exception:  # the JVM is stopping; the run's own error says why
            return


@contextlib.contextmanager
def output_lock(spark: SparkSession, out: str, job: str) -> Iterator[None]:
    token = acquire_lock(spark, out, job)
    stop = threading.Event()
    beat = threading.Thread(
        target=heartbeat, args=(spark, lock_path(out), stop), name="w2v-lock", daemon=True
    )
    beat.start()
    try:
        yield
    finally:
        stop.set()
        try:
            release_lock(spark, out, token)
        except Exception:  # a dead JVM: the marker goes stale and the next run takes it over
            log.debug("could not release %s", lock_path(out), exc_info=True)


# ---------------------------------------------------------------------------------------------
# 4. Dead runs' temporaries


def sweep_temporaries(spark: SparkSession, out: str) -> list[str]:
    """Remove what dead runs of ``out`` left behind; returns the paths removed."""
    parent, name = split_parent(out)
    removed = []
    for entry in storage.list_names(spark, parent):
        path = storage.join(parent, entry)
        if entry.startswith(f".{name}.tmp-"):
            storage.delete(spark, path)
            removed.append(path)
        elif entry.startswith(f".{name}.replaced-"):
            if storage.exists(spark, out):
                storage.delete(spark, path)
                removed.append(path)
            else:
                storage.rename(spark, path, out)
                log.warning("put back the previous %s, set aside by an interrupted swap", out)
    for folder in (out, storage.join(out, paths.CHECKPOINTS)):
        for entry in storage.list_names(spark, folder):
            if TEMPORARY.search(entry):
                storage.delete(spark, storage.join(folder, entry))
                removed.append(storage.join(folder, entry))
    for path in removed:
        log.info("removed %s, left by a run that no longer exists", path)
    return removed


@contextlib.contextmanager
def owned_output(
    spark: SparkSession, out: str, *, inputs: Sequence[tuple[str, str]], job: str
) -> Iterator[None]:
    """Check ``out`` against ``inputs``, hold its lock, and sweep dead runs' temporaries."""
    check_no_overlap(spark, out, inputs)
    check_parent_writable(spark, out)
    with output_lock(spark, out, job):
        sweep_temporaries(spark, out)
        yield


# ---------------------------------------------------------------------------------------------
# Replacing a finished output only once its successor is complete


def staged_path(out: str) -> str:
    """Where a run that replaces the finished ``out`` works until it is complete:
    ``PARENT/.NAME.next`` (a fixed name, so a failed run there can be resumed)."""
    return sibling(out, ".next")
