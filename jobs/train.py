"""Training job: OUT/vocab -> OUT/model (vectors, checkpoints, metrics).

spark-submit jobs/train.py --config conf/sample.toml --vocab runs/sample/vocab
    --out runs/sample/model [--resume]
"""

from __future__ import annotations

from w2v_spark.commands import train as main

if __name__ == "__main__":
    main()
