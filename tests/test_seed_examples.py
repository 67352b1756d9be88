"""Worked analogy examples in 4 dimensions, checked by hand and through our neighbour code.

Provenance: the seed document (``../shared/DESIGN.md``) gives **no** worked vectors. It names
the query ``"king - man + woman"`` only as the example of ``report.json``'s ``examples`` key
(``"top": [["queen", 0.71], ...]``, an illustration of the format, not a measured figure), and
it has no Delhi/Tokyo example and no numbered sections. The 4-d vectors below are constructed
for this test, with named dimensions so that every number can be checked by hand; they are
not quoted from the seed.

Our code answers ``a : b :: c : ?`` as gensim does (3CosAdd): the target is the normalised
sum of *unit* vectors ``u_b - u_a + u_c``, not the raw ``b - a + c``, and the three query
words are never answers (:meth:`WordVectors.analogy`). The two agree exactly only when the
query words have equal norms (Delhi/Tokyo below); with unequal norms (king/queen) the raw sum
lands on queen exactly while 3CosAdd gives queen with cosine 0.9877.
"""

from __future__ import annotations

import numpy as np
import pytest

from w2v_spark.evaluate.neighbours import parse_query
from w2v_spark.evaluate.word_vectors import WordVectors

#: Dimensions: royalty, masculinity, femininity, adulthood.
ROYALTY = {
    "king": [0.9, 0.9, 0.1, 0.8],
    "queen": [0.9, 0.1, 0.9, 0.8],
    "man": [0.1, 0.9, 0.1, 0.8],
    "woman": [0.1, 0.1, 0.9, 0.8],
    "prince": [0.9, 0.9, 0.1, 0.2],
    "princess": [0.9, 0.1, 0.9, 0.2],
    "girl": [0.1, 0.1, 0.9, 0.2],
}
#: Dimensions: nation, capital city, South Asia, East Asia.
CAPITALS = {
    "india": [0.9, 0.1, 0.8, 0.1],
    "delhi": [0.1, 0.9, 0.8, 0.1],
    "japan": [0.9, 0.1, 0.1, 0.8],
    "tokyo": [0.1, 0.9, 0.1, 0.8],
    "mumbai": [0.1, 0.5, 0.8, 0.1],
    "osaka": [0.1, 0.5, 0.1, 0.8],
    "china": [0.9, 0.1, 0.3, 0.6],
    "beijing": [0.1, 0.9, 0.3, 0.6],
}


def word_vectors(table: dict[str, list[float]]) -> WordVectors:
    return WordVectors(list(table), np.array(list(table.values()), dtype=np.float32))


def assert_answers(got: list[tuple[str, float]], expected: list[tuple[str, float]]) -> None:
    assert [w for w, _ in got] == [w for w, _ in expected]
    np.testing.assert_allclose([s for _, s in got], [s for _, s in expected], atol=1e-6)


# ----------------------------------------------------------------------------------------------
# king - man + woman


def test_king_minus_man_plus_woman_is_exactly_queen_in_raw_arithmetic():
    v = {w: np.array(x) for w, x in ROYALTY.items()}
    raw = v["king"] - v["man"] + v["woman"]
    # [0.9-0.1+0.1, 0.9-0.9+0.1, 0.1-0.1+0.9, 0.8-0.8+0.8]
    np.testing.assert_allclose(raw, [0.9, 0.1, 0.9, 0.8], atol=1e-12)
    np.testing.assert_allclose(raw, v["queen"], atol=1e-12)
    # The nearest word to that vector (query words not excluded) is queen, cosine 1; then
    # princess (same but young): (0.81+0.01+0.81+0.16) / (|queen| |princess|) = 1.79 /
    # sqrt(2.27*1.67) = 1.79 / 1.947024 = 0.919352.
    top = word_vectors(ROYALTY).most_similar_to_vector(raw, topn=2)
    assert_answers(top, [("queen", 1.0), ("princess", 0.919352)])


def test_the_analogy_code_answers_queen_with_the_3cosadd_cosines_computed_by_hand():
    # |king| = sqrt(2.27) = 1.506652, |man| = |woman| = sqrt(1.47) = 1.212436, so
    # u_king - u_man + u_woman = [0.597351, -0.062478, 0.726201, 0.530979] and the target,
    # normalised, is [0.552242, -0.057760, 0.671362, 0.490882]. Its cosine with u_queen =
    # [0.597351, 0.066372, 0.597351, 0.530979] is 0.987735; princess 0.923670, woman 0.863040
    # (a query word: left out), girl 0.806069.
    wv = word_vectors(ROYALTY)
    expected = [("queen", 0.987735), ("princess", 0.923670), ("girl", 0.806069)]
    assert_answers(wv.analogy("man", "king", "woman", topn=3), expected)
    assert_answers(wv.most_similar(positive=["king", "woman"], negative=["man"], topn=3), expected)


def test_the_seeds_example_query_string_is_answered_queen():
    positive, negative = parse_query("king - man + woman")  # DESIGN.md's report example
    assert (positive, negative) == (["king", "woman"], ["man"])
    (answer,) = word_vectors(ROYALTY).most_similar(positive, negative, topn=1)
    assert answer[0] == "queen"
    assert answer[1] == pytest.approx(0.987735, abs=1e-6)


# ----------------------------------------------------------------------------------------------
# Delhi - India + Japan


def test_delhi_minus_india_plus_japan_is_exactly_tokyo_in_raw_arithmetic():
    v = {w: np.array(x) for w, x in CAPITALS.items()}
    raw = v["delhi"] - v["india"] + v["japan"]
    # [0.1-0.9+0.9, 0.9-0.1+0.1, 0.8-0.8+0.1, 0.1-0.1+0.8]
    np.testing.assert_allclose(raw, [0.1, 0.9, 0.1, 0.8], atol=1e-12)
    np.testing.assert_allclose(raw, v["tokyo"], atol=1e-12)


def test_the_analogy_code_answers_tokyo_before_beijing_and_osaka():
    # The four query-and-answer words share one norm, sqrt(1.47), so the 3CosAdd target is
    # the raw sum over that norm: u_tokyo, cosine 1. Then beijing (a capital, partly East
    # Asian): tokyo·beijing / (|tokyo| |beijing|) = (0.01+0.81+0.03+0.48) / sqrt(1.47*1.27) =
    # 1.33 / 1.366345 = 0.973399, and osaka (East Asian, a city but not the capital):
    # (0.01+0.45+0.01+0.64) / sqrt(1.47*0.91) = 1.11 / 1.156590 = 0.959718.
    wv = word_vectors(CAPITALS)
    expected = [("tokyo", 1.0), ("beijing", 0.973399), ("osaka", 0.959718)]
    assert_answers(wv.analogy("india", "delhi", "japan", topn=3), expected)
    assert_answers(
        wv.most_similar(positive=["delhi", "japan"], negative=["india"], topn=3), expected
    )
