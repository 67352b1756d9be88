"""One typed configuration for every stage.

Precedence, lowest first: the frozen dataclass defaults below (each with the reason for its
value) < a profile ``conf/<name>.toml`` < repeatable ``--set section.key=value`` overrides.
Unknown sections or keys and values of the wrong type are errors that name the key.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import types
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from w2v_spark.errors import UserError
from w2v_spark.evaluate.neighbours import parse_query

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


@dataclass(frozen=True)
class SparkConfig:
    """How the SparkSession is built when no ``spark-submit`` already configured one."""

    # local[*] uses every core of the machine; spark-submit's --master or SPARK_MASTER wins.
    master: str = "local[*]"
    app_name: str = "w2v-spark"
    # The driver holds both weight matrices plus one aggregate; 4g fits vocab 300k x dim 300.
    driver_memory: str = "4g"
    # Spark's console progress bar garbles log lines on a terminal; our own log shows progress.
    show_progress: bool = False
    # Extra Spark properties, e.g. {"spark.sql.shuffle.partitions" = "8"}.
    conf: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class VocabConfig:
    """Tokenisation, counting and encoding of the corpus (gensim's ``build_vocab``)."""

    # "auto" picks parquet for *.parquet paths or directories of Parquet files, else text.
    input_format: str = "auto"
    # The string column holding text when the input is Parquet.
    text_column: str = "text"
    # Lowercasing merges "The" and "the"; the Google analogy set is evaluated case-insensitively.
    lowercase: bool = True
    # "pattern" extracts every match of token_pattern; "whitespace" keeps the input's tokens.
    tokenizer: str = "pattern"
    # Runs of Unicode letters, with inner apostrophes kept ("don't", "o'brien"): digits and
    # punctuation are dropped. On text8-style input (a-z and spaces) it equals whitespace splitting.
    token_pattern: str = r"\p{L}+(?:'\p{L}+)*"
    # Words seen fewer times than this are dropped, as in gensim and the C tool (default 5).
    min_count: int = 5
    # Keep at most this many of the most frequent words; 0 means no cap.
    max_vocab_size: int = 0
    # gensim cuts sentences at 10,000 words; a one-line corpus becomes many sentences.
    max_sentence_length: int = 10_000
    # Files in corpus.parquet; 0 means Spark's default parallelism (balanced training partitions).
    num_files: int = 0
    # Refuse a corpus with more than this fraction of U+FFFD (undecodable bytes) among its
    # characters: 1% is far above a few stray bytes in real text and far below a binary file
    # or another encoding (/bin/ls read as text: 27%). 1.0 accepts anything.
    max_replacement_fraction: float = 0.01


@dataclass(frozen=True)
class TrainConfig:
    """word2vec training (skip-gram or CBOW, negative sampling or hierarchical softmax); names
    and defaults follow gensim and the C tool."""

    # 1: skip-gram (each word predicts its contexts; better on rare words, the seed's model);
    # 0: CBOW (the mean of the contexts predicts the word; gensim's and the C tool's default,
    # faster per word). gensim's name. alpha stays 0.025 for both, as in gensim (the C tool
    # starts CBOW at 0.05): one schedule, and gensim is the reference we measure against.
    sg: int = 1
    # With sg = 0: 1 averages the context vectors (gensim's default), 0 sums them.
    cbow_mean: int = 1
    # Dimensionality of the vectors; 100 is gensim's and the C tool's default.
    vector_size: int = 100
    # Maximum distance between centre and context word; each centre draws its own 1..window.
    window: int = 5
    # Noise words per positive pair; 5 is gensim's default (5-20 suit small corpora). 0 with hs.
    negative: int = 5
    # 1: hierarchical softmax (each predicted word's Huffman path instead of negatives; needs
    # negative = 0), as gensim's and the C tool's hs. 0 (default): negative sampling, gensim's
    # default and the mode every benchmark here measures; Spark MLlib trains hs only.
    hs: int = 0
    # Noise distribution count**ns_exponent; 0.75 from Mikolov et al. 2013.
    ns_exponent: float = 0.75
    # Subsampling threshold for frequent words; 1e-3 is gensim's default.
    sample: float = 1e-3
    # Initial and final learning rate, decayed linearly over the whole run (gensim's defaults).
    alpha: float = 0.025
    min_alpha: float = 0.0001
    # Passes over the corpus; 5 is gensim's default.
    epochs: int = 5
    # Seed for initialisation, subsampling, windows and negatives (with epoch and partition).
    seed: int = 1
    # Training partitions; 0 means Spark's default parallelism (one per core).
    num_partitions: int = 0
    # Who holds the weights. "executor": the tasks of one executor train one shared copy
    # Hogwild-style as gensim's threads do, so one executor (local mode) matches gensim at any
    # partition count; not bit-reproducible. "blocks": no copies at all: the vocabulary is cut
    # into num_partitions blocks and executors train disjoint (syn0 block, syn1neg block)
    # buckets in rotation (w2v_spark/train/rotation.py), so no accuracy is lost to combining at any
    # executor count; bit-reproducible. "partition": a copy per partition, averaged (kept for
    # comparison). "auto" (default): "executor" under a local master, "blocks" on a cluster,
    # where executor copies had to be averaged and lost accuracy (benchmarks/README.md).
    replicas: str = "auto"
    # With "blocks": each (centre block, context block) bucket is cut into this many pieces and
    # the rotation runs once per piece, so a word meets every context block this many times
    # per epoch (30% of wiki8, 3 epochs, one copy 0.115 analogy: 2 blocks 0.108 with 1 pass,
    # 0.116 with 2; 4 blocks 0.093 / 0.117 / 0.121 with 1 / 2 / 8; 8 blocks 0.108 / 0.119 with
    # 2 / 8; 16 and 32 blocks 0.123 and 0.122 with 4). Each pass costs one broadcast and
    # collect of the model per block: at 2 executors 4 passes ran 0.92x the words/s of
    # local[2], 2 passes 1.08x but 3% less accurate (benchmarks/README.md).
    block_passes: int = 4
    # Syncs (parameter averaging rounds) per epoch; 0 = auto: 1 with executor replicas or up to 2
    # partitions, else 4 (each sync costs one broadcast and one reduce; measured on wiki8,
    # benchmarks/README.md).
    syncs_per_epoch: int = 0
    # How copies are combined when there are several (w2v_spark/train/averaging.py): "mean" (Spark
    # MLlib's rule), "momentum" (block momentum), or "auto": "momentum" for executor copies,
    # "mean" for partition copies. Unused with "blocks", which has no copies.
    averaging: str = "auto"
    # Each copy trains at this multiple of alpha (and of the decayed rate) when more than one
    # copy is combined by block momentum. Averaging E copies counts each copy's change 1/E; 2x
    # makes up part of it (30% of wiki8, E = 4: 0.040 -> 0.077 analogy in the screen, 0.039 ->
    # 0.071 on a loopback cluster), but on full wiki8 at E = 2 it spiked the loss in epoch 2
    # (2.58, 5.23, 4.54, 2.78, 2.41) before ending at 0.93x gensim: not yet a safe default
    # (benchmarks/README.md). One copy (local mode) always trains at alpha.
    copy_alpha_scale: float = 1.0
    # Where an executor's tasks keep the copy they share (replicas = "executor"): a directory of
    # the executor's own under this one, or "" for Spark's work directory. "auto": /dev/shm
    # (memory: no disk writeback competes with training) for models of 1 GiB and more, where
    # it trained 1M words x 300 dims 1.36x faster than the work directory; smaller models in
    # the work directory, whose page cache was 1.1x faster on wiki8 (benchmarks/README.md). A
    # directory without room for three copies: the work directory, said in the executor's log.
    shared_memory_dir: str = "auto"
    # Under a local master (executor replicas, one executor on this machine): threads that train
    # the copy inside one task, on private memory (w2v_spark/train/threads.py); 0 = auto, one
    # per core (Spark's default parallelism); 1 = one task per partition on a shared mapped copy.
    # Two threads against two tasks on wiki8, 1 epoch: median 1.11x the words/s over 8 pairs
    # (0.79-1.33x, this machine's noise), the same accuracy; V = 1M x 300: 1.19x; costs one
    # more copy of the model (M) in the task's worker (benchmarks/README.md). Unused on a cluster.
    threads: int = 0
    # Words per kernel batch: large enough for BLAS to pay off, small enough to stay in cache.
    batch_words: int = 10_000
    # Write a checkpoint after every epoch so a crashed run can --resume.
    checkpoint: bool = True


@dataclass(frozen=True)
class EvaluateConfig:
    """Analogy and similarity evaluation (gensim's ``evaluate_word_analogies`` protocol)."""

    # Empty means the copy shipped in w2v_spark/data/.
    analogies: str = ""
    wordsim353: str = ""
    simlex999: str = ""
    # Only the 30,000 most frequent words are candidates, as in gensim and compute-accuracy.
    restrict_vocab: int = 30_000
    # The Google set is mixed case ("Athens"); vocabularies are usually lowercased.
    case_insensitive: bool = True
    # "3cosadd" (Mikolov et al.) or "3cosmul" (Levy and Goldberg 2014).
    method: str = "3cosadd"
    # Queries shown in the report, "a - b + c" or a single word for nearest neighbours.
    examples: list[str] = field(
        default_factory=lambda: [
            "king - man + woman",
            "delhi - india + japan",
            "paris - france + germany",
            "france",
            "computer",
            "music",
        ]
    )
    # Neighbours shown per example.
    top_n: int = 5


@dataclass(frozen=True)
class Config:
    spark: SparkConfig = field(default_factory=SparkConfig)
    vocab: VocabConfig = field(default_factory=VocabConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    evaluate: EvaluateConfig = field(default_factory=EvaluateConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _coerce(key: str, value: Any, tp: Any) -> Any:
    """Check ``value`` against the field type ``tp``; ints are accepted where floats are."""
    origin = typing.get_origin(tp)
    if origin in (list, dict):
        if not isinstance(value, origin):
            raise UserError(f"config key {key}: expected a {origin.__name__}, got {value!r}")
        if origin is dict:
            return {str(k): str(v) for k, v in value.items()}
        return list(value)
    if origin in (typing.Union, types.UnionType):
        raise TypeError(f"unsupported config type for {key}")  # not used by any field
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is bool and not isinstance(value, bool):
        raise UserError(f"config key {key}: expected true or false, got {value!r}")
    if tp is int and isinstance(value, bool):
        raise UserError(f"config key {key}: expected an integer, got {value!r}")
    if not isinstance(value, tp):
        raise UserError(f"config key {key}: expected {_type_name(tp)}, got {value!r}")
    return value


def _section_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _parse_override(item: str) -> tuple[str, str, Any]:
    """``section.key=value`` with a TOML value; bare words are taken as strings."""
    name, sep, raw = item.partition("=")
    section, dot, key = name.strip().partition(".")
    if not sep or not dot or not key:
        raise UserError(f"--set {item!r}: expected section.key=value")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return section, key.strip(), value


def build_config(
    profile: dict[str, Any] | None = None, overrides: list[str] | tuple[str, ...] = ()
) -> Config:
    """Merge a parsed profile and ``section.key=value`` overrides over the defaults."""
    merged: dict[str, dict[str, Any]] = {}
    for section, values in (profile or {}).items():
        if not isinstance(values, dict):
            raise UserError(f"config section [{section}] must be a table, got {values!r}")
        merged.setdefault(section, {}).update(values)
    for item in overrides:
        section, key, value = _parse_override(item)
        merged.setdefault(section, {})[key] = value

    hints = _section_types(Config)
    sections: dict[str, Any] = {}
    for section, values in merged.items():
        if section not in hints:
            known = ", ".join(f.name for f in fields(Config))
            raise UserError(f"unknown config section [{section}] (known: {known})")
        cls = hints[section]
        types_ = _section_types(cls)
        kwargs = {}
        for key, value in values.items():
            if key not in types_:
                raise UserError(
                    f"unknown config key {section}.{key} (known: {', '.join(sorted(types_))})"
                )
            kwargs[key] = _coerce(f"{section}.{key}", value, types_[key])
        sections[section] = cls(**kwargs)
    config = Config(**sections)
    validate(config)
    return config


def load_config(
    path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()
) -> Config:
    """Read a TOML profile (or none) and apply overrides."""
    profile: dict[str, Any] = {}
    if path:
        p = Path(path)
        if not p.is_file():
            raise UserError(f"config file not found: {p}")
        try:
            profile = tomllib.loads(p.read_text(encoding="utf-8"))
        except UnicodeDecodeError as exc:
            raise UserError(
                f"config file {p} is not UTF-8 text (byte {exc.start}: {exc.reason}); "
                "give a TOML profile such as conf/sample.toml"
            ) from None
        except OSError as exc:
            raise UserError(f"config file {p} cannot be read: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise UserError(f"config file {p} is not valid TOML: {exc}") from None
    return build_config(profile, overrides)


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise UserError(message)


def validate(config: Config) -> None:
    """Range checks that types alone cannot express."""
    v, t, e = config.vocab, config.train, config.evaluate
    _check(
        v.input_format in ("auto", "text", "parquet"), "vocab.input_format: auto, text or parquet"
    )
    _check(v.tokenizer in ("pattern", "whitespace"), "vocab.tokenizer: pattern or whitespace")
    _check(v.min_count >= 1, "vocab.min_count must be >= 1")
    _check(v.max_vocab_size >= 0, "vocab.max_vocab_size must be >= 0 (0 = no cap)")
    _check(v.max_sentence_length >= 1, "vocab.max_sentence_length must be >= 1")
    _check(v.num_files >= 0, "vocab.num_files must be >= 0")
    _check(
        0 <= v.max_replacement_fraction <= 1,
        "vocab.max_replacement_fraction must be between 0 and 1 (1 accepts anything)",
    )
    _check(t.vector_size >= 1, "train.vector_size must be >= 1")
    _check(t.window >= 1, "train.window must be >= 1")
    _check(t.hs in (0, 1), "train.hs: 0 (negative sampling) or 1 (hierarchical softmax)")
    _check(
        t.negative == 0 if t.hs else t.negative >= 1,
        "train.hs=1 needs train.negative=0 (hierarchical softmax draws no negatives)"
        if t.hs
        else "train.negative must be >= 1 (or 0 with train.hs=1, hierarchical softmax)",
    )
    _check(t.sample >= 0, "train.sample must be >= 0 (0 disables subsampling)")
    _check(
        t.alpha > 0 and 0 <= t.min_alpha <= t.alpha,
        "train: need alpha > 0 and 0 <= min_alpha <= alpha",
    )
    _check(t.copy_alpha_scale >= 1, "train.copy_alpha_scale must be >= 1")
    _check(t.epochs >= 1, "train.epochs must be >= 1")
    _check(t.num_partitions >= 0, "train.num_partitions must be >= 0")
    _check(t.syncs_per_epoch >= 0, "train.syncs_per_epoch must be >= 0 (0 = auto)")
    _check(
        t.replicas in ("auto", "executor", "blocks", "partition"),
        "train.replicas: auto, executor, blocks or partition",
    )
    _check(t.threads >= 0, "train.threads must be >= 0 (0 = one per core)")
    _check(t.block_passes >= 1, "train.block_passes must be >= 1")
    _check(t.sg in (0, 1), "train.sg: 1 (skip-gram) or 0 (CBOW)")
    _check(t.cbow_mean in (0, 1), "train.cbow_mean: 1 (mean of the contexts) or 0 (sum)")
    _check(
        not (t.sg == 0 and t.replicas == "blocks"),
        "train.replicas=blocks trains skip-gram pairs only; CBOW (train.sg=0) needs executor "
        "or partition (auto picks executor)",
    )
    _check(
        not (t.hs == 1 and t.replicas == "blocks"),
        "train.replicas=blocks trains negative sampling only (it draws negatives per block); "
        "hierarchical softmax (train.hs=1) needs executor or partition (auto picks executor)",
    )
    _check(
        t.averaging in ("auto", "mean", "momentum"),
        "train.averaging: auto, mean or momentum (weighted, sum and matched were retired: "
        "benchmarks/README.md)",
    )
    _check(t.batch_words >= 1, "train.batch_words must be >= 1")
    _check(e.restrict_vocab >= 1, "evaluate.restrict_vocab must be >= 1")
    _check(e.method in ("3cosadd", "3cosmul"), "evaluate.method: 3cosadd or 3cosmul")
    _check(e.top_n >= 1, "evaluate.top_n must be >= 1")
    for example in e.examples:
        try:
            parse_query(example)
        except UserError as exc:  # refused now, not after training and evaluation
            raise UserError(f"evaluate.examples: {exc}") from None
