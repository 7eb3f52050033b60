"""Index build time, each engine side by side, as a ratio to the time sentence-transformers fp32
takes to encode the corpus's passages once (the yardstick of issue 13), plus rebuilds that reuse the
vector cache.

Run: .venv/bin/python benchmarks/bench_build.py [--corpus NAME=PATH ...] [--skip-fp32-build] [--baseline DIR]
[--output F]
Writes benchmarks/results/build.json and prints a Markdown table. Default corpora: the seed essays and
the first 240 CMRC 2018 trial passages (written to benchmarks/out/).

For each corpus, in one run:
- ``encode once``: sentence-transformers fp32 encodes every paragraph once, model already loaded;
- ``build``: `rag build` in a child process with an empty vector cache, per engine (wall time of the
  whole command, model loading included; the manifest's own split: read / load / embed / index);
- ``rebuild``: the same build again (every vector from the cache);
- ``one file changed``: a copy of the corpus with one document edited, built over the warm cache;
- ``baseline`` (with ``--baseline DIR``, a checkout of other code, e.g. ``git worktree add DIR main``):
  the int8 build by that code, with its own empty cache, just before this code's: old and new side by
  side in one run, against the same fp32 encode.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.record import load_note, record  # noqa: E402
from rag.ct2 import ENGINE as CT2  # noqa: E402
from rag.embed import SENTENCE_TRANSFORMERS, load_model  # noqa: E402
from rag.ingest import load_corpus  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "build.json"
OUT = ROOT / "benchmarks" / "out"
TRIAL = ROOT.parent / "shared" / "bench" / "cmrc2018-trial" / "corpus.jsonl"


def default_corpora() -> dict[str, Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    trial = OUT / "cmrc-trial-240.jsonl"
    if not trial.exists():
        trial.write_text("\n".join(TRIAL.read_text(encoding="utf-8").splitlines()[:240]) + "\n", encoding="utf-8")
    return {"seed essays": ROOT / "seeds", "CMRC trial, 240 passages": trial}


def paragraphs(corpus: Path) -> list[str]:
    return [p for d in load_corpus(corpus).documents for p in d.text.split("\n") if p.strip()]


def encode_once(corpus: Path) -> dict:
    model = load_model(engine=SENTENCE_TRANSFORMERS)
    texts = paragraphs(corpus)
    model.encode_documents(texts[:4])  # warm-up
    start = time.perf_counter()
    model.encode_documents(texts)
    return {"paragraphs": len(texts), "seconds": round(time.perf_counter() - start, 2)}


def build(corpus: Path, index_dir: Path, engine: str, cache_dir: Path, code: Path = ROOT) -> dict:
    """`rag build` in a child process running the package in ``code``."""
    env = {**os.environ, "RAG_CACHE_DIR": str(cache_dir), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(code)}
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "rag.cli", "build", "--corpus", str(corpus), "--index", str(index_dir),
                          "--engine", engine, "--json"], cwd=code, env=env, check=True, capture_output=True,
                         text=True).stdout
    wall = time.perf_counter() - start
    manifest = json.loads(out)
    return {"wall_s": round(wall, 2), "timings": manifest["timings"], "embedded": manifest["embedded"],
            "counts": manifest["counts"]}


def edited_copy(corpus: Path, into: Path) -> Path:
    """The corpus with its first document's text changed (a sentence added to one paragraph)."""
    if corpus.is_dir():
        shutil.copytree(corpus, into)
        first = sorted(p for p in into.rglob("*") if p.is_file())[0]
        text = first.read_text(encoding="utf-8")
        first.write_text(text.replace("。", "。本段为基准测试新增的一句话。", 1), encoding="utf-8")
        return into
    into.mkdir(parents=True)
    lines = corpus.read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[0])
    record["text"] = record["text"].replace("。", "。本段为基准测试新增的一句话。", 1)
    copy = into / corpus.name
    copy.write_text("\n".join([json.dumps(record, ensure_ascii=False), *lines[1:]]) + "\n", encoding="utf-8")
    return copy


def empty_cache(folder: Path) -> Path:
    """An empty vector cache; the converted models are shared."""
    folder.mkdir(parents=True)
    (folder / "models").symlink_to(Path(load_model(engine=CT2).folder).parent)
    return folder


def measure(name: str, corpus: Path, engines: list[str], work: Path, baseline: Path | None) -> dict:
    result: dict = {"corpus": str(corpus), "encode_once_fp32": encode_once(corpus)}
    if baseline is not None:
        old = build(corpus, work / "index-baseline", CT2, empty_cache(work / "cache-baseline"), baseline)
        result["baseline"] = {"code": str(baseline), "build": old,
                              "ratio_to_encode_once": round(old["wall_s"] / result["encode_once_fp32"]["seconds"], 2)}
        print(f"{name}: baseline build {old['wall_s']} s (embed {old['timings']['embed']} s)", file=sys.stderr,
              flush=True)
    for engine in engines:
        cache = empty_cache(work / f"cache-{engine}")
        index_dir = work / f"index-{engine}"
        cold = build(corpus, index_dir, engine, cache)
        warm = build(corpus, index_dir, engine, cache)
        changed = build(edited_copy(corpus, work / f"edited-{engine}"), work / f"index-edited-{engine}", engine, cache)
        result[engine] = {"build": cold, "rebuild": warm, "one_file_changed": changed,
                          "ratio_to_encode_once": round(cold["wall_s"] / result["encode_once_fp32"]["seconds"], 2)}
        print(f"{name}: {engine} build {cold['wall_s']} s (embed {cold['timings']['embed']} s), rebuild "
              f"{warm['wall_s']} s, one file changed {changed['wall_s']} s "
              f"({changed['embedded']['encoded']} texts embedded)", file=sys.stderr, flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", action="append", default=[], metavar="NAME=PATH", help="corpora to build")
    parser.add_argument("--output", type=Path, default=RESULTS, help="results file (default: %(default)s)")
    parser.add_argument("--skip-fp32-build", action="store_true",
                        help="build with the int8 engine only (the fp32 build takes ~4× as long)")
    parser.add_argument("--baseline", type=Path, default=None, metavar="DIR",
                        help="also build (int8) with the code of this checkout, just before this code's")
    args = parser.parse_args()
    corpora = dict(c.split("=", 1) for c in args.corpus) if args.corpus else default_corpora()
    engines = [CT2] if args.skip_fp32_build else [SENTENCE_TRANSFORMERS, CT2]
    results: dict = {"load_average_before": os.getloadavg()[0], "corpora": {}}
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        for name, path in corpora.items():
            results["corpora"][name] = measure(name, Path(path), engines, Path(tmp) / name.replace(" ", "_"),
                                               args.baseline)
    record(args.output, results, markdown)
    return 0


def markdown(r: dict) -> str:
    rows = ["| corpus | engine | encode once (fp32) | build | ratio | embed / index | rebuild (cached) | "
            "one file changed: texts embedded, time |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for name, c in r["corpora"].items():
        once = c["encode_once_fp32"]
        if "baseline" in c:
            b = c["baseline"]
            rows.append(f"| {name} | {CT2}, baseline {b['code']} | {once['seconds']} s ({once['paragraphs']} paragraphs) | "
                        f"{b['build']['wall_s']} s | {b['ratio_to_encode_once']}× | {b['build']['timings']['embed']} / "
                        f"{b['build']['timings']['index']} s | | |")
        for engine in (SENTENCE_TRANSFORMERS, CT2):
            if engine not in c:
                continue
            e = c[engine]
            rows.append(f"| {name} | {engine} | {once['seconds']} s ({once['paragraphs']} paragraphs) | "
                        f"{e['build']['wall_s']} s | {e['ratio_to_encode_once']}× | {e['build']['timings']['embed']} / "
                        f"{e['build']['timings']['index']} s | {e['rebuild']['wall_s']} s | "
                        f"{e['one_file_changed']['embedded']['encoded']} of {e['build']['embedded']['distinct']}, "
                        f"{e['one_file_changed']['wall_s']} s |")
    return "\n".join(rows) + "\n\n" + load_note(r)


if __name__ == "__main__":
    sys.exit(main())
