"""Evaluation job: vectors -> OUT/report (report.json, report.md, projection.svg).

spark-submit jobs/evaluate.py --config conf/sample.toml --model runs/sample/model
    --out runs/sample/report
spark-submit jobs/evaluate.py --vectors other-tool/vectors.bin --out runs/other/report
"""

from __future__ import annotations

from w2v_spark.commands import evaluate as main

if __name__ == "__main__":
    main()
