"""Stage 2, the training job: the vocabulary stage's output in, the model directory out.

From the inside out:

- :mod:`~w2v_spark.train.sampling`: subsampling, noise distribution, windows, learning rate,
  seeded generators (pure NumPy);
- :mod:`~w2v_spark.train.kernel`: the skip-gram negative-sampling step and
  :func:`~w2v_spark.train.kernel.train_sentences` (pure NumPy);
- :mod:`~w2v_spark.train.sentences`: loading the encoded corpus into cached partitions;
- :mod:`~w2v_spark.train.sync_task`: what one partition does in one sync (train its copy, send
  back the rows it updated);
- :mod:`~w2v_spark.train.replicas`: one shared copy per executor (memory-mapped);
- :mod:`~w2v_spark.train.averaging`: combining the copies' rows on the driver;
- :mod:`~w2v_spark.train.blocks`, :mod:`~w2v_spark.train.rotation`: the cluster default, block
  rotation (no copies: each task owns one block of rows);
- :mod:`~w2v_spark.train.cbow`, :mod:`~w2v_spark.train.hs`, :mod:`~w2v_spark.train.huffman`:
  CBOW and hierarchical softmax (``train.sg``, ``train.hs``);
- :mod:`~w2v_spark.train.params`, :mod:`~w2v_spark.train.rows`,
  :mod:`~w2v_spark.train.batches`: the kernel's parameters, row scatters and batching;
- :mod:`~w2v_spark.train.checkpoint`: per-epoch checkpoints and resume;
- :mod:`~w2v_spark.train.checks`: what stops a run early, in one line;
- :mod:`~w2v_spark.train.model_dir`: the model directory (plan, finished model, publishing);
- :mod:`~w2v_spark.train.stage`: the driver loop.

May import :mod:`w2v_spark.io`, :mod:`w2v_spark.vocab` (its outputs' reader),
:mod:`w2v_spark.config`, :mod:`w2v_spark.session`; the NumPy modules import nothing from Spark.
"""
