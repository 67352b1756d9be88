"""Time ``WordVectors.most_similar`` once the vectors are loaded: milliseconds per query.

    .venv/bin/python benchmarks/word_vectors_speed.py [--words 30000] [--dim 100] [--queries 200]
    .venv/bin/python benchmarks/word_vectors_speed.py --vectors out/model/vectors.bin

Without ``--vectors``: ``--words`` random normal vectors of dimension ``--dim`` (float32). Asks
``--queries`` questions of random words (alternately one word and ``a - b + c``, top 10), once
untimed to compute the cached norms, then each timed alone; prints the load / first-query time
and the median and 95th percentile milliseconds per query. tests/test_word_vectors.py checks the
answers; this script only how long they take.

Each query is one float32 matrix-vector product (OpenBLAS ``sgemv``, multi-threaded by default):
on a machine whose cores are busy with other work, the BLAS threads' hand-offs can cost more
than the product itself; ``OPENBLAS_NUM_THREADS=1`` in the environment measures without them.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from w2v_spark.evaluate.word_vectors import WordVectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--vectors", default=None, help="a word2vec .bin/.txt file (default: random)"
    )
    parser.add_argument("--words", type=int, default=30000, help="random words (default 30000)")
    parser.add_argument("--dim", type=int, default=100, help="random dimension (default 100)")
    parser.add_argument("--queries", type=int, default=200, help="timed queries (default 200)")
    parser.add_argument("--topn", type=int, default=10, help="neighbours per query (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    if args.vectors:
        wv = WordVectors.from_word2vec(args.vectors)
        source = args.vectors
    else:
        words = [f"w{i}" for i in range(args.words)]
        wv = WordVectors(words, rng.standard_normal((args.words, args.dim), dtype=np.float32))
        source = "random"
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    wv.most_similar(wv.words[0], topn=args.topn)  # computes and keeps the row norms
    first = time.perf_counter() - started

    picks = rng.integers(0, len(wv), size=(args.queries, 3))
    queries = [
        ([wv.words[a]], []) if i % 2 == 0 else ([wv.words[a], wv.words[c]], [wv.words[b]])
        for i, (a, b, c) in enumerate(picks)
    ]
    milliseconds = []
    for positive, negative in queries:
        started = time.perf_counter()
        wv.most_similar(positive, negative, topn=args.topn)
        milliseconds.append(1000.0 * (time.perf_counter() - started))
    p95 = float(np.percentile(milliseconds, 95))
    print(
        f"{len(wv):,} words, dim {wv.vector_size} ({source}): loaded in {loaded:.2f} s, "
        f"first query (with the norms) {1000.0 * first:.1f} ms"
    )
    print(
        f"most_similar over {args.queries} queries, top {args.topn}: median "
        f"{statistics.median(milliseconds):.3f} ms, 95th percentile {p95:.3f} ms"
    )


if __name__ == "__main__":
    main()
