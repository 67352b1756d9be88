"""Publishing outputs: whole or not at all, under the names of ``w2v_spark.io.paths``."""

from __future__ import annotations

import json

import pytest

from w2v_spark.config import Config
from w2v_spark.errors import UserError
from w2v_spark.io import paths, storage
from w2v_spark.io.model import read_metrics
from w2v_spark.vocab.stage import VocabSummary, meta_json, read_meta


def _names(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_publish_file_replaces_the_old_file_and_leaves_no_temporary(spark, tmp_path):
    target = tmp_path / "metrics.json"
    target.write_text("old")
    storage.publish_file(spark, str(target), data=b"new")
    assert target.read_text() == "new"
    local = tmp_path / "staging.txt"
    local.write_text("from a local file")
    storage.publish_file(spark, str(target), local=str(local))
    assert target.read_text() == "from a local file"
    assert _names(tmp_path) == ["metrics.json", "staging.txt"]


def test_a_failed_publish_file_leaves_the_previous_file(spark, tmp_path):
    target = tmp_path / "vectors.bin"
    target.write_bytes(b"finished")
    with pytest.raises(Exception, match=r"missing\.bin"):
        storage.publish_file(spark, str(target), local=str(tmp_path / "missing.bin"))
    assert target.read_bytes() == b"finished"
    assert _names(tmp_path) == ["vectors.bin"]


def test_publishing_over_a_finished_directory_replaces_it_whole(spark, tmp_path):
    final = tmp_path / "report"
    final.mkdir()
    (final / "stale.md").write_text("from the previous run")
    with storage.publishing(spark, str(final), overwrite=True) as tmp:
        storage.write_text(spark, storage.join(tmp, paths.REPORT_MD), "new")
    assert _names(final) == [paths.SUCCESS, paths.REPORT_MD]
    assert _names(tmp_path) == ["report"]  # nothing set aside is left behind


def test_a_failed_publishing_leaves_the_previous_directory(spark, tmp_path):
    final = tmp_path / "report"
    final.mkdir()
    (final / paths.REPORT_MD).write_text("finished")
    with (
        pytest.raises(RuntimeError, match="scoring failed"),
        storage.publishing(spark, str(final), overwrite=True) as tmp,
    ):
        storage.write_text(spark, storage.join(tmp, paths.REPORT_MD), "half")
        raise RuntimeError("scoring failed")
    assert (final / paths.REPORT_MD).read_text() == "finished"
    assert _names(tmp_path) == ["report"]


def _summary() -> VocabSummary:
    return VocabSummary("corpus.txt", 3, 12, 5, 4, 10, 3, 0, 0.5)


def test_the_vocabulary_meta_records_the_format_version():
    assert json.loads(meta_json(_summary(), Config()))["format_version"] == paths.FORMAT_VERSION


def _complete_dir(folder, name: str, document: dict) -> str:
    folder.mkdir()
    (folder / name).write_text(json.dumps(document))
    (folder / paths.SUCCESS).write_text("")
    return str(folder)


def test_a_vocabulary_of_a_newer_format_is_refused_in_one_line(spark, tmp_path):
    meta = json.loads(meta_json(_summary(), Config()))
    assert read_meta(spark, _complete_dir(tmp_path / "v1", paths.VOCAB_META, meta)) == meta
    newer = {**meta, "format_version": paths.FORMAT_VERSION + 1}
    with pytest.raises(
        UserError, match=r"_meta\.json has format version 2; this w2v-spark reads up to 1"
    ):
        read_meta(spark, _complete_dir(tmp_path / "v2", paths.VOCAB_META, newer))


def test_a_model_of_a_newer_format_is_refused_and_an_unversioned_one_is_read(spark, tmp_path):
    older = {"epochs": [], "vocab": {}}  # written before the version existed: same layout
    assert read_metrics(spark, _complete_dir(tmp_path / "m0", paths.METRICS, older)) == older
    newer = {**older, "format_version": paths.FORMAT_VERSION + 1}
    with pytest.raises(UserError, match=r"metrics\.json has format version 2"):
        read_metrics(spark, _complete_dir(tmp_path / "m2", paths.METRICS, newer))
