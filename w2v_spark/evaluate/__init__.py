"""Stage 3, the evaluation job: any vectors in, ``report.json``, ``report.md`` and a picture out.

- :mod:`~w2v_spark.evaluate.evaluation`: analogy accuracy and word-similarity correlation with
  gensim's protocol, nearest neighbours and the query grammar (pure NumPy);
- :mod:`~w2v_spark.evaluate.report`: the report's contents and its Markdown/SVG rendering;
- :mod:`~w2v_spark.evaluate.stage`: what the job runs (read vectors, export, score, publish);
- :mod:`~w2v_spark.evaluate.query`: ``python -m w2v_spark.evaluate.query MODEL "king - man +
  woman"``.

May import :mod:`w2v_spark.io`, :mod:`w2v_spark.config`, :mod:`w2v_spark.session`.
"""
