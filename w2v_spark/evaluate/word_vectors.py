"""Word vectors in memory for many questions: :class:`WordVectors`, after gensim's ``KeyedVectors``.

Holds the words, the word -> row index and the row norms (and, on request, the unit-normalised
rows), computed once, so that each ``most_similar`` is one matrix-vector product and a top-k
partition. The answers are :func:`w2v_spark.evaluate.neighbours.most_similar`'s, by the same
code (gensim 4's ``KeyedVectors.most_similar``: same float32 steps, same tie order)::

    from w2v_spark.evaluate.word_vectors import WordVectors

    wv = WordVectors.from_model_dir("out/model")  # or .from_word2vec("vectors.bin")
    wv.most_similar("paris", topn=5)
    wv.analogy("man", "king", "woman")  # man : king :: woman : ?  -> [("queen", 0.71)]
    wv.similarity("paris", "france")
    wv.most_similar_to_vector(wv["paris"] - wv["france"] + wv["italy"])

Loading a model directory reads its word2vec file locally (no Spark); :func:`resolve_vectors_path`
(also the query tool's) says which file. Pure NumPy besides that reading.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

import numpy as np

from w2v_spark.errors import UserError
from w2v_spark.evaluate._common import _check_vectors, _row_norms, _signed_mean_like_gensim
from w2v_spark.evaluate.neighbours import (
    UnknownWordsError,
    _first_rows,
    _most_similar,
    _rank,
    _rows_of,
    _stop,
)
from w2v_spark.io import paths
from w2v_spark.io.vectors import read_word2vec

__all__ = [
    "MODEL_FILES",
    "UnknownWordsError",
    "WordVectors",
    "resolve_vectors_path",
]

logger = logging.getLogger(__name__)

#: Files looked for, in this order, when a model directory is given.
MODEL_FILES = paths.WORD2VEC_FILES


def _require_finished(directory: Path) -> None:
    """A model directory (``metrics.json``, ``checkpoints/`` or ``vectors.parquet`` in it)
    must be complete (``_SUCCESS``); any other directory is not checked."""
    model_dir = any((directory / n).exists() for n in paths.MODEL_MARKERS)
    if model_dir and not (directory / paths.SUCCESS).exists():
        raise UserError(
            f"{directory}: the model is incomplete (no {paths.SUCCESS}): finish it with --resume"
        )


def resolve_vectors_path(path: str | Path) -> Path:
    """PATH itself if it is a file, else the first of :data:`MODEL_FILES` inside it.

    A model directory, or a file inside one, needs the directory's ``_SUCCESS``; a word2vec
    file elsewhere is read as it is.

    Raises
    ------
    UserError
        Nothing at ``path``, a directory without a word2vec file, or an unfinished model.
    """
    target = Path(path)
    if target.is_file():
        _require_finished(target.parent)
        return target
    if target.is_dir():
        _require_finished(target)
        for name in MODEL_FILES:
            if (target / name).is_file():
                return target / name
        raise UserError(f"{target}: no {' or '.join(MODEL_FILES)} in this directory")
    raise UserError(f"vectors not found: {target}")


def _read_only(array: np.ndarray) -> np.ndarray:
    """A view of ``array`` that cannot be written (the caller's array stays writable)."""
    view = array.view()
    view.flags.writeable = False
    return view


class WordVectors:
    """Words, their vectors and what every query needs, computed once.

    Parameters
    ----------
    words : sequence of str
        ``V`` words in row order (most frequent first, so that ``restrict_vocab`` keeps the
        frequent words). A repeated word is found at its first row, as gensim's loader keeps.
    vectors : numpy.ndarray
        Shape ``(V, dim)``. Kept as float32 without a copy when it is already a C-contiguous
        float32 array: do not change it afterwards (the cached norms would be stale).
    counts : numpy.ndarray or None, optional
        Corpus count of each word, shape ``(V,)``, if known (default None: not known).

    Raises
    ------
    UserError
        ``vectors`` is not ``(V, dim)`` or ``counts`` not ``(V,)``.

    Notes
    -----
    Unknown words raise :class:`~w2v_spark.evaluate.neighbours.UnknownWordsError`, a
    ``KeyError`` (and a ``UserError``) whose one-line message names every unknown word of the
    call. Matching is by exact spelling, no case folding.
    """

    def __init__(
        self,
        words: Sequence[str],
        vectors: np.ndarray,
        counts: np.ndarray | None = None,
    ) -> None:
        self._words: tuple[str, ...] = tuple(words)
        self._vectors = _read_only(_check_vectors(self._words, vectors))
        if counts is not None:
            counts = np.asarray(counts)
            if counts.shape != (len(self._words),):
                raise UserError(
                    f"expected {len(self._words)} counts, one per word, got shape {counts.shape}"
                )
            counts = _read_only(counts)
        self._counts = counts
        self._index = _first_rows(self._words)
        self._norms: np.ndarray | None = None
        self._unit: np.ndarray | None = None

    # ------------------------------------------------------------------------------------------
    # loading

    @classmethod
    def from_word2vec(
        cls, path: str | Path, *, binary: bool | None = None, limit: int | None = None
    ) -> WordVectors:
        """Load a word2vec C-format file (text or binary: ours, the C tool's or gensim's).

        Parameters
        ----------
        path : str or Path
            The file.
        binary : bool or None, optional
            The format; None (default) decides by the extension, else by the first row, as
            :func:`~w2v_spark.io.vectors.read_word2vec`.
        limit : int or None, optional
            Read only the first ``limit`` rows (default None: all the header announces).

        Returns
        -------
        WordVectors
            Without counts (the format has none).
        """
        words, vectors = read_word2vec(path, binary, limit=limit)
        return cls(words, vectors)

    @classmethod
    def from_model_dir(cls, path: str | Path, *, limit: int | None = None) -> WordVectors:
        """Load a finished model directory's vectors, locally and without Spark.

        The file is found as the query tool finds it (:func:`resolve_vectors_path`):
        ``vectors.bin``, else ``vectors.txt``; a file path is read as it is.

        Parameters
        ----------
        path : str or Path
            The model directory (the training stage's output, with ``_SUCCESS``).
        limit : int or None, optional
            Read only the first ``limit`` rows (default None: all).

        Returns
        -------
        WordVectors
            Without counts (they are in ``vectors.parquet``, which needs Spark or Arrow).

        Raises
        ------
        UserError
            No such directory, no word2vec file in it, or an unfinished model (no
            ``_SUCCESS``).
        """
        return cls.from_word2vec(resolve_vectors_path(path), limit=limit)

    # ------------------------------------------------------------------------------------------
    # what it holds

    @property
    def words(self) -> tuple[str, ...]:
        """The ``V`` words in row order."""
        return self._words

    @property
    def vectors(self) -> np.ndarray:
        """float32, shape ``(V, dim)``, read-only."""
        return self._vectors

    @property
    def counts(self) -> np.ndarray | None:
        """Shape ``(V,)``, read-only, or None when not known."""
        return self._counts

    @property
    def index(self) -> Mapping[str, int]:
        """Word -> row (a repeated word: its first row), read-only."""
        return MappingProxyType(self._index)

    @property
    def vector_size(self) -> int:
        """The dimension ``dim``."""
        return int(self._vectors.shape[1])

    @property
    def norms(self) -> np.ndarray:
        """float32, shape ``(V,)``, read-only: each row's L2 norm, a zero row's given as 1.

        Computed on first use, then kept (gensim's ``fill_norms``).
        """
        if self._norms is None:
            self._norms = _read_only(_row_norms(self._vectors))
        return self._norms

    @property
    def unit(self) -> np.ndarray:
        """float32, shape ``(V, dim)``, read-only: each row divided by its norm.

        A zero row stays zero. Computed on first use, then kept (``V * dim * 4`` more bytes);
        row ``i`` equals gensim's ``get_vector(word, norm=True)``.
        """
        if self._unit is None:
            self._unit = _read_only(self._vectors / self.norms[:, np.newaxis])
            logger.debug("unit vectors of %d words computed", len(self))
        return self._unit

    def __len__(self) -> int:
        return len(self._words)

    def __contains__(self, word: object) -> bool:
        return word in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._words)

    def __getitem__(self, word: str) -> np.ndarray:
        """The word's vector, float32, shape ``(dim,)``, read-only (not normalised)."""
        (row,) = _rows_of(self._index, [word])
        return self._vectors[row]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} words, dim {self.vector_size})"

    # ------------------------------------------------------------------------------------------
    # questions

    def most_similar(
        self,
        positive: Sequence[str] | str,
        negative: Sequence[str] | str = (),
        topn: int = 10,
        restrict_vocab: int | None = None,
    ) -> list[tuple[str, float]]:
        """Nearest words to the signed mean of the query words' unit vectors, as gensim's.

        The target is ``normalise(mean(+u(p) for p in positive, -u(n) for n in negative))``;
        every row (or the first ``restrict_vocab``) is ranked by its cosine with it, and the
        query words themselves are left out. The same code as
        :func:`~w2v_spark.evaluate.neighbours.most_similar`, with the norms and the index kept.

        Parameters
        ----------
        positive, negative : sequence of str or str
            Words added and subtracted; a single string is one word. ``negative`` defaults to
            none.
        topn : int, optional
            How many neighbours (default 10; below 1 gives an empty list).
        restrict_vocab : int or None, optional
            Only the first ``restrict_vocab`` rows are candidates (default None: all). The
            query words may come from any row.

        Returns
        -------
        list of (str, float)
            Up to ``topn`` (word, cosine) pairs, best first.

        Raises
        ------
        KeyError
            Unknown words (:class:`~w2v_spark.evaluate.neighbours.UnknownWordsError`, naming
            all of them).
        UserError
            No words, or a query whose vector is (near) zero (``"king - king"``, or a word
            whose vector is zero).
        """
        return _most_similar(
            self._words, self._vectors, self.norms, self._index, positive, negative, topn,
            restrict_vocab,
        )  # fmt: skip

    def analogy(
        self, a: str, b: str, c: str, topn: int = 1, restrict_vocab: int | None = None
    ) -> list[tuple[str, float]]:
        """``a : b :: c : ?``, answered as ``most_similar(positive=[b, c], negative=[a])``.

        ``analogy("man", "king", "woman")`` asks "man is to king as woman is to what?"
        (3CosAdd, gensim's ``most_similar``; ``a``, ``b`` and ``c`` are never answers).

        Parameters
        ----------
        a, b, c : str
            The three known words.
        topn : int, optional
            How many answers (default 1: the answer).
        restrict_vocab : int or None, optional
            As in :meth:`most_similar` (default None: all rows are candidates).

        Returns
        -------
        list of (str, float)
            Up to ``topn`` (word, cosine) pairs, best first.
        """
        return self.most_similar([b, c], [a], topn=topn, restrict_vocab=restrict_vocab)

    def similarity(self, w1: str, w2: str) -> float:
        """Cosine similarity of two words' vectors (0.0 when either vector is zero).

        Raises
        ------
        KeyError
            Unknown words, all of them named.
        """
        rows = _rows_of(self._index, [w1, w2])
        units = self._vectors[rows] / self.norms[rows, np.newaxis]
        return float(np.dot(units[0], units[1]))

    def most_similar_to_vector(
        self, vector: np.ndarray, topn: int = 10, restrict_vocab: int | None = None
    ) -> list[tuple[str, float]]:
        """The words nearest to any vector, by cosine (gensim's ``similar_by_vector``).

        Like MLlib's ``Word2VecModel.findSynonyms(vector, num)``: no word is left out (the
        word whose vector it is, if any, comes first with cosine 1).

        Parameters
        ----------
        vector : numpy.ndarray
            Shape ``(dim,)``, any float dtype (used as float32); its length does not matter.
        topn : int, optional
            How many words (default 10; below 1 gives an empty list).
        restrict_vocab : int or None, optional
            Only the first ``restrict_vocab`` rows are candidates (default None: all).

        Returns
        -------
        list of (str, float)
            Up to ``topn`` (word, cosine) pairs, best first.

        Raises
        ------
        UserError
            A vector of the wrong shape, a zero vector (no word is nearer than another), or
            one with NaN or infinite values.
        """
        target = np.asarray(vector, dtype=np.float32)
        if target.shape != (self.vector_size,):
            raise UserError(
                f"expected a vector of shape ({self.vector_size},), got shape {target.shape}"
            )
        if not np.all(np.isfinite(target)):
            raise UserError("the vector has NaN or infinite values")
        if not np.any(target):
            raise UserError("the vector is zero, so no word is nearer than another")
        if topn < 1:
            return []
        mean = _signed_mean_like_gensim([target], [1.0])
        stop = _stop(restrict_vocab, len(self))
        return _rank(self._words, self._vectors, self.norms, mean, stop, topn)
