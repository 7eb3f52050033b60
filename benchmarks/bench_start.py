"""`rag serve` start → first answer: where the time goes, and this checkout against another one.

Run: .venv/bin/python benchmarks/bench_start.py [--against /work/main] [--runs 3]
Writes benchmarks/results/start.json and prints a Markdown table. Each checkout indexes the seed
essays (int8 engine) into a temporary folder of its own, once: an index built by other code may be
stale to it (the index fingerprints the text-preparation code), and a server rebuilds a stale index
before it serves.

- steps: each step of a server's start timed one after the other in a child process (imports,
  ``ui.app`` with Gradio, the index, the model, jieba's dictionary, the warm-up question, the page, the launch, the
  first question over HTTP), in the order `ui.app.serve` does them; with ``--against``, that
  checkout's steps too, run by its own code;
- start → first answer: ``rag serve`` in a child process until its ``/ask`` API answers, the way
  bench_serve.py measures it; with ``--against DIR``, that checkout's ``rag serve`` (run by its own
  ``.venv``) and this one's take turns, ``--runs`` each, the load average noted at every start; with
  the CPU seconds the server had used by then (user + system), which a busy neighbour changes little.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_serve import QUESTION, free_port  # noqa: E402
from benchmarks.record import load_note, record  # noqa: E402
from rag.ct2 import ENGINE as CT2  # noqa: E402
from rag.remote import call  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "start.json"
STEPS = """
import json, sys, time
marks, last = [], time.perf_counter()
def mark(step):
    global last
    now = time.perf_counter()
    marks.append((step, round(now - last, 3)))
    last = now
from rag.assistant import Assistant
from rag.index import load_index
mark("imports (rag.assistant: numpy, bm25s, faiss, jieba's code)")
import ui.app
mark("import ui.app (Gradio, as that checkout's ui.app imports it)")
from rag.embed import load_model
from rag.remote import call
from rag.textproc import segment
index = load_index(sys.argv[1])
mark("open the index")
model = load_model(None, sys.argv[2])
mark("load the model (CTranslate2 int8 + sentencepiece)")
segment("营口")
mark("jieba's dictionary")
assistant = Assistant(index, model)
assistant.ask(ui.app.EXAMPLES[0])
mark("warm-up question")
import gc, inspect
if "gc.freeze()" in inspect.getsource(ui.app.serve):  # as that checkout's serve does
    gc.freeze()
app = ui.app.create_app(assistant)
mark("build the page (gr.Blocks)")
ui.app.launch_app(app, port=int(sys.argv[3]), prevent_thread_lock=True, quiet=True)
mark("launch (uvicorn, Gradio's start-up check)")
call(f"http://127.0.0.1:{sys.argv[3]}", "ask", [sys.argv[4], 5], 30)
mark("first question over HTTP")
app.close()
print(json.dumps(marks, ensure_ascii=False))
"""


def python(checkout: Path) -> str:
    return str(checkout / ".venv" / "bin" / "python")


def steps(checkout: Path, index_dir: Path, env: dict) -> list[tuple[str, float]]:
    """Seconds per start-up step of ``checkout``'s code, in order (one child process)."""
    out = subprocess.run([python(checkout), "-c", STEPS, str(index_dir), CT2, str(free_port()), QUESTION],
                         cwd=checkout, env=env, check=True, capture_output=True, text=True).stdout
    return [tuple(step) for step in json.loads(out.strip().splitlines()[-1])]


def first_answer(checkout: Path, index_dir: Path, env: dict) -> dict:
    """Seconds from starting ``checkout``'s `rag serve` to its first answer over the API, and the CPU
    seconds the server had used by then."""
    port = free_port()
    start = time.perf_counter()
    server = subprocess.Popen([python(checkout), "-m", "rag.cli", "serve", "--index",
                               str(index_dir), "--engine", CT2, "--port", str(port)], cwd=checkout, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                answer = call(f"http://127.0.0.1:{port}", "ask", [QUESTION, 5], 30)
                break
            except (OSError, ValueError):
                if server.poll() is not None or time.perf_counter() - start > 300:
                    raise RuntimeError(f"the server of {checkout} did not start") from None
                time.sleep(0.1)
        elapsed = time.perf_counter() - start
        cpu = psutil.Process(server.pid).cpu_times()
        if not answer.get("answer"):
            raise RuntimeError(f"the server of {checkout} did not answer: {answer}")
        return {"s": round(elapsed, 2), "cpu_s": round(cpu.user + cpu.system, 2)}
    finally:
        server.terminate()
        server.wait(30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", type=Path, help="another checkout with its own .venv (e.g. main's)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    checkouts = {"this": ROOT, **({"against": args.against.resolve()} if args.against else {})}
    results: dict = {"load_average_before": os.getloadavg()[0], "checkouts": {k: str(v) for k, v in checkouts.items()},
                     "runs": {name: [] for name in checkouts}}
    with tempfile.TemporaryDirectory(prefix="bench-start-") as tmp:
        indexes = {name: Path(tmp) / name for name in checkouts}
        for name, checkout in checkouts.items():
            subprocess.run([python(checkout), "-m", "rag.cli", "build", "--index", str(indexes[name]), "--engine",
                            CT2, "--quiet"], cwd=checkout, env=env, check=True, capture_output=True)
        results["steps_s"] = {name: steps(checkout, indexes[name], env) for name, checkout in checkouts.items()}
        for _ in range(args.runs):
            for name, checkout in checkouts.items():  # taking turns: a busy neighbour slows both alike
                load = os.getloadavg()[0]
                results["runs"][name].append({"load_average": load, **first_answer(checkout, indexes[name], env)})
                print(name, results["runs"][name][-1], file=sys.stderr, flush=True)
    record(RESULTS, results, markdown)
    return 0


def markdown(r: dict) -> str:
    names = list(r["steps_s"])
    columns = [dict(r["steps_s"][name]) for name in names]
    lines = [f"| start-up step (one after the other), s | {' | '.join(names)} |", "|---|" + "---:|" * len(names),
             *(f"| {step} | " + " | ".join(f"{c.get(step, float('nan')):.3f}" for c in columns) + " |"
               for step in columns[0]),
             "| total | " + " | ".join(f"{sum(c.values()):.2f}" for c in columns) + " |", "",
             "| `rag serve` start → first answer | runs: wall s (CPU s, load average at start) | median wall "
             "| median CPU |", "|---|---|---:|---:|"]
    for name, runs in r["runs"].items():
        each = " / ".join(f"{run['s']:.2f} ({run['cpu_s']:.2f}, {run['load_average']:.1f})" for run in runs)
        lines.append(f"| {name}: {r['checkouts'][name]} | {each} | {statistics.median(run['s'] for run in runs):.2f} s "
                     f"| {statistics.median(run['cpu_s'] for run in runs):.2f} s |")
    return "\n".join(lines) + "\n\n" + load_note(r)


if __name__ == "__main__":
    sys.exit(main())
