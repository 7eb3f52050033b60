"""Embedding-model benchmark: conversion cost, load time, query latency and passage throughput.

Run: .venv/bin/python benchmarks/bench_model.py [--threads N]
Prints a Markdown table and writes benchmarks/results/model.json. Conversion runs in a child process
(into a temporary cache) so its peak memory is measured alone; the other numbers use that model.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parent.parent
SEED_FILE = ROOT / "seeds" / "yingkou-essays-2025.txt"
RESULTS = ROOT / "benchmarks" / "results" / "model.json"
QUERY_COUNT = 60
THROUGHPUT_ROUNDS = 3
CONVERT_CHILD = (
    "import json, time; from rag.convert import ensure_converted; "
    "t = time.perf_counter(); ensure_converted(); print(json.dumps(time.perf_counter() - t))"
)


def seed_paragraphs() -> list[str]:
    """The seed essays' paragraphs with hard line breaks joined: what the index embeds."""
    text = SEED_FILE.read_text(encoding="utf-8")
    blocks = (re.sub(r"\s*\n\s*", "", block) for block in re.split(r"\n\s*\n", text))
    return [block for block in blocks if block]


def benchmark_queries(paragraphs: list[str]) -> list[str]:
    """Realistic short queries: the seed's sentences (clipped) and English questions."""
    sentences = [s[:40] for p in paragraphs for s in re.split(r"(?<=[。！？])", p) if len(s) > 8]
    english = [
        "Which company uses 5G and industrial internet?",
        "How is Yingkou developing offshore wind power?",
        "What should grassroots party organizations do?",
    ]
    return (english + sentences)[:QUERY_COUNT]


def measure_conversion(cache: Path) -> dict:
    """Convert in a child process; its peak RSS is the children's maximum resident set size."""
    env = {**os.environ, "RAG_CACHE_DIR": str(cache)}
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", CONVERT_CHILD], env=env, cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout  # fmt: skip
    wall = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    folder = cache / "models"
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    return {
        "convert_s": round(json.loads(out), 2),
        "convert_process_wall_s": round(wall, 2),
        "convert_peak_rss_mb": round(peak_kib / 1024),
        "folder_mb": round(size / 1e6),
    }


def measure_model(paragraphs: list[str]) -> dict:
    """Load time, single-query latency and batched passage throughput of the converted model."""
    start = time.perf_counter()
    import sentence_transformers  # noqa: F401  (timed apart from the model load)

    import_s = time.perf_counter() - start
    from rag.embed import load_model

    start = time.perf_counter()
    model = load_model(engine="sentence-transformers")  # this benchmark is about the fp32 model
    load_s = time.perf_counter() - start

    queries = benchmark_queries(paragraphs)
    model.encode_queries(queries[:3])  # warm-up
    latencies = []
    for query in queries:
        start = time.perf_counter()
        model.encode_queries([query])
        latencies.append((time.perf_counter() - start) * 1000)

    rounds = []
    for _ in range(THROUGHPUT_ROUNDS):
        start = time.perf_counter()
        model.encode_documents(paragraphs)
        rounds.append(time.perf_counter() - start)
    passage_s = statistics.median(rounds)
    chars = sum(len(p) for p in paragraphs)
    return {
        "import_s": round(import_s, 2),
        "load_s": round(load_s, 2),
        "queries": len(latencies),
        "query_median_ms": round(statistics.median(latencies), 1),
        "query_p95_ms": round(float(np.percentile(latencies, 95)), 1),
        "passages": len(paragraphs),
        "passage_chars": chars,
        "passages_per_s": round(len(paragraphs) / passage_s, 1),
        "chars_per_s": round(chars / passage_s),
        "rss_after_mb": round(psutil.Process().memory_info().rss / 2**20),
        "device": model.info()["device"],
    }


def machine() -> dict:
    import torch

    return {
        "load_average_1m_after": round(os.getloadavg()[0], 2),  # other jobs skew the timings
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
    }


def markdown(results: dict) -> str:
    rows = [
        ("Conversion (in process)", f"{results['convert_s']} s"),
        ("Conversion peak memory (child RSS)", f"{results['convert_peak_rss_mb']} MB"),
        ("Converted folder on disk (fp16)", f"{results['folder_mb']} MB"),
        ("Import sentence-transformers", f"{results['import_s']} s"),
        ("Model load", f"{results['load_s']} s"),
        (f"Query latency, median / p95 ({results['queries']} single queries)",
         f"{results['query_median_ms']} / {results['query_p95_ms']} ms"),
        (f"Passage throughput ({results['passages']} seed paragraphs, {results['passage_chars']} chars)",
         f"{results['passages_per_s']} passages/s, {results['chars_per_s']} chars/s"),
        ("Process RSS after benchmark", f"{results['rss_after_mb']} MB"),
    ]  # fmt: skip
    lines = ["| Measure | Value |", "|---|---|", *(f"| {name} | {value} |" for name, value in rows)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's own choice)")
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    paragraphs = seed_paragraphs()
    load_before = round(os.getloadavg()[0], 2)
    with tempfile.TemporaryDirectory(prefix="bench-model-") as tmp:
        cache = Path(tmp)
        results = measure_conversion(cache)
        os.environ["RAG_CACHE_DIR"] = str(cache)
        results |= measure_model(paragraphs)
    results["machine"] = {"load_average_1m_before": load_before, **machine()}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(markdown(results))
    print(f"\nmachine: {results['machine']}\nwritten: {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
