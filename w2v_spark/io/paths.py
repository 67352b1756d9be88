"""Every file name the stages publish, in one place, and the version of that layout.

The three outputs (``README.md``, "Outputs", is the contract)::

    VOCAB/   vocab.parquet  corpus.parquet  _meta.json  config.json  _SUCCESS
    MODEL/   vectors.parquet  vectors.bin  vectors.txt  metrics.json  config.json  _SUCCESS
             checkpoints/epoch-NNN/  syn0.npy  syn1neg.npy  state.json  _SUCCESS
    REPORT/  report.json  report.md  projection.svg  config.json  _SUCCESS

``_SUCCESS`` is written last, just before a directory is renamed into place
(:func:`w2v_spark.io.storage.publishing`): a directory without it is not an output.

:data:`FORMAT_VERSION` is written into ``_meta.json`` and ``metrics.json``; a reader refuses a
newer version than its own (:func:`check_format_version`) instead of misreading it. Raise it
when a file's name, schema or meaning changes.
"""

from __future__ import annotations

from collections.abc import Mapping

from w2v_spark.errors import UserError

#: Version of the layout above; 1 is the first versioned layout (outputs written before the
#: version existed have the same layout and no ``format_version`` key).
FORMAT_VERSION = 1

#: Written last into every published directory.
SUCCESS = "_SUCCESS"
#: The resolved configuration of the run, beside every output.
CONFIG = "config.json"

# The vocabulary stage.
#: ``id: int, word: string, count: long``, ids 0..V-1 by descending count.
VOCABULARY = "vocab.parquet"
#: ``ids: array<int>``, one row per sentence, only words of the vocabulary.
CORPUS = "corpus.parquet"
#: Settings, input, token counts, vocabulary size, versions.
VOCAB_META = "_meta.json"

# The training stage.
#: ``word: string, count: long, vector: array<float>``, one file, vocabulary order.
VECTORS = "vectors.parquet"
#: The word2vec C tool's binary format (gensim ``load_word2vec_format(binary=True)``).
VECTORS_BIN = "vectors.bin"
#: The word2vec C tool's text format.
VECTORS_TXT = "vectors.txt"
#: Per-epoch metrics, the corpus summary and the training settings.
METRICS = "metrics.json"
#: One directory per kept epoch checkpoint, ``epoch-NNN``.
CHECKPOINTS = "checkpoints"
#: A checkpoint's matrices (``.npy``, float32) and its state (epoch, RNG, fingerprint).
CHECKPOINT_SYN0 = "syn0.npy"
CHECKPOINT_SYN1NEG = "syn1neg.npy"
CHECKPOINT_STATE = "state.json"

# The evaluation stage.
REPORT_JSON = "report.json"
REPORT_MD = "report.md"
PROJECTION = "projection.svg"

#: Entries whose presence makes a directory a model directory (which then needs ``_SUCCESS``).
MODEL_MARKERS = (METRICS, CHECKPOINTS, VECTORS)
#: The word2vec files of a model directory, in the order a reader tries them.
WORD2VEC_FILES = (VECTORS_BIN, VECTORS_TXT)


def checkpoint_name(epoch: int) -> str:
    """The directory of epoch ``epoch``'s checkpoint under :data:`CHECKPOINTS`."""
    return f"epoch-{epoch:03d}"


def check_format_version(document: Mapping, path: str) -> None:
    """Refuse a ``_meta.json``/``metrics.json`` written by a newer layout than this code's."""
    found = document.get("format_version", FORMAT_VERSION)
    if not isinstance(found, int) or found > FORMAT_VERSION:
        raise UserError(
            f"{path} has format version {found!r}; this w2v-spark reads up to "
            f"{FORMAT_VERSION}: upgrade w2v-spark or rerun the stage that wrote it"
        )
