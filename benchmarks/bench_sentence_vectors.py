"""Which sentence vectors a build needs (issue 13): for sentences of documents whose title names a
subject, the plain vector, the subject-framed one, or both.

On training sets only (CMRC 2018 trial, DRCD test; never CMRC dev), side by side in one run:
- retrieval R@1/R@5 of the gold passage when a chunk's dense score blends in its best *plain*
  sentence cosine, or its best *framed* one (plain where the document has no subject);
- answer-sentence top-1 by cosine alone: among the gold passage's sentences, is the one with the
  best cosine one that holds a gold answer? Plain, framed, and the better of the two per sentence.

Vectors come from the vector cache (any missing are encoded), so the index's own format does not
matter: the script rebuilds both tables from the corpus.

Run: .venv/bin/python benchmarks/bench_sentence_vectors.py [--sets cmrc-trial drcd-test]
Writes benchmarks/results/sentence_vectors.json.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.record import load_note, record  # noqa: E402
from rag.assistant import Assistant  # noqa: E402
from rag.embed import load_model  # noqa: E402
from rag.evaluate import eval_index_dir, read_questions, retrieval_metrics  # noqa: E402
from rag.index import sentence_in_context, title_subject  # noqa: E402
from rag.progress import Progress  # noqa: E402
from rag.textproc import to_simplified  # noqa: E402
from rag.vectors import encode_passages, open_cache, space_of  # noqa: E402

BENCH = ROOT.parent / "shared" / "bench"
SETS = {"cmrc-trial": BENCH / "cmrc2018-trial", "drcd-test": BENCH / "drcd-test"}
RESULTS = ROOT / "benchmarks" / "results" / "sentence_vectors.json"


def sentence_tables(assistant: Assistant) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """(plain, framed, has_subject, text) for every sentence row of the index."""
    index = assistant.index
    table = index.sentences
    doc_text = {d.doc_id: d.text for d in index.corpus.documents}
    subjects = {d.doc_id: title_subject(d) for d in index.corpus.documents}
    docs = [index.chunks[c].doc_id for c in table.chunk]
    texts = [doc_text[d][s:e] for d, s, e in zip(docs, table.start, table.end, strict=True)]
    framed_texts = [sentence_in_context(subjects[d], t) if subjects[d] else to_simplified(t)
                    for d, t in zip(docs, texts, strict=True)]
    space = space_of(index.model, index.engine)
    with open_cache() as cache:
        plain, _ = encode_passages(space, lambda: load_model(index.model, index.engine),
                                   [to_simplified(t) for t in texts], Progress(enabled=False), cache)
        framed, _ = encode_passages(space, lambda: load_model(index.model, index.engine), framed_texts,
                                    Progress(enabled=False), cache)
    has_subject = np.array([subjects[d] is not None for d in docs])
    # float16, as the index stores them
    return plain.astype(np.float16).astype(np.float32), framed.astype(np.float16).astype(np.float32), has_subject, texts


def memoised_queries(assistant: Assistant) -> None:
    """Each question is encoded once for every variant."""
    embedder = assistant.retriever.embedder
    encode, seen = embedder.encode_queries, {}

    def cached(texts: list[str]) -> np.ndarray:
        key = tuple(texts)
        if key not in seen:
            seen[key] = encode(texts)
        return seen[key]

    assistant.retriever.embedder = type("Memo", (), {"encode_queries": staticmethod(cached)})()


#: How a sentence's cosine to the question is read: from one table, or the better of the two.
Scorer = Callable[[np.ndarray, np.ndarray], np.ndarray]


def scorers(plain: np.ndarray, framed: np.ndarray) -> dict[str, Scorer]:
    return {"plain": lambda rows, q: plain[rows] @ q, "framed": lambda rows, q: framed[rows] @ q,
            "max(plain, framed)": lambda rows, q: np.maximum(plain[rows] @ q, framed[rows] @ q)}


def sentence_top1(assistant: Assistant, records: list[dict], scoring: dict[str, Scorer], has_subject: np.ndarray,
                  texts: list[str]) -> dict:
    """Answer-sentence top-1 by cosine within the gold passage, per way of scoring: all questions
    whose answer lies inside one of several sentences, and those of documents with a subject."""
    index = assistant.index
    rows_of: dict[str, list[int]] = {}
    for row, chunk in enumerate(index.sentences.chunk):
        rows_of.setdefault(index.chunks[chunk].doc_id, []).append(row)
    right = {name: {"all": 0, "subject": 0} for name in scoring}
    counted = {"all": 0, "subject": 0}
    for r in records:
        rows = np.array(rows_of.get(r.get("gold_passage"), []), dtype=np.int64)
        answers = [a for a in r.get("answers") or [] if a]
        gold = [i for i, row in enumerate(rows) if any(a in texts[row] for a in answers)]
        if len(rows) < 2 or not gold:
            continue  # no choice to make, or the answer crosses sentences
        query = assistant.retriever.embedder.encode_queries([to_simplified(r["question"])])[0]
        subject = bool(has_subject[rows[0]])
        counted["all"] += 1
        counted["subject"] += subject
        for name, score in scoring.items():
            hit = int(np.argmax(score(rows, query))) in gold
            right[name]["all"] += hit
            right[name]["subject"] += hit and subject
    return {"questions": counted, **{name: {k: round(v / max(counted[k], 1), 4) for k, v in by.items()}
                                     for name, by in right.items()}}


def measure(name: str, folder: Path) -> dict:
    corpus = folder / "corpus.jsonl"
    assistant = Assistant.open(eval_index_dir(corpus), corpus=corpus, progress=False)
    records = read_questions(folder / "questions.jsonl")
    plain, framed, has_subject, texts = sentence_tables(assistant)
    memoised_queries(assistant)
    table = assistant.index.sentences
    table.files = {}  # read the arrays set below, not the index's files
    out: dict = {"sentences": len(texts), "with_subject": int(has_subject.sum())}
    for variant, vectors in (("plain", plain), ("framed", framed)):
        table.vectors = vectors
        out[f"retrieval_{variant}"] = {mode: retrieval_metrics(assistant, records, mode, "adaptive", 10)
                                       for mode in ("hybrid", "dense")}
        print(name, variant, {m: (v["recall@1"], v["recall@5"]) for m, v in out[f"retrieval_{variant}"].items()},
              file=sys.stderr, flush=True)
    out["sentence_top1"] = sentence_top1(assistant, records, scorers(plain, framed), has_subject, texts)
    print(name, out["sentence_top1"], file=sys.stderr, flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    results = {"load_average_before": os.getloadavg()[0],
               "sets": {name: measure(name, SETS[name]) for name in args.sets}}
    record(args.output, results, markdown)
    return 0


def markdown(r: dict) -> str:
    rows = ["| set | sentences (with subject) | retrieval R@1 / R@5 hybrid, plain → framed | dense, plain → framed | "
            "sentence top-1 plain / framed / max (subject docs) |", "|---|---:|---:|---:|---:|"]
    for name, s in r["sets"].items():
        p, f, t = s["retrieval_plain"], s["retrieval_framed"], s["sentence_top1"]
        rows.append(f"| {name} | {s['sentences']:,} ({s['with_subject']:,}) | "
                    f"{p['hybrid']['recall@1']} / {p['hybrid']['recall@5']} → {f['hybrid']['recall@1']} / "
                    f"{f['hybrid']['recall@5']} | {p['dense']['recall@1']} / {p['dense']['recall@5']} → "
                    f"{f['dense']['recall@1']} / {f['dense']['recall@5']} | "
                    f"{t['plain']['all']} / {t['framed']['all']} / {t['max(plain, framed)']['all']} "
                    f"({t['plain']['subject']} / {t['framed']['subject']} / {t['max(plain, framed)']['subject']}, "
                    f"{t['questions']['subject']} q) |")
    return "\n".join(rows) + "\n\n" + load_note(r)


if __name__ == "__main__":
    sys.exit(main())
