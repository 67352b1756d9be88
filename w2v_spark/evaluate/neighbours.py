"""Nearest neighbours and the query grammar: ``"king - man + woman"`` answered as gensim's.

:func:`parse_query` splits a query into positive and negative words (also used by
:mod:`w2v_spark.config` to check ``evaluate.examples``, so this module imports NumPy only);
:func:`most_similar` ranks words by cosine with their signed mean, as gensim 4's
``KeyedVectors.most_similar``. Its one implementation, :func:`_most_similar`, takes the row
norms and the word -> row index as arguments: :func:`most_similar` computes them for each call,
:class:`~w2v_spark.evaluate.word_vectors.WordVectors` once for all its queries.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np

from w2v_spark.errors import UserError
from w2v_spark.evaluate._common import (
    _check_vectors,
    _gensim_argsort_desc,
    _row_norms,
    _signed_mean_like_gensim,
)

_OPERATOR = re.compile(r"^([+-])(.*)$")


def parse_query(query: str) -> tuple[list[str], list[str]]:
    """Split ``"king - man + woman"`` into positive and negative words.

    Terms are separated by whitespace; ``+`` / ``-`` (alone or glued to the front of a word,
    as in ``-man``) give the sign of the next word; the first word is positive unless signed,
    and every later word needs its own operator (``"paris france"`` is an error, not a silent
    sum). A single word gives its nearest neighbours. Hyphens inside words (``well-known``)
    stay.

    Returns
    -------
    (list of str, list of str)
        Positive and negative words, in query order.

    Raises
    ------
    UserError
        Empty query, two operators in a row, an operator at the end, or two words with no
        operator between them.
    """
    positive: list[str] = []
    negative: list[str] = []
    sign: str | None = None
    previous: str | None = None  # the last word, while no operator has followed it
    for token in query.split():
        match = _OPERATOR.match(token)
        if match:
            if sign is not None:
                raise UserError(f"query {query!r}: two operators in a row")
            sign, token, previous = match.group(1), match.group(2), None
            if not token:
                continue
        elif previous is not None:
            raise UserError(
                f"query {query!r}: no + or - between {previous!r} and {token!r}; put + or - "
                'between words, e.g. "paris - france + italy"'
            )
        (negative if sign == "-" else positive).append(token)
        sign, previous = None, token
    if sign is not None:
        raise UserError(f"query {query!r}: ends with an operator")
    if not positive and not negative:
        raise UserError("empty query")
    return positive, negative


def _first_rows(words: Sequence[str]) -> dict[str, int]:
    """Word -> row; a repeated word maps to its first row (as gensim's loader keeps)."""
    rows: dict[str, int] = {}
    for i, word in enumerate(words):
        rows.setdefault(word, i)
    return rows


def missing_words(words: Iterable[str], query_words: Iterable[str]) -> list[str]:
    """The query words (exact spelling) that are not in ``words``, in query order.

    ``words`` may be any collection of words; a set or a dict (such as a word -> row index)
    is used as it is, anything else is made into a set first.
    """
    known = words if isinstance(words, (set, frozenset, dict)) else set(words)
    return [w for w in query_words if w not in known]


class UnknownWordsError(UserError, KeyError):
    """Query words not in the vocabulary, all of them named in one line.

    A :class:`~w2v_spark.errors.UserError` (the command-line tools print it as one line) and
    a :class:`KeyError` (as a missing key of a mapping, like gensim's ``KeyedVectors``).

    Attributes
    ----------
    missing : list of str
        The unknown words, in query order.
    """

    def __init__(self, missing: Sequence[str]) -> None:
        self.missing = list(missing)
        super().__init__(f"not in the vocabulary: {', '.join(self.missing)}")

    def __str__(self) -> str:  # KeyError would show the repr of the message, in quotes
        return str(self.args[0])

    def __reduce__(self) -> tuple[type, tuple[list[str]]]:  # pickles with its words
        return type(self), (self.missing,)


def _rows_of(index: dict[str, int], query_words: Sequence[str]) -> list[int]:
    """The row of each query word, in query order.

    Raises
    ------
    UnknownWordsError
        Some words are not in ``index``; all of them are named.
    """
    missing = missing_words(index, query_words)
    if missing:
        raise UnknownWordsError(missing)
    return [index[w] for w in query_words]


#: A signed sum of the query's unit vectors shorter than this per word has no direction
#: ("king - king", or a word whose vector is zero): float32 rounding of unit vectors is ~1e-7.
NEAR_ZERO_QUERY = 1e-4


def _refuse_zero_query(
    units: Sequence[np.ndarray],
    weights: Sequence[float],
    positive: Sequence[str],
    negative: Sequence[str],
) -> None:
    """A query whose vector is (near) zero ranks every word alike: an error, not a list."""
    total = np.zeros(units[0].shape[0], dtype=np.float64)
    for weight, unit in zip(weights, units, strict=True):
        total += weight * unit.astype(np.float64)
    if float(np.linalg.norm(total)) > NEAR_ZERO_QUERY * len(units):
        return
    text = " ".join([*positive[:1], *(f"+ {w}" for w in positive[1:])])
    text = " ".join([text, *(f"- {w}" for w in negative)]).strip()
    raise UserError(
        f"query {text!r}: its vector is (near) zero (the words cancel out, or a vector is "
        "zero), so no word is nearer than another; ask with other words"
    )


def _as_list(words: Sequence[str] | str) -> list[str]:
    """A single string is one word (as gensim reads ``positive="paris"``), not its letters."""
    return [words] if isinstance(words, str) else list(words)


def _stop(restrict_vocab: int | None, size: int) -> int:
    """How many leading rows are candidates: ``restrict_vocab`` (None: all ``size``)."""
    return size if restrict_vocab is None else min(restrict_vocab, size)


def _rank(
    words: Sequence[str],
    matrix: np.ndarray,
    norms: np.ndarray,
    target: np.ndarray,
    stop: int,
    topn: int,
    query_rows: Sequence[int] = (),
) -> list[tuple[str, float]]:
    """The ``topn`` of the first ``stop`` rows by cosine with the unit vector ``target``.

    gensim's ``dists = dot(vectors[:stop], mean) / norms[:stop]`` (one matrix-vector product
    and a division, float32: the same rounding, hence the same ties as gensim) and its
    ``argsort(topn + len(query_rows))`` (``np.argpartition``, then a sort of those few);
    ``query_rows`` are then left out.

    Parameters
    ----------
    words : sequence of str
        ``V`` words in row order.
    matrix : numpy.ndarray
        float32, shape ``(V, dim)``.
    norms : numpy.ndarray
        float32, shape ``(V,)`` or at least ``(stop,)``: the rows' L2 norms, 0 replaced by 1.
    target : numpy.ndarray
        float32, shape ``(dim,)``, unit length.
    stop, topn : int
        Candidates are rows ``0 .. stop-1``; at most ``topn`` are returned.
    query_rows : sequence of int, optional
        Rows not to return (default none); a row listed twice counts twice, as in gensim.
    """
    scores = np.dot(matrix[:stop], target) / norms[:stop]
    best = _gensim_argsort_desc(scores, topn + len(query_rows))
    excluded = set(query_rows)
    return [(words[r], float(scores[r])) for r in best if r not in excluded][:topn]


def _most_similar(
    words: Sequence[str],
    matrix: np.ndarray,
    norms: np.ndarray,
    index: dict[str, int],
    positive: Sequence[str] | str,
    negative: Sequence[str] | str,
    topn: int,
    restrict_vocab: int | None,
) -> list[tuple[str, float]]:
    """:func:`most_similar` given the float32 ``(V, dim)`` matrix, row norms (0 replaced by 1,
    as :func:`~w2v_spark.evaluate._common._row_norms`) and the word -> first row index;
    :class:`~w2v_spark.evaluate.word_vectors.WordVectors` keeps those between calls.

    ``norms`` has shape ``(n,)``: all ``V`` rows' norms, or only the first ``n`` (at least the
    ``restrict_vocab`` candidates); a query word's row beyond them has its norm computed here.
    """
    positive, negative = _as_list(positive), _as_list(negative)
    if not positive and not negative:
        raise UserError("most_similar needs at least one word")
    if topn < 1:
        return []
    query_rows = _rows_of(index, positive + negative)
    # Each query word's unit vector: the same float32 division as gensim's get_vector(norm=True).
    query_norms = [
        norms[r] if r < len(norms) else _row_norms(matrix[r : r + 1])[0] for r in query_rows
    ]
    units = [matrix[row] / norm for row, norm in zip(query_rows, query_norms, strict=True)]
    weights = [1.0] * len(positive) + [-1.0] * len(negative)
    _refuse_zero_query(units, weights, positive, negative)
    mean = _signed_mean_like_gensim(units, weights)
    return _rank(words, matrix, norms, mean, _stop(restrict_vocab, len(words)), topn, query_rows)


def most_similar(
    words: Sequence[str],
    vectors: np.ndarray,
    positive: Sequence[str] | str,
    negative: Sequence[str] | str = (),
    topn: int = 10,
    restrict_vocab: int | None = None,
) -> list[tuple[str, float]]:
    """Nearest words to the signed mean of the query words' unit vectors (gensim's semantics).

    The target is ``normalise(mean(+u(p) for p in positive, -u(n) for n in negative))``;
    candidates are ranked by cosine similarity with it; the query words themselves are left
    out (their other case variants are not). Exact spelling: no case folding. A repeated word
    is its first row.

    Computes the candidates' norms and the word index on each call; to ask many questions of
    the same vectors, build a :class:`~w2v_spark.evaluate.word_vectors.WordVectors` once and
    use its ``most_similar`` (the same code, with those kept).

    Parameters
    ----------
    words : sequence of str
        ``V`` words in row order.
    vectors : numpy.ndarray
        Shape ``(V, dim)``; used as float32.
    positive, negative : sequence of str or str
        Words added and subtracted; a single string is one word.
    topn : int, optional
        How many neighbours (default 10).
    restrict_vocab : int or None, optional
        Only the first ``restrict_vocab`` rows are candidates (default None: all).

    Returns
    -------
    list of (str, float)
        Up to ``topn`` (word, cosine) pairs, best first.

    Raises
    ------
    UnknownWordsError
        Words not in the vocabulary (all of them are named); a ``UserError`` and a
        ``KeyError``.
    UserError
        No query words, vectors not of shape ``(V, dim)``, or a query whose vector is (near)
        zero, such as ``"king - king"``.
    """
    matrix = _check_vectors(words, vectors)
    norms = _row_norms(matrix, _stop(restrict_vocab, len(words)))  # the candidates' only
    return _most_similar(
        words, matrix, norms, _first_rows(words), positive, negative, topn, restrict_vocab
    )
