"""The whole pipeline in one Spark application: corpus -> OUT/vocab, OUT/model, OUT/report.

python jobs/pipeline.py --config conf/sample.toml --corpus data/sample.txt.gz --out runs/sample
"""

from __future__ import annotations

from w2v_spark.commands import pipeline as main

if __name__ == "__main__":
    main()
