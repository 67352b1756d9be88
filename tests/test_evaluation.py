"""Analogy and similarity evaluation: the numbers must equal gensim's on the same vectors."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from tests.datasets import ANALOGY_QUESTIONS
from w2v_spark.errors import UserError
from w2v_spark.evaluate import query
from w2v_spark.evaluate.analogies import evaluate_analogies, read_analogies
from w2v_spark.evaluate.neighbours import most_similar, parse_query
from w2v_spark.evaluate.similarity import evaluate_word_pairs, read_word_pairs, spearman
from w2v_spark.io.vectors import write_word2vec

KeyedVectors = pytest.importorskip("gensim.models").KeyedVectors

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "w2v_spark" / "data"
QUESTIONS = DATA / "questions-words.txt"
# kv: the session's gensim skip-gram vectors of the sample corpus (tests/conftest.py).


def gensim_counts(kv: KeyedVectors, path: Path, **kwargs) -> dict[str, tuple[int, int]]:
    """{section: (correct, covered)} from gensim, with its total under "Total accuracy"."""
    _, sections = kv.evaluate_word_analogies(str(path), **kwargs)
    return {
        s["section"]: (len(s["correct"]), len(s["correct"]) + len(s["incorrect"])) for s in sections
    }


def our_counts(result: dict) -> dict[str, tuple[int, int]]:
    counts = {name: (s["correct"], s["covered"]) for name, s in result["sections"].items()}
    counts["Total accuracy"] = (result["total"]["correct"], result["total"]["covered"])
    return counts


def keyed_vectors(words: list[str], vectors: np.ndarray) -> KeyedVectors:
    kv = KeyedVectors(vectors.shape[1])
    kv.add_vectors(words, vectors)
    return kv


def write_questions(path: Path, sections: dict[str, list[str]]) -> Path:
    lines = []
    for name, questions in sections.items():
        lines.append(f": {name}")
        lines += questions
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ----------------------------------------------------------------------------------------------
# analogies against gensim


def test_analogy_counts_equal_gensim_on_google_set_at_restrict_vocab_30000(kv):
    ours = evaluate_analogies(
        kv.index_to_key, kv.vectors, QUESTIONS, restrict_vocab=30000, case_insensitive=True
    )
    expected = gensim_counts(kv, QUESTIONS, restrict_vocab=30000, case_insensitive=True)
    assert our_counts(ours) == expected
    assert ours["questions"] == ANALOGY_QUESTIONS
    assert ours["total"]["correct"] > 20  # a trained model, so equality is not 0 == 0
    assert list(ours["sections"]) == [name for name in expected if name != "Total accuracy"]


def test_analogy_counts_equal_gensim_with_small_restrict_vocab(kv):
    ours = evaluate_analogies(kv.index_to_key, kv.vectors, QUESTIONS, restrict_vocab=2000)
    assert our_counts(ours) == gensim_counts(kv, QUESTIONS, restrict_vocab=2000)
    assert ours["restrict_vocab"] == 2000
    full = evaluate_analogies(kv.index_to_key, kv.vectors, QUESTIONS, restrict_vocab=30000)
    assert ours["total"]["covered"] < full["total"]["covered"]


def mixed_case_vocabulary(kv: KeyedVectors) -> tuple[list[str], np.ndarray]:
    """Title-cased words, and upper-case twins with nearby vectors placed before or after.

    Twins close to their original show up among the top candidates, so gensim's rule of
    skipping other case variants of the question words is exercised; twins placed first stand
    for the word (first occurrence wins).
    """
    rng = np.random.default_rng(7)
    words: list[str] = []
    rows: list[np.ndarray] = []
    for i, (word, vector) in enumerate(zip(kv.index_to_key, kv.vectors, strict=True)):
        shown = word.title() if i % 3 == 0 else word
        twin = vector + 0.05 * rng.standard_normal(vector.shape).astype(np.float32)
        if i % 4 == 1 and word.upper() != shown:
            words += [word.upper(), shown]
            rows += [twin, vector]
        elif i % 4 == 2 and word.upper() != shown:
            words += [shown, word.upper()]
            rows += [vector, twin]
        else:
            words.append(shown)
            rows.append(vector)
    return words, np.asarray(rows, dtype=np.float32)


@pytest.mark.parametrize("case_insensitive", [True, False])
def test_analogy_counts_equal_gensim_on_mixed_case_vocabulary(kv, case_insensitive):
    words, vectors = mixed_case_vocabulary(kv)
    mixed = keyed_vectors(words, vectors)
    ours = evaluate_analogies(
        words, vectors, QUESTIONS, restrict_vocab=6000, case_insensitive=case_insensitive
    )
    expected = gensim_counts(
        mixed, QUESTIONS, restrict_vocab=6000, case_insensitive=case_insensitive
    )
    assert our_counts(ours) == expected
    assert ours["total"]["covered"] > 0


def test_case_insensitive_matching_covers_questions_that_exact_matching_misses(kv):
    words, vectors = mixed_case_vocabulary(kv)
    insensitive = evaluate_analogies(words, vectors, QUESTIONS, restrict_vocab=6000)
    exact = evaluate_analogies(
        words, vectors, QUESTIONS, restrict_vocab=6000, case_insensitive=False
    )
    assert insensitive["total"]["covered"] > exact["total"]["covered"]


def crafted_variant_vocabulary(variants_on_top: int) -> tuple[list[str], np.ndarray]:
    """Question 'abc def ghi jkl' where case variants of 'def' outrank the answer 'jkl'."""
    base = {
        "abc": [1.0, 0.0, 0.0, 0.0],
        "def": [1.0, 1.0, 0.0, 0.0],
        "ghi": [0.0, 0.0, 1.0, 0.0],
        "jkl": [0.0, 0.9, 1.0, 0.15],  # near b - a + c = (0, 1, 1, 0)
        "zzz": [0.0, 0.0, 0.0, 1.0],
    }
    variants = ["DEF", "Def", "dEf", "deF", "DEf", "dEF", "DeF"][:variants_on_top]
    words = list(base)
    vectors = [base[w] for w in words]
    for k, variant in enumerate(variants):
        words.append(variant)
        # the 3CosAdd target direction itself: far closer than jkl
        vectors.append([1 / np.sqrt(2) - 1, 1 / np.sqrt(2), 1.0, 0.001 * k])
    return words, np.asarray(vectors, dtype=np.float32)


@pytest.mark.parametrize("variants_on_top, correct", [(4, 1), (5, 0), (7, 0)])
def test_case_variants_of_question_words_fill_gensims_top_five(tmp_path, variants_on_top, correct):
    path = write_questions(tmp_path / "q.txt", {"crafted": ["abc def ghi jkl"]})
    words, vectors = crafted_variant_vocabulary(variants_on_top)
    ours = evaluate_analogies(words, vectors, path)
    assert our_counts(ours) == gensim_counts(keyed_vectors(words, vectors), path)
    assert ours["total"] == {
        "correct": correct, "covered": 1, "accuracy": float(correct),
        "correct_top5": correct, "top5": float(correct),
    }  # fmt: skip


def test_exact_ties_resolve_as_in_gensim(tmp_path):
    # two candidates with identical vectors: gensim's partial sort decides, and so must we
    words = ["abc", "def", "ghi", "one", "two", "three"]
    vectors = np.asarray(
        [[1, 0, 0], [1, 1, 0], [0, 0, 1], [0, 1, 1], [0, 1, 1], [0, 1, 1]], dtype=np.float32
    )
    lines = [f"abc def ghi {answer}" for answer in ("one", "two", "three")]
    path = write_questions(tmp_path / "q.txt", {"ties": lines})
    ours = evaluate_analogies(words, vectors, path)
    assert our_counts(ours) == gensim_counts(keyed_vectors(words, vectors), path)
    assert ours["total"]["correct"] == 1


def gensim_cosmul_counts(kv: KeyedVectors, sections, restrict_vocab: int) -> dict:
    """gensim's evaluation loop with most_similar_cosmul in place of most_similar."""
    head = kv.index_to_key[:restrict_vocab]
    small = keyed_vectors(head, kv.vectors[:restrict_vocab])
    vocab = {w.upper(): small.get_index(w) for w in reversed(head)}
    counts = {}
    original = small.key_to_index
    for name, questions in sections:
        correct = covered = 0
        for question in questions:
            a, b, c, expected = (w.upper() for w in question)
            if not all(w in vocab for w in (a, b, c, expected)):
                continue
            covered += 1
            small.key_to_index = vocab
            sims = small.most_similar_cosmul(positive=[b, c], negative=[a], topn=5)
            small.key_to_index = original
            predicted = None
            for word, _ in sims:
                predicted = word.upper()
                if predicted not in {a, b, c}:
                    break
            correct += predicted == expected
        counts[name] = (correct, covered)
    return counts


@pytest.mark.filterwarnings("ignore:Call to deprecated `init_sims`:DeprecationWarning")
def test_3cosmul_equals_gensims_most_similar_cosmul(kv):
    ours = evaluate_analogies(
        kv.index_to_key, kv.vectors, QUESTIONS, restrict_vocab=2000, method="3cosmul"
    )
    expected = gensim_cosmul_counts(kv, read_analogies(QUESTIONS), 2000)
    assert {k: (v["correct"], v["covered"]) for k, v in ours["sections"].items()} == expected
    assert sum(c for c, _ in expected.values()) > 0


def test_semantic_and_syntactic_split_the_total_by_gram_prefix(kv):
    result = evaluate_analogies(kv.index_to_key, kv.vectors, QUESTIONS)
    names = list(result["sections"])
    assert [n.startswith("gram") for n in names] == [False] * 5 + [True] * 9
    for group, members in (("semantic", names[:5]), ("syntactic", names[5:])):
        correct = sum(result["sections"][n]["correct"] for n in members)
        covered = sum(result["sections"][n]["covered"] for n in members)
        assert (result[group]["correct"], result[group]["covered"]) == (correct, covered)
        assert result[group]["accuracy"] == pytest.approx(correct / covered)
    assert (
        result["semantic"]["covered"] + result["syntactic"]["covered"]
        == (result["total"]["covered"])
    )
    assert set(result) == {"restrict_vocab", "questions", "total", "semantic", "syntactic",
                           "sections"}  # fmt: skip


def test_uncovered_section_has_zero_accuracy(tmp_path, kv):
    path = write_questions(
        tmp_path / "q.txt", {"unknown": ["qqqx wwwx eeex rrrx"], "known": ["he she his her"]}
    )
    result = evaluate_analogies(kv.index_to_key, kv.vectors, path)
    assert result["sections"]["unknown"] == {
        "correct": 0, "covered": 0, "accuracy": 0.0, "correct_top5": 0, "top5": 0.0
    }  # fmt: skip
    assert result["sections"]["known"]["covered"] == 1
    assert result["questions"] == 2


def test_malformed_analogy_lines_are_skipped_counted_and_match_gensim(tmp_path, kv, caplog):
    path = tmp_path / "q.txt"
    path.write_text(
        ": family\nhe she his her\nhe she\n\nboy girl brother sister extra\n"
        ": gram-plural\nman men woman women\nking kings queen queens\n",
        encoding="utf-8",
    )
    with caplog.at_level(logging.WARNING, logger="w2v_spark.evaluate.analogies"):
        sections = read_analogies(path)
    assert [name for name, _ in sections] == ["family", "gram-plural"]
    assert [len(q) for _, q in sections] == [1, 2]
    assert "skipped 2 malformed lines" in caplog.text
    ours = evaluate_analogies(kv.index_to_key, kv.vectors, path)
    assert ours["questions"] == 3
    assert our_counts(ours) == gensim_counts(kv, path)


def test_analogy_file_errors_are_user_errors(tmp_path, kv):
    with pytest.raises(UserError, match="not found"):
        read_analogies(tmp_path / "missing.txt")
    no_header = tmp_path / "pairs.tsv"
    no_header.write_text("# comment\ntiger\tcat\t7.35\n", encoding="utf-8")
    with pytest.raises(UserError, match="before any ': section' header"):
        read_analogies(no_header)
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes(b": s\ncaf\xe9 a b c\n")
    with pytest.raises(UserError, match="not UTF-8"):
        read_analogies(latin1)
    with pytest.raises(UserError, match="unknown analogy method"):
        evaluate_analogies(kv.index_to_key, kv.vectors, QUESTIONS, method="3coswhat")
    with pytest.raises(UserError, match="restrict_vocab"):
        evaluate_analogies(kv.index_to_key, kv.vectors, QUESTIONS, restrict_vocab=0)
    with pytest.raises(UserError, match="matrix"):
        evaluate_analogies(kv.index_to_key[:-1], kv.vectors, QUESTIONS)


def test_full_google_set_at_30000_words_dim_100_covers_every_question_as_gensim(tmp_path):
    # Every question word among 30,000 random vectors: all questions are scored, and a sample
    # of them scores as gensim's. How long it takes: benchmarks/evaluation_speed.py.
    rng = np.random.default_rng(0)
    sections = read_analogies(QUESTIONS)
    question_words = sorted({w.lower() for _, qs in sections for q in qs for w in q})
    words = question_words + [f"filler{i}" for i in range(30000 - len(question_words))]
    vectors = rng.standard_normal((len(words), 100)).astype(np.float32)
    result = evaluate_analogies(words, vectors, QUESTIONS, restrict_vocab=30000)
    assert result["questions"] == result["total"]["covered"] == ANALOGY_QUESTIONS
    every_50th = write_questions(
        tmp_path / "q.txt", {name: [" ".join(q) for q in qs[::50]] for name, qs in sections}
    )
    ours = evaluate_analogies(words, vectors, every_50th, restrict_vocab=30000)
    assert our_counts(ours) == gensim_counts(keyed_vectors(words, vectors), every_50th)


# ----------------------------------------------------------------------------------------------
# word pairs


def float64_twin(kv: KeyedVectors) -> KeyedVectors:
    """The same vectors held as float64, so gensim's cosines carry no float32 rounding noise."""
    twin = KeyedVectors(kv.vector_size, dtype=np.float64)
    twin.add_vectors(kv.index_to_key, kv.vectors.astype(np.float64))
    return twin


def without_repeated_pairs(path: Path, out: Path) -> Path:
    """A copy of a word-pair file keeping the first of repeated pairs (either order).

    WordSim-353 lists money/cash twice and bank/money both ways, SimLex-999 sly/strange both
    ways. Those pairs tie exactly, but gensim's BLAS cosines break such ties by rounding noise
    that depends on memory alignment (the same pair can come out 1 ulp apart), which moves
    Spearman by ~5e-6; without them gensim's result is deterministic.
    """
    seen = set()
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if not line.startswith("#") and len(parts) == 3:
            key = frozenset((parts[0].lower(), parts[1].lower()))
            if key in seen:
                continue
            seen.add(key)
        lines.append(line)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def gensim_pair_cosines(kv: KeyedVectors, path: Path) -> tuple[list[float], list[float]]:
    """Human scores and gensim's cosines of the known pairs (its own case-folding rule)."""
    vocab = {w.upper(): kv.get_index(w) for w in reversed(kv.index_to_key)}
    gold, model = [], []
    for a, b, score in read_word_pairs(path):
        if a.upper() in vocab and b.upper() in vocab:
            gold.append(score)
            model.append(float(kv.similarity(vocab[a.upper()], vocab[b.upper()])))
    return gold, model


@pytest.mark.parametrize("name", ["wordsim353.tsv", "simlex999.txt"])
def test_word_pair_spearman_and_oov_equal_gensim(kv, name, tmp_path):
    path = DATA / name
    twin = float64_twin(kv)
    # 1. gensim's evaluate_word_pairs on a file without repeated pairs: equal to 1e-6
    unique = without_repeated_pairs(path, tmp_path / name)
    _, (rho, _), oov_ratio = twin.evaluate_word_pairs(str(unique))
    ours = evaluate_word_pairs(kv.index_to_key, kv.vectors, unique)
    assert ours["spearman"] == pytest.approx(rho, abs=1e-6)
    assert ours["oov"] == pytest.approx(oov_ratio, abs=1e-9)  # a percentage, as gensim's
    # 2. the shipped file: equal to Spearman over gensim's cosines with exact ties kept
    ours = evaluate_word_pairs(kv.index_to_key, kv.vectors, path)
    gold, cosines = gensim_pair_cosines(twin, path)
    reference = stats.spearmanr(gold, np.round(cosines, 12))[0]
    assert ours["spearman"] == pytest.approx(reference, abs=1e-9)
    assert ours["pairs"] == len(gold)
    # 3. gensim on the float32 vectors, repeated pairs included: up to its rounding noise
    _, (rho32, _), oov32 = kv.evaluate_word_pairs(str(path))
    assert ours["spearman"] == pytest.approx(rho32, abs=1e-4)
    assert ours["oov"] == pytest.approx(oov32, abs=1e-9)
    vocab = set(kv.index_to_key)
    pairs = read_word_pairs(path)
    assert ours["pairs"] == sum(a.lower() in vocab and b.lower() in vocab for a, b, _ in pairs)
    assert 0 < ours["pairs"] < len(pairs)


def test_word_pairs_respect_restrict_vocab_and_case(kv, tmp_path):
    path = without_repeated_pairs(DATA / "wordsim353.tsv", tmp_path / "wordsim353.tsv")
    twin = float64_twin(kv)
    _, (rho, _), oov_ratio = twin.evaluate_word_pairs(str(path), restrict_vocab=3000)
    ours = evaluate_word_pairs(kv.index_to_key, kv.vectors, path, restrict_vocab=3000)
    assert ours["spearman"] == pytest.approx(rho, abs=1e-6)
    assert ours["oov"] == pytest.approx(oov_ratio)
    upper = [w.upper() for w in kv.index_to_key]
    exact = evaluate_word_pairs(upper, kv.vectors, path, case_insensitive=False)
    assert exact["pairs"] == 0 and exact["spearman"] is None and exact["oov"] == 100.0


def test_read_word_pairs_skips_comments_and_counts_malformed_lines(tmp_path, caplog):
    path = tmp_path / "pairs.tsv"
    path.write_text("# header\ntiger\tcat\t7.35\nbad line\nx\ty\tnot-a-number\n\n", "utf-8")
    with caplog.at_level(logging.WARNING, logger="w2v_spark.evaluate.similarity"):
        assert read_word_pairs(path) == [("tiger", "cat", 7.35)]
    assert "skipped 2 malformed lines" in caplog.text


@pytest.mark.parametrize("seed", range(5))
def test_spearman_with_ties_equals_scipy(seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 6, size=40).astype(float)  # many ties
    y = x + rng.integers(-3, 4, size=40)
    assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y)[0], abs=1e-12)


def test_spearman_is_undefined_for_constant_or_tiny_input():
    assert spearman([1.0, 2.0, 3.0], [5.0, 5.0, 5.0]) is None
    assert spearman([1.0], [2.0]) is None
    assert spearman([1.0, 2.0, 3.0], [3.0, 2.0, 1.0]) == pytest.approx(-1.0)


# ----------------------------------------------------------------------------------------------
# queries


@pytest.mark.parametrize(
    "text, positive, negative",
    [
        ("king - man + woman", ["king", "woman"], ["man"]),
        ("paris", ["paris"], []),
        ("-man +woman +king", ["woman", "king"], ["man"]),
        ("king -man +woman", ["king", "woman"], ["man"]),
        ("well-known - known", ["well-known"], ["known"]),
    ],
)
def test_parse_query(text, positive, negative):
    assert parse_query(text) == (positive, negative)


@pytest.mark.parametrize("text", ["", "king -", "king - - man", "+"])
def test_parse_query_rejects_malformed_queries(text):
    with pytest.raises(UserError):
        parse_query(text)


@pytest.mark.parametrize(
    "text, first, second",
    [
        ("paris france", "paris", "france"),
        ("king - man woman", "man", "woman"),
        ("-man +woman king", "woman", "king"),
    ],
)
def test_parse_query_refuses_two_words_without_an_operator(text, first, second):
    # Before: the words were silently added ("paris france" = paris + france).
    with pytest.raises(UserError) as caught:
        parse_query(text)
    message = str(caught.value)
    assert message == (
        f"query {text!r}: no + or - between {first!r} and {second!r}; put + or - between "
        'words, e.g. "paris - france + italy"'
    )
    assert "\n" not in message


def test_query_command_refuses_words_without_an_operator(kv, tmp_path, capsys):
    model_dir = tmp_path / "model"
    write_word2vec(model_dir / "vectors.bin", kv.index_to_key, kv.vectors, binary=True)
    for argv in (["paris france"], ["paris", "france"], ["similar", "paris", "france"]):
        assert query.main([str(model_dir), *argv]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: query 'paris france': no + or - between 'paris' and ")
        assert err.count("\n") == 1
    assert query.main([str(model_dir), "paris - france + italy", "--topn", "3"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3
    assert query.main([str(model_dir), "similar", "paris", "--topn", "3"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3


@pytest.mark.parametrize(
    "positive, negative, restrict",
    [(["paris"], [], None), (["king", "woman"], ["man"], None), (["france"], [], 1000)],
)
def test_most_similar_equals_gensim(kv, positive, negative, restrict):
    ours = most_similar(
        kv.index_to_key, kv.vectors, positive, negative, topn=10, restrict_vocab=restrict
    )
    theirs = kv.most_similar(positive=positive, negative=negative, topn=10, restrict_vocab=restrict)
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    assert np.allclose([s for _, s in ours], [s for _, s in theirs], atol=1e-6)
    assert not set(positive + negative) & {w for w, _ in ours}


def test_most_similar_names_every_unknown_word(kv):
    with pytest.raises(UserError, match="qqqx, zzzx"):
        most_similar(kv.index_to_key, kv.vectors, ["king", "qqqx"], ["zzzx"])


def test_query_command_prints_neighbours_and_fails_in_one_line(kv, tmp_path, capsys):
    model_dir = tmp_path / "model"
    write_word2vec(model_dir / "vectors.bin", kv.index_to_key, kv.vectors, binary=True)
    assert query.main([str(model_dir), "similar", "Paris", "--topn", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    expected = kv.most_similar("paris", topn=3)
    assert [line.split()[0] for line in lines] == [w for w, _ in expected]
    assert query.main([str(model_dir), "king - man + woman"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 10
    assert query.main([str(model_dir), "similar", "qqqx"]) == 2
    assert capsys.readouterr().err.strip() == "error: not in the vocabulary: qqqx"
    assert query.main([str(tmp_path / "nowhere"), "paris"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_query_refuses_a_model_directory_without_success(kv, tmp_path, capsys):
    # A run killed after vectors.bin was published but before _SUCCESS: not a finished model.
    model_dir = tmp_path / "model"
    write_word2vec(model_dir / "vectors.bin", kv.index_to_key, kv.vectors, binary=True)
    (model_dir / "checkpoints").mkdir()
    assert query.main([str(model_dir), "paris"]) == 2
    assert "incomplete (no _SUCCESS)" in capsys.readouterr().err
    (model_dir / "_SUCCESS").write_bytes(b"")
    assert query.main([str(model_dir), "similar", "paris", "--topn", "3"]) == 0
