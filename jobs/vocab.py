"""Vocabulary job: corpus -> OUT/vocab (vocab.parquet, corpus.parquet, _meta.json).

spark-submit jobs/vocab.py --config conf/sample.toml
    --corpus data/sample.txt.gz --out runs/sample/vocab
"""

from __future__ import annotations

from w2v_spark.commands import vocab as main

if __name__ == "__main__":
    main()
