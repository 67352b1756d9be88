"""Stage 3, the evaluation job: any vectors in, ``report.json``, ``report.md`` and a picture out.

- :mod:`~w2v_spark.evaluate.analogies`: analogy accuracy as gensim's ``evaluate_word_analogies``
  (reading the question file, coverage, counts per section);
- :mod:`~w2v_spark.evaluate.analogy_scoring`: which questions gensim answers right, 3CosAdd and
  3CosMul batched, with gensim's tie-breaking;
- :mod:`~w2v_spark.evaluate.similarity`: word-pair Spearman correlation as gensim's
  ``evaluate_word_pairs``;
- :mod:`~w2v_spark.evaluate.neighbours`: the query grammar (``"king - man + woman"``) and
  nearest neighbours as gensim's ``most_similar``;
- :mod:`~w2v_spark.evaluate.word_vectors`: ``WordVectors``, words and vectors in memory with
  their index and norms kept, for many queries (``most_similar``, ``analogy``, ``similarity``);
- :mod:`~w2v_spark.evaluate._common`: helpers those share (vector checks, row norms, the
  vocabulary lookup, gensim's argsort and mean vector); all of these are pure NumPy;
- :mod:`~w2v_spark.evaluate.datasets`: the shipped evaluation sets and how to open one;
- :mod:`~w2v_spark.evaluate.report`: building ``report.json``'s contents, the coverage check, and
  writing the files;
- :mod:`~w2v_spark.evaluate.markdown`: ``report.md``, the report as a Markdown page;
- :mod:`~w2v_spark.evaluate.projection`: ``projection.svg``, a PCA picture of word pairs;
- :mod:`~w2v_spark.evaluate.stage`: what the job runs (read vectors, export, score, publish);
- :mod:`~w2v_spark.evaluate.query`: ``python -m w2v_spark.evaluate.query MODEL "king - man +
  woman"``.

May import :mod:`w2v_spark.io`, :mod:`w2v_spark.config`, :mod:`w2v_spark.session`.
"""
