"""Ask word vectors a question from the shell.

Usage::

    python -m w2v_spark.evaluate.query PATH "king - man + woman"   # analogy: king - man + woman = ?
    python -m w2v_spark.evaluate.query PATH similar paris           # nearest neighbours of a word
    python -m w2v_spark.evaluate.query PATH paris --topn 20
    python -m w2v_spark.evaluate.query vectors.txt paris --limit 50000  # only the first 50,000 rows

PATH is a word2vec ``.bin`` / ``.txt`` file or a model directory holding ``vectors.bin``
(or ``vectors.txt``). Words are matched as spelled, else in lowercase. Prints the top
``--topn`` (default 10) words with their cosine similarity; errors (unknown word, missing
file, bad query such as ``"paris france"``, two words with no ``+`` or ``-`` between them) are
one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from w2v_spark.errors import UserError
from w2v_spark.evaluate.neighbours import UnknownWordsError, parse_query
from w2v_spark.evaluate.word_vectors import MODEL_FILES, WordVectors, resolve_vectors_path

logger = logging.getLogger(__name__)

# Which file PATH means (resolve_vectors_path, MODEL_FILES) is WordVectors.from_model_dir's rule,
# defined in w2v_spark.evaluate.word_vectors and re-exported here.
__all__ = ["MODEL_FILES", "main", "query_text", "resolve_vectors_path", "run"]


def query_text(terms: Sequence[str]) -> str:
    """The query from the command-line words: ``similar WORD`` means the neighbours of WORD."""
    if len(terms) > 1 and terms[0] == "similar":
        return " ".join(terms[1:])
    return " ".join(terms)


def _match(vectors: WordVectors, query_words: Sequence[str]) -> list[str]:
    """Each query word as spelled if known, else its lowercase form; unknown ones all named."""
    matched, missing = [], []
    for word in query_words:
        if word in vectors:
            matched.append(word)
        elif word.lower() in vectors:
            matched.append(word.lower())
        else:
            missing.append(word)
    if missing:
        raise UnknownWordsError(missing)
    return matched


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="w2v-spark query",
        description="Nearest words to a word or to an analogy query such as 'king - man + woman'.",
    )
    parser.add_argument("path", help="word2vec .bin/.txt file, or a model directory")
    parser.add_argument("query", nargs="+", help="'a - b + c', a word, or: similar WORD")
    parser.add_argument("--topn", type=int, default=10, help="how many words (default 10)")
    parser.add_argument(
        "--limit",
        type=int,
        default=None,
        metavar="N",
        help="read only the first N rows of the vectors file (default: all the header announces)",
    )
    parser.add_argument(
        "--restrict-vocab",
        type=int,
        default=None,
        help="rank only the N most frequent words (default: all)",
    )
    return parser


def run(args: argparse.Namespace) -> list[tuple[str, float]]:
    """Load the vectors (:meth:`WordVectors.from_model_dir`) and answer the query; returns
    (word, cosine) pairs, best first."""
    if args.topn < 1:
        raise UserError("--topn must be >= 1")
    positive, negative = parse_query(query_text(args.query))
    vectors = WordVectors.from_model_dir(args.path, limit=args.limit)
    return vectors.most_similar(
        _match(vectors, positive),
        _match(vectors, negative),
        topn=args.topn,
        restrict_vocab=args.restrict_vocab,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    try:
        results = run(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    width = max((len(word) for word, _ in results), default=0)
    try:
        for word, score in results:
            print(f"{word:<{width}}  {score:.4f}")
    except BrokenPipeError:  # e.g. piped into `head`: stop quietly
        sys.stderr.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
