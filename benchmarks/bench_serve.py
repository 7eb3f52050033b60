"""Serving and the shell, each engine side by side: `rag serve` start → first answer, the server's own
answer time and its RSS after 100 questions, cold `rag ask` (×3), `rag ask` through a running server
(×3) and `rag --help` (×3).

Run: .venv/bin/python benchmarks/bench_serve.py [--questions 100]
Writes benchmarks/results/serve.json and prints a Markdown table. The seed essays are indexed once per
engine into a temporary folder; each server runs alone on a free loopback port.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.record import record  # noqa: E402
from rag.ct2 import ENGINE as CT2  # noqa: E402
from rag.embed import SENTENCE_TRANSFORMERS  # noqa: E402
from rag.remote import ServerUnavailable, call  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "serve.json"
QUESTION = "营口有多少个千亿级产业集群？"
ENGINES = (SENTENCE_TRANSFORMERS, CT2)


def questions(n: int) -> list[str]:
    lines = (ROOT / "benchmarks" / "seed_questions.jsonl").read_text(encoding="utf-8").splitlines()
    pool = [json.loads(line)["question"] for line in lines if line.strip()]
    return [pool[i % len(pool)] for i in range(n)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rag(*args: str, env: dict) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "rag.cli", *args], cwd=ROOT, env=env, check=True, capture_output=True)
    return round(time.perf_counter() - start, 2)


def serve(index_dir: Path, engine: str, env: dict, n: int) -> dict:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    start = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--index", str(index_dir), "--engine", engine,
                               "--port", str(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                first = call(url, "ask", [QUESTION, 5], 30)
                break
            except (OSError, ValueError):
                if server.poll() is not None or time.perf_counter() - start > 300:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.1)
        first_answer_s = time.perf_counter() - start
        assert first.get("answer"), first
        own, seen = [], []
        for question in questions(n):
            t = time.perf_counter()
            response = call(url, "ask", [question, 5], 30)
            seen.append((time.perf_counter() - t) * 1000)
            own.append(response["timings_ms"])
        rss = psutil.Process(server.pid).memory_info().rss / 2**20
        via_server = [rag("ask", "--index", str(index_dir), "--engine", engine, QUESTION,
                          env={**env, "RAG_PORT": str(port)}) for _ in range(3)]
    finally:
        server.terminate()
        server.wait(30)
    total = [t["total"] for t in own]
    return {"start_to_first_answer_s": round(first_answer_s, 2), "rss_after_mb": round(rss),
            "answer_ms": {"p50": round(statistics.median(total), 1), "p95": round(float(np.percentile(total, 95)), 1)},
            "encode_ms_p50": round(statistics.median(t["encode"] for t in own), 1),
            "http_ms_p50": round(statistics.median(seen), 1), "questions": len(own),
            "rag_ask_via_server_s": via_server}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=100)
    args = parser.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    results: dict = {"load_average_before": os.getloadavg()[0],
                     "rag_help_s": [rag("--help", env=env) for _ in range(3)], "engines": {}}
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        for engine in ENGINES:
            index_dir = Path(tmp) / engine
            rag("build", "--index", str(index_dir), "--engine", engine, "--quiet", env=env)
            cold = [rag("ask", "--index", str(index_dir), "--engine", engine, "--no-server", QUESTION, env=env)
                    for _ in range(3)]
            try:
                served = serve(index_dir, engine, env, args.questions)
            except (RuntimeError, ServerUnavailable) as error:
                served = {"error": str(error)}
            results["engines"][engine] = {"cold_rag_ask_s": cold, **served}
            print(engine, json.dumps(results["engines"][engine]), file=sys.stderr, flush=True)
    record(RESULTS, results, markdown)
    return 0


def markdown(r: dict) -> str:
    st, ct = (r["engines"][e] for e in ENGINES)
    rows = ["| measure | sentence-transformers fp32 | ctranslate2-int8 |", "|---|---:|---:|",
            f"| `rag serve` start → first answer | {st['start_to_first_answer_s']} s | {ct['start_to_first_answer_s']} s |",
            f"| server's own answer time p50 / p95 ({ct['questions']} questions) | {st['answer_ms']['p50']} / "
            f"{st['answer_ms']['p95']} ms | {ct['answer_ms']['p50']} / {ct['answer_ms']['p95']} ms |",
            f"| of which question encoding, p50 | {st['encode_ms_p50']} ms | {ct['encode_ms_p50']} ms |",
            f"| over HTTP (client's view), p50 | {st['http_ms_p50']} ms | {ct['http_ms_p50']} ms |",
            f"| server RSS after the questions | {st['rss_after_mb']} MB | {ct['rss_after_mb']} MB |",
            f"| cold `rag ask` (no server), 3 runs | {' / '.join(map(str, st['cold_rag_ask_s']))} s | "
            f"{' / '.join(map(str, ct['cold_rag_ask_s']))} s |",
            f"| `rag ask` with the server up, 3 runs | {' / '.join(map(str, st['rag_ask_via_server_s']))} s | "
            f"{' / '.join(map(str, ct['rag_ask_via_server_s']))} s |",
            f"| `rag --help`, 3 runs | {' / '.join(map(str, r['rag_help_s']))} s | (same) |"]
    ratio = ct["answer_ms"]["p50"] / st["encode_ms_p50"], ct["answer_ms"]["p95"] / st["encode_ms_p50"]
    return "\n".join(rows) + (f"\n\nint8 server answer p50 / p95 = {ratio[0]:.2f}× / {ratio[1]:.2f}× one fp32 query "
                              f"encode (p50) in the same run; load average {r['load_average_before']:.2f} before, "
                              f"{r['load_average_after']:.2f} after")


if __name__ == "__main__":
    sys.exit(main())
