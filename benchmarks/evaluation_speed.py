"""Time the analogy evaluation on the full Google set: 30,000 words, dim 100.

    .venv/bin/python benchmarks/evaluation_speed.py [--runs 5] [--words 30000] [--dim 100]

Every question word of ``w2v_spark/data/questions-words.txt`` is among ``--words`` random
vectors (the rest are fillers), so all 19,544 questions are scored, with
``restrict_vocab = --words``. Prints each run's seconds and their median; the vectors are made
once, outside the timing. tests/test_evaluation.py checks that the result is right, this
script how long it takes.
"""

from __future__ import annotations

import argparse
import importlib.resources
import statistics
import time

import numpy as np

from w2v_spark.evaluate.analogies import evaluate_analogies, read_analogies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs (default 5)")
    parser.add_argument("--words", type=int, default=30000, help="vocabulary size (default 30000)")
    parser.add_argument("--dim", type=int, default=100, help="vector size (default 100)")
    args = parser.parse_args()

    resource = importlib.resources.files("w2v_spark") / "data" / "questions-words.txt"
    with importlib.resources.as_file(resource) as questions:
        sections = read_analogies(questions)
        question_words = sorted({w.lower() for _, qs in sections for q in qs for w in q})
        if args.words < len(question_words):
            parser.error(f"--words must be at least {len(question_words)} (the question words)")
        words = question_words + [f"filler{i}" for i in range(args.words - len(question_words))]
        vectors = np.random.default_rng(0).standard_normal((len(words), args.dim))
        vectors = vectors.astype(np.float32)
        seconds = []
        for run in range(1, args.runs + 1):
            started = time.perf_counter()
            result = evaluate_analogies(words, vectors, questions, restrict_vocab=args.words)
            seconds.append(time.perf_counter() - started)
            print(
                f"run {run}: {seconds[-1]:.2f} s ({result['total']['covered']:,} of "
                f"{result['questions']:,} questions covered)"
            )
    print(
        f"median of {args.runs} runs: {statistics.median(seconds):.2f} s "
        f"({args.words:,} words, dim {args.dim})"
    )


if __name__ == "__main__":
    main()
