"""``projection.svg``: a PCA picture of country → capital and male → female word pairs.

The principal components come from NumPy's SVD and the SVG is written by hand (no plotting
library); :func:`projection_svg` is what the report draws.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from xml.sax.saxutils import escape

import numpy as np

from w2v_spark.evaluate._common import _lookup_words

logger = logging.getLogger(__name__)

#: Word pairs drawn in projection.svg when both words are in the vocabulary.
COUNTRY_CAPITAL_PAIRS = (
    ("france", "paris"),
    ("germany", "berlin"),
    ("italy", "rome"),
    ("japan", "tokyo"),
    ("china", "beijing"),
    ("russia", "moscow"),
    ("spain", "madrid"),
    ("england", "london"),
)
MALE_FEMALE_PAIRS = (
    ("man", "woman"),
    ("king", "queen"),
    ("he", "she"),
    ("boy", "girl"),
    ("father", "mother"),
    ("brother", "sister"),
)
PAIR_COLOURS = {"country → capital": "#1f77b4", "male → female": "#d62728"}


def _projection_pairs(words: Sequence[str]) -> list[tuple[str, str, str]]:
    """(from, to, kind) for each drawable pair whose two words are in the vocabulary."""
    lookup = _lookup_words(words)
    pairs = []
    for kind, candidates in (
        ("country → capital", COUNTRY_CAPITAL_PAIRS),
        ("male → female", MALE_FEMALE_PAIRS),
    ):
        for a, b in candidates:
            if a in lookup and b in lookup:
                pairs.append((lookup[a], lookup[b], kind))
    return pairs


def pca_2d(points: np.ndarray) -> np.ndarray:
    """Project rows onto their first two principal components (NumPy SVD).

    Parameters
    ----------
    points : numpy.ndarray
        Shape ``(n, dim)``.

    Returns
    -------
    numpy.ndarray
        float64 ``(n, 2)``; a missing component (n or dim < 2) is zero.
    """
    centred = np.asarray(points, dtype=np.float64)
    centred = centred - centred.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    coords = np.zeros((len(centred), 2))
    k = min(2, components.shape[0])
    coords[:, :k] = centred @ components[:k].T
    return coords


def _scale(coords: np.ndarray, width: float, height: float, margin: float) -> np.ndarray:
    low, high = coords.min(axis=0), coords.max(axis=0)
    span = np.where(high - low > 0, high - low, 1.0)
    unit = (coords - low) / span
    x = margin + unit[:, 0] * (width - 2 * margin)
    y = height - margin - unit[:, 1] * (height - 2 * margin)  # SVG y grows downwards
    return np.stack([x, y], axis=1)


def svg_projection(
    labels: Sequence[str],
    coords: np.ndarray,
    arrows: Sequence[tuple[int, int, str]],
    *,
    title: str,
    width: int = 720,
    height: int = 540,
) -> str:
    """A standalone SVG of labelled points with arrows, written by hand.

    Parameters
    ----------
    labels : sequence of str
        ``n`` point labels.
    coords : numpy.ndarray
        ``(n, 2)`` data coordinates (any scale; fitted into the picture).
    arrows : sequence of (int, int, str)
        ``(from point, to point, kind)``; ``kind`` is a key of :data:`PAIR_COLOURS`.
    title : str
        Caption at the top.
    """
    xy = _scale(np.asarray(coords, dtype=np.float64), width, height, margin=60)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13">',
        "<defs>",
    ]
    for i, colour in enumerate(PAIR_COLOURS.values()):
        parts.append(
            f'<marker id="arrow{i}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
            f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
            f'fill="{colour}"/></marker>'
        )
    parts.append("</defs>")
    parts.append(f'<rect width="{width}" height="{height}" fill="white"/>')
    parts.append(f'<text x="{width / 2}" y="24" text-anchor="middle">{escape(title)}</text>')
    kinds = list(PAIR_COLOURS)
    for start, end, kind in arrows:
        (x1, y1), (x2, y2) = xy[start], xy[end]
        length = math.hypot(x2 - x1, y2 - y1) or 1.0
        shorten = min(6.0, length / 2) / length  # stop at the point's circle
        x2, y2 = x2 - (x2 - x1) * shorten, y2 - (y2 - y1) * shorten
        parts.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            f'stroke="{PAIR_COLOURS[kind]}" stroke-width="1.5" '
            f'marker-end="url(#arrow{kinds.index(kind)})"/>'
        )
    for label, (x, y) in zip(labels, xy, strict=True):
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="#333"/>')
        parts.append(f'<text x="{x + 6:.1f}" y="{y - 6:.1f}">{escape(label)}</text>')
    for i, (kind, colour) in enumerate(PAIR_COLOURS.items()):
        y = height - 30 + 16 * i - 8
        parts.append(
            f'<line x1="12" y1="{y}" x2="36" y2="{y}" stroke="{colour}" stroke-width="2"/>'
            f'<text x="42" y="{y + 4}">{escape(kind)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def projection_svg(words: Sequence[str], vectors: np.ndarray) -> str | None:
    """PCA picture of the country–capital and male–female pairs found in ``words``.

    Returns None when fewer than two pairs are in the vocabulary.
    """
    pairs = _projection_pairs(words)
    if len(pairs) < 2:
        logger.info("projection.svg skipped: fewer than two example pairs in the vocabulary")
        return None
    labels: list[str] = []
    for a, b, _ in pairs:
        for word in (a, b):
            if word not in labels:
                labels.append(word)
    rows = {}
    for i, word in enumerate(words):
        rows.setdefault(word, i)
    matrix = np.asarray(vectors, dtype=np.float64)[[rows[w] for w in labels]]
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    coords = pca_2d(matrix / np.where(norms > 0, norms, 1.0))
    arrows = [(labels.index(a), labels.index(b), kind) for a, b, kind in pairs]
    return svg_projection(
        labels, coords, arrows, title="PCA of unit word vectors: country → capital, male → female"
    )
