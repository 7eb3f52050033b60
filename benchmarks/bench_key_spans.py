"""Key spans on the sentence that holds the gold answer: for every trial and DRCD question (training
data: the key-span rules were chosen on these) whose gold answer lies in one sentence of its gold
passage, the marked span (the whole sentence when none is marked) against the gold answers with
CMRC's character F1 (`rag eval`'s span F1), by the kind of answer the question asks for. How/why/list
questions are left out: they are answered by passages. No index or model is needed (seconds).

Run: .venv/bin/python benchmarks/bench_key_spans.py
Writes benchmarks/results/key-spans.json and prints a Markdown table.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.record import load_note, record  # noqa: E402
from rag.evaluate import char_f1  # noqa: E402
from rag.reader.qtypes import PASSAGE_TYPES  # noqa: E402
from rag.reader.question import AskedFor  # noqa: E402

BENCH = ROOT.parent / "shared" / "bench"
RESULTS = ROOT / "benchmarks" / "results" / "key-spans.json"
SETS = ("cmrc2018-trial", "drcd-test")


def scores(name: str) -> dict[str, list[float]]:
    corpus = {}
    for line in (BENCH / name / "corpus.jsonl").open(encoding="utf-8"):
        row = json.loads(line)
        corpus[row["id"]] = row["text"]
    by_kind: dict[str, list[float]] = defaultdict(list)
    for line in (BENCH / name / "questions.jsonl").open(encoding="utf-8"):
        q = json.loads(line)
        asked = AskedFor.of(q["question"])
        if not q.get("answers") or asked.qtype in PASSAGE_TYPES:
            continue
        sentences = re.split(r"(?<=[。！？])", corpus.get(q.get("gold_passage"), ""))
        sentence = next((s for s in sentences if q["answers"][0] in s), None)
        if sentence:
            span = asked.key_span(sentence)
            marked = sentence[span[0]:span[1]] if span else sentence
            by_kind[asked.qtype or "other"].append(max(char_f1(marked, a) for a in q["answers"]))
    return by_kind


def main() -> int:
    results: dict = {"load_average_before": os.getloadavg()[0], "sets": SETS}
    pooled: dict[str, list[float]] = defaultdict(list)
    for name in SETS:
        for kind, values in scores(name).items():
            pooled[kind] += values
    every = [v for values in pooled.values() for v in values]
    results["f1"] = {kind: {"questions": len(v), "f1": round(statistics.mean(v), 4)} for kind, v in sorted(pooled.items())}
    results["f1"]["all"] = {"questions": len(every), "f1": round(statistics.mean(every), 4)}
    record(RESULTS, results, markdown)
    return 0


def markdown(r: dict) -> str:
    rows = ["| asked for | questions | key-span F1 on the gold sentence |", "|---|---:|---:|"]
    rows += [f"| {kind} | {v['questions']} | {v['f1']} |" for kind, v in r["f1"].items()]
    return "\n".join(rows) + "\n\n" + load_note(r)


if __name__ == "__main__":
    raise SystemExit(main())
