"""The jobs' command lines: ``w2v-spark vocab|train|evaluate|pipeline|query ...``.

Each command parses its options, loads the config (logged once), gets the Spark session, calls
one stage function and stops the session; failures become one line and a non-zero exit
(:func:`w2v_spark.cli.job`). ``jobs/*.py`` call the same functions for ``spark-submit``, so
``w2v-spark train ...`` and ``spark-submit jobs/train.py ...`` take the same flags.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from w2v_spark.cli import job, job_parser
from w2v_spark.session import get_session, stop_session

CORPUS_HELP = "text, .gz, .bz2, directory, glob or Parquet"


def vocab(argv: Sequence[str] | None = None) -> None:
    """Vocabulary job: corpus -> OUT/vocab (vocab.parquet, corpus.parquet, _meta.json).

    w2v-spark vocab --config conf/sample.toml --corpus data/sample.txt.gz --out runs/sample/vocab
    """
    from w2v_spark.vocab.stage import build_vocabulary

    parser = job_parser(vocab.__doc__)
    parser.add_argument("--corpus", required=True, help=CORPUS_HELP)
    parser.add_argument("--out", required=True, help="output directory, e.g. OUT/vocab")
    args = parser.parse_args(argv)
    with job(args, "vocab") as config:
        spark = get_session(config.spark)
        try:
            build_vocabulary(
                spark, config, corpus=args.corpus, out=args.out, overwrite=args.overwrite
            )
        finally:
            stop_session(spark)


def train(argv: Sequence[str] | None = None) -> None:
    """Training job: OUT/vocab -> OUT/model (vectors, checkpoints, metrics).

    w2v-spark train --config conf/sample.toml --vocab runs/sample/vocab --out runs/sample/model
    """
    from w2v_spark.train.stage import train_model

    parser = job_parser(train.__doc__)
    parser.add_argument("--vocab", required=True, help="the vocabulary job's output directory")
    parser.add_argument("--out", required=True, help="output directory, e.g. OUT/model")
    parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    args = parser.parse_args(argv)
    with job(args, "train") as config:
        spark = get_session(config.spark)
        try:
            train_model(
                spark,
                config,
                vocab_dir=args.vocab,
                out=args.out,
                resume=args.resume,
                overwrite=args.overwrite,
            )
        finally:
            stop_session(spark)


def evaluate(argv: Sequence[str] | None = None) -> None:
    """Evaluation job: vectors -> OUT/report (report.json, report.md, projection.svg).

    w2v-spark evaluate --config conf/sample.toml --model runs/sample/model --out runs/sample/report
    w2v-spark evaluate --vectors other-tool/vectors.bin --out runs/other/report
    """
    from w2v_spark.evaluate.stage import evaluate_outputs

    parser = job_parser(evaluate.__doc__)
    parser.add_argument("--model", help="a finished model directory (OUT/model)")
    parser.add_argument("--vectors", help="or any word2vec .bin/.txt file")
    parser.add_argument(
        "--limit",
        type=int,
        metavar="N",
        help="read only the first N rows of the --vectors file (default: all the header announces)",
    )
    parser.add_argument("--out", required=True, help="output directory, e.g. OUT/report")
    args = parser.parse_args(argv)
    with job(args, "evaluate") as config:
        spark = get_session(config.spark)
        try:
            evaluate_outputs(
                spark,
                config,
                out=args.out,
                model=args.model,
                vectors=args.vectors,
                overwrite=args.overwrite,
                limit=args.limit,
            )
        finally:
            stop_session(spark)


def pipeline(argv: Sequence[str] | None = None) -> None:
    """The whole pipeline in one Spark application: corpus -> OUT/vocab, OUT/model, OUT/report.

    w2v-spark pipeline --config conf/sample.toml --corpus data/sample.txt.gz --out runs/sample
    """
    from w2v_spark.pipeline import run_pipeline

    parser = job_parser(pipeline.__doc__)
    parser.add_argument("--corpus", required=True, help=CORPUS_HELP)
    parser.add_argument("--out", required=True, help="output directory (vocab/, model/, report/)")
    args = parser.parse_args(argv)
    with job(args, "pipeline") as config:
        spark = get_session(config.spark)
        try:
            run_pipeline(spark, config, corpus=args.corpus, out=args.out, overwrite=args.overwrite)
        finally:
            stop_session(spark)


def query(argv: Sequence[str] | None = None) -> None:
    """Ask trained vectors: ``w2v-spark query MODEL "king - man + woman"``."""
    from w2v_spark.evaluate.query import main as query_main

    raise SystemExit(query_main(argv))


COMMANDS: dict[str, Callable[[Sequence[str] | None], None]] = {
    "vocab": vocab,
    "train": train,
    "evaluate": evaluate,
    "pipeline": pipeline,
    "query": query,
}


def main(argv: Sequence[str] | None = None) -> None:
    """``w2v-spark COMMAND [options]``: the console script (``pyproject.toml``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        names = "|".join(COMMANDS)
        given = f"unknown command {argv[0]!r}; " if argv and argv[0] not in ("-h", "--help") else ""
        print(
            f"w2v-spark: {given}usage: w2v-spark {{{names}}} [options] (--help per command)",
            file=sys.stderr,
        )
        raise SystemExit(0 if argv and argv[0] in ("-h", "--help") else 2)
    sys.argv[0] = f"w2v-spark {argv[0]}"
    COMMANDS[argv[0]](argv[1:])
