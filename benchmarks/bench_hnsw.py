"""Exact (IndexFlatIP) vs approximate (HNSW, M=32) search on real multilingual-e5-small vectors:
latency and recall@10 at growing sizes, to choose where the index switches (SETTINGS["hnsw_above"]).

Vectors: every sentence vector of the CMRC 2018 dev index (real e5 passage vectors), grown to larger
sizes with slightly perturbed copies; queries: real question vectors of dev questions.

    .venv/bin/python benchmarks/bench_hnsw.py       # needs the dev eval index (rag eval builds it)
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import faiss
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.embed import load_model  # noqa: E402
from rag.evaluate import eval_index_dir, read_questions  # noqa: E402
from rag.index import HNSW_EF_SEARCH, SETTINGS, load_index  # noqa: E402

DEV = ROOT.parent / "shared" / "bench" / "cmrc2018-dev"
SIZES = [10_000, 50_000, 100_000]


def grow(base: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    copies = [base]
    while sum(len(c) for c in copies) < size:
        noisy = base + rng.normal(0, 0.02, base.shape).astype(np.float32)
        copies.append(noisy / np.linalg.norm(noisy, axis=1, keepdims=True))
    return np.ascontiguousarray(np.concatenate(copies)[:size], dtype=np.float32)


def timed_search(index: faiss.Index, queries: np.ndarray, k: int) -> tuple[np.ndarray, float]:
    times, rows = [], []
    for q in queries:
        started = time.perf_counter()
        _, found = index.search(q[None, :], k)
        times.append((time.perf_counter() - started) * 1000)
        rows.append(found[0])
    return np.array(rows), statistics.median(times)


def main() -> None:
    index = load_index(eval_index_dir(DEV / "corpus.jsonl"))
    base = np.asarray(index.sentences.vectors, dtype=np.float32)
    questions = [q["question"] for q in read_questions(DEV / "questions.jsonl", limit=200)]
    queries = load_model().encode_queries(questions)
    rng = np.random.default_rng(0)
    results = []
    print("| vectors | flat ms (median) | HNSW build s | HNSW ms (median) | recall@10 |")
    print("|---|---|---|---|---|")
    for size in SIZES:
        vectors = grow(base, size, rng)
        flat = faiss.IndexFlatIP(vectors.shape[1])
        flat.add(vectors)
        truth, flat_ms = timed_search(flat, queries, 10)
        started = time.perf_counter()
        hnsw = faiss.IndexHNSWFlat(vectors.shape[1], SETTINGS["hnsw_m"], faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = 80
        hnsw.add(vectors)
        build = time.perf_counter() - started
        hnsw.hnsw.efSearch = HNSW_EF_SEARCH
        found, hnsw_ms = timed_search(hnsw, queries, 10)
        recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth, found, strict=True)]))
        results.append({"vectors": size, "flat_ms": round(flat_ms, 3), "hnsw_build_s": round(build, 1),
                        "hnsw_ms": round(hnsw_ms, 3), "recall@10": round(recall, 4)})
        print(f"| {size:,} | {flat_ms:.2f} | {build:.1f} | {hnsw_ms:.2f} | {recall:.3f} |", flush=True)
    out = ROOT / "benchmarks" / "results" / "hnsw.json"
    out.write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
