"""Training job: OUT/vocab -> OUT/model (vectors, checkpoints, metrics).

spark-submit jobs/train.py --config conf/sample.toml --vocab runs/sample/vocab
    --out runs/sample/model [--resume]
"""

from __future__ import annotations

from w2v_spark.cli import job, job_parser
from w2v_spark.session import get_session, stop_session
from w2v_spark.train.stage import train_model


def main() -> None:
    parser = job_parser(__doc__)
    parser.add_argument("--vocab", required=True, help="the vocabulary job's output directory")
    parser.add_argument("--out", required=True, help="output directory, e.g. OUT/model")
    parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
