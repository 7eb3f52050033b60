"""Web UI: time from `rag serve` to the first answer over the HTTP API, and answer latency under load.

    .venv/bin/python benchmarks/bench_ui.py            # builds the index first if it is stale

Starts `rag serve` as a subprocess on a free loopback port (the index already built, so start-up is
loading, not building), then asks through gradio_client: one client sequentially, then 8 clients in
threads. Every loop is bounded. Prints a Markdown table; saves JSON to benchmarks/results/ui.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import config  # noqa: E402

QUESTIONS = [
    "营口有多少个千亿级产业集群？",
    "营口光阳耐火材料有限公司的自动化生产车间采用了什么技术？",
    "营口市应设立什么机构来化解社会矛盾？",
    "鞍钢股份有限公司鲅鱼圈钢铁分公司运用了什么技术？",
    "营口市如何推进基层社会治理？",
    "Which company in Yingkou makes refractory materials?",
    "How does Yingkou improve grassroots social governance?",
    "What industrial clusters is Yingkou building?",
    "2023年营口市的常住人口是多少？",
    "What is the capital of France?",
]
START_TIMEOUT_S = 300


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def wait_first_answer(url: str, proc: subprocess.Popen) -> float:
    """Poll until the server answers one question; seconds since the process started are returned
    by the caller. Raises if the server dies or the deadline passes."""
    from gradio_client import Client

    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"rag serve exited with status {proc.returncode}")
        try:
            result = Client(url, verbose=False).predict(QUESTIONS[0], api_name="/ask")
        except Exception:  # not listening yet
            time.sleep(0.1)
            continue
        if "error" in result:
            raise RuntimeError(result["error"])
        return time.monotonic()
    raise TimeoutError(f"no answer from {url} within {START_TIMEOUT_S} s")


def run_clients(url: str, clients: int, total: int) -> tuple[list[float], float]:
    """``total`` questions over ``clients`` threads (one gradio_client each); latencies in ms."""
    from gradio_client import Client

    local = threading.local()
    latencies: list[float] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        if not hasattr(local, "client"):
            local.client = Client(url, verbose=False)
        started = time.perf_counter()
        result = local.client.predict(QUESTIONS[i % len(QUESTIONS)], 5, api_name="/ask")
        elapsed = (time.perf_counter() - started) * 1000
        assert "error" not in result, result
        with lock:
            latencies.append(elapsed)

    with ThreadPoolExecutor(clients) as pool:
        for i in range(clients):  # connect every client before the clock starts
            pool.submit(one, i).result()
        latencies.clear()
        started = time.perf_counter()
        list(pool.map(one, range(total)))
        wall = time.perf_counter() - started
    return latencies, wall


def summary(latencies: list[float], wall: float) -> dict:
    return {"n": len(latencies), "median_ms": round(statistics.median(latencies), 1),
            "p95_ms": round(percentile(latencies, 0.95), 1), "max_ms": round(max(latencies), 1),
            "throughput_qps": round(len(latencies) / wall, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=config.default_index_dir())
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--questions", type=int, default=80)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "ui.json")
    args = parser.parse_args()

    rag = [sys.executable, "-m", "rag.cli"]
    subprocess.run(rag + ["build", "--if-stale", "--quiet", "--index", str(args.index)], check=True, cwd=ROOT)
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    started = time.monotonic()
    proc = subprocess.Popen(rag + ["serve", "--index", str(args.index), "--port", str(port)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"})
    try:
        first_answer_s = wait_first_answer(url, proc) - started
        sequential = run_clients(url, 1, len(QUESTIONS) * 2)
        concurrent = run_clients(url, args.clients, args.questions)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)

    result = {
        "start_to_first_answer_s": round(first_answer_s, 2),
        "sequential_1_client": summary(*sequential),
        f"concurrent_{args.clients}_clients": summary(*concurrent),
        "questions": QUESTIONS,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(),
                    "load_average_1m_at_end": round(os.getloadavg()[0], 2)},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

    print(f"start (`rag serve`, index built) → first answer over the API: {first_answer_s:.2f} s\n")
    print("| clients | questions | median ms | p95 ms | max ms | answers/s |")
    print("|---:|---:|---:|---:|---:|---:|")
    for clients, (latencies, wall) in ((1, sequential), (args.clients, concurrent)):
        s = summary(latencies, wall)
        print(f"| {clients} | {s['n']} | {s['median_ms']} | {s['p95_ms']} | {s['max_ms']} | "
              f"{s['throughput_qps']} |")
    print(f"\nsaved {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")


if __name__ == "__main__":
    main()
