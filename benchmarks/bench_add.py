"""`rag add` as a person runs it, in a fresh process each time:

1. a ~100-page PDF of real text (CMRC 2018 dev passages, ten to a document under a title, a byline
   and 一、… headings, typeset as a two-column newspaper by tests/documents.py) added to an index of
   the seed essays, every text embedded (an empty vector cache): the whole command, pages per second;
2. one changed file added to an index of CMRC dev (the corpus split into one .jsonl file per document,
   848 files): only the changed document's new texts are embedded. Its index is built once over the
   vector cache in $RAG_CACHE_DIR (the first time, without a cache, that takes ~5 min on 2 cores).

    .venv/bin/python benchmarks/bench_add.py [--pages 100] [--cmrc PATH] [--work DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from documents import essays_pdf  # noqa: E402

from rag import config  # noqa: E402
from rag.ingest import load_corpus  # noqa: E402
from rag.ingest.structure import parse_text  # noqa: E402

CMRC_DEV = ROOT.parent / "shared" / "bench" / "cmrc2018-dev" / "corpus.jsonl"
NUMERALS = "一二三四五六七八九十"
PER_DOCUMENT = 10  # passages under one title, each under its 一、… heading
CHANGED = 100  # the CMRC dev document (line) that is edited
EDIT = "这一段在第{}次基准测试中被改过一句。"  # numbered by the clock: new text on every run, never cached


def rag(*args: str, cache: Path | None = None) -> tuple[float, dict]:
    """Run `rag ARGS --json` in a fresh process: (wall seconds, its JSON)."""
    env = {**os.environ, **({"RAG_CACHE_DIR": str(cache)} if cache else {})}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "rag.cli", *args, "--json"], capture_output=True, text=True,
                          env=env, check=True)
    return round(time.perf_counter() - started, 2), json.loads(done.stdout)


def passages(corpus: Path) -> list[dict]:
    return [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip()]


def collections(records: list[dict]):
    """The passages as documents of ten: a title, a byline, each passage under its heading."""
    documents = []
    for first in range(0, len(records), PER_DOCUMENT):
        lines = [f"CMRC 2018 选读 第{first // PER_DOCUMENT + 1}辑", "", "哈尔滨工业大学 崔一鸣", ""]
        for number, record in enumerate(records[first:first + PER_DOCUMENT]):
            lines += [f"{NUMERALS[number]}、{record['title']}", ""]
            lines += [p.strip() for p in record["text"].split("\n") if p.strip()] + [""]
        documents += parse_text("\n".join(lines), "cmrc.txt", f"cmrc{first}")
    return documents


def pdf_of_pages(path: Path, records: list[dict], pages: int) -> tuple[int, int]:
    """Typeset enough passages for about ``pages`` pages: (pages, passages)."""
    count = min(len(records), pages * 10 // 3)
    made = essays_pdf(path, collections(records[:count]))
    if made != pages:  # one correction, in proportion
        count = min(len(records), round(count * pages / made))
        made = essays_pdf(path, collections(records[:count]))
    return made, count


def add_pdf(corpus: Path, pages: int, work: Path) -> dict:
    """Part 1: an index of the seed essays, then `rag add` of the PDF with no vector cache."""
    cache = work / "cache"  # the converted model from the user's cache; an empty vector cache
    cache.mkdir()
    (cache / "models").symlink_to(config.cache_dir() / "models")
    index = work / "index"
    rag("build", "--corpus", str(ROOT / "seeds"), "--index", str(index), cache=cache)
    pdf = work / "cmrc-dev-100-pages.pdf"
    made, count = pdf_of_pages(pdf, passages(corpus), pages)
    seconds, manifest = rag("add", str(pdf), "--index", str(index), cache=cache)
    return {"pdf_pages": made, "pdf_passages": count, "pdf_bytes": pdf.stat().st_size,
            "add_pdf_s": seconds, "add_pdf_pages_per_s": round(made / seconds, 2),
            "add_pdf_counts": manifest["counts"], "add_pdf_embedded": manifest["embedded"],
            "add_pdf_timings": manifest["timings"]}


def changed_file(corpus: Path, work: Path) -> dict:
    """Part 2: CMRC dev as one file per document, indexed once; one file edited and `rag add`ed."""
    files = work / "cmrc-dev-files"
    files.mkdir(parents=True, exist_ok=True)
    lines = [line for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    names = [f"{json.loads(line)['id']}.jsonl" for line in lines]
    for name, line in zip(names, lines, strict=True):
        if not (files / name).exists():
            (files / name).write_text(line + "\n", encoding="utf-8")
    index = work / "cmrc-dev-files-index"
    build_s, built = rag("build", "--corpus", str(files), "--index", str(index), "--if-stale")
    target = files / names[CHANGED]
    original = json.loads(lines[CHANGED])
    paragraphs = original["text"].split("\n")
    paragraphs[0] = paragraphs[0] + EDIT.format(time.time_ns())
    try:
        target.write_text(json.dumps({**original, "text": "\n".join(paragraphs)}, ensure_ascii=False) + "\n",
                          encoding="utf-8")
        add_s, added = rag("add", str(target), "--index", str(index))
    finally:
        target.write_text(lines[CHANGED] + "\n", encoding="utf-8")
    back_s, back = rag("add", str(target), "--index", str(index))  # the original again: all from the cache
    [document] = load_corpus(target).documents
    return {"cmrc_files": len(names), "cmrc_index_build_s": build_s, "cmrc_index_was_built": "counts" in built,
            "cmrc_index_counts": back["counts"],
            "changed_document": original["id"], "changed_document_chunks": len(document.chunks),
            "changed_document_sentences": sum(len(c.sentences) for c in document.chunks),
            "changed_add_s": add_s, "changed_embedded": added["embedded"],
            "changed_add_timings": {**added["timings"], "build_seconds": added["build_seconds"]},
            "restored_add_s": back_s, "restored_embedded": back["embedded"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--cmrc", type=Path, default=CMRC_DEV, help="CMRC 2018 dev corpus.jsonl")
    parser.add_argument("--work", type=Path, default=config.cache_dir() / "bench-add",
                        help="where the CMRC dev files and their index are kept between runs")
    parser.add_argument("--only", choices=["pdf", "changed"], help="run one of the two parts")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    out = ROOT / "benchmarks" / "results" / "add.json"
    results = json.loads(out.read_text(encoding="utf-8")) if args.only and out.exists() else {}
    results["cores"] = os.cpu_count()
    if args.only != "changed":
        results["load_average_before_pdf"] = os.getloadavg()
        with tempfile.TemporaryDirectory() as tmp:
            results.update(add_pdf(args.cmrc, args.pages, Path(tmp)))
        results["load_average_after_pdf"] = os.getloadavg()
    if args.only != "pdf":
        results["load_average_before_changed"] = os.getloadavg()
        results.update(changed_file(args.cmrc, args.work))
        results["load_average_after_changed"] = os.getloadavg()
    print(json.dumps(results, indent=2, ensure_ascii=False) if args.json else
          "\n".join(f"{key:32} {value}" for key, value in results.items()))
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
