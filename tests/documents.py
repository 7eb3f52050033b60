"""Test documents made by the tests themselves: the seed essays typeset as a two-column newspaper PDF
and as a Word file with heading styles, an image-only (scanned) PDF and an encrypted one.

The PDF uses reportlab (BSD) with Adobe's STSong-Light CID font, which every PDF reader knows, so
no font file is needed and the text layer is exact Unicode; a page shows a running header, a page
number, titles set across both columns, first-line indents, and paragraphs (and sentences) that
run on across columns and pages. (The font is not embedded, so a renderer without a Chinese system
font draws the text layer's boxes but not the glyphs.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from rag.types import Document

FONT = "STSong-Light"
PAGE_WIDTH, PAGE_HEIGHT = 595.0, 842.0  # A4 in points
MARGIN = 50.0
GUTTER = 20.0
BODY_SIZE, BODY_PITCH = 10.5, 16.0
TITLE_SIZE, TITLE_PITCH = 16.0, 24.0
BODY_TOP, BODY_BOTTOM = 770.0, 70.0
def column_width(columns: int) -> float:
    return (PAGE_WIDTH - 2 * MARGIN - (columns - 1) * GUTTER) / columns
RUNNING_HEAD = ("营口日报 · 理论周刊", "2025年5月8日")
_TOKENS = re.compile(r"[!-~\u00c0-\u024f]+| |.")  # a Latin word (Göttingen too) never breaks across lines
# Kinsoku: closing punctuation never starts a line; it hangs in the margin instead. (It also keeps a
# lone "。" off a line of its own: pdfium leaves a one-character text object in a CID font that is
# not embedded out of its text layer, measured here.)
_NO_LINE_START = set("。，、；：！？）」』”’》〉】…")


@dataclass
class Line:
    text: str
    heading: bool = False  # headings have a gap above and no indent
    paragraph_start: bool = False


def essay_lines(document: Document) -> tuple[list[str], str, list[Line]]:
    """(title lines, byline, body lines) of a parsed essay: what the newspaper prints."""
    lines = document.text.split("\n")
    header = 2 if document.author else 1
    heading_starts = set()

    def collect(nodes):
        for node in nodes:
            heading_starts.add(node.start)
            collect(node.children)

    collect(document.sections)
    body, offset = [], sum(len(line) + 1 for line in lines[:header])
    for text in lines[header:]:
        body.append(Line(text, heading=offset in heading_starts))
        offset += len(text) + 1
    return document.title.split(" ", 1), " ".join(filter(None, [document.affiliation, document.author])), body


def _wrap(text: str, width: float, indent: float) -> list[str]:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    lines, current, used, limit = [], "", 0.0, width - indent
    for token in _TOKENS.findall(text):
        size = stringWidth(token, FONT, BODY_SIZE)
        if current and used + size > limit + 0.01 and token not in _NO_LINE_START:
            lines.append(current)
            current, used, limit = "", 0.0, width
            if token == " ":
                continue
        current, used = current + token, used + size
    if lines and len(current) == 1 and len(lines[-1]) > 1:
        # No last line of one character (成长 → 成 / 长): pdfium leaves it out of the text layer too.
        lines[-1], current = lines[-1][:-1], lines[-1][-1] + current
    return [*lines, current] if current else lines


class _Newspaper:
    """A cursor over pages and columns that prints lines where the next one fits."""

    def __init__(self, path: Path, columns: int = 2) -> None:
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.cidfonts import UnicodeCIDFont
        from reportlab.pdfgen.canvas import Canvas

        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
        self.canvas = Canvas(str(path), pagesize=(PAGE_WIDTH, PAGE_HEIGHT))
        self.page = 0
        self.column = 0
        self.y = BODY_TOP
        self.column_top = BODY_TOP
        self.columns = columns
        self.width = column_width(columns)

    def new_page(self) -> None:
        if self.page:
            self.canvas.showPage()
        self.page += 1
        c = self.canvas
        c.setFont(FONT, 9)
        c.drawString(MARGIN, 805, RUNNING_HEAD[0])
        c.drawRightString(PAGE_WIDTH - MARGIN, 805, RUNNING_HEAD[1])
        c.line(MARGIN, 798, PAGE_WIDTH - MARGIN, 798)
        c.drawCentredString(PAGE_WIDTH / 2, 40, f"— {self.page} —")
        self.column, self.y, self.column_top = 0, BODY_TOP, BODY_TOP

    def title(self, lines: list[str], byline: str) -> None:
        self.new_page()
        c = self.canvas
        c.setFont(FONT, TITLE_SIZE)
        y = BODY_TOP - TITLE_SIZE
        for line in lines:
            c.drawCentredString(PAGE_WIDTH / 2, y, line)
            y -= TITLE_PITCH
        c.setFont(FONT, 11)
        affiliation, _, author = byline.rpartition(" ")
        c.drawCentredString(PAGE_WIDTH / 2, y - 6, f"{affiliation}    {author}")  # a wide gap, as printed
        self.y = self.column_top = y - 6 - 2 * BODY_PITCH

    def _advance(self, space: float) -> None:
        if self.y - space < BODY_BOTTOM:
            if self.column + 1 < self.columns:
                self.column, self.y = self.column + 1, self.column_top
            else:
                self.new_page()

    def paragraph(self, line: Line, run_on: bool = False, fit: bool = False) -> None:
        """A heading (a blank line above, no indent), a paragraph (first-line indent), or with
        ``run_on`` a flush line right under the previous one (a title's second line). ``fit`` sets
        the line on one line, smaller if it must (a title)."""
        from reportlab.pdfbase.pdfmetrics import stringWidth

        indent = 0.0 if line.heading or run_on else 2 * BODY_SIZE
        if line.heading and self.y != self.column_top:
            self._advance(2 * BODY_PITCH)
            if self.y != self.column_top:
                self.y -= BODY_PITCH  # a blank line above a heading
        size = min(BODY_SIZE, self.width / stringWidth(line.text, FONT, 1)) if fit else BODY_SIZE
        for number, text in enumerate([line.text] if fit else _wrap(line.text, self.width, indent)):
            self._advance(BODY_PITCH)
            x = MARGIN + self.column * (self.width + GUTTER) + (indent if number == 0 else 0)
            self.canvas.setFont(FONT, size)
            self.canvas.drawString(x, self.y - BODY_SIZE, text)
            self.y -= BODY_PITCH

    def save(self) -> int:
        self.canvas.showPage()
        self.canvas.save()
        return self.page


def essays_pdf(path: Path, documents: list[Document], repeat: int = 1, columns: int = 2,
               title_last: bool = False) -> int:
    """Typeset the essays (``repeat`` times over, for a long PDF) in ``columns`` columns; returns the
    page count. ``title_last`` prints each essay's byline and title after its body, in the column,
    as the newspaper the seed essays come from does."""
    paper = _Newspaper(path, columns)
    for _ in range(repeat):
        for document in documents:
            title, byline, body = essay_lines(document)
            if title_last:
                paper.new_page()
            else:
                paper.title(title, byline)
            for line in body:
                paper.paragraph(line)
            if title_last:
                paper.paragraph(Line(byline, heading=True))
                paper.paragraph(Line(title[0], heading=True), fit=True)
                for rest in title[1:]:
                    paper.paragraph(Line(rest), run_on=True, fit=True)
    return paper.save()


def essays_docx(path: Path, documents: list[Document]) -> None:
    """The essays as a Word file: Title and Heading 1/2 styles, a byline paragraph, a page header
    and footer (which must not be read as text)."""
    import docx

    word = docx.Document()
    section = word.sections[0]
    section.header.paragraphs[0].text = RUNNING_HEAD[0]
    section.footer.paragraphs[0].text = "第 1 页"
    for document in documents:
        title, byline, body = essay_lines(document)
        word.add_heading(" ".join(title), level=0)
        word.add_paragraph(byline)
        levels = _heading_levels(document)
        for line in body:
            if line.heading:
                word.add_heading(line.text, level=levels[line.text])
            else:
                word.add_paragraph(line.text)
    word.save(str(path))


def _heading_levels(document: Document) -> dict[str, int]:
    levels: dict[str, int] = {}

    def collect(nodes):
        for node in nodes:
            levels[node.heading] = node.level
            collect(node.children)

    collect(document.sections)
    return levels


def _scanned_page(canvas) -> None:
    """A picture of lines of text, and no text layer."""
    from PIL import Image, ImageDraw
    from reportlab.lib.utils import ImageReader

    picture = Image.new("RGB", (400, 200), "white")
    draw = ImageDraw.Draw(picture)
    for row in range(8):
        draw.rectangle((20, 20 + row * 22, 380 - (row % 3) * 40, 32 + row * 22), fill="black")
    canvas.drawImage(ImageReader(picture), MARGIN, 400, width=400, height=200)
    canvas.showPage()


def image_only_pdf(path: Path) -> None:
    """A 'scanned' document: one page that is a picture."""
    from reportlab.pdfgen.canvas import Canvas

    canvas = Canvas(str(path), pagesize=(PAGE_WIDTH, PAGE_HEIGHT))
    _scanned_page(canvas)
    canvas.save()


def text_and_scan_pdf(path: Path) -> None:
    """A page of text followed by a scanned page."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen.canvas import Canvas

    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    canvas = Canvas(str(path), pagesize=(PAGE_WIDTH, PAGE_HEIGHT))
    canvas.setFont(FONT, BODY_SIZE)
    canvas.drawString(MARGIN, 700, "今年港口吞吐量稳步增长，集装箱航线不断加密。")
    canvas.showPage()
    _scanned_page(canvas)
    canvas.save()


def lines_pdf(path: Path, lines: list[str]) -> None:
    """One page with the given lines set flush left one under the other, as they are (no wrapping)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen.canvas import Canvas

    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    canvas = Canvas(str(path), pagesize=(PAGE_WIDTH, PAGE_HEIGHT))
    canvas.setFont(FONT, BODY_SIZE)
    for number, line in enumerate(lines):
        canvas.drawString(MARGIN, BODY_TOP - number * BODY_PITCH, line)
    canvas.showPage()
    canvas.save()


def encrypted_pdf(path: Path, password: str = "secret") -> None:
    """A PDF that opens only with a password."""
    from reportlab.lib.pdfencrypt import StandardEncryption
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen.canvas import Canvas

    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    canvas = Canvas(str(path), encrypt=StandardEncryption(password, canPrint=0))
    canvas.setFont(FONT, 12)
    canvas.drawString(MARGIN, 700, "这是一份加密的文件。")
    canvas.showPage()
    canvas.save()


if __name__ == "__main__":  # python tests/documents.py OUT.pdf: the seed essays as the newspaper PDF
    import sys

    from rag.ingest import load_corpus

    essays_pdf(Path(sys.argv[1]), load_corpus(Path(__file__).resolve().parent.parent / "seeds").documents)
    print(f"wrote {sys.argv[1]}")
