"""Encoder engines side by side: the int8 CTranslate2 engine (the bundled model's default) against
sentence-transformers fp32, in one run, on the same texts.

Run: .venv/bin/python benchmarks/bench_engine.py [--passages 240] [--rounds 2]
Writes benchmarks/results/engine.json and prints a Markdown table.

- import + load time and the RSS of a process holding only that engine (a child process each);
- single-query latency (p50/p95) over our seed questions, the two engines taking turns per query so
  that a busy neighbour slows both alike;
- throughput on the seed paragraphs, on the first N CMRC 2018 trial passages and on their sentences
  (best of ``--rounds``, the engines taking turns);
- fidelity: cosine between the two engines' vectors for every text above.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.record import load_note, record  # noqa: E402
from rag.ct2 import ENGINE as CT2  # noqa: E402
from rag.embed import SENTENCE_TRANSFORMERS, load_model  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "engine.json"
TRIAL = ROOT.parent / "shared" / "bench" / "cmrc2018-trial" / "corpus.jsonl"
SEED_FILE = ROOT / "seeds" / "yingkou-essays-2025.txt"
ENGINES = (SENTENCE_TRANSFORMERS, CT2)
CHILD = """
import json, resource, time, psutil
t = time.perf_counter()
import {module}
imported = time.perf_counter() - t
from rag.embed import load_model
t = time.perf_counter()
model = load_model(engine={engine!r})
loaded = time.perf_counter() - t
model.encode_queries(["营口有多少个千亿级产业集群？"])
print(json.dumps({{"import_s": round(imported, 2), "load_s": round(loaded, 2),
                  "rss_mb": round(psutil.Process().memory_info().rss / 2**20)}}))
"""


def seed_paragraphs() -> list[str]:
    text = SEED_FILE.read_text(encoding="utf-8")
    blocks = (re.sub(r"\s*\n\s*", "", block) for block in re.split(r"\n\s*\n", text))
    return [block for block in blocks if block]


def questions() -> list[str]:
    lines = (ROOT / "benchmarks" / "seed_questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


def trial_passages(n: int) -> list[str]:
    lines = TRIAL.read_text(encoding="utf-8").splitlines()[:n]
    return [json.loads(line)["text"] for line in lines]


def sentences_of(passages: list[str]) -> list[str]:
    return [s for p in passages for s in re.split(r"(?<=[。！？])", p) if len(s.strip()) > 1]


def child_process(engine: str) -> dict:
    module = "ctranslate2, tokenizers" if engine == CT2 else "sentence_transformers"
    out = subprocess.run([sys.executable, "-c", CHILD.format(module=module, engine=engine)], cwd=ROOT,
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def query_latency(models: dict, texts: list[str]) -> dict:
    times: dict[str, list[float]] = {name: [] for name in models}
    for model in models.values():
        model.encode_queries(texts[:3])  # warm-up
    for text in texts:
        for name, model in models.items():
            start = time.perf_counter()
            model.encode_queries([text])
            times[name].append((time.perf_counter() - start) * 1000)
    return {name: {"p50_ms": round(statistics.median(t), 1), "p95_ms": round(float(np.percentile(t, 95)), 1)}
            for name, t in times.items()}


def throughput(models: dict, texts: list[str], rounds: int) -> tuple[dict, dict]:
    best = {name: float("inf") for name in models}
    vectors = {}
    for _ in range(rounds):
        for name, model in models.items():
            start = time.perf_counter()
            vectors[name] = model.encode_documents(texts)
            best[name] = min(best[name], time.perf_counter() - start)
    chars = sum(len(t) for t in texts)
    speed = {name: {"seconds": round(s, 2), "texts_per_s": round(len(texts) / s, 1),
                    "chars_per_s": round(chars / s)} for name, s in best.items()}
    return speed, vectors


def fidelity(a: np.ndarray, b: np.ndarray) -> dict:
    cos = np.sum(a * b, axis=1)
    return {"min": round(float(cos.min()), 4), "median": round(float(np.median(cos)), 5)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=240, help="CMRC trial passages (default: %(default)s)")
    parser.add_argument("--sentences-of", type=int, default=60,
                        help="take the sentences of the first N of those passages (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=2, help="best of N for throughput (default: %(default)s)")
    args = parser.parse_args()

    results: dict = {"load_average_before": os.getloadavg()[0], "processes": {e: child_process(e) for e in ENGINES}}
    models = {e: load_model(engine=e) for e in ENGINES}
    qs = questions()
    results["queries"] = {"count": len(qs), **query_latency(models, qs)}
    results["query_fidelity"] = fidelity(models[CT2].encode_queries(qs), models[SENTENCE_TRANSFORMERS].encode_queries(qs))
    passages = trial_passages(args.passages)
    sets = {"seed paragraphs": seed_paragraphs(), f"CMRC trial passages ({args.passages})": passages,
            f"sentences of {args.sentences_of} CMRC trial passages": sentences_of(passages[:args.sentences_of])}
    results["throughput"] = {}
    for label, texts in sets.items():
        speed, vectors = throughput(models, texts, args.rounds)
        results["throughput"][label] = {"texts": len(texts), "chars": sum(map(len, texts)), **speed,
                                        "fidelity": fidelity(vectors[CT2], vectors[SENTENCE_TRANSFORMERS])}
    record(RESULTS, results, markdown)
    return 0


def markdown(r: dict) -> str:
    st, ct = SENTENCE_TRANSFORMERS, CT2
    rows = ["| measure | sentence-transformers fp32 | ctranslate2-int8 | ratio |", "|---|---:|---:|---:|"]
    p = r["processes"]
    rows.append(f"| import + load | {p[st]['import_s']} + {p[st]['load_s']} s | {p[ct]['import_s']} + "
                f"{p[ct]['load_s']} s | |")
    rows.append(f"| process RSS with the model | {p[st]['rss_mb']} MB | {p[ct]['rss_mb']} MB | "
                f"{p[st]['rss_mb'] / p[ct]['rss_mb']:.1f}× less |")
    q = r["queries"]
    rows.append(f"| query p50 / p95 ({q['count']} single questions) | {q[st]['p50_ms']} / {q[st]['p95_ms']} ms | "
                f"{q[ct]['p50_ms']} / {q[ct]['p95_ms']} ms | {q[st]['p50_ms'] / q[ct]['p50_ms']:.1f}× |")
    for label, t in r["throughput"].items():
        rows.append(f"| {label}: {t['texts']} texts, {t['chars']:,} chars | {t[st]['texts_per_s']}/s | "
                    f"{t[ct]['texts_per_s']}/s | {t[ct]['texts_per_s'] / t[st]['texts_per_s']:.1f}× |")
    fid = [f"queries min {r['query_fidelity']['min']}"] + [
        f"{label} min {t['fidelity']['min']}" for label, t in r["throughput"].items()]
    return "\n".join(rows) + "\n\ncosine int8 vs fp32: " + "; ".join(fid) + "\n" + load_note(r)


if __name__ == "__main__":
    sys.exit(main())
