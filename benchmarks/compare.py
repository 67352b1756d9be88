"""Ours against gensim, the word2vec C tool and Spark MLlib, on one corpus, in one run.

    .venv/bin/python benchmarks/compare.py                      # wiki8, conf/wiki8.toml, local[2], P=2
    .venv/bin/python benchmarks/compare.py --partitions 2,8,32  # the partition curve (ours, MLlib)
    .venv/bin/python benchmarks/compare.py --quick              # bundled sample, 1 epoch, CI smoke
    .venv/bin/python benchmarks/compare.py --systems gensim,ours --rounds 3
        # each system three times in ABBA order: medians, and the ratio within each round
        # (this machine's speed drifts by tens of percent between runs minutes apart)
    .venv/bin/python benchmarks/compare.py --executors 1,2,4,8 --partitions 2 --blocks 32 \
        --systems gensim,ours,mllib
        # the executor curve: ours on a loopback standalone cluster of E one-core workers
        # (scripts/loopback_cluster.py, spark-submit, P = E; block rotation, the default
        # there), MLlib on the same kind of cluster with numPartitions = E (in local mode
        # MLlib's tasks share one copy); --partitions 2: ours in local[2], the speed
        # reference for E = 2; --blocks 32: ours in local mode with train.replicas=blocks and
        # P = 32, which computes exactly what 32 one-core executors would (every bucket of a
        # sub-round has its own rows and seeds), so it stands in for a 32-executor cluster

Every system reads the same token stream: the corpus is tokenised once (whitespace split for
text8-style input, else the vocabulary job's default pattern) into a temporary file of
sentences of at most 10,000 words (gensim's ``corpus_file`` reads only the first 10,000 words
of a line, so one-line corpora must be cut). Each system runs in its own child process, one
after another, with its peak memory sampled over its process tree; every set of vectors is
scored by the same code (``w2v_spark.evaluate.analogies`` and ``w2v_spark.evaluate.similarity``).
Words/s = raw corpus words x epochs / training seconds. Results: a Markdown table on stdout
and JSON + Markdown under ``--out``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from w2v_spark.config import load_config  # noqa: E402
from w2v_spark.evaluate.analogies import evaluate_analogies  # noqa: E402
from w2v_spark.evaluate.similarity import evaluate_word_pairs  # noqa: E402
from w2v_spark.io.vectors import read_word2vec, write_word2vec  # noqa: E402

DATA = ROOT / "w2v_spark" / "data"
WIKI8 = ROOT.parent / "shared" / "corpora" / "wiki8.txt.gz"
SYSTEMS = ("ours", "gensim", "c", "mllib")
SENTENCE = 10_000
LETTERS = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")


# ---------------------------------------------------------------- corpus preparation
def tokens_of(line: str, text8_style: bool) -> list[str]:
    if text8_style:
        return line.split()
    cleaned = "".join(" " if ch.isnumeric() and not ch.isalpha() else ch for ch in line.lower())
    return LETTERS.findall(cleaned)


def prepare_corpus(corpus: Path, target: Path, fraction: float) -> int:
    """Write the token stream as lines of at most SENTENCE words; return the token count."""
    opener = gzip.open if corpus.suffix == ".gz" else open
    with opener(corpus, "rt", encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    text8_style = len(lines) == 1
    total = 0
    with open(target, "w", encoding="utf-8") as out:
        all_tokens = [tokens_of(line, text8_style) for line in lines]
        budget = int(sum(map(len, all_tokens)) * fraction)
        for tokens in all_tokens:
            tokens = tokens[: budget - total]
            for start in range(0, len(tokens), SENTENCE):
                out.write(" ".join(tokens[start : start + SENTENCE]) + "\n")
            total += len(tokens)
            if total >= budget:
                break
    return total


def read_sentences(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8") as f:
        return [line.split() for line in f]


# ---------------------------------------------------------------- one system per child process
def run_gensim(args: argparse.Namespace, work: Path) -> dict:
    from gensim.models import Word2Vec

    t = load_config(args.config).train
    sentences = read_sentences(work / "corpus.txt")
    model = Word2Vec(
        vector_size=args.dim or t.vector_size,
        window=t.window,
        negative=0 if args.hs else t.negative,
        hs=args.hs,
        sg=args.sg,
        cbow_mean=1,
        sample=t.sample,
        ns_exponent=t.ns_exponent,
        alpha=t.alpha,
        min_alpha=t.min_alpha,
        min_count=args.min_count,
        workers=args.cores,
        seed=t.seed,
        epochs=args.epochs,
    )
    model.build_vocab(sentences)
    started = time.perf_counter()
    model.train(sentences, total_examples=len(sentences), epochs=args.epochs)
    seconds = time.perf_counter() - started
    model.wv.save_word2vec_format(str(work / "vectors.bin"), binary=True)
    return {"train_seconds": seconds}


def run_c_tool(args: argparse.Namespace, work: Path) -> dict:
    binary = shutil.which("word2vec") or str(Path(sys.executable).parent / "word2vec")
    if not Path(binary).exists():
        return {
            "skipped": "the word2vec C tool is not installed (pip install word2vec compiles it)"
        }
    t = load_config(args.config).train
    cmd = [
        binary,
        "-train",
        str(work / "corpus.txt"),
        "-output",
        str(work / "vectors.bin"),
        "-cbow",
        "0",
        "-hs",
        "0",
        "-size",
        str(args.dim or t.vector_size),
        "-window",
        str(t.window),
        "-negative",
        str(t.negative),
        "-sample",
        str(t.sample),
        "-alpha",
        str(t.alpha),
        "-iter",
        str(args.epochs),
        "-min-count",
        str(args.min_count),
        "-threads",
        str(args.cores),
        "-binary",
        "1",
    ]
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return {"train_seconds": time.perf_counter() - started, "note": "includes its vocabulary pass"}


def run_mllib(args: argparse.Namespace, work: Path, partitions: int, executors: int = 0) -> dict:
    """MLlib in local[cores] with numPartitions = P, or (``executors``) on a loopback cluster of
    that many one-core workers with numPartitions = E.

    In local mode every task of the one executor trains the same broadcast arrays in place
    (a broadcast value is one object per executor JVM), so MLlib's partitions share one copy
    there; only a cluster shows what its averaging of E executors' copies costs.
    """
    if executors:
        from scripts.loopback_cluster import loopback_cluster

        with loopback_cluster(executors, work / "cluster", worker_memory="3g") as cluster:
            master = {
                "spark.master": cluster.url,
                "spark.executor.cores": "1",
                "spark.cores.max": str(executors),
                "spark.executor.memory": "2g",
            }
            result = fit_mllib(args, work, partitions, master)
        shutil.rmtree(work / "cluster", ignore_errors=True)
        return result
    return fit_mllib(args, work, partitions, {"spark.master": f"local[{args.cores}]"})


def fit_mllib(args: argparse.Namespace, work: Path, partitions: int, master: dict) -> dict:
    from pyspark.ml.feature import Word2Vec
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    t = load_config(args.config).train
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder
    for key, value in master.items():
        builder = builder.config(key, value)
    spark = (
        builder.config("spark.driver.memory", "6g")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    frame = spark.read.text(str(work / "corpus.txt")).select(F.split("value", " ").alias("words"))
    frame = frame.repartition(partitions).cache()
    frame.count()
    estimator = Word2Vec(
        vectorSize=args.dim or t.vector_size,
        windowSize=t.window,
        minCount=args.min_count,
        maxIter=args.epochs,
        numPartitions=partitions,
        stepSize=t.alpha,
        seed=t.seed,
        inputCol="words",
        maxSentenceLength=SENTENCE,
    )
    started = time.perf_counter()
    model = estimator.fit(frame)
    seconds = time.perf_counter() - started
    vectors = model.getVectors().toPandas()  # vocabulary x dim: the model's own size
    spark.stop()
    counts: dict[str, int] = {}
    for sentence in read_sentences(work / "corpus.txt"):
        for w in sentence:
            counts[w] = counts.get(w, 0) + 1
    order = sorted(
        range(len(vectors)), key=lambda i: (-counts[vectors["word"][i]], vectors["word"][i])
    )
    words = [vectors["word"][i] for i in order]
    matrix = np.stack([np.asarray(vectors["vector"][i].toArray(), np.float32) for i in order])
    write_word2vec(work / "vectors.bin", words, matrix, binary=True)
    return {"train_seconds": seconds, "note": "fit() includes its vocabulary pass"}


def run_ours(args: argparse.Namespace, work: Path, partitions: int, executors: int = 0) -> dict:
    """Our pipeline in local[cores] with P partitions, or (``executors``) spark-submitted to a
    loopback standalone cluster of that many one-core workers with P = executors."""
    out = work / "run"
    cmd = [
        "--config",
        str(args.config),
        "--corpus",
        str(work / "corpus.txt"),
        "--out",
        str(out),
        "--overwrite",
        "--set",
        f"train.num_partitions={partitions}",
        "--set",
        f"train.epochs={args.epochs}",
        "--set",
        "vocab.tokenizer=whitespace",
        "--set",
        f"vocab.min_count={args.min_count}",
        "--set",
        "train.checkpoint=false",
    ]
    if args.dim:
        cmd += ["--set", f"train.vector_size={args.dim}"]
    hs = ["train.hs=1", "train.negative=0"] if args.hs else []
    for item in [*args.set, f"train.sg={args.sg}", *hs]:
        cmd += ["--set", item]
    if executors:
        from scripts.loopback_cluster import loopback_cluster

        with loopback_cluster(executors, work / "cluster", worker_memory="3g") as cluster:
            submit = cluster.submit_command(ROOT / "jobs" / "pipeline.py", *cmd, driver_memory="4g")
            cluster.run(submit, work / "ours.log", timeout=4 * 3600)
        shutil.rmtree(work / "cluster", ignore_errors=True)
    else:
        cmd = [sys.executable, str(ROOT / "jobs" / "pipeline.py"), *cmd]
        cmd += ["--set", f"spark.master=local[{args.cores}]"]
        with open(work / "ours.log", "w") as log:
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=log)
    metrics = json.loads((out / "model" / "metrics.json").read_text())["epochs"]
    shutil.copy(out / "model" / "vectors.bin", work / "vectors.bin")
    # Per epoch (kept in the JSON results): loss, rate, speed, replicas combined, and each
    # task's first and last learning rate, so the schedule can be seen.
    keep = ("epoch", "loss", "learning_rate", "words_per_sec", "seconds", "replicas", "blocks")
    keep += ("tasks", "syncs")
    epochs = [{k: m[k] for k in keep if k in m} for m in metrics]
    return {"train_seconds": sum(m["seconds"] for m in metrics), "epochs": epochs}


def child_main(args: argparse.Namespace) -> None:
    work = Path(args.work)
    (work / "ours.log").unlink(missing_ok=True)  # a log of an earlier system's run
    try:
        result = run_child(args, work)
    except (subprocess.CalledProcessError, RuntimeError) as error:
        # One system failing (e.g. training diverged) must not cost the others' runs: the
        # row says why, and the end of the system's log goes to stderr.
        log = work / "ours.log"
        tail = log.read_text(errors="replace").splitlines()[-12:] if log.exists() else []
        print("\n".join(tail), file=sys.stderr)
        reason = next((ln for ln in reversed(tail) if "w2v-spark " in ln), str(error))
        result = {"skipped": f"failed: {reason[:300]}"}
    (work / "result.json").write_text(json.dumps(result))


def run_child(args: argparse.Namespace, work: Path) -> dict:
    system, _, partitions = args.child.partition(":")
    if system == "gensim":
        result = run_gensim(args, work)
    elif system == "c":
        result = run_c_tool(args, work)
    elif system == "mllib":
        result = run_mllib(args, work, int(partitions))
    elif system == "mllib-cluster":
        result = run_mllib(args, work, int(partitions), executors=int(partitions))
    elif system == "cluster":
        result = run_ours(args, work, int(partitions), executors=int(partitions))
    elif system == "blocks":
        args.set = [*args.set, "train.replicas=blocks"]
        result = run_ours(args, work, int(partitions))
    else:
        result = run_ours(args, work, int(partitions))
    return result


# ---------------------------------------------------------------- the parent: run, measure, score
def run_measured(cmd: list[str]) -> tuple[float, int, int]:
    """Wall seconds, peak total RSS and peak single-process RSS (bytes) of a process tree."""
    started = time.perf_counter()
    proc = psutil.Popen(cmd)
    peak_total = peak_single = 0
    while proc.poll() is None:
        try:
            rss = [p.memory_info().rss for p in [proc, *proc.children(recursive=True)]]
            peak_total, peak_single = max(peak_total, sum(rss)), max(peak_single, *rss)
        except psutil.Error:
            pass
        time.sleep(0.2)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd[-4:])} failed with exit code {proc.returncode}")
    return time.perf_counter() - started, peak_total, peak_single


def score(path: Path) -> dict:
    words, vectors = read_word2vec(path)
    analogy = evaluate_analogies(words, vectors, DATA / "questions-words.txt", restrict_vocab=30000)
    return {
        "analogy": analogy["total"]["accuracy"],
        "semantic": analogy["semantic"]["accuracy"],
        "syntactic": analogy["syntactic"]["accuracy"],
        "covered": analogy["total"]["covered"],
        "wordsim353": evaluate_word_pairs(words, vectors, DATA / "wordsim353.tsv")["spearman"],
        "simlex999": evaluate_word_pairs(words, vectors, DATA / "simlex999.txt")["spearman"],
        "words": len(words),
    }


def machine() -> dict:
    import gensim
    import pyspark

    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "gensim": gensim.__version__,
        "pyspark": pyspark.__version__,
        "date": time.strftime("%Y-%m-%d"),
    }


NUMERIC = (
    "train_seconds",
    "total_seconds",
    "words_per_sec",
    "peak_total_mb",
    "peak_single_mb",
    "analogy",
    "semantic",
    "syntactic",
    "covered",
    "wordsim353",
    "simlex999",
)


def median_rows(rows: list[dict]) -> list[dict]:
    """One row per system, in first-run order: the median of each measured field over its
    rounds (a lone run is returned as it is)."""
    by_system: dict[str, list[dict]] = {}
    for row in rows:
        by_system.setdefault(row["system"], []).append(row)
    medians = []
    for name, runs in by_system.items():
        done = [r for r in runs if "skipped" not in r]
        if len(runs) == 1 or not done:
            medians.append(runs[0])
            continue
        row = {"system": name, "rounds": len(done)}
        for key in NUMERIC:
            value = float(np.median([r[key] for r in done]))
            row[key] = (
                round(value) if key in ("peak_total_mb", "peak_single_mb", "covered") else value
            )
        medians.append(row)
    return medians


def round_ratios(rows: list[dict]) -> str:
    """Each system's words/s and analogy as a ratio of gensim's in the same round, and their
    medians: the machine's speed drifts between rounds, the ratio within one round less."""
    gensim = {r["round"]: r for r in rows if r["system"] == "gensim" and "skipped" not in r}
    if not gensim:
        return ""
    lines = [
        "| system | words/s × gensim, by round | median | analogy × gensim, by round | median |"
    ]
    lines.append("|---|---|---|---|---|")
    names = dict.fromkeys(r["system"] for r in rows if r["system"] != "gensim")
    for name in names:
        runs = [
            r for r in rows if r["system"] == name and "skipped" not in r and r["round"] in gensim
        ]
        speed = [r["words_per_sec"] / gensim[r["round"]]["words_per_sec"] for r in runs]
        acc = [
            r["analogy"] / gensim[r["round"]]["analogy"]
            for r in runs
            if gensim[r["round"]]["analogy"]
        ]
        if not speed:
            continue
        lines.append(
            f"| {name} | {' / '.join(f'{x:.2f}' for x in speed)} | **{np.median(speed):.2f}** | "
            f"{' / '.join(f'{x:.3f}' for x in acc)} | **{np.median(acc):.3f}** |"
        )
    return "\n".join(lines)


def markdown(rows: list[dict], header: dict) -> str:
    cols = [
        "system",
        "train s",
        "total s",
        "words/s",
        "× gensim",
        "peak MB (total / largest)",
        "analogy",
        "sem",
        "syn",
        "× gensim",
        "covered",
        "WS353",
        "SimLex",
    ]
    base = next((r for r in rows if r["system"] == "gensim" and "analogy" in r), None)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        if "skipped" in r:
            lines.append(f"| {r['system']} | skipped: {r['skipped']} |" + " |" * (len(cols) - 2))
            continue
        speed = f"{r['words_per_sec'] / base['words_per_sec']:.2f}" if base else "–"
        acc = f"{r['analogy'] / base['analogy']:.3f}" if base and base["analogy"] else "–"
        lines.append(
            f"| {r['system']} | {r['train_seconds']:.1f} | {r['total_seconds']:.1f} | "
            f"{r['words_per_sec']:,.0f} | {speed} | {r['peak_total_mb']:,} / {r['peak_single_mb']:,} | "
            f"{r['analogy']:.4f} | {r['semantic']:.4f} | {r['syntactic']:.4f} | {acc} | "
            f"{r['covered']:,} | {r['wordsim353']:.4f} | {r['simlex999']:.4f} |"
        )
    head = (
        f"corpus {header['corpus']} ({header['tokens']:,} tokens), epochs {header['epochs']}, "
        f"local[{header['cores']}] / {header['cores']} workers, "
        + (
            f"medians of {header['rounds']} rounds (ABBA order); "
            if header.get("rounds", 1) > 1
            else "single run each; "
        )
        + f"{header['machine']['cpu']}, {header['machine']['date']}"
    )
    return head + "\n\n" + "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=WIKI8)
    parser.add_argument("--config", type=Path, default=ROOT / "conf" / "wiki8.toml")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument(
        "--partitions",
        default="",
        help="comma-separated P for ours and MLlib in local mode (default 2 without --executors)",
    )
    parser.add_argument(
        "--executors",
        default="",
        help="comma-separated E: ours and MLlib on a loopback cluster of E one-core workers "
        "(P = numPartitions = E); --partitions adds local runs of ours",
    )
    parser.add_argument(
        "--blocks",
        default="",
        help="comma-separated P: ours in local mode with train.replicas=blocks (the exact "
        "stand-in for P one-core executors)",
    )
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument(
        "--fraction", type=float, default=1.0, help="use the first part of the corpus"
    )
    parser.add_argument("--epochs", type=int, default=None, help="default: the config's")
    parser.add_argument("--dim", type=int, default=None, help="default: the config's")
    parser.add_argument("--set", action="append", default=[], help="extra --set for ours")
    parser.add_argument(
        "--sg", type=int, default=1, choices=(0, 1), help="1: skip-gram, 0: CBOW (ours and gensim)"
    )
    parser.add_argument(
        "--hs",
        type=int,
        default=0,
        choices=(0, 1),
        help="1: hierarchical softmax, negative 0 (ours and gensim; MLlib trains hs always)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run every system this many times, alternating order (ABBA); the table gives "
        "each system's medians and the ratios of each round",
    )
    parser.add_argument("--quick", action="store_true", help="bundled sample, 1 epoch (CI smoke)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("--min-count", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    config = load_config(args.config)
    if args.quick:
        args.corpus, args.epochs, args.dim = (
            ROOT / "data" / "sample.txt.gz",
            args.epochs or 1,
            args.dim or 50,
        )
    args.epochs = args.epochs or config.train.epochs
    args.min_count = args.min_count or config.vocab.min_count
    if args.child:
        child_main(args)
        return
    if not args.corpus.exists():
        raise SystemExit(
            f"corpus not found: {args.corpus} (the shared corpora live beside the repo)"
        )
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    partitions = [
        int(p) for p in (args.partitions or ("" if args.executors else "2")).split(",") if p
    ]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        tokens = prepare_corpus(args.corpus, work / "corpus.txt", args.fraction)
        runs = [(s, p) for s in systems for p in (partitions if s in ("ours", "mllib") else [0])]
        if args.executors:
            counts = [int(e) for e in args.executors.split(",")]
            runs = [(s, 0) for s in systems if s in ("gensim", "c")]
            runs += [("ours", p) for p in partitions if "ours" in systems]
            runs += [("cluster", e) for e in counts if "ours" in systems]
            blocks = [int(b) for b in args.blocks.split(",") if b]
            runs += [("blocks", b) for b in blocks if "ours" in systems]
            runs += [("mllib-cluster", e) for e in counts if "mllib" in systems]
        schedule = []
        for r in range(args.rounds):  # ABBA order: drift of the machine's speed cancels
            schedule += [(r, run) for run in (runs if r % 2 == 0 else runs[::-1])]
        for round_, (system, p) in schedule:
            name = {
                "cluster": f"ours E={p}",
                "mllib-cluster": f"mllib E={p}",
                "blocks": f"ours blocks P={p} (local)",
            }.get(system, f"{system} P={p}" if p else system)
            (work / "vectors.bin").unlink(missing_ok=True)
            cmd = [
                sys.executable,
                __file__,
                "--child",
                f"{system}:{p}",
                "--work",
                tmp,
                "--config",
                str(args.config),
                "--cores",
                str(args.cores),
                "--epochs",
                str(args.epochs),
                "--min-count",
                str(args.min_count),
            ]
            cmd += ["--dim", str(args.dim)] if args.dim else []
            cmd += ["--sg", str(args.sg), "--hs", str(args.hs)]
            for item in args.set:
                cmd += ["--set", item]
            print(f"running {name} ...", file=sys.stderr, flush=True)
            total, peak_total, peak_single = run_measured(cmd)
            result = json.loads((work / "result.json").read_text())
            row = {"system": name, "round": round_, **result}
            if "skipped" not in result:
                row.update(
                    total_seconds=total,
                    peak_total_mb=peak_total >> 20,
                    peak_single_mb=peak_single >> 20,
                    words_per_sec=tokens * args.epochs / result["train_seconds"],
                    **score(work / "vectors.bin"),
                )
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    header = {
        "corpus": args.corpus.name,
        "tokens": tokens,
        "epochs": args.epochs,
        "cores": args.cores,
        "machine": machine(),
        "fraction": args.fraction,
    }
    header["rounds"] = args.rounds
    table = markdown(median_rows(rows), header)
    if args.rounds > 1:
        table += "\n" + round_ratios(rows) + "\n"
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (args.out / f"compare-{stamp}.json").write_text(
        json.dumps({"header": header, "rows": rows, "medians": median_rows(rows)}, indent=2)
    )
    (args.out / f"compare-{stamp}.md").write_text(table)


if __name__ == "__main__":
    main()
