"""How many questions and word pairs the shipped evaluation sets hold, counted from the files.

The files are the ones the package reads when ``evaluate.analogies`` (``wordsim353``,
``simlex999``) is empty, opened the same way: :func:`w2v_spark.evaluate.datasets.dataset_path`.
Counted here by the files' plain layout (one question or pair per line; ``: section`` and
``#`` comment lines and blank lines left out), not by the package's readers, so a reader that
drops lines is caught.
"""

from __future__ import annotations

from w2v_spark.evaluate.datasets import dataset_path


def _entries(name: str, comment: str) -> int:
    """Lines of the shipped set ``name`` that are neither blank nor start with ``comment``."""
    with dataset_path("", name) as path:
        lines = path.read_text(encoding="utf-8").splitlines()
    return sum(1 for line in lines if line.strip() and not line.startswith(comment))


#: Questions in questions-words.txt (the Google analogy set).
ANALOGY_QUESTIONS = _entries("analogies", ":")
#: Word pairs in wordsim353.tsv.
WORDSIM353_PAIRS = _entries("wordsim353", "#")
#: Word pairs in simlex999.txt.
SIMLEX999_PAIRS = _entries("simlex999", "#")
#: Word pairs of both similarity sets, as the "covers nothing" error counts them.
WORD_PAIRS = WORDSIM353_PAIRS + SIMLEX999_PAIRS
