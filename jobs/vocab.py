"""Vocabulary job: corpus -> OUT/vocab (vocab.parquet, corpus.parquet, _meta.json).

spark-submit jobs/vocab.py --config conf/sample.toml
    --corpus data/sample.txt.gz --out runs/sample/vocab
"""

from __future__ import annotations

from w2v_spark.cli import job, job_parser
from w2v_spark.session import get_session, stop_session
from w2v_spark.vocab.stage import build_vocabulary


def main() -> None:
    parser = job_parser(__doc__)
    parser.add_argument(
        "--corpus", required=True, help="text, .gz, .bz2, directory, glob or Parquet"
    )
    parser.add_argument("--out", required=True, help="output directory, e.g. OUT/vocab")
    args = parser.parse_args()
    with job(args, "vocab") as config:
        spark = get_session(config.spark)
        try:
            build_vocabulary(
                spark, config, corpus=args.corpus, out=args.out, overwrite=args.overwrite
            )
        finally:
            stop_session(spark)


if __name__ == "__main__":
    main()
