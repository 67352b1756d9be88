"""Files on any Hadoop path (local, hdfs://, s3a://) through the JVM's FileSystem API.

The one way outputs are published, never half-written:

- a directory (:func:`publishing`): the stage writes into a hidden temporary directory beside
  its destination, ``_SUCCESS`` last, and only then renames the directory into place;
- a file (:func:`publish_file`): written under a hidden temporary name beside its destination,
  then renamed over it in one step (HDFS and local files: atomic; object stores have no atomic
  rename, where the copy is still never visible under the final name before it is complete).

Readers call :func:`require_complete`, so a directory without the marker never passes for a
result. Local staging files (the word2vec formats, the report) are written into a temporary
local directory and published from there.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Iterator

from pyspark.sql import SparkSession

from w2v_spark.errors import UserError
from w2v_spark.io.paths import SUCCESS

log = logging.getLogger(__name__)


def _jvm_path(spark: SparkSession, path: str):  # -> (FileSystem, Path) py4j objects
    jvm = spark.sparkContext._jvm
    jpath = jvm.org.apache.hadoop.fs.Path(path)
    fs = jpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    if fs.getScheme() == "file":
        fs.setWriteChecksum(False)  # no ".name.crc" files beside local outputs
    return fs, jpath


def qualify(spark: SparkSession, path: str) -> str:
    """Absolute, scheme-qualified form of ``path`` (``file:/...`` for local paths)."""
    fs, jpath = _jvm_path(spark, path)
    return fs.makeQualified(jpath).toString()


def exists(spark: SparkSession, path: str) -> bool:
    fs, jpath = _jvm_path(spark, path)
    return bool(fs.exists(jpath))


def is_complete(spark: SparkSession, path: str) -> bool:
    return exists(spark, join(path, SUCCESS))


def require_complete(spark: SparkSession, path: str, what: str) -> None:
    """Fail with one line unless ``path`` holds a complete, published output."""
    if not exists(spark, path):
        raise UserError(f"{what} not found: {path}")
    if not is_complete(spark, path):
        raise UserError(f"{what} at {path} is incomplete (no {SUCCESS} marker): rerun its stage")


def delete(spark: SparkSession, path: str) -> None:
    fs, jpath = _jvm_path(spark, path)
    if fs.exists(jpath):
        fs.delete(jpath, True)


def rename(spark: SparkSession, src: str, dst: str) -> None:
    fs, jsrc = _jvm_path(spark, src)
    _, jdst = _jvm_path(spark, dst)
    parent = jdst.getParent()
    if parent is not None and not fs.exists(parent):
        fs.mkdirs(parent)
    if not fs.rename(jsrc, jdst):
        raise UserError(f"could not move {src} to {dst}")


def replace(spark: SparkSession, src: str, dst: str) -> None:
    """Rename the file ``src`` to ``dst`` in one step, replacing ``dst`` if it exists.

    ``FileSystem.rename`` refuses an existing destination on HDFS, and deleting it first would
    leave a moment with no file; ``FileContext.rename`` with ``OVERWRITE`` replaces it in one
    namenode operation on HDFS and with one ``rename(2)`` on local disks.
    """
    jvm = spark.sparkContext._jvm
    _, jsrc = _jvm_path(spark, src)
    _, jdst = _jvm_path(spark, dst)
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    context = jvm.org.apache.hadoop.fs.FileContext.getFileContext(jdst.toUri(), conf)
    options = spark.sparkContext._gateway.new_array(jvm.org.apache.hadoop.fs.Options.Rename, 1)
    options[0] = jvm.org.apache.hadoop.fs.Options.Rename.OVERWRITE
    context.rename(jsrc, jdst, options)


def publish_file(
    spark: SparkSession, path: str, *, data: bytes | None = None, local: str | None = None
) -> None:
    """Publish ``data`` (or the local file ``local``) at ``path``, never half-written.

    The content goes to a hidden temporary file beside ``path`` and is then moved over it with
    :func:`replace`; on an error the temporary file is deleted and ``path`` is untouched.
    """
    if (data is None) == (local is None):
        raise ValueError("publish_file: give exactly one of data and local")
    parent, _, name = path.rstrip("/").rpartition("/")
    tmp = join(parent or ".", f".{name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        if data is not None:
            write_bytes(spark, tmp, data)
        else:
            copy_from_local(spark, local, tmp)
        replace(spark, tmp, path)
    except BaseException:
        delete(spark, tmp)
        raise


def list_names(spark: SparkSession, path: str) -> list[str]:
    """Names of the entries directly under ``path`` (empty if it does not exist)."""
    fs, jpath = _jvm_path(spark, path)
    if not fs.exists(jpath):
        return []
    return sorted(status.getPath().getName() for status in fs.listStatus(jpath))


def write_bytes(spark: SparkSession, path: str, data: bytes) -> None:
    fs, jpath = _jvm_path(spark, path)
    stream = fs.create(jpath, True)
    try:
        # py4j moves bytes as a byte[]; write in slices to keep each call small.
        step = 1 << 24
        for start in range(0, len(data), step):
            stream.write(bytearray(data[start : start + step]))
    finally:
        stream.close()


def read_bytes(spark: SparkSession, path: str) -> bytes:
    fs, jpath = _jvm_path(spark, path)
    if not fs.exists(jpath):
        raise UserError(f"file not found: {path}")
    jvm = spark.sparkContext._jvm
    stream = fs.open(jpath)
    try:
        out = jvm.java.io.ByteArrayOutputStream()
        jvm.org.apache.hadoop.io.IOUtils.copyBytes(stream, out, 1 << 16, False)
        return bytes(out.toByteArray())
    finally:
        stream.close()


def write_text(spark: SparkSession, path: str, text: str) -> None:
    write_bytes(spark, path, text.encode("utf-8"))


def read_text(spark: SparkSession, path: str) -> str:
    return read_bytes(spark, path).decode("utf-8")


def copy_from_local(spark: SparkSession, local: str, dst: str) -> None:
    fs, jdst = _jvm_path(spark, dst)
    jsrc = spark.sparkContext._jvm.org.apache.hadoop.fs.Path(local)
    fs.copyFromLocalFile(False, True, jsrc, jdst)


def copy_to_local(spark: SparkSession, src: str, local: str) -> None:
    fs, jsrc = _jvm_path(spark, src)
    jdst = spark.sparkContext._jvm.org.apache.hadoop.fs.Path(local)
    fs.copyToLocalFile(False, jsrc, jdst, True)


def join(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *parts])


def refuse_existing(spark: SparkSession, path: str, overwrite: bool) -> None:
    """An existing result is never silently replaced."""
    if exists(spark, path) and not overwrite:
        raise UserError(f"output {path} already exists; pass --overwrite to replace it")


@contextlib.contextmanager
def publishing(spark: SparkSession, final: str, *, overwrite: bool = False) -> Iterator[str]:
    """Yield a temporary directory; on success mark it complete and move it to ``final``.

    On an exception the temporary directory is deleted and ``final`` is untouched.
    """
    refuse_existing(spark, final, overwrite)
    parent, _, name = final.rstrip("/").rpartition("/")
    tmp = join(parent or ".", f".{name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        yield tmp
        write_bytes(spark, join(tmp, SUCCESS), b"")
        swap_in(spark, tmp, final)
        log.info("published %s", final)
    except BaseException:
        delete(spark, tmp)
        raise


def swap_in(spark: SparkSession, staged: str, final: str) -> None:
    """Move the complete directory ``staged`` to ``final``, replacing any finished one there.

    Two renames: the old ``final`` is set aside as ``PARENT/.NAME.replaced-*`` first, so a kill
    between them leaves both outputs whole, and the next run of ``final`` puts the old one back
    (:func:`w2v_spark.io.outputs.sweep_temporaries`); it is deleted once the new one is in place.
    """
    if not exists(spark, final):
        rename(spark, staged, final)
        return
    parent, _, name = final.rstrip("/").rpartition("/")
    aside = join(parent or ".", f".{name}.replaced-{uuid.uuid4().hex[:8]}")
    rename(spark, final, aside)
    try:
        rename(spark, staged, final)
    except BaseException:
        rename(spark, aside, final)
        raise
    delete(spark, aside)
    log.info("replaced the previous %s with the new one", final)


def matches(spark: SparkSession, pattern: str) -> int:
    """How many paths a path or glob names (0 when nothing is there)."""
    fs, jpath = _jvm_path(spark, pattern)
    found = fs.globStatus(jpath)
    return 0 if found is None else len(found)
