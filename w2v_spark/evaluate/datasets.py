"""The evaluation sets shipped in ``w2v_spark/data/``: their files, what each is, how to open one.

An empty path in :class:`~w2v_spark.config.EvaluateConfig` (``analogies``, ``wordsim353``,
``simlex999``) means the shipped copy, read through ``importlib.resources`` so it also works
from a zipped package on Spark executors.
"""

from __future__ import annotations

import contextlib
import importlib.resources
from collections.abc import Iterator
from pathlib import Path

from w2v_spark.errors import UserError

#: Shipped evaluation sets (``w2v_spark/data/``) used when the config path is empty.
DEFAULT_DATASETS = {
    "analogies": "questions-words.txt",
    "wordsim353": "wordsim353.tsv",
    "simlex999": "simlex999.txt",
}
#: What each shipped evaluation set is, for report.md.
DATASET_TITLES = {
    "analogies": "the Google analogy set, Mikolov et al. 2013",
    "wordsim353": "WordSim-353, human relatedness scores",
    "simlex999": "SimLex-999, human similarity scores",
}


@contextlib.contextmanager
def dataset_path(configured: str, name: str) -> Iterator[Path]:
    """The evaluation file ``configured``, or the shipped one for ``name`` when it is empty.

    Parameters
    ----------
    configured : str
        A path from :class:`~w2v_spark.config.EvaluateConfig` (``analogies``, ...), or "".
    name : str
        A key of :data:`DEFAULT_DATASETS`.
    """
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise UserError(f"evaluate.{name}: file not found: {path}")
        yield path
        return
    resource = importlib.resources.files("w2v_spark") / "data" / DEFAULT_DATASETS[name]
    with importlib.resources.as_file(resource) as path:
        yield Path(path)
