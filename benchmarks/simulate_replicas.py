"""Screening combining rules without Spark: E replicas trained in turn in one process.

Each replica is a full copy of ``(syn0, syn1neg)`` that trains its own contiguous 1/E of the
corpus with our kernel (:func:`w2v_spark.train.kernel.train_sentences`) and the learning rate of the
run's global progress as that copy sees it (as the Spark trainer does). Every ``--sync-every``
words per replica (default: once per epoch) the copies are combined by ``--rule`` and every
copy restarts from the result; ``--hot K --hot-every N`` also combines the K most frequent rows
every N words. The vectors are scored like ``compare.py`` scores every system. It costs one
core for about the time of one sequential run, so a rule can be screened in minutes before it
is built into the trainer and measured on a loopback cluster (``compare.py --executors``).

    .venv/bin/python benchmarks/simulate_replicas.py --replicas 4 --rule mean
    .venv/bin/python benchmarks/simulate_replicas.py --replicas 4 --rule bmuf --sync-every 100000

Rules (``Δ_k`` = copy k's change since the last combination, over all E copies):

- ``mean``: ``W + Σ_k Δ_k / E``;
- ``sum``: ``W + Σ_k Δ_k`` (every change kept, as if the copies had run one after another);
- ``bmuf``: block momentum with Nesterov look-ahead: the model is the copies' mean, and they
  restart from it plus ``(1 - 1/E)`` times the last move (Chen & Huo 2016);
- ``blocks``: no copies: block rotation (:mod:`w2v_spark.train.rotation`) with E blocks and
  ``--passes`` passes, its buckets trained one after another (the buckets of a sub-round
  share no row, so this is exactly what E executors compute, in another order of the same
  independent updates).

    .venv/bin/python benchmarks/simulate_replicas.py --replicas 4 --rule blocks --passes 4

A screen, not a measurement: the copies take turns, so it shows what combining costs in
accuracy, never speed. Results are appended to ``--out`` as JSON lines.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from compare import WIKI8, prepare_corpus  # noqa: E402

from w2v_spark.evaluate.analogies import evaluate_analogies  # noqa: E402
from w2v_spark.evaluate.similarity import evaluate_word_pairs  # noqa: E402
from w2v_spark.train.blocks import (  # noqa: E402
    assign_blocks,
    bucket_pairs,
    local_ids,
    rotation,
    train_pairs,
)
from w2v_spark.train.kernel import init_weights, train_sentences  # noqa: E402
from w2v_spark.train.params import SgnsParams  # noqa: E402
from w2v_spark.train.rotation import BlockLayout, step_pairs_for  # noqa: E402
from w2v_spark.train.sampling import keep_probabilities, noise_cdf  # noqa: E402

DATA = ROOT / "w2v_spark" / "data"
SENTENCE = 1000  # ids per sentence handed to the kernel


def encode(corpus: Path, fraction: float, min_count: int, cache: Path):
    """``(words, counts, sentences)``: the corpus as compare.py tokenises it, cached as .npz."""
    if cache.exists():
        z = np.load(cache, allow_pickle=True)
        return list(z["words"]), z["counts"], list(z["sentences"])
    text = cache.with_suffix(".txt")
    prepare_corpus(corpus, text, fraction)
    lines = [line.split() for line in text.read_text(encoding="utf-8").splitlines()]
    text.unlink()
    counts = Counter(w for line in lines for w in line)
    words = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
    index = {w: i for i, w in enumerate(words)}
    sentences = []
    for line in lines:
        ids = np.array([index[w] for w in line if w in index], dtype=np.int32)
        sentences += [ids[s : s + SENTENCE] for s in range(0, len(ids), SENTENCE)]
    frequency = np.array([counts[w] for w in words], dtype=np.int64)
    packed = np.empty(len(sentences), dtype=object)
    packed[:] = sentences
    np.savez(cache, words=np.array(words), counts=frequency, sentences=packed)
    return words, frequency, sentences


def combine(model, start, copies, rows: slice, rule: str, momentum: float) -> None:
    """Combine ``rows`` of the copies; ``model`` is the combined model, ``start`` the point
    the copies restart from (``model`` itself, or its look-ahead under ``bmuf``)."""
    deltas = sum(c[rows] - start[rows] for c in copies)
    new = start[rows] + (deltas if rule == "sum" else deltas / len(copies))  # bmuf: the mean
    move = new - model[rows]
    model[rows] = new
    start[rows] = new + momentum * move if rule == "bmuf" else new
    for c in copies:
        c[rows] = start[rows]


def split(sentences: list[np.ndarray], parts: int) -> list[list[np.ndarray]]:
    """Contiguous shares of about equal token counts."""
    ends = np.cumsum([len(s) for s in sentences])
    cuts = np.searchsorted(ends, np.linspace(0, ends[-1], parts + 1)[1:-1])
    return [[sentences[i] for i in share] for share in np.split(np.arange(len(sentences)), cuts)]


def chunks(share: list[np.ndarray], words: int) -> list[list[np.ndarray]]:
    out, current, size = [], [], 0
    for sentence in share:
        current.append(sentence)
        size += len(sentence)
        if size >= words:
            out.append(current)
            current, size = [], 0
    return out + ([current] if current else [])


def train_blocks(args, counts, sentences) -> tuple[np.ndarray, list[float]]:
    """Block rotation with ``args.replicas`` blocks: ``(syn0, losses per epoch)``."""
    blocks, passes = args.replicas, args.passes
    keep = keep_probabilities(counts, 1e-3)
    block_of = assign_blocks(counts * keep, blocks)
    layout = BlockLayout.build(block_of, local_ids(block_of), counts, 0.75)
    members = layout.words
    syn0, syn1neg = init_weights(len(counts), args.dim, args.seed)
    rng = np.random.default_rng(args.seed)
    params = SgnsParams(alpha=0.025 * args.lr_scale)  # window 5, negative 5, min_alpha 1e-4
    sub_rounds, losses, started = passes * blocks, [], time.time()
    for epoch in range(args.epochs):
        buckets = bucket_pairs(
            sentences, params, keep_prob=keep, rng=rng, block_of=block_of,
            local=layout.local, blocks=blocks,
        )  # fmt: skip
        loss = pairs = 0.0
        for s in range(sub_rounds):
            p, r = divmod(s, blocks)
            start = (epoch + s / sub_rounds) / args.epochs
            for i, j in rotation(blocks, r):
                whole = buckets.get((i, j))
                if whole is None:
                    continue
                piece = whole.piece(p, passes)
                if piece.centres.size == 0:
                    continue
                rows0, rows1 = syn0[members[i]], syn1neg[members[j]]
                stats = train_pairs(
                    rows0, rows1, piece, params, noise=layout.noise[j], rng=rng,
                    progress_start=start,
                    progress_per_word=1 / (sub_rounds * args.epochs) / piece.raw_words,
                    step_pairs=step_pairs_for(blocks),
                )  # fmt: skip
                syn0[members[i]], syn1neg[members[j]] = rows0, rows1
                loss += stats.loss_sum
                pairs += stats.loss_pairs
        losses.append(round(loss / max(pairs, 1.0), 4))
        print(f"epoch {epoch + 1}: loss {losses[-1]}, {time.time() - started:.0f} s", flush=True)
    return syn0, losses


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--corpus", type=Path, default=WIKI8)
    p.add_argument("--fraction", type=float, default=0.3)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--replicas", type=int, default=4)
    p.add_argument("--rule", choices=("mean", "sum", "bmuf", "blocks"), default="mean")
    p.add_argument("--passes", type=int, default=4, help="with --rule blocks")
    p.add_argument("--sync-every", type=int, default=0, help="words per replica (0: epoch)")
    p.add_argument("--hot", type=int, default=0, help="rows combined every --hot-every words")
    p.add_argument("--hot-rule", choices=("mean", "sum", "bmuf"), default="mean")
    p.add_argument("--hot-every", type=int, default=50_000)
    p.add_argument("--lr-scale", type=float, default=1.0, help="each copy trains at alpha x this")
    p.add_argument("--dim", type=int, default=100)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--cache", type=Path, default=Path("/tmp/w2v-simulate"))
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "simulate.jsonl")
    args = p.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    words, counts, sentences = encode(
        args.corpus, args.fraction, 5, args.cache / f"{args.corpus.stem}-{args.fraction}.npz"
    )
    vocab, E = len(words), args.replicas
    if args.rule == "blocks":
        started = time.time()
        syn0, losses = train_blocks(args, counts, sentences)
        report(args, words, syn0, losses, syncs=0, seconds=time.time() - started)
        return
    keep, cdf = keep_probabilities(counts, 1e-3), noise_cdf(counts, 0.75)
    params = SgnsParams(alpha=0.025 * args.lr_scale)  # window 5, negative 5, min_alpha 1e-4
    model = list(init_weights(vocab, args.dim, args.seed))
    start = [m.copy() for m in model]
    copies = [[m.copy() for m in model] for _ in range(E)]
    shares = split(sentences, E)
    corpus_words = sum(len(s) for s in sentences)
    total = corpus_words * args.epochs
    rngs = [np.random.default_rng([args.seed, k]) for k in range(E)]
    momentum = 1.0 - 1.0 / E if args.rule == "bmuf" else 0.0
    every = args.hot_every if args.hot else (args.sync_every or corpus_words)
    done, syncs, losses, started = [0] * E, 0, [], time.time()
    for epoch in range(args.epochs):
        pieces = [chunks(share, every) for share in shares]
        rounds = max(map(len, pieces))
        loss = pairs = 0.0
        since = 0
        for r in range(rounds):
            for k in range(E):
                if r >= len(pieces[k]):
                    continue
                stats = train_sentences(
                    copies[k][0],
                    copies[k][1],
                    pieces[k][r],
                    params,
                    keep_prob=keep,
                    noise_cdf=cdf,
                    rng=rngs[k],
                    progress_start=E * done[k] / total,
                    progress_per_word=E / total,
                )
                done[k] += sum(len(s) for s in pieces[k][r])
                loss += stats.mean_loss * stats.pairs if stats.pairs else 0.0
                pairs += stats.pairs
            since += every
            last = r == rounds - 1
            if not last and args.sync_every and since >= args.sync_every:
                rows, since = slice(0, vocab), 0
            elif not last and args.hot:
                rows = slice(0, args.hot)
            else:
                continue
            rule = args.rule if rows.stop == vocab else args.hot_rule
            for m in (0, 1):
                combine(model[m], start[m], [c[m] for c in copies], rows, rule, momentum)
            syncs += rows.stop == vocab
        for m in (0, 1):
            combine(
                model[m], start[m], [c[m] for c in copies], slice(0, vocab), args.rule, momentum
            )
        syncs += 1
        losses.append(round(loss / max(pairs, 1.0), 4))
        print(f"epoch {epoch + 1}: loss {losses[-1]}, {time.time() - started:.0f} s", flush=True)
    report(args, words, model[0], losses, syncs=syncs, seconds=time.time() - started)


def report(args, words, syn0, losses, *, syncs: int, seconds: float) -> None:
    """Score ``syn0`` like compare.py, print and append one JSON line to ``--out``."""
    analogy = evaluate_analogies(words, syn0, DATA / "questions-words.txt", restrict_vocab=30000)
    wordsim = evaluate_word_pairs(words, syn0, DATA / "wordsim353.tsv")["spearman"]
    result = {
        **{k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "analogy": round(analogy["total"]["accuracy"], 4),
        "wordsim353": round(wordsim, 4),
        "losses": losses,
        "full_syncs": syncs,
        "seconds": round(seconds, 1),
    }
    print(json.dumps(result), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "a") as f:
        f.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
