"""A small synthetic corpus with planted analogies, for learning tests.

Two families of word pairs: (country_i, capital_i) and (male_i, female_i). Every word gets a
*role* signal (countries occur with "nation", capitals with "city", male words with "he",
female words with "she") and an *identity* signal (both words of pair i occur with the pair's
own topic words). Sentences are short templates with Zipf-distributed filler words around
them. A model that learns role + identity solves ``b - a + c ≈ d`` for
``a:b :: c:d = country_i:capital_i :: country_j:capital_j`` (and the same for male:female).
"""

from __future__ import annotations

import numpy as np

N_PAIRS = 8
TOPICS_PER_PAIR = 3
N_FILLER = 200

_COUNTRY_TEMPLATES = (
    ("the", "capital", "of", "{a}", "is", "{b}"),
    ("{b}", "is", "a", "city", "in", "{a}"),
    ("{a}", "is", "a", "nation", "{t}", "{t}"),
    ("{b}", "is", "a", "city", "{t}", "{t}"),
    ("people", "of", "{a}", "the", "nation", "{t}"),
    ("streets", "of", "{b}", "the", "city", "{t}"),
)
_GENDER_TEMPLATES = (
    ("the", "{a}", "and", "the", "{b}", "{t}"),
    ("{a}", "said", "he", "was", "{t}"),
    ("{b}", "said", "she", "was", "{t}"),
    ("his", "name", "{a}", "{t}", "he"),
    ("her", "name", "{b}", "{t}", "she"),
)


def _fill(template: tuple[str, ...], a: str, b: str, topics: list[str], rng) -> list[str]:
    return [
        topics[rng.integers(len(topics))] if w == "{t}" else w.format(a=a, b=b) for w in template
    ]


def planted_corpus(
    seed: int, n_sentences: int = 4000
) -> tuple[list[str], np.ndarray, list[np.ndarray], list[tuple[int, int, int, int]]]:
    """Generate the corpus.

    Parameters
    ----------
    seed : int
        Seed of all random choices.
    n_sentences : int
        Number of sentences (default 4000: about 60k tokens, vocabulary about 290).

    Returns
    -------
    words : list of str
        Vocabulary, in descending count order (ties by first appearance).
    counts : np.ndarray
        Shape ``(len(words),)``, int64: count of each word.
    sentences : list of np.ndarray
        1-D int32 id arrays.
    analogies : list of tuple
        ``(a, b, c, d)`` word ids with ``b - a + c ≈ d`` planted: 2 * N_PAIRS * (N_PAIRS - 1).
    """
    rng = np.random.default_rng(seed)
    families = {
        "country": [(f"country{i}", f"capital{i}") for i in range(N_PAIRS)],
        "gender": [(f"male{i}", f"female{i}") for i in range(N_PAIRS)],
    }
    topics = {
        (fam, i): [f"{fam}topic{i}x{t}" for t in range(TOPICS_PER_PAIR)]
        for fam in families
        for i in range(N_PAIRS)
    }
    filler = [f"filler{i}" for i in range(N_FILLER)]
    filler_p = 1.0 / np.arange(1, N_FILLER + 1)
    filler_p /= filler_p.sum()

    text: list[list[str]] = []
    for _ in range(n_sentences):
        fam = "country" if rng.random() < 0.5 else "gender"
        templates = _COUNTRY_TEMPLATES if fam == "country" else _GENDER_TEMPLATES
        i = int(rng.integers(N_PAIRS))
        a, b = families[fam][i]
        core = _fill(templates[rng.integers(len(templates))], a, b, topics[(fam, i)], rng)
        before = [filler[j] for j in rng.choice(N_FILLER, rng.integers(2, 7), p=filler_p)]
        after = [filler[j] for j in rng.choice(N_FILLER, rng.integers(2, 7), p=filler_p)]
        text.append(before + core + after)

    first_seen: dict[str, int] = {}
    for sentence in text:
        for w in sentence:
            first_seen.setdefault(w, len(first_seen))
    raw_counts = np.zeros(len(first_seen), dtype=np.int64)
    for sentence in text:
        for w in sentence:
            raw_counts[first_seen[w]] += 1
    order = np.argsort(-raw_counts, kind="stable")
    words = [list(first_seen)[k] for k in order]
    index = {w: k for k, w in enumerate(words)}
    sentences = [np.array([index[w] for w in s], dtype=np.int32) for s in text]

    analogies = []
    for pairs in families.values():
        for i, (a, b) in enumerate(pairs):
            for j, (c, d) in enumerate(pairs):
                if i != j:
                    analogies.append((index[a], index[b], index[c], index[d]))
    return words, raw_counts[order], sentences, analogies


def planted_vocabulary(spark, root, settings: list[str], *, seed: int, n_sentences: int):
    """The vocabulary job's output on a planted corpus written under ``root``: ``root/vocab``."""
    from w2v_spark.config import build_config
    from w2v_spark.vocab.stage import build_vocabulary

    words, _, sentences, _ = planted_corpus(seed=seed, n_sentences=n_sentences)
    (root / "corpus.txt").write_text("\n".join(" ".join(words[i] for i in s) for s in sentences))
    config = build_config({}, settings)
    build_vocabulary(spark, config, corpus=str(root / "corpus.txt"), out=str(root / "vocab"))
    return root / "vocab"
