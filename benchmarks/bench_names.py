"""What the name tagger (rag/reader/names.py) costs a question and what it gives its key spans.

Side by side in one process, the tagger on and off (``qtypes.NAMED_TYPES``), each with an empty
tag cache: the whole ``Assistant.ask`` time of CMRC 2018 trial's who/where/which-organisation
questions (the only ones it runs for) on trial's index, and the key span's F1 against the gold answer
on the sentence that holds it (CMRC's character F1, as `rag eval`'s span F1; trial and DRCD, training data: the tagger's rules were chosen on these).
The tagger's memory is measured in a child process: RSS after importing onnxruntime and loading it.

Run: .venv/bin/python benchmarks/bench_names.py   (needs trial's eval index: rag eval or train_answer builds it)
Writes benchmarks/results/names.json and prints a Markdown table.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.record import load_note, record  # noqa: E402
from rag.assistant import Assistant  # noqa: E402
from rag.evaluate import char_f1, eval_index_dir  # noqa: E402
from rag.reader import names, qtypes  # noqa: E402
from rag.reader.question import key_span  # noqa: E402

BENCH = ROOT.parent / "shared" / "bench"
RESULTS = ROOT / "benchmarks" / "results" / "names.json"
KINDS = ("person", "location", "org")


def read_set(name: str) -> tuple[dict[str, str], list[dict]]:
    corpus = {}
    for line in (BENCH / name / "corpus.jsonl").open(encoding="utf-8"):
        row = json.loads(line)
        corpus[row["id"]] = row["text"]
    questions = [json.loads(line) for line in (BENCH / name / "questions.jsonl").open(encoding="utf-8")]
    return corpus, [q for q in questions if q.get("answers") and qtypes.question_type(q["question"]) in KINDS]


def span_f1(name: str) -> dict[str, float]:
    corpus, questions = read_set(name)
    items = []
    for q in questions:
        sentences = re.split(r"(?<=[。！？])", corpus.get(q.get("gold_passage"), ""))
        sentence = next((s for s in sentences if q["answers"][0] in s), None)
        if sentence:
            items.append((q["question"], sentence, q["answers"]))
    out = {"questions": len(items)}
    for label, named in (("off", frozenset()), ("on", frozenset(KINDS))):
        qtypes.NAMED_TYPES = named
        scores = []
        for question, sentence, answers in items:
            span = key_span(question, sentence)
            predicted = sentence[span[0]:span[1]] if span else sentence
            scores.append(max(char_f1(predicted, a) for a in answers))
        out[label] = round(statistics.mean(scores), 3)
    qtypes.NAMED_TYPES = frozenset(KINDS)
    return out


def ask_times() -> dict:
    corpus = BENCH / "cmrc2018-trial" / "corpus.jsonl"
    assistant = Assistant.open(eval_index_dir(corpus), corpus=corpus, progress=False)
    questions = [q["question"] for q in read_set("cmrc2018-trial")[1]]
    for q in questions[:5]:
        assistant.ask(q)  # warm up the model, jieba and the tagger's session
    out: dict = {"questions": len(questions)}
    for label, named in (("off", frozenset()), ("on", frozenset(KINDS))) * 2:  # interleaved, twice
        qtypes.NAMED_TYPES = named
        names.tagged_names.cache_clear()
        times = []
        for q in questions:
            start = time.perf_counter()
            assistant.ask(q)
            times.append((time.perf_counter() - start) * 1000)
        out.setdefault(label, []).append({"p50_ms": round(statistics.median(times), 1),
                                          "p95_ms": round(statistics.quantiles(times, n=20)[-1], 1)})
    qtypes.NAMED_TYPES = frozenset(KINDS)
    return out


_MEMORY = """
import psutil
from rag.reader import names  # the reader's other imports first: measured is what the tagger adds
p = psutil.Process(); before = p.memory_info().rss
names.tagged_names("局长王献笛表示，营口港吞吐量创新高。")
print((p.memory_info().rss - before) / 2**20)
"""


def main() -> int:
    load_before = os.getloadavg()[0]
    memory = float(subprocess.run([sys.executable, "-c", _MEMORY], capture_output=True, text=True, check=True,
                                  cwd=ROOT).stdout.strip().splitlines()[-1])
    results = {"load_average_before": load_before, "tagger_rss_mb": round(memory, 1),
               "ask": ask_times(), "key_span_f1": {n: span_f1(n) for n in ("cmrc2018-trial", "drcd-test")}}
    record(RESULTS, results, markdown)
    return 0


def markdown(r: dict) -> str:
    ask = r["ask"]
    rows = ["| measure | tagger off | tagger on |", "|---|---:|---:|"]
    for i in range(len(ask["off"])):
        rows.append(f"| `Assistant.ask` p50 / p95, trial's {ask['questions']} name questions, round {i + 1} | "
                    f"{ask['off'][i]['p50_ms']} / {ask['off'][i]['p95_ms']} ms | "
                    f"{ask['on'][i]['p50_ms']} / {ask['on'][i]['p95_ms']} ms |")
    for name, f1 in r["key_span_f1"].items():
        rows.append(f"| key-span F1 on the gold sentence, {name} ({f1['questions']} questions) | {f1['off']} | {f1['on']} |")
    rows.append(f"| RSS of onnxruntime + the tagger | — | {r['tagger_rss_mb']} MB |")
    return "\n".join(rows) + "\n\n" + load_note(r)


if __name__ == "__main__":
    sys.exit(main())
