"""Evaluation job: vectors -> OUT/report (report.json, report.md, projection.svg).

spark-submit jobs/evaluate.py --config conf/sample.toml --model runs/sample/model
    --out runs/sample/report
spark-submit jobs/evaluate.py --vectors other-tool/vectors.bin --out runs/other/report
"""

from __future__ import annotations

from w2v_spark.cli import job, job_parser
from w2v_spark.evaluate.stage import evaluate_outputs
from w2v_spark.session import get_session, stop_session


def main() -> None:
    parser = job_parser(__doc__)
    parser.add_argument("--model", help="a finished model directory (OUT/model)")
    parser.add_argument("--vectors", help="or any word2vec .bin/.txt file")
    parser.add_argument(
        "--limit",
        type=int,
        metavar="N",
        help="read only the first N rows of the --vectors file (default: all the header announces)",
    )
    parser.add_argument("--out", required=True, help="output directory, e.g. OUT/report")
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
