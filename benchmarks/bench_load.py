"""Load and robustness of the running server: `rag serve` on loopback under concurrent API clients.

    .venv/bin/python benchmarks/bench_load.py                 # 16 clients, 960 questions
    .venv/bin/python benchmarks/bench_load.py --clients 8 --requests 200 --json

Starts `rag serve` in a child process on a free loopback port (the shipped essays, the bundled model),
warms it up, then sends a mix of valid and invalid questions (empty, too long, emoji, script text,
punctuation only) from N threads, each with its own gradio_client. A request fails when it raises or
when the reply is not the documented object: a Response dict for a valid question, ``{"error": ...}``
for an invalid one. It records latency, the server's resident memory (sampled every 0.1 s), the
addresses the server listens on, and whether any Gradio file route returns a file it should not.
Writes benchmarks/results/load.json. tests/test_load.py runs a smaller version of the same driver.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "load.json"
VALID = [
    "营口有多少个千亿级产业集群？",
    "营口光阳耐火材料有限公司的自动化生产车间采用了什么技术？",
    "营口市应设立什么机构来化解社会矛盾？",
    "Which company in Yingkou makes refractory materials?",
    "營口有多少個千億級產業集群？",
    "<b>营口</b>有多少个千亿级产业集群？🏭",
    "2023年营口市的常住人口是多少？",
    "What is the capital of France?",
    "<script>alert(1)</script>",  # a question without an answer: a Response that abstains
]
INVALID = ["", "   \u200b ", "问" * 600, "🤔🤔🤔", "？！。…", "\x00\x1b\u200d"]
# Paths a file route might be tricked into serving; none may return a file outside the app's own.
TRAVERSALS = [
    "/gradio_api/file=/etc/passwd",
    "/file=/etc/passwd",
    "/gradio_api/file=../../../../../../etc/passwd",
    "/file=../../etc/passwd",
    "/gradio_api/file=/tmp/gradio/../../etc/passwd",
    "/gradio_api/file=%2fetc%2fpasswd",
    "/gradio_api/file=%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/gradio_api/file=..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/gradio_api/file/etc/passwd",
    "/gradio_api/file/../../../../etc/passwd",
    "/gradio_api/file/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/static/../../../../../etc/passwd",
    "/static/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/assets/../../../../../etc/passwd",
    "/assets/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/svelte/..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/gradio_api/proxy=file:///etc/passwd",
    "/..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/favicon.ico/../../../../etc/passwd",
    "/gradio_api/file={root}/pyproject.toml",
    "/file={root}/pyproject.toml",
    "/gradio_api/file={root}/seeds/yingkou-essays-2025.txt",
    "/gradio_api/file={index}/current/manifest.json",
    "/gradio_api/file=pyproject.toml",
    "/gradio_api/file=./pyproject.toml",
    "/gradio_api/file=rag/config.py",
    "/static/../pyproject.toml",
    "/assets/../../pyproject.toml",
]


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log: Path
    memory_mb: list[float] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def rss_mb(self) -> float:
        return psutil.Process(self.process.pid).memory_info().rss / 2**20

    def listening(self) -> list[str]:
        """The addresses the server process accepts connections on."""
        connections = psutil.Process(self.process.pid).net_connections(kind="inet")
        return sorted({c.laddr.ip for c in connections if c.status == psutil.CONN_LISTEN})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(index_dir: Path, corpus: Path, log: Path, timeout: float = 300,
                 env: dict[str, str] | None = None) -> Server:
    """`rag serve` with the default host (loopback) on a free port; returns once it accepts connections."""
    port = free_port()
    handle = open(log, "w")  # noqa: SIM115 - the child writes to it for its whole life
    process = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "serve", "--index", str(index_dir), "--corpus", str(corpus),
         "--port", str(port)], cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {}), "GRADIO_ANALYTICS_ENABLED": "False"})
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"rag serve exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return Server(process, port, log)
        except OSError:
            time.sleep(0.5)
    stop_server(Server(process, port, log))
    raise RuntimeError(f"rag serve did not start within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def stop_server(server: Server) -> None:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGINT)
        try:
            server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


def question_mix(count: int) -> list[tuple[str, bool]]:
    """(question, valid) pairs: the valid and invalid questions in turn, repeated to ``count``."""
    pool = [(q, True) for q in VALID] + [(q, False) for q in INVALID]
    return [pool[i % len(pool)] for i in range(count)]


def check_reply(reply: object, valid: bool) -> str | None:
    """None when the reply is the documented object for this kind of question, else what is wrong."""
    if not isinstance(reply, dict):
        return f"not a JSON object: {reply!r:.200}"
    if not valid:
        return None if isinstance(reply.get("error"), str) and reply["error"] else f"no error: {reply!r:.200}"
    if "error" in reply:
        return f"error for a valid question: {reply['error']}"
    if not isinstance(reply.get("abstained"), bool) or not isinstance(reply.get("passages"), list):
        return f"not a response: {reply!r:.200}"
    if not (reply.get("answer") or reply.get("message")) or (not reply["abstained"] and not reply["passages"]):
        return f"neither an answer with its passages nor a reason: {reply!r:.200}"  # no words: no passages
    return None


def run_load(server: Server, questions: list[tuple[str, bool]], clients: int) -> dict:
    """Send ``questions`` from ``clients`` threads (one gradio_client each); latency and failures."""
    from gradio_client import Client

    local = threading.local()
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def one(item: tuple[str, bool]) -> None:
        question, valid = item
        started = time.perf_counter()
        try:
            if not hasattr(local, "client"):
                local.client = Client(server.url, verbose=False)
            problem = check_reply(local.client.predict(question, 5, api_name="/ask"), valid)
        except Exception as error:  # any exception is a failed request
            problem = f"{type(error).__name__}: {error}"
        elapsed = (time.perf_counter() - started) * 1000
        with lock:
            latencies.append(elapsed)
            if problem:
                failures.append(f"{question[:30]!r}: {problem}")

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(one, questions))
    wall = time.perf_counter() - started
    ordered = sorted(latencies)
    return {"requests": len(questions), "concurrency": clients, "failures": len(failures),
            "failure_examples": failures[:5], "invalid_requests": sum(not v for _, v in questions),
            "wall_s": round(wall, 2), "throughput_rps": round(len(questions) / wall, 1),
            "latency_ms": {"median": round(statistics.median(ordered), 1),
                           "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 1),
                           "max": round(ordered[-1], 1)}}


def sample_memory(server: Server, stop: threading.Event, every: float = 0.1) -> None:
    while not stop.is_set():
        try:
            server.memory_mb.append(server.rss_mb())
        except psutil.Error:
            return
        stop.wait(every)


def probe_file_routes(port: int, forbidden: dict[str, bytes], root: Path, index_dir: Path) -> list[dict]:
    """GET each traversal path as raw bytes (no client-side normalisation); flag any forbidden content."""
    results = []
    for template in TRAVERSALS:
        path = template.format(root=root, index=index_dir)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.putrequest("GET", path, skip_accept_encoding=True)
            connection.endheaders()
            response = connection.getresponse()
            body = response.read()
            status = response.status
        finally:
            connection.close()
        leaked = sorted(name for name, marker in forbidden.items() if marker in body)
        results.append({"path": path, "status": status, "leaked": leaked})
    return results


def forbidden_markers(root: Path, index_dir: Path) -> dict[str, bytes]:
    """Byte strings that only appear in files the server must never hand out."""
    return {"/etc/passwd": b"root:x:0:0:", "pyproject.toml": b"[build-system]",
            "seeds text": (root / "seeds" / "yingkou-essays-2025.txt").read_bytes()[:60],
            "rag source": b"Where things live. Every location",
            "index manifest": b'"fingerprint"'}


def measure(index_dir: Path, corpus: Path, clients: int, requests: int, warmup: int, log: Path) -> dict:
    server = start_server(index_dir, corpus, log)
    try:
        rss_start = server.rss_mb()
        run_load(server, question_mix(warmup), clients)  # model, tokenizer, queue and threads warm
        rss_warm = server.rss_mb()
        stop = threading.Event()
        sampler = threading.Thread(target=sample_memory, args=(server, stop), daemon=True)
        sampler.start()
        load = run_load(server, question_mix(requests), clients)
        stop.set()
        sampler.join()
        rss_after = server.rss_mb()
        probes = probe_file_routes(server.port, forbidden_markers(ROOT, index_dir), ROOT, index_dir)
        listening = server.listening()
        alive = server.process.poll() is None
    finally:
        stop_server(server)
    return {**load, "server_alive_after": alive, "listening_on": listening,
            "memory_mb": {"start": round(rss_start, 1), "after_warmup": round(rss_warm, 1),
                          "peak_during_load": round(max(server.memory_mb + [rss_after]), 1),
                          "after_load": round(rss_after, 1),
                          "growth_after_warmup": round(rss_after - rss_warm, 1)},
            "file_routes": {"probed": len(probes), "leaks": [p for p in probes if p["leaked"]],
                            "statuses": sorted({p["status"] for p in probes})}}


def _ensure_index(index_dir: Path, corpus: Path) -> None:
    from rag.index import build_index, index_status

    if not index_status(index_dir, corpus=corpus).ok:
        build_index(corpus, index_dir, progress=False)


def main() -> int:
    from rag import config

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=960)
    parser.add_argument("--warmup", type=int, default=48)
    parser.add_argument("--index", type=Path, default=config.default_index_dir())
    parser.add_argument("--corpus", type=Path, default=config.default_corpus())
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    _ensure_index(args.index, args.corpus)
    log = args.out.parent / "load-server.log"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = measure(args.index, args.corpus, args.clients, args.requests, args.warmup, log)
    result["machine"] = {"cpus": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1)}
    result["command"] = " ".join(["benchmarks/bench_load.py", *sys.argv[1:]])
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    log.unlink(missing_ok=True)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        memory, latency = result["memory_mb"], result["latency_ms"]
        print(f"requests {result['requests']} ({result['invalid_requests']} invalid) · concurrency "
              f"{result['concurrency']} · failures {result['failures']}")
        print(f"latency median {latency['median']} ms · p95 {latency['p95']} ms · max {latency['max']} ms · "
              f"{result['throughput_rps']} req/s")
        print(f"server RSS: start {memory['start']} MB · after warm-up {memory['after_warmup']} MB · peak "
              f"{memory['peak_during_load']} MB · after load {memory['after_load']} MB "
              f"(growth {memory['growth_after_warmup']} MB)")
        print(f"listening on {', '.join(result['listening_on'])} · file routes probed "
              f"{result['file_routes']['probed']}, leaks {len(result['file_routes']['leaks'])}")
    return 0 if result["failures"] == 0 and not result["file_routes"]["leaks"] else 1


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
