"""Retrieval benchmark: BM25, dense, and three fusions (RRF, fixed weights, adaptive) side by side,
in one run, on every question set we have:

- cmrc-dev: CMRC 2018 dev (848 passages, 3219 questions), Simplified Chinese.
- cmrc-dev-traditional: the first 300 dev passages and their questions converted to Traditional
  Chinese with OpenCC (s2t) — made automatically, no hand translation.
- seed-zh / seed-en: our own questions about the seed essays (benchmarks/seed_questions*.jsonl),
  Chinese and English.

Recall@k and MRR@10 are at the document level; latency is split into question encoding and search.

    .venv/bin/python benchmarks/bench_retrieval.py                 # all sets (~10 min the first time)
    .venv/bin/python benchmarks/bench_retrieval.py --sets seed-zh seed-en
    .venv/bin/python benchmarks/bench_retrieval.py --no-context    # chunks indexed without title/section
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import index as index_module  # noqa: E402
from rag.assistant import Assistant  # noqa: E402
from rag.evaluate import eval_index_dir, read_questions, retrieval_metrics  # noqa: E402

BENCH = ROOT.parent / "shared" / "bench"
OUT = ROOT / "benchmarks" / "out"
RESULTS = ROOT / "benchmarks" / "results"
METHODS = [("bm25", "bm25", "adaptive"), ("dense", "dense", "adaptive"), ("rrf", "hybrid", "rrf"),
           ("weighted 0.7/0.3", "hybrid", "weighted"), ("adaptive", "hybrid", "adaptive")]


def traditional_set(passages: int = 300) -> tuple[Path, Path]:
    """CMRC dev's first passages and their questions in Traditional characters (OpenCC s2t)."""
    import opencc

    s2t = opencc.OpenCC("s2t")
    folder = OUT / "cmrc-dev-traditional"
    corpus, questions = folder / "corpus.jsonl", folder / "questions.jsonl"
    if corpus.exists() and questions.exists():
        return corpus, questions
    folder.mkdir(parents=True, exist_ok=True)
    kept, ids = [], set()
    for line in (BENCH / "cmrc2018-dev" / "corpus.jsonl").read_text(encoding="utf-8").splitlines()[:passages]:
        record = json.loads(line)
        ids.add(record["id"])
        kept.append({**record, "title": s2t.convert(record["title"]), "text": s2t.convert(record["text"])})
    corpus.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in kept) + "\n", encoding="utf-8")
    asked = [json.loads(line) for line in (BENCH / "cmrc2018-dev" / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    asked = [{**q, "question": s2t.convert(q["question"])} for q in asked if q["gold_passage"] in ids]
    questions.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in asked) + "\n", encoding="utf-8")
    return corpus, questions


def seed_set(kind: str) -> tuple[Path, list[dict]]:
    records = read_questions(ROOT / "benchmarks" / "seed_questions.jsonl")
    if kind == "seed-en":
        records = [r for r in records if r.get("kind") == "english"]
        records += read_questions(ROOT / "benchmarks" / "seed_questions_en.jsonl")
    else:
        records = [r for r in records if r.get("kind") in ("fact", "paraphrase")]
    return ROOT / "seeds", records


def question_sets(names: list[str]):
    for name in names:
        if name == "cmrc-dev":
            yield name, BENCH / "cmrc2018-dev" / "corpus.jsonl", read_questions(BENCH / "cmrc2018-dev" / "questions.jsonl")
        elif name == "cmrc-dev-traditional":
            corpus, questions = traditional_set()
            yield name, corpus, read_questions(questions)
        else:
            corpus, records = seed_set(name)
            yield name, corpus, records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=["cmrc-dev", "cmrc-dev-traditional", "seed-zh", "seed-en"])
    parser.add_argument("--no-context", action="store_true", help="index chunks without title/section")
    args = parser.parse_args()
    variant = ""
    if args.no_context:
        index_module.context_prefix = lambda chunk: ""
        index_module.SETTINGS["bm25_fields"] = "text"
        index_module.SETTINGS["dense_text"] = "text/t2s"
        variant = "-nocontext"

    results = {}
    for name, corpus, records in question_sets(args.sets):
        index_dir = Path(str(eval_index_dir(corpus)) + variant)
        started = time.perf_counter()
        assistant = Assistant.open(index_dir, corpus=corpus)
        print(f"\n## {name}: {len(records)} questions, {len(assistant.index.chunks)} chunks "
              f"(index ready in {time.perf_counter() - started:.1f} s)")
        print("| method | R@1 | R@5 | R@10 | MRR@10 | encode ms (median) | search ms (median) |")
        print("|---|---|---|---|---|---|---|")
        results[name] = {}
        for label, mode, fusion in METHODS:
            m = retrieval_metrics(assistant, records, mode, fusion, k=10)
            results[name][label] = m
            lat = m["latency_ms"]
            print(f"| {label} | {m['recall@1']:.3f} | {m['recall@5']:.3f} | {m['recall@10']:.3f} | "
                  f"{m['mrr@10']:.3f} | {lat['encode_median']} | {lat['search_median']} |", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    target = RESULTS / f"retrieval{variant}.json"
    previous = json.loads(target.read_text(encoding="utf-8")) if target.exists() else {}
    target.write_text(json.dumps({**previous, **results}, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"\nwrote {target}")


if __name__ == "__main__":
    main()
