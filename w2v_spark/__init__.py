"""w2v-spark: Word2Vec (skip-gram with negative sampling) trained on Apache Spark."""

from __future__ import annotations

__version__ = "0.1.0"
