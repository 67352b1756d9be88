"""The whole pipeline in one Spark application: corpus -> OUT/vocab, OUT/model, OUT/report.

python jobs/pipeline.py --config conf/sample.toml --corpus data/sample.txt.gz --out runs/sample
"""

from __future__ import annotations

from w2v_spark.cli import job, job_parser
from w2v_spark.pipeline import run_pipeline
from w2v_spark.session import get_session, stop_session


def main() -> None:
    parser = job_parser(__doc__)
    parser.add_argument(
        "--corpus", required=True, help="text, .gz, .bz2, directory, glob or Parquet"
    )
    parser.add_argument("--out", required=True, help="output directory (vocab/, model/, report/)")
    args = parser.parse_args()
    with job(args, "pipeline") as config:
        spark = get_session(config.spark)
        try:
            run_pipeline(spark, config, corpus=args.corpus, out=args.out, overwrite=args.overwrite)
        finally:
            stop_session(spark)


if __name__ == "__main__":
    main()
