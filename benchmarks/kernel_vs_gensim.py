"""Single-process NumPy SGNS kernel vs gensim 4.x Word2Vec, same corpus and settings.

Trains skip-gram with negative sampling on ``../shared/corpora/wiki8.txt.gz`` (read in place)
cut into 10,000-word sentences, with: dim 100, window 5, negative 5, ns_exponent 0.75,
sample 1e-3, min_count 5, alpha 0.025 -> 0.0001, 5 epochs. Each system runs in its own child
process (one after the other, never together) that loads the corpus itself, so the reported
peak memory (``ru_maxrss``) is that system's. Prints words/s (raw corpus words x epochs /
training seconds), Google-analogy accuracy (gensim's ``evaluate_word_analogies``,
``restrict_vocab=30000``, case-insensitive, for both) and the ratios.

Usage::

    python benchmarks/kernel_vs_gensim.py                       # full setting
    python benchmarks/kernel_vs_gensim.py --fraction 0.2 --epochs 1 --systems numpy
"""

from __future__ import annotations

import argparse
import gzip
import logging
import multiprocessing as mp
import resource
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpora" / "wiki8.txt.gz"
QUESTIONS = REPO / "w2v_spark" / "data" / "questions-words.txt"
SETTINGS = dict(
    vector_size=100,
    window=5,
    negative=5,
    ns_exponent=0.75,
    sample=1e-3,
    min_count=5,
    alpha=0.025,
    min_alpha=0.0001,
)
SENTENCE_WORDS = 10_000
log = logging.getLogger("kernel_vs_gensim")


def read_tokens(
    path: Path, fraction: float, chunk_chars: int = 8_000_000
) -> tuple[list, np.ndarray]:
    """Provisional vocabulary (first-seen order) and the corpus as int32 provisional ids."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        text_len = 100_000_000
        limit = int(text_len * fraction)
        index: dict[str, int] = {}
        parts = []
        carry, read = "", 0
        while read < limit:
            chunk = handle.read(min(chunk_chars, limit - read))
            if not chunk:
                break
            read += len(chunk)
            words = (carry + chunk).split(" ")
            carry = words.pop()  # may be cut in the middle
            parts.append(
                np.fromiter((index.setdefault(w, len(index)) for w in words if w), np.int32)
            )
        if carry:
            parts.append(np.array([index.setdefault(carry, len(index))], np.int32))
    return list(index), np.concatenate(parts)


def load_corpus(fraction: float) -> tuple[list[str], np.ndarray, list[np.ndarray], int]:
    """Vocabulary (descending count, count >= min_count), counts, sentences of ids, raw words.

    The raw token stream is cut into 10,000-word sentences, then out-of-vocabulary words are
    dropped (as gensim does internally), so both systems see exactly the same id sequences.
    """
    words, ids = read_tokens(CORPUS, fraction)
    counts = np.bincount(ids, minlength=len(words))
    order = np.argsort(-counts, kind="stable")
    order = order[counts[order] >= SETTINGS["min_count"]]
    remap = np.full(len(words), -1, np.int32)
    remap[order] = np.arange(order.size, dtype=np.int32)
    new_ids = remap[ids]
    sentences = []
    for start in range(0, new_ids.size, SENTENCE_WORDS):
        piece = new_ids[start : start + SENTENCE_WORDS]
        sentences.append(piece[piece >= 0])
    vocab = [words[i] for i in order]
    return vocab, counts[order], sentences, int(ids.size)


def evaluate(vocab: list[str], vectors: np.ndarray) -> float:
    """Google analogy accuracy (gensim protocol) of ``vectors`` (rows in ``vocab`` order)."""
    from gensim.models import KeyedVectors

    kv = KeyedVectors(vectors.shape[1], dtype=np.float32)
    kv.add_vectors(vocab, vectors)
    score, _ = kv.evaluate_word_analogies(
        str(QUESTIONS), restrict_vocab=30000, case_insensitive=True
    )
    return float(score)


def run_numpy(
    vocab, counts, sentences, epochs: int, seed: int, batch_words: int, step_tokens: int
) -> tuple:
    from w2v_spark.train.kernel import init_weights, train_sentences
    from w2v_spark.train.params import SgnsParams
    from w2v_spark.train.sampling import keep_probabilities, noise_cdf, partition_rng

    params = SgnsParams(
        window=SETTINGS["window"],
        negative=SETTINGS["negative"],
        alpha=SETTINGS["alpha"],
        min_alpha=SETTINGS["min_alpha"],
        batch_words=batch_words,
        step_tokens=step_tokens,
    )
    keep = keep_probabilities(counts, SETTINGS["sample"])
    cdf = noise_cdf(counts, SETTINGS["ns_exponent"])
    syn0, syn1neg = init_weights(len(vocab), SETTINGS["vector_size"], seed)
    total = int(counts.sum())
    start = time.perf_counter()
    for epoch in range(epochs):
        stats = train_sentences(
            syn0,
            syn1neg,
            sentences,
            params,
            keep_prob=keep,
            noise_cdf=cdf,
            rng=partition_rng(seed, epoch, 0),
            progress_start=epoch / epochs,
            progress_per_word=1.0 / (epochs * total),
        )
        log.info("numpy epoch %d: %s mean loss %.4f", epoch, stats, stats.mean_loss)
    seconds = time.perf_counter() - start
    return seconds, syn0


def run_gensim(vocab, counts, sentences, epochs: int, seed: int) -> tuple:
    from gensim.models import Word2Vec

    text = [[vocab[i] for i in s] for s in sentences]
    model = Word2Vec(sg=1, hs=0, workers=1, epochs=epochs, seed=seed, **SETTINGS)
    model.build_vocab(text)
    start = time.perf_counter()
    model.train(text, total_examples=len(text), epochs=epochs)
    seconds = time.perf_counter() - start
    index = np.array([model.wv.key_to_index[w] for w in vocab])
    return seconds, model.wv.vectors[index]


def run_system(system: str, args: argparse.Namespace, queue: mp.Queue) -> None:
    """Child process: load, train, evaluate one system, put its results on ``queue``."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(processName)s %(message)s")
    vocab, counts, sentences, raw_words = load_corpus(args.fraction)
    log.info(
        "%s: %d raw words, vocab %d, %d sentences", system, raw_words, len(vocab), len(sentences)
    )
    if system == "gensim":
        seconds, vectors = run_gensim(vocab, counts, sentences, args.epochs, args.seed)
    else:
        seconds, vectors = run_numpy(
            vocab,
            counts,
            sentences,
            args.epochs,
            args.seed,
            batch_words=args.batch_words,
            step_tokens=args.step_tokens,
        )
    accuracy = evaluate(vocab, vectors)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put(
        {
            "system": system,
            "seconds": seconds,
            "words_per_s": raw_words * args.epochs / seconds,
            "accuracy": accuracy,
            "peak_mb": peak_mb,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--fraction", type=float, default=1.0, help="use the first fraction")
    parser.add_argument("--systems", default="numpy,gensim", help="comma list: numpy,gensim")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-words", type=int, default=10_000)
    parser.add_argument("--step-tokens", type=int, default=256, help="centres per Hogwild step")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    context = mp.get_context("spawn")  # fork would inherit OpenBLAS threads
    results = {}
    for system in args.systems.split(","):
        queue = context.Queue()
        child = context.Process(target=run_system, args=(system, args, queue), name=system)
        child.start()
        results[system] = queue.get()
        child.join()
    print(f"\nfraction {args.fraction}, epochs {args.epochs}, settings {SETTINGS}")
    print(f"{'system':8} {'train s':>9} {'words/s':>10} {'accuracy':>9} {'peak MB':>8}")
    for r in results.values():
        print(
            f"{r['system']:8} {r['seconds']:9.1f} {r['words_per_s']:10,.0f} "
            f"{r['accuracy']:9.4f} {r['peak_mb']:8.0f}"
        )
    if {"numpy", "gensim"} <= results.keys():
        ours, theirs = results["numpy"], results["gensim"]
        print(f"speed ratio numpy/gensim:    {ours['words_per_s'] / theirs['words_per_s']:.3f}")
        print(f"accuracy ratio numpy/gensim: {ours['accuracy'] / theirs['accuracy']:.3f}")


if __name__ == "__main__":
    main()
