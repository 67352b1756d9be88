"""Stage 1, the vocabulary job: corpus text in, ``vocab.parquet`` and ``corpus.parquet`` out.

- :mod:`~w2v_spark.vocab.tokenize`: reading any corpus (text, gz/bz2, a Parquet column) into
  tokens with Spark SQL functions;
- :mod:`~w2v_spark.vocab.stage`: counting, pruning to ``min_count``, encoding the corpus as
  word ids, and publishing both with ``_meta.json``.

May import :mod:`w2v_spark.io`, :mod:`w2v_spark.config`, :mod:`w2v_spark.session`.
"""
