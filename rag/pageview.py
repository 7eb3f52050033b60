"""A quote where it stands in its PDF: the page rendered to an image with the quoted characters'
boxes highlighted (pypdfium2 renders; Pillow, which Gradio already needs, draws the boxes).

The document's PageMap, saved at ingest time, says which pdfium characters the quote is made of;
their boxes are read from the PDF itself at view time, after checking it is the same file.
"""

from __future__ import annotations

import ctypes
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from rag.errors import RagError
from rag.ingest.pdf import PDFIUM_LOCK
from rag.types import Document

#: 1.5 × 72 dpi: a page about 900 px wide, sharp enough to read Chinese at 10.5 pt on a laptop
#: screen, ~25 ms to render here.
SCALE = 1.5
HIGHLIGHT = (255, 214, 0, 90)  # translucent yellow, like a highlighter
OUTLINE = (204, 120, 0, 255)
MAX_PAGES = 2  # a quote is 1-4 sentences: it crosses at most one page break
# JPEG, not PNG: a rendered A4 page encodes in 3 ms to 250 KB at quality 85, where PNG took 50 ms
# and 580 KB (benchmarks/bench_ingest_formats.py); the text stays sharp at this quality.
FORMAT, MIME, QUALITY = "JPEG", "image/jpeg", 85
_verified: dict[str, tuple[int, int, str]] = {}  # path → (size, mtime_ns, sha256) last checked


@dataclass
class PageImage:
    page: int  # 1-based
    data: bytes  # the encoded image (MIME)
    width: int
    height: int
    boxes: list[tuple[int, int, int, int]]  # highlighted rectangles in image pixels (left, top, right, bottom)


def quote_pages(document: Document, start: int, end: int, scale: float = SCALE) -> list[PageImage]:
    """The pages ``document.text[start:end]`` stands on, each with the quote highlighted.

    Raises RagError when the document has no pages (not a PDF) or its PDF is gone or changed."""
    import pypdfium2 as pdfium

    page_map = document.page_map
    if page_map is None:
        raise RagError(f"{document.source} is not a PDF: there is no page to show")
    path = Path(page_map.file)
    if _sha256(path) != page_map.sha256:
        raise RagError(f"{path} has changed since it was indexed; rebuild the index to see its pages")
    chars = page_map.chars_in(start, end)
    with PDFIUM_LOCK:
        pdf = pdfium.PdfDocument(path)
        try:
            return [_render(pdf, page, chars[page], scale) for page in sorted(chars)[:MAX_PAGES]]
        finally:
            pdf.close()


def _sha256(path: Path) -> str:
    """The file's checksum, recomputed only when its size or modification time changed."""
    try:
        stat = path.stat()
        known = _verified.get(str(path))
        if known and known[:2] == (stat.st_size, stat.st_mtime_ns):
            return known[2]
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as error:
        raise RagError(f"cannot open {path} to show the page ({error.strerror or error})") from error
    _verified[str(path)] = (stat.st_size, stat.st_mtime_ns, digest)
    return digest


def _render(pdf, number: int, chars: list[int], scale: float) -> PageImage:
    from PIL import Image, ImageDraw

    page = pdf[number - 1]
    textpage = page.get_textpage()
    image = page.render(scale=scale).to_pil().convert("RGBA")
    boxes = line_boxes([_device_box(page, textpage.get_charbox(i, loose=True), image.size) for i in chars])
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for box in boxes:
        draw.rectangle(box, fill=HIGHLIGHT, outline=OUTLINE, width=1)
    out = io.BytesIO()
    Image.alpha_composite(image, overlay).convert("RGB").save(out, format=FORMAT, quality=QUALITY)
    textpage.close()
    page.close()
    return PageImage(number, out.getvalue(), image.width, image.height, boxes)


def _device_box(page, box: tuple[float, float, float, float], size: tuple[int, int]) -> tuple[int, int, int, int]:
    """A character box in PDF points → image pixels (PDFium's own transform: crop box and rotation)."""
    import pypdfium2.raw as raw

    corners = []
    for x, y in ((box[0], box[3]), (box[2], box[1])):
        dx, dy = ctypes.c_int(), ctypes.c_int()
        raw.FPDF_PageToDevice(page, 0, 0, size[0], size[1], 0, x, y, ctypes.byref(dx), ctypes.byref(dy))
        corners.append((dx.value, dy.value))
    (x0, y0), (x1, y1) = corners
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


def line_boxes(boxes: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Character boxes merged into one rectangle per printed line: boxes whose vertical centres are
    within half a line of each other and that follow with less than a character's gap."""
    rows: list[list[tuple[int, int, int, int]]] = []
    for box in sorted(boxes, key=lambda b: (b[1] + b[3]) / 2):
        if rows and abs(_centre(rows[-1][0]) - _centre(box)) <= (box[3] - box[1]) / 2:
            rows[-1].append(box)
        else:
            rows.append([box])
    merged: list[list[int]] = []
    for row in rows:
        start = len(merged)
        for left, top, right, bottom in sorted(row):
            last = merged[-1] if len(merged) > start else None
            if last and left - last[2] <= bottom - top:
                last[1:] = [min(last[1], top), max(last[2], right), max(last[3], bottom)]
            else:
                merged.append([left, top, right, bottom])
    return [(a, b, c, d) for a, b, c, d in merged]


def _centre(box: tuple[int, int, int, int]) -> float:
    return (box[1] + box[3]) / 2
