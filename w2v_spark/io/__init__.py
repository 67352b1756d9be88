"""Reading and publishing files on any Hadoop path: the bottom layer every stage uses.

- :mod:`~w2v_spark.io.storage`: the JVM FileSystem (local, hdfs://, s3a://), atomic publish;
- :mod:`~w2v_spark.io.paths`: every output's file names, and the format version;
- :mod:`~w2v_spark.io.outputs`: owning an output before any work (overlap checks, the lock);
- :mod:`~w2v_spark.io.vectors`: vectors as Parquet and in the word2vec text/binary formats;
- :mod:`~w2v_spark.io.model`: the trained model's published vector files.

May import :mod:`w2v_spark.errors` and :mod:`w2v_spark.config` only; no stage imports from here
upward.
"""
