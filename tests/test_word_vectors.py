"""WordVectors: in-memory vectors whose answers equal brute-force NumPy, gensim, and neighbours'."""

from __future__ import annotations

import numpy as np
import pytest

from w2v_spark.errors import UserError
from w2v_spark.evaluate.neighbours import UnknownWordsError, most_similar
from w2v_spark.evaluate.word_vectors import WordVectors
from w2v_spark.io.vectors import write_word2vec

V, DIM = 1000, 24
QUERIES = [
    (["w3"], []),
    (["w10", "w20"], ["w30"]),
    ([], ["w7"]),
    (["w900"], ["w5", "w6"]),
]


@pytest.fixture(scope="module")
def random_vectors() -> tuple[list[str], np.ndarray]:
    """``V`` words ``w0..`` and float32 ``(V, DIM)`` normal vectors."""
    rng = np.random.default_rng(7)
    return [f"w{i}" for i in range(V)], rng.standard_normal((V, DIM)).astype(np.float32)


@pytest.fixture(scope="module")
def wv(random_vectors) -> WordVectors:
    return WordVectors(*random_vectors)


@pytest.fixture(scope="module")
def gensim_kv(random_vectors):
    """gensim's KeyedVectors holding the same words and vectors."""
    keyed_vectors = pytest.importorskip("gensim").models.KeyedVectors
    words, vectors = random_vectors
    kv = keyed_vectors(DIM)
    kv.add_vectors(words, vectors)
    return kv


def brute_force(
    words: list[str],
    vectors: np.ndarray,
    positive: list[str],
    negative: list[str],
    topn: int,
    restrict_vocab: int | None = None,
) -> list[tuple[str, float]]:
    """The definition in float64: rank rows by cosine with the normalised signed mean of the
    query words' unit vectors, leaving the query words out."""
    unit = vectors.astype(np.float64)
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    row = {w: i for i, w in reversed(list(enumerate(words)))}
    signed = [unit[row[w]] for w in positive] + [-unit[row[w]] for w in negative]
    target = np.mean(signed, axis=0)
    target /= np.linalg.norm(target)
    stop = len(words) if restrict_vocab is None else restrict_vocab
    scores = unit[:stop] @ target
    order = [i for i in np.argsort(-scores) if words[i] not in set(positive + negative)]
    return [(words[i], float(scores[i])) for i in order[:topn]]


def assert_same_ranking(ours, expected, atol=1e-5):
    assert [w for w, _ in ours] == [w for w, _ in expected]
    assert np.allclose([s for _, s in ours], [s for _, s in expected], atol=atol)


# ----------------------------------------------------------------------------------------------
# the answers


@pytest.mark.parametrize("positive, negative", QUERIES)
def test_most_similar_equals_a_brute_force_numpy_ranking(wv, random_vectors, positive, negative):
    words, vectors = random_vectors
    ours = wv.most_similar(positive, negative, topn=15)
    assert len(ours) == 15
    assert_same_ranking(ours, brute_force(words, vectors, positive, negative, topn=15))


@pytest.mark.parametrize("restrict_vocab", [None, 300])
@pytest.mark.parametrize("positive, negative", QUERIES)
def test_most_similar_equals_gensims_keyed_vectors(
    wv, gensim_kv, positive, negative, restrict_vocab
):
    ours = wv.most_similar(positive, negative, topn=10, restrict_vocab=restrict_vocab)
    theirs = gensim_kv.most_similar(
        positive=positive, negative=negative, topn=10, restrict_vocab=restrict_vocab
    )
    assert_same_ranking(ours, theirs, atol=1e-6)


def test_most_similar_to_vector_and_similarity_equal_gensims(wv, gensim_kv, random_vectors):
    _, vectors = random_vectors
    vector = vectors[3] - vectors[4] + 0.5 * vectors[5]
    assert_same_ranking(
        wv.most_similar_to_vector(vector, topn=10),
        gensim_kv.similar_by_vector(vector, topn=10),
        atol=1e-6,
    )
    assert_same_ranking(
        wv.most_similar_to_vector(vector, topn=10, restrict_vocab=200),
        gensim_kv.similar_by_vector(vector, topn=10, restrict_vocab=200),
        atol=1e-6,
    )
    for a, b in [("w1", "w2"), ("w3", "w3"), ("w999", "w0")]:
        assert wv.similarity(a, b) == pytest.approx(float(gensim_kv.similarity(a, b)), abs=1e-6)


def test_the_class_and_the_module_function_give_identical_answers(wv, random_vectors):
    words, vectors = random_vectors
    for positive, negative in QUERIES:
        for restrict_vocab in (None, 100):
            assert wv.most_similar(
                positive, negative, topn=7, restrict_vocab=restrict_vocab
            ) == most_similar(words, vectors, positive, negative, 7, restrict_vocab)


def test_most_similar_to_vector_finds_the_words_own_row_first_and_leaves_nothing_out(
    wv, random_vectors
):
    words, vectors = random_vectors
    top = wv.most_similar_to_vector(3.0 * vectors[42], topn=5)
    assert top[0][0] == "w42" and top[0][1] == pytest.approx(1.0, abs=1e-6)
    expected = brute_force([*words, "probe"], np.vstack([vectors, vectors[42]]), ["probe"], [], 5)
    assert_same_ranking(top, expected)  # "w42" itself, then the brute-force neighbours


def test_analogy_is_b_plus_c_minus_a(wv):
    assert wv.analogy("w1", "w2", "w3", topn=4) == wv.most_similar(["w2", "w3"], ["w1"], topn=4)
    (answer,) = wv.analogy("w1", "w2", "w3")
    assert answer[0] not in {"w1", "w2", "w3"}


# ----------------------------------------------------------------------------------------------
# exclusions and restrictions


def test_the_query_words_are_never_answers_even_when_nearest(random_vectors):
    words, vectors = random_vectors
    # w1 = w0 + a little, w2 = w0 + w1's direction: each query word is the others' nearest.
    near = vectors.copy()
    near[1] = near[0] + 0.01 * near[5]
    near[2] = near[0] + 0.01 * near[6]
    wv = WordVectors(words, near)
    top = wv.most_similar(["w0", "w1"], ["w2"], topn=V)
    assert len(top) == V - 3
    assert not {"w0", "w1", "w2"} & {w for w, _ in top}
    assert wv.most_similar("w0", topn=1)[0][0] in {"w1", "w2"}  # a single string is one word


def test_restrict_vocab_ranks_only_the_first_rows_but_any_row_may_ask(wv, random_vectors):
    words, vectors = random_vectors
    top = wv.most_similar(["w950"], ["w960"], topn=50, restrict_vocab=100)
    assert {int(w[1:]) for w, _ in top} <= set(range(100))
    assert_same_ranking(top, brute_force(words, vectors, ["w950"], ["w960"], 50, 100))
    assert len(wv.most_similar("w3", topn=500, restrict_vocab=10)) == 9  # w3 is left out
    assert wv.most_similar("w3", restrict_vocab=10**9) == wv.most_similar("w3")


def test_topn_below_one_gives_nothing_and_more_than_the_vocabulary_gives_every_candidate(wv):
    assert wv.most_similar("w3", topn=0) == []
    assert wv.most_similar_to_vector(wv["w3"], topn=0) == []
    assert len(wv.most_similar("w3", topn=10 * V)) == V - 1
    assert len(wv.most_similar_to_vector(wv["w3"], topn=10 * V)) == V


def test_a_repeated_word_is_its_first_row(random_vectors):
    _, vectors = random_vectors
    words = ["a", "b", "a", "c"]
    wv = WordVectors(words, vectors[:4])
    assert wv.index["a"] == 0 and len(wv) == 4
    assert np.array_equal(wv["a"], vectors[0])
    unit0 = vectors[0] / np.linalg.norm(vectors[0])
    unit1 = vectors[1] / np.linalg.norm(vectors[1])
    assert wv.similarity("a", "b") == pytest.approx(float(unit0 @ unit1), abs=1e-6)
    (answer,) = wv.most_similar("b", topn=1, restrict_vocab=2)  # only rows 0 and 1 compete
    assert answer == ("a", pytest.approx(float(unit0 @ unit1), abs=1e-6))
    assert wv.most_similar("a", topn=3) == most_similar(words, vectors[:4], "a", topn=3)


def test_a_zero_vector_scores_zero_and_cannot_be_a_query(random_vectors):
    words, vectors = random_vectors
    zeroed = vectors[:50].copy()
    zeroed[7] = 0.0
    wv = WordVectors(words[:50], zeroed)
    assert wv.norms[7] == 1.0 and not np.any(wv.unit[7])
    assert wv.similarity("w7", "w3") == 0.0
    top = dict(wv.most_similar("w3", topn=50))
    assert top["w7"] == 0.0 and all(np.isfinite(list(top.values())))
    with pytest.raises(UserError, match=r"its vector is \(near\) zero"):
        wv.most_similar("w7")
    with pytest.raises(UserError, match=r"its vector is \(near\) zero"):
        wv.most_similar(["w3"], ["w3"])
    with pytest.raises(UserError, match="the vector is zero"):
        wv.most_similar_to_vector(np.zeros(DIM))


# ----------------------------------------------------------------------------------------------
# errors


def test_unknown_words_raise_a_key_error_naming_every_one_of_them(wv):
    with pytest.raises(KeyError) as err:
        wv.most_similar(["w1", "qqqx"], ["zzzx"])
    assert str(err.value) == "not in the vocabulary: qqqx, zzzx"
    assert isinstance(err.value, UnknownWordsError) and isinstance(err.value, UserError)
    assert err.value.missing == ["qqqx", "zzzx"]
    for ask in (
        lambda: wv["qqqx"],
        lambda: wv.similarity("w1", "qqqx"),
        lambda: wv.analogy("w1", "qqqx", "w2"),
    ):
        with pytest.raises(KeyError, match=r"^not in the vocabulary: qqqx$"):
            ask()
    assert "W1" not in wv and "w1" in wv  # exact spelling


def test_bad_shapes_and_empty_queries_are_refused_in_one_line(wv, random_vectors):
    words, vectors = random_vectors
    with pytest.raises(UserError, match="expected a"):
        WordVectors(words[:-1], vectors)
    with pytest.raises(UserError, match="counts"):
        WordVectors(words, vectors, counts=np.ones(3))
    with pytest.raises(UserError, match="at least one word"):
        wv.most_similar([])
    with pytest.raises(UserError, match=rf"shape \({DIM},\)"):
        wv.most_similar_to_vector(np.ones(DIM + 1))
    with pytest.raises(UserError, match="NaN"):
        wv.most_similar_to_vector(np.full(DIM, np.nan))


# ----------------------------------------------------------------------------------------------
# what it holds


def test_it_holds_words_index_counts_and_read_only_float32_vectors(random_vectors):
    words, vectors = random_vectors
    counts = np.arange(V, 0, -1)
    wv = WordVectors(words, vectors.astype(np.float64), counts=counts)
    assert wv.words == tuple(words) and list(wv) == words and len(wv) == V
    assert wv.vector_size == DIM and repr(wv) == f"WordVectors({V} words, dim {DIM})"
    assert wv.vectors.dtype == np.float32 and np.array_equal(wv.vectors, vectors)
    assert np.array_equal(wv.counts, counts)
    assert wv.index["w123"] == 123
    with pytest.raises(TypeError):
        wv.index["new"] = 1  # type: ignore[index]
    for array in (wv.vectors, wv["w1"], wv.norms, wv.unit, wv.counts):
        assert not array.flags.writeable
    assert vectors.flags.writeable  # the caller's own array is left as it was
    assert WordVectors(words, vectors).counts is None


def test_unit_rows_are_computed_once_and_equal_gensims_normalised_vectors(wv, random_vectors):
    _, vectors = random_vectors
    assert wv.unit is wv.unit and wv.norms is wv.norms
    assert wv.unit.shape == (V, DIM) and wv.unit.dtype == np.float32
    assert np.array_equal(wv.unit, vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
    assert np.allclose(np.linalg.norm(wv.unit, axis=1), 1.0, atol=1e-6)


# ----------------------------------------------------------------------------------------------
# loading


@pytest.mark.parametrize("binary", [True, False])
def test_from_word2vec_reads_back_what_write_word2vec_wrote(random_vectors, tmp_path, binary):
    words, vectors = random_vectors
    path = tmp_path / ("vectors.bin" if binary else "vectors.txt")
    write_word2vec(path, words, vectors, binary=binary)
    wv = WordVectors.from_word2vec(path)
    assert wv.words == tuple(words) and wv.counts is None
    assert np.array_equal(wv.vectors, vectors)  # 9 significant digits read back exactly
    assert wv.most_similar("w3") == WordVectors(words, vectors).most_similar("w3")
    assert len(WordVectors.from_word2vec(path, limit=10)) == 10


def test_from_model_dir_reads_a_finished_model_and_refuses_an_unfinished_one(
    random_vectors, tmp_path
):
    words, vectors = random_vectors
    model = tmp_path / "model"
    write_word2vec(model / "vectors.txt", words[:20], vectors[:20], binary=False)
    write_word2vec(model / "vectors.bin", words, vectors, binary=True)
    (model / "metrics.json").write_text("{}")
    with pytest.raises(UserError, match=r"incomplete \(no _SUCCESS\)"):
        WordVectors.from_model_dir(model)
    (model / "_SUCCESS").write_bytes(b"")
    wv = WordVectors.from_model_dir(model)  # vectors.bin before vectors.txt
    assert len(wv) == V and np.array_equal(wv.vectors, vectors)
    assert len(WordVectors.from_model_dir(model, limit=5)) == 5
    with pytest.raises(UserError, match="vectors not found"):
        WordVectors.from_model_dir(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match=r"no vectors\.bin or vectors\.txt"):
        WordVectors.from_model_dir(tmp_path / "empty")
