"""Chunk vectors pooled from sentence vectors against encoded chunks (issue 13: the 100k build).

A build encodes every chunk (~360 tokens for a Wikipedia passage) and every sentence of it: the
chunks are about half of the model's work. Over ``SETTINGS["pool_chunk_vectors_above"]`` chunks a
build encodes only the sentences and takes each chunk's vector as the normalized mean of its
sentences' vectors. This measures what that costs, on the training corpora (CMRC 2018 trial and
DRCD test; never CMRC dev): each corpus's cached index is opened once, and its chunk search is
swapped between the encoded vectors, the plain mean of the sentence vectors and the mean weighted
by sentence length, all exact (``IndexFlatIP``). Reported: passage R@1/R@5 of the dense retriever
alone and of the hybrid one, and the answer step's hit@1 and share of answerable questions refused
(with the shipped weights, which were trained on these corpora with encoded chunks: compare the rows
with each other, not with the out-of-fold figures).

    .venv/bin/python benchmarks/bench_pooled_chunks.py      # ~8 min on 2 cores
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import faiss
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.assistant import Assistant  # noqa: E402
from rag.evaluate import answer_metrics, eval_index_dir, read_questions  # noqa: E402

BENCH = ROOT.parent / "shared" / "bench"
CORPORA = ("cmrc2018-trial", "drcd-test")
RESULTS = ROOT / "benchmarks" / "results" / "pooled_chunks.json"


def exact(vectors: np.ndarray) -> faiss.Index:
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def pooled(assistant: Assistant, weighted: bool) -> np.ndarray:
    index = assistant.index
    sentences = index.sentences
    out = np.vstack([index.chunk_vectors.reconstruct(i) for i in range(index.chunk_vectors.ntotal)])
    for row in range(len(out)):
        run = sentences.of_chunk(row)
        if len(run):
            weight = np.array([len(assistant.reader.evidence.text[i]) if weighted else 1.0 for i in run])
            mean = (sentences.read(run) * weight[:, None]).sum(axis=0)
            out[row] = mean / np.linalg.norm(mean)
    return out


def passage_recall(assistant: Assistant, questions: list[dict], mode: str) -> dict:
    chunk_ids = {c.doc_id for c in assistant.index.chunks}
    first = five = n = 0
    for q in questions:
        if not q.get("answers"):
            continue
        hits = assistant.retriever.search(q["question"], k=10, mode=mode).hits
        found = list(dict.fromkeys(assistant.index.chunks[h.row].doc_id for h in hits))
        gold = q["gold_passage"] if q.get("gold_passage") in chunk_ids else q["doc_id"]
        n += 1
        first += gold in found[:1]
        five += gold in found[:5]
    return {"R@1": round(first / n, 4), "R@5": round(five / n, 4)}


def main() -> int:
    results = {"load_average_start": round(os.getloadavg()[0], 2)}
    for name in CORPORA:
        corpus = BENCH / name / "corpus.jsonl"
        questions = read_questions(BENCH / name / "questions.jsonl")
        assistant = Assistant.open(eval_index_dir(corpus), corpus=corpus, progress=False)
        encoded = np.vstack([assistant.index.chunk_vectors.reconstruct(i)
                             for i in range(assistant.index.chunk_vectors.ntotal)])
        variants = {"encoded": encoded, "mean of sentences": pooled(assistant, False),
                    "length-weighted mean": pooled(assistant, True)}
        results[name] = {"chunks": len(encoded), "variants": {}}
        for label, vectors in variants.items():
            started = time.perf_counter()
            assistant.index.chunk_vectors = exact(vectors)
            answers = answer_metrics(assistant, questions, "hybrid")
            row = {"cosine_to_encoded_median": round(float(np.median(np.sum(vectors * encoded, axis=1))), 4),
                   "dense": passage_recall(assistant, questions, "dense"),
                   "hybrid": passage_recall(assistant, questions, "hybrid"),
                   "answer_hit@1": answers["answer_hit@1"], "refused_answerable": answers.get("abstained_answerable"),
                   "seconds": round(time.perf_counter() - started, 1)}
            results[name]["variants"][label] = row
            print(name, label, json.dumps(row, ensure_ascii=False), flush=True)
    results["load_average_end"] = round(os.getloadavg()[0], 2)
    RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
