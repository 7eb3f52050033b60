"""Where a build's time goes, and what the int8 engine's settings change, in one process.

Run: .venv/bin/python benchmarks/bench_build_profile.py [--corpus PATH] [--texts N] [--rounds R]
Writes benchmarks/results/build-profile.json and prints a table. Default corpus: the 240 CMRC trial
passages of bench_build.py.

- ``stages``: each step of a build of the corpus, timed on its own with no vector cache (reading and
  cutting the corpus, choosing the texts, loading the model, encoding the chunks and the sentences,
  the FAISS and BM25 indexes);
- ``settings``: the same ``N`` texts (every ``k``-th of the build's, so both kinds are in it) encoded
  under each engine setting, the variants interleaved round by round so that a neighbour's load
  falls on all of them alike.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_build import default_corpora  # noqa: E402
from benchmarks.record import record  # noqa: E402
from rag import ct2, vectors  # noqa: E402
from rag.embed import load_model  # noqa: E402
from rag.index import _vector_index, bm25_tokens, texts_to_embed  # noqa: E402
from rag.ingest import load_corpus  # noqa: E402
from rag.progress import Progress  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "build-profile.json"


def timed(work: Callable[[], object]) -> tuple[object, float]:
    start = time.perf_counter()
    out = work()
    return out, round(time.perf_counter() - start, 2)


def encode(texts: list[str]) -> object:
    embedder = load_model()
    return vectors.encode_passages("profile", lambda: embedder, texts, Progress(enabled=False), None)


def stages(corpus_path: Path) -> tuple[dict, list[str]]:
    import bm25s

    out: dict = {}
    corpus, out["read and cut"] = timed(lambda: load_corpus(corpus_path))
    chunks = corpus.chunks()
    texts, out["choose texts (subjects, framing)"] = timed(lambda: texts_to_embed(corpus, chunks))
    _, out["load model"] = timed(load_model)
    chunk_vectors, out[f"encode {len(texts.chunks):,} chunks"] = timed(lambda: encode(texts.chunks)[0])
    _, out[f"encode {len(texts.sentences):,} sentences ({int(texts.framed.sum()):,} framed)"] = timed(
        lambda: encode(texts.sentences))
    _, out["FAISS"] = timed(lambda: _vector_index(chunk_vectors))
    _, out["BM25 (jieba)"] = timed(lambda: bm25s.BM25().index([bm25_tokens(c) or [""] for c in chunks],
                                                               show_progress=False))
    out["characters"] = {"chunks": sum(map(len, texts.chunks)), "sentences": sum(map(len, texts.sentences)),
                         "passages": sum(len(d.text) for d in corpus.documents)}
    out["texts"] = {"asked": len(texts.all()), "distinct": len(set(texts.all()))}
    return out, texts.all()


@contextmanager
def setting(name: str) -> Iterator[None]:
    """One variant of the engine's settings, restored afterwards."""
    embedder = load_model()
    saved = (ct2.TOKENS_PER_BATCH, vectors.STEP, embedder._bulk_encoder)
    if name.startswith("tokens per batch "):
        ct2.TOKENS_PER_BATCH = int(name.rsplit(" ", 1)[1])
    elif name == "all texts in one call":
        vectors.STEP = 1 << 30
    elif name == "one encoder, 2 threads per batch":
        embedder._bulk_encoder = lambda: (embedder.encoder, 1)
    try:
        yield
    finally:
        ct2.TOKENS_PER_BATCH, vectors.STEP, embedder._bulk_encoder = saved


SETTINGS = ["today (1024 tokens per batch, 128 texts per call, 2 single-thread workers)", "tokens per batch 512",
            "tokens per batch 2048", "all texts in one call", "one encoder, 2 threads per batch"]


def settings(texts: list[str], count: int, rounds: int) -> dict:
    sample = texts[:: max(1, len(texts) // count)][:count]
    encode(sample[:8])  # warm-up: both encoders made
    seconds: dict[str, list[float]] = {name: [] for name in SETTINGS}
    for _ in range(rounds):
        for name in SETTINGS:
            with setting(name):
                seconds[name].append(timed(lambda: encode(sample))[1])
    return {"texts": len(sample), "characters": sum(map(len, sample)), "seconds": seconds}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=None)
    parser.add_argument("--texts", type=int, default=800)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    corpus = args.corpus or default_corpora()["CMRC trial, 240 passages"]
    results: dict = {"corpus": str(corpus), "load_average_before": os.getloadavg()[0]}
    results["stages"], texts = stages(corpus)
    results["load_average_between"] = os.getloadavg()[0]
    results["settings"] = settings(texts, args.texts, args.rounds)
    record(args.output, results, markdown)
    return 0


def markdown(r: dict) -> str:
    s = r["stages"]
    rows = ["| stage | seconds |", "|---|---:|"]
    rows += [f"| {name} | {value} |" for name, value in s.items() if not isinstance(value, dict)]
    rows += ["", f"{s['texts']['asked']:,} texts, {s['texts']['distinct']:,} distinct; characters: {s['characters']}",
             "", f"| engine setting ({r['settings']['texts']} texts) | seconds per round |", "|---|---:|"]
    rows += [f"| {name} | {' / '.join(map(str, t))} |" for name, t in r["settings"]["seconds"].items()]
    return "\n".join(rows) + (f"\n\nload average {r['load_average_before']:.2f} before, "
                              f"{r['load_average_between']:.2f} between, {r['load_average_after']:.2f} after")


if __name__ == "__main__":
    sys.exit(main())
