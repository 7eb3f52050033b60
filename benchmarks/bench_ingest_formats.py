"""PDF ingestion speed: pages per second for text extraction and for extraction + reflow + structure,
side by side with pdfium's plain page text and with the text-file path on the same essays; the
"view on page" render; and, with --build, a whole `rag build` of the PDF (embedding included).

The PDF is the seed essays typeset as a two-column newspaper (tests/documents.py), repeated to
~100 pages; the text file is the same essays' cleaned text, hard-wrapped like the shipped seed file.

    .venv/bin/python benchmarks/bench_ingest_formats.py [--pages 100] [--build] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import pypdfium2 as pdfium  # noqa: E402
from documents import essays_pdf  # noqa: E402

from rag.ingest import load_corpus, load_file  # noqa: E402
from rag.ingest.pdf import read_pdf  # noqa: E402
from rag.pageview import quote_pages  # noqa: E402

SEED = ROOT / "seeds" / "yingkou-essays-2025.txt"
PAGES_PER_COPY = 6  # the three essays take six pages


def timed_round_robin(jobs: dict, rounds: int = 5) -> dict[str, float]:
    """The fastest of ``rounds`` wall-clock runs of each job, the jobs taking turns, so that a busy
    moment of the shared machine does not fall on one method only."""
    times: dict[str, list[float]] = {name: [] for name in jobs}
    for _ in range(rounds):
        for name, fn in jobs.items():
            started = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - started)
    return {f"{name}_s": min(values) for name, values in times.items()}


def plain_text(path: Path) -> int:
    """pdfium's own page text (content-stream order: two columns come out interleaved)."""
    pdf = pdfium.PdfDocument(path)
    chars = sum(len(pdf[i].get_textpage().get_text_range()) for i in range(len(pdf)))
    pdf.close()
    return chars


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--build", action="store_true", help="also time `rag build` of the PDF (embeds)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    essays = load_corpus(SEED).documents
    copies = max(1, round(args.pages / PAGES_PER_COPY))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "pdf"
        folder.mkdir()
        pdf_path = folder / "essays.pdf"
        pages = essays_pdf(pdf_path, essays, repeat=copies)
        text_path = Path(tmp) / "essays.txt"
        text_path.write_text("\n\n".join([SEED.read_text(encoding="utf-8")] * copies), encoding="utf-8")
        documents, _ = load_file(pdf_path, folder)
        characters = sum(len(d.text) for d in documents)
        results = {
            "pages": pages, "documents": len(documents), "chunks": sum(len(d.chunks) for d in documents),
            "characters": characters,
            **timed_round_robin({"plain_pdfium_text": lambda: plain_text(pdf_path),
                                 "read_pdf": lambda: read_pdf(pdf_path),
                                 "pdf_to_documents": lambda: load_file(pdf_path, folder),
                                 "text_to_documents": lambda: load_file(text_path, Path(tmp))}),
        }
        document = documents[1]
        quotes = [(s.start, s.end) for c in document.chunks for s in c.sentences][:20]
        renders = []
        for start, end in quotes:
            started = time.perf_counter()
            quote_pages(document, start, end)
            renders.append(time.perf_counter() - started)
        results["view_on_page_ms_median"] = round(1000 * statistics.median(renders), 1)
        results.update(encodings(pdf_path))
        if args.build:
            results.update(build(folder, Path(tmp) / "index"))
    for key in ("plain_pdfium_text", "read_pdf", "pdf_to_documents", "text_to_documents"):
        results[f"{key}_pages_per_s"] = round(results["pages"] / results[f"{key}_s"], 1)
        results[f"{key}_s"] = round(results[f"{key}_s"], 3)
    results["load_average"] = os.getloadavg()
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for key, value in results.items():
            print(f"{key:32} {value}")
    out = ROOT / "benchmarks" / "results" / "ingest_formats.json"
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


def encodings(pdf_path: Path) -> dict:
    """A rendered page (scale 1.5) encoded as PNG (the old choice) and as JPEG 85: ms and bytes."""
    import io

    pdf = pdfium.PdfDocument(pdf_path)
    image = pdf[2].render(scale=1.5).to_pil().convert("RGB")
    pdf.close()
    out = {}
    for name, options in (("png", {"format": "PNG"}), ("jpeg85", {"format": "JPEG", "quality": 85})):
        buffer = io.BytesIO()
        seconds = timed_round_robin({name: lambda o=options: image.save(io.BytesIO(), **o)})[f"{name}_s"]
        image.save(buffer, **options)
        out[f"page_{name}_ms"], out[f"page_{name}_bytes"] = round(1000 * seconds, 1), len(buffer.getvalue())
    return out


def build(corpus: Path, index_dir: Path) -> dict:
    """`rag build` of the PDF alone in a fresh process: ingest, embed chunks and sentences, write."""
    import subprocess

    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "rag.cli", "build", "--corpus", str(corpus), "--index", str(index_dir)],
                   check=True, capture_output=True, env=dict(os.environ))
    manifest = json.loads(next(index_dir.glob("*/manifest.json")).read_text(encoding="utf-8"))
    return {"build_s": round(time.perf_counter() - started, 1), "build_counts": manifest["counts"]}


if __name__ == "__main__":
    sys.exit(main())
