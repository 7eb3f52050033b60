"""Scale: a 100k-chunk index made from real text (issue 13): build time, index size on disk, load
time, RSS while serving, and query latency through the Assistant and through `rag serve`, with
exact and HNSW chunk search side by side.

The corpus is CMRC 2018 dev + trial and DRCD test (2,104 passages, 3,509 chunks) repeated 29 times;
every copy after the first has ~1 in 12 of its Chinese characters replaced by another character drawn
from the corpus (never a character of the title, never punctuation, so each copy is cut into the same
chunks and sentences and keeps its subject). That makes 100k+ distinct chunks and ~700k distinct
sentences for jieba, BM25, FAISS and the sentence tables.

Embedding 1.4M distinct texts would take most of a day on 2 shared cores, so the model's part is
measured apart: the first copy is built for real with an empty vector cache (the embedding rate),
and the vectors of the perturbed copies are *written into the vector cache* as the original's vector
plus Gaussian noise, scaled so that their cosine to the original equals the median cosine measured
when the model really embeds perturbed texts (``seed``). The full build then reads them from the
cache like any rebuild does: everything but the model runs for real at full size, and the build
time is reported as measured parts plus the extrapolated embedding time.

    .venv/bin/python benchmarks/bench_scale.py corpus    # write the corpus under --data
    .venv/bin/python benchmarks/bench_scale.py base      # build copy 0 with an empty cache: embedding rate
    .venv/bin/python benchmarks/bench_scale.py base-pooled  # copy 0 as a large corpus builds it: sentences only
    .venv/bin/python benchmarks/bench_scale.py seed      # noise-perturbed vectors of the copies into the cache
    .venv/bin/python benchmarks/bench_scale.py build     # the full build, from the cache (child process)
    .venv/bin/python benchmarks/bench_scale.py scratch   # the full build from an empty cache (~45 min alone)
    .venv/bin/python benchmarks/bench_scale.py query     # Assistant: load, RSS, p50/p95, exact vs HNSW
    .venv/bin/python benchmarks/bench_scale.py serve     # `rag serve`: start → first answer, p50/p95, RSS

Each step adds its results to benchmarks/results/scale.json. Big files go under --data (default
/work/scale-data), with its own RAG_CACHE_DIR (the converted models are linked in from $RAG_CACHE_DIR).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH = ROOT.parent / "shared" / "bench"
SOURCES = ("cmrc2018-dev", "cmrc2018-trial", "drcd-test")
QUESTIONS = BENCH / "cmrc2018-dev" / "questions.jsonl"
RESULTS = ROOT / "benchmarks" / "results" / "scale.json"
COPIES = 29  # × 3,509 chunks = 101,761
SUBSTITUTE = 1 / 12  # share of a copy's Chinese characters replaced
CALIBRATION_TEXTS = 300  # perturbed texts the model really embeds to measure how far their vectors move
_HAN = re.compile(r"[\u4e00-\u9fff]")


# ---------------------------------------------------------------- corpus


def perturbed(text: str, title: str, pool: str, rng: np.random.Generator) -> str:
    from rag.textproc import fold

    protected = set(fold(title))  # the subject, in whatever script the text writes it
    chars = list(text)
    for i, ch in enumerate(chars):
        if _HAN.match(ch) and rng.random() < SUBSTITUTE and not set(fold(ch)) & protected:
            chars[i] = pool[rng.integers(len(pool))]
    return "".join(chars)


def make_corpus(data: Path) -> dict:
    records = [json.loads(line) for name in SOURCES
               for line in (BENCH / name / "corpus.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len({r["id"] for r in records}) == len(records), "passage ids collide across sources"
    pool = "".join(_HAN.findall("".join(r["text"] for r in records)))  # characters at their corpus frequency
    corpus = data / "corpus"
    shutil.rmtree(corpus, ignore_errors=True)
    corpus.mkdir(parents=True)
    for copy in range(COPIES):
        rng = np.random.default_rng(copy)
        with open(corpus / f"copy-{copy:02d}.jsonl", "w", encoding="utf-8") as out:
            for r in records:
                text = r["text"] if copy == 0 else perturbed(r["text"], r["title"], pool, rng)
                rid = r["id"] if copy == 0 else f"{r['id']}~{copy:02d}"
                out.write(json.dumps({"id": rid, "title": r["title"], "text": text}, ensure_ascii=False) + "\n")
    base = data / "base"
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir()
    shutil.copy(corpus / "copy-00.jsonl", base / "copy-00.jsonl")
    size = sum(p.stat().st_size for p in corpus.iterdir())
    return {"passages": len(records) * COPIES, "copies": COPIES, "corpus_bytes": size}


# ---------------------------------------------------------------- environment and helpers


def scale_env(data: Path) -> dict:
    """The benchmark's own cache folder (vectors), with the converted models of the user's cache."""
    from rag import config

    cache = data / "cache"
    (cache / "models").mkdir(parents=True, exist_ok=True)
    for model in (config.cache_dir() / "models").iterdir():
        link = cache / "models" / model.name
        if not link.exists():
            link.symlink_to(model.resolve())
    return {**os.environ, "RAG_CACHE_DIR": str(cache), "HF_HUB_OFFLINE": "1"}


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


def record(step: str, result: dict) -> None:
    results = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    results[step] = result
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({step: result}, ensure_ascii=False, indent=1))


# `rag build` with every chunk's vector pooled from its sentences, as a corpus over the threshold gets.
_POOLED_BUILD = ("import sys; from rag import index; index.SETTINGS['pool_chunk_vectors_above'] = 0; "
                 "from rag.cli import main; sys.exit(main(sys.argv[1:]))")


def build_child(corpus: Path, index: Path, env: dict, pool_all: bool = False) -> dict:
    """`rag build` in a child process: wall time, peak RSS, and its own manifest's timings."""
    before = load_average()
    started = time.perf_counter()
    command = ["-c", _POOLED_BUILD] if pool_all else ["-m", "rag.cli"]
    run = subprocess.run([sys.executable, *command, "build", "--corpus", str(corpus), "--index", str(index),
                          "--json"], cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if run.returncode:
        raise RuntimeError(run.stderr[-2000:])
    manifest = json.loads((index / "current" / "manifest.json").read_text(encoding="utf-8"))
    return {"wall_s": round(wall, 1), "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
            "timings": manifest["timings"], "counts": manifest["counts"], "embedded": manifest["embedded"],
            "load_average": [before, load_average()]}


def disk_use(folder: Path) -> dict:
    files = {p.relative_to(folder).as_posix(): p.stat().st_size for p in folder.rglob("*") if p.is_file()}
    big = {name: round(size / 2**20, 1) for name, size in files.items() if size > 2**20}
    return {"total_mb": round(sum(files.values()) / 2**20, 1), "files_mb": big}


def rss_mb(pid: int | None = None) -> dict:
    """Resident memory of a process (this one by default), from /proc: all of it, the peak, and the
    part that is the index's memory-mapped files (page cache the kernel can take back)."""
    status = Path(f"/proc/{pid or 'self'}/status").read_text()
    keys = ("VmRSS", "VmHWM", "RssAnon", "RssFile")
    value = {k: int(re.search(rf"{k}:\s+(\d+)", status).group(1)) // 1024 for k in keys}
    return {"rss_mb": value["VmRSS"], "peak_mb": value["VmHWM"], "anon_mb": value["RssAnon"],
            "file_mb": value["RssFile"]}


def questions(n: int) -> list[dict]:
    lines = QUESTIONS.read_text(encoding="utf-8").splitlines()
    items = [json.loads(line) for line in lines if line.strip()]
    return items[::max(len(items) // n, 1)][:n]


def percentiles(values: list[float]) -> dict:
    return {"p50": round(statistics.median(values), 2), "p95": round(float(np.percentile(values, 95)), 2)}


# ---------------------------------------------------------------- steps


def step_base(data: Path, env: dict) -> dict:
    """Copy 0 built with an empty vector cache: what the model costs per chunk, for real."""
    cache = Path(env["RAG_CACHE_DIR"]) / "vectors.sqlite3"
    for path in cache.parent.glob("vectors.sqlite3*"):
        path.unlink()
    result = build_child(data / "base", data / "index-base", env)
    chunks = result["counts"]["chunks"]
    result["chunks_per_s_with_sentences"] = round(chunks / result["timings"]["embed"], 2)
    result["texts_per_s"] = round(result["embedded"]["encoded"] / result["timings"]["embed"], 1)
    return result


def empty_cache(data: Path, env: dict, name: str) -> dict:
    """``env`` with a fresh, empty vector cache folder of its own (the converted models linked in)."""
    cache = data / name
    if cache.exists():
        shutil.rmtree(cache)
    (cache / "models").mkdir(parents=True)
    for model in (Path(env["RAG_CACHE_DIR"]) / "models").iterdir():
        (cache / "models" / model.name).symlink_to(model.resolve())
    return {**env, "RAG_CACHE_DIR": str(cache)}


def step_base_pooled(data: Path, env: dict) -> dict:
    """Copy 0 as a corpus over the pooling threshold builds it (only sentences are encoded), with an
    empty vector cache of its own: the embedding rate of a large corpus's build."""
    result = build_child(data / "base", data / "index-base-pooled", empty_cache(data, env, "cache-pooled"),
                         pool_all=True)
    chunks = result["counts"]["chunks"]
    result["chunks_per_s_with_sentences"] = round(chunks / result["timings"]["embed"], 2)
    result["texts_per_s"] = round(result["embedded"]["encoded"] / result["timings"]["embed"], 1)
    return result


def step_seed(data: Path, env: dict) -> dict:
    """Vectors of the perturbed copies into the cache: the original's vector plus noise of the size
    the model's own vectors move by under the same perturbation (measured here on a sample)."""
    os.environ["RAG_CACHE_DIR"] = env["RAG_CACHE_DIR"]
    from rag import config
    from rag.embed import engine_for, load_model
    from rag.index import texts_to_embed
    from rag.ingest import load_corpus
    from rag.vectors import PASSAGE, VectorCache, space_of, text_key

    model = config.default_model()
    engine = engine_for(model, None)
    space = space_of(model, engine)
    store = VectorCache()
    base = texts_to_embed(*_with_chunks(load_corpus(data / "corpus" / "copy-00.jsonl")))
    distinct = list(dict.fromkeys(base.all()))
    found, vectors = store.get(space, PASSAGE, [text_key(t) for t in distinct])
    assert found.all(), "build copy 0 first (the base step)"
    row_of = {t: i for i, t in enumerate(distinct)}
    originals = [row_of[t] for t in base.all()]

    def counterparts(texts) -> tuple[list[str], np.ndarray]:
        """A copy's texts and, row for row, the original's vectors."""
        assert len(texts.chunks) == len(base.chunks) and len(texts.sentences) == len(base.sentences), \
            "a copy was cut differently from the original"
        return texts.all(), vectors[originals]

    # Calibration: the model's vectors of perturbed texts against the originals', by kind.
    copy1, base_vectors = counterparts(texts_to_embed(*_with_chunks(load_corpus(data / "corpus" / "copy-01.jsonl"))))
    kinds = np.array([0] * len(base.chunks) + [1] * (len(copy1) - len(base.chunks)))  # chunk / sentence
    rng = np.random.default_rng(0)
    embedder = load_model(model, engine)
    sigma, cosines = {}, {}
    for kind, name in ((0, "chunk"), (1, "sentence")):
        rows = rng.choice(np.flatnonzero(kinds == kind), CALIBRATION_TEXTS // 2, replace=False)
        real = embedder.encode_documents([copy1[i] for i in rows])
        cos = float(np.median(np.sum(real * base_vectors[rows], axis=1)))
        cosines[name] = round(cos, 4)
        sigma[kind] = math.sqrt((1 / cos**2 - 1) / base_vectors.shape[1])  # E|noise|² = σ²·dim
    del embedder

    started = time.perf_counter()
    written = 0
    for copy in range(1, COPIES):
        texts, original_vectors = counterparts(texts_to_embed(*_with_chunks(
            load_corpus(data / "corpus" / f"copy-{copy:02d}.jsonl"))))
        kinds = np.array([0] * len(base.chunks) + [1] * (len(texts) - len(base.chunks)))
        scale = np.array([sigma[k] for k in kinds], dtype=np.float32)[:, None]
        noisy = original_vectors + rng.normal(0, 1, original_vectors.shape).astype(np.float32) * scale
        noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
        unique = {text_key(t): i for i, t in enumerate(texts)}
        store.put(space, PASSAGE, list(unique), noisy[list(unique.values())])
        written += len(unique)
    store.close()
    return {"real_cosine_of_perturbed_median": cosines, "sigma": {"chunk": round(sigma[0], 5),
            "sentence": round(sigma[1], 5)}, "vectors_written": written, "seconds": round(time.perf_counter() - started, 1),
            "cache_mb": round((data / "cache" / "vectors.sqlite3").stat().st_size / 2**20)}


def _with_chunks(corpus):
    return corpus, corpus.chunks()


def step_build(data: Path, env: dict) -> dict:
    result = build_child(data / "corpus", data / "index", env)
    result["disk"] = disk_use((data / "index" / "current").resolve())
    return result


def step_scratch(data: Path, env: dict) -> dict:
    """The whole 100k corpus built from scratch, every text through the model (an empty vector cache
    of its own): ~45 min on 2 quiet cores since chunk vectors are pooled, so run it alone."""
    result = build_child(data / "corpus", data / "index-scratch", empty_cache(data, env, "cache-scratch"))
    result["texts_per_s"] = round(result["embedded"]["encoded"] / result["timings"]["embed"], 1)
    result["disk"] = disk_use((data / "index-scratch" / "current").resolve())
    return result


def step_query(data: Path, env: dict, n: int) -> dict:
    """In process: open the Assistant, ask ``n`` CMRC dev questions with HNSW, then with exact search."""
    os.environ["RAG_CACHE_DIR"] = env["RAG_CACHE_DIR"]
    import faiss

    before = load_average()
    started = time.perf_counter()
    from rag.assistant import Assistant

    assistant = Assistant.open(data / "index")
    opened = time.perf_counter() - started
    memory_open = rss_mb()
    items = questions(n)
    assistant.ask(items[0]["question"])  # jieba's dictionary, as the server's warm-up does
    runs = {}
    hnsw = assistant.index.chunk_vectors
    flat = faiss.IndexFlatIP(hnsw.d)
    flat.add(hnsw.reconstruct_n(0, hnsw.ntotal))
    top10 = {}
    for name, vectors in (("hnsw", hnsw), ("exact", flat)):
        assistant.index.chunk_vectors = vectors
        total, search, hits, firsts, abstained = [], [], 0, [], 0
        for item in items:
            response = assistant.ask(item["question"])
            abstained += response.abstained
            total.append(response.timings_ms["total"])
            search.append(response.timings_ms["search"])
            top = [p.doc_id.split("~")[0] for p in response.passages]
            hits += bool(top) and top[0] == item["gold_passage"]
            firsts.append([p.chunk_id for p in response.passages])
        top10[name] = firsts
        runs[name] = {"answer_ms": percentiles(total), "search_ms": percentiles(search),
                      "r_at_1_any_copy": round(hits / len(items), 3),
                      "abstained": round(abstained / len(items), 3), **rss_mb()}
    same_first = np.mean([a[:1] == b[:1] for a, b in zip(top10["hnsw"], top10["exact"], strict=True)])
    assistant.index.chunk_vectors = hnsw
    return {"page": page_cost(assistant), "open_s": round(opened, 2), "after_open": memory_open, "questions": len(items), "runs": runs,
            "hnsw_same_first_passage_as_exact": round(float(same_first), 3),
            "index_kind": type(hnsw).__name__, "load_average": [before, load_average()]}


def page_cost(assistant) -> dict:
    """What the web page costs at this size: building it, and its configuration as sent to a browser
    (the documents panel lists every document)."""
    from ui.app import create_app

    started = time.perf_counter()
    app = create_app(assistant)
    built = time.perf_counter() - started
    started = time.perf_counter()
    config = json.dumps(app.get_config_file(), ensure_ascii=False, default=str)
    return {"create_app_s": round(built, 1), "config_mb": round(len(config.encode()) / 2**20, 1),
            "config_s": round(time.perf_counter() - started, 1)}


def step_serve(data: Path, env: dict, n: int) -> dict:
    from bench_serve import free_port

    from rag.remote import call

    before = load_average()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    items = questions(n)
    started = time.perf_counter()
    # --corpus: without it `rag serve` would rebuild the index from the default corpus (seeds/).
    server = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--index", str(data / "index"),
                               "--corpus", str(data / "corpus"), "--port", str(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                call(url, "ask", [items[0]["question"], 5], 60)
                break
            except (OSError, ValueError):
                if server.poll() is not None or time.perf_counter() - started > 600:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.2)
        first = time.perf_counter() - started
        memory_start = rss_mb(server.pid)
        own, seen = [], []
        for item in items:
            t = time.perf_counter()
            response = call(url, "ask", [item["question"], 5], 60)
            seen.append((time.perf_counter() - t) * 1000)
            own.append(response["timings_ms"]["total"])
        memory = rss_mb(server.pid)
        via = []
        for item in items[:3]:
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "rag.cli", "ask", "--index", str(data / "index"), item["question"]],
                           cwd=ROOT, env={**env, "RAG_PORT": str(port)}, check=True, capture_output=True)
            via.append(round(time.perf_counter() - t, 2))
    finally:
        server.terminate()
        server.wait(60)
    return {"start_to_first_answer_s": round(first, 1), "after_first_answer": memory_start,
            "after_questions": memory, "answer_ms": percentiles(own), "http_ms": percentiles(seen),
            "questions": len(items), "rag_ask_via_server_s": via, "load_average": [before, load_average()]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=("corpus", "base", "base-pooled", "seed", "build", "scratch", "query", "serve"))
    parser.add_argument("--data", type=Path, default=Path("/work/scale-data"))
    parser.add_argument("--questions", type=int, default=200)
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    if args.step == "corpus":
        record("corpus", make_corpus(args.data))
        return 0
    env = scale_env(args.data)
    steps = {"base": lambda: step_base(args.data, env), "base-pooled": lambda: step_base_pooled(args.data, env),
             "seed": lambda: step_seed(args.data, env), "build": lambda: step_build(args.data, env),
             "scratch": lambda: step_scratch(args.data, env), "query": lambda: step_query(args.data, env, args.questions),
             "serve": lambda: step_serve(args.data, env, args.questions)}
    record(args.step, {**steps[args.step](), "cores": os.cpu_count()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
