"""PDF text layer → lines in reading order, every character tied to its page and its pdfium index.

pypdfium2 (Apache-2.0/BSD, PDFium itself BSD) reads the characters with their boxes; the order is
rebuilt here from positions, because a PDF's own order (and pdfplumber's or pdfminer's default
extraction) interleaves two newspaper columns line by line. Per page:

1. characters → rows (same vertical centre) → fragments (a row cut at gaps wider than a character),
2. running headers, footers and page numbers are dropped: fragments in a page's top or bottom two
   rows whose text (digits ignored) comes back on other pages, or that read as a page number,
3. columns: the widest vertical gap that most fragments respect splits the page (recursively, so
   three columns work too); fragments that cross it (a title set across both columns, or a centred
   line above all the text on the other side) cut the page into bands read one after the other,
4. a blank line goes before a line that starts a paragraph: indented by a first-line indent, or set
   off by a gap. Nothing else is decided here: the same reflow as for text files joins the lines.

Characters are NFC-normalised (some CJK fonts map 理 to the compatibility ideograph U+F9E4), Kangxi
radicals (⼀ for 一) and Latin ligatures become the ordinary characters. A space is a space the text
layer stores between two characters of a line, or a gap wider than ``_SPACE_GAP``: the gap alone
misses spaces between Latin words set in a CJK font (its substituted Latin glyphs' boxes overlap the
space's advance: "Ludwig Prandtl" read "LudwigPrandtl"), and a PDF that positions words without
storing spaces has only the gap. Spaces a PDF stores between CJK characters or around numbers are
dropped by the reflow's ``clean_spaces``, as in a text file. pdfium turns a hyphen (or soft hyphen)
that ends a line into a marker; it is read back as "-", which the reflow keeps when it joins the
lines ("well-" + "known"): pdfium no longer tells a hyphenation from a hyphen in a word.
"""

from __future__ import annotations

import hashlib
import math
import re
import statistics
import threading
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import CorpusError
from rag.ingest.pagemap import LineOrigins, Origin

_FRAGMENT_GAP = 1.0  # in line heights: a wider horizontal gap separates fragments (columns, tab stops)
_SPACE_GAP = 0.15  # in line heights: a wider gap between two characters is a space
_EDGE_ROWS = 2  # rows at the top and at the bottom of a page that may hold running heads and folios
_REPEAT_SHARE = 0.3  # share of pages (and at least 2) on which a running head must come back
_GUTTER_MIN = 0.8  # in line heights: the narrowest gap between columns
_CROSSING_SHARE = 0.25  # at most this share of fragments may cross a gutter (titles, not body lines)
_CENTRED_SHARE = 0.05  # a line whose middle is this close to the page's (share of its width) is centred
_INDENT_MIN, _INDENT_MAX = 0.6, 4.0  # in line heights: a first-line indent, not a centred line
_PARAGRAPH_GAP = 0.9  # in line heights: a wider vertical gap separates paragraphs
_FOLIO = re.compile(r"[-—–·\s]*(?:第\s*#\s*页(?:\s*共\s*#\s*页)?|#\s*(?:[/／]\s*#)?|page\s*#(?:\s*of\s*#)?)"
                    r"[-—–·\s]*", re.IGNORECASE)
_SURROGATES = range(0xD800, 0xE000)
_LINE_END_HYPHEN = 0x02  # what pdfium's FPDFText_GetUnicode returns for a hyphen that ends a line
#: PDFium is not thread-safe, not even across documents (pypdfium2's docs): every use in this
#: process (reading here, rendering in rag.pageview) holds this lock.
PDFIUM_LOCK = threading.RLock()


@dataclass
class Char:
    text: str
    page: int  # 1-based
    index: int  # pdfium character index on its page
    left: float
    bottom: float
    right: float
    top: float
    space_before: bool = False  # the text layer stores a space between it and the character before

    @property
    def middle(self) -> float:
        return (self.bottom + self.top) / 2

    @property
    def height(self) -> float:
        return self.top - self.bottom


@dataclass
class Fragment:
    """Characters of one row with no wide gap between them: a line, or a column's part of one."""

    chars: list[Char]
    page: int
    left: float = field(init=False)
    right: float = field(init=False)
    bottom: float = field(init=False)
    top: float = field(init=False)

    def __post_init__(self) -> None:
        self.left = min(c.left for c in self.chars)
        self.right = max(c.right for c in self.chars)
        self.bottom = min(c.bottom for c in self.chars)
        self.top = max(c.top for c in self.chars)

    @property
    def height(self) -> float:
        return self.top - self.bottom

    @property
    def middle(self) -> float:
        return (self.bottom + self.top) / 2

    @property
    def text(self) -> str:
        return "".join(c.text for c in self.chars)


def read_pdf(path: Path) -> tuple[LineOrigins, list[int]]:
    """The PDF's lines in reading order with their characters' origins, and its pages without text.

    Raises CorpusError with a one-line reason for an encrypted, damaged or scan-only PDF."""
    import pypdfium2 as pdfium

    data = path.read_bytes()
    with PDFIUM_LOCK:
        try:
            document = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as error:
            raise CorpusError(_open_error(error)) from error
        try:
            pages = [_page_chars(document, number) for number in range(len(document))]
        except pdfium.PdfiumError as error:
            raise CorpusError(f"not a readable PDF (a page is damaged: {error})") from error
        finally:
            document.close()
    empty = [number + 1 for number, chars in enumerate(pages) if not chars]
    if len(empty) == len(pages):
        raise CorpusError("no text layer (a scanned or image-only PDF); OCR is not supported")
    fragments = [_fragments(chars, number + 1) for number, chars in enumerate(pages)]
    _drop_running_heads(fragments)
    origins = LineOrigins(file=str(path.resolve()), sha256=hashlib.sha256(data).hexdigest(),
                          page_count=len(pages), lines=[])
    previous_crossing = True
    for page_fragments in fragments:
        for crossing, block in _columns(page_fragments):
            for number, (starts, line) in enumerate(_block_lines(block, indents=not crossing)):
                if starts or (number == 0 and (crossing or previous_crossing)):
                    origins.lines.append("")  # a blank line: reflow reads it as a paragraph (or page) break
                    origins.chars.append([])
                origins.lines.append("".join(" " if c is None else c.text for c in line))
                origins.chars.append([None if c is None else _origin(c) for c in line])
            previous_crossing = crossing
    return origins, empty


def _origin(char: Char) -> Origin:
    return char.page, char.index


def _open_error(error: Exception) -> str:
    message = str(error).lower()
    if "password" in message:
        return "the PDF is encrypted (it needs a password); save an unprotected copy to add it"
    if "format" in message or "file" in message:
        return "not a readable PDF (the file is damaged or not a PDF)"
    return f"cannot open the PDF ({error})"


# ------------------------------------------------------------------ characters and fragments


def _page_chars(document, number: int) -> list[Char]:
    """The page's visible characters, normalised, with their loose boxes (font ascent to descent:
    a CJK font that is not embedded has no glyph outlines, so its tight boxes are empty)."""
    import pypdfium2.raw as raw

    page = document[number]
    textpage = page.get_textpage()
    chars: list[Char] = []
    count = textpage.count_chars()
    index, space = 0, False
    while index < count:
        code, width = raw.FPDFText_GetUnicode(textpage, index), 1
        if code in _SURROGATES and index + 1 < count:  # a character outside the BMP comes in two halves
            code = 0x10000 + ((code - 0xD800) << 10) + (raw.FPDFText_GetUnicode(textpage, index + 1) - 0xDC00)
            width = 2
        if code == _LINE_END_HYPHEN and raw.FPDFText_IsHyphen(textpage, index):
            code = ord("-")
        if not raw.FPDFText_IsGenerated(textpage, index) and code >= 32:
            text = normalize_char(chr(code) if code < 0x110000 else "")
            if text.isspace():
                space = True
            elif text:
                left, bottom, right, top = textpage.get_charbox(index, loose=True)
                chars.append(Char(text, number + 1, index, left, bottom, right, top, space_before=space))
                space = False
        index += width
    textpage.close()
    page.close()
    return chars


def normalize_char(ch: str) -> str:
    """NFC; Kangxi radicals and Latin ligatures to ordinary characters; any space to one space."""
    if ch.isspace():
        return " "
    code = ord(ch)
    if 0x2F00 <= code <= 0x2FDF or 0xFB00 <= code <= 0xFB06:
        return unicodedata.normalize("NFKC", ch)
    return unicodedata.normalize("NFC", ch)


def _fragments(chars: list[Char], page: int) -> list[Fragment]:
    """Rows by vertical centre, each cut at gaps wider than a character."""
    if not chars:
        return []
    ordered = sorted(chars, key=lambda c: -c.middle)
    rows: list[list[Char]] = [[ordered[0]]]
    for char in ordered[1:]:
        head = rows[-1][0]
        if abs(head.middle - char.middle) <= 0.5 * min(head.height, char.height) + 0.01:
            rows[-1].append(char)
        else:
            rows.append([char])
    fragments: list[Fragment] = []
    for row in rows:
        row.sort(key=lambda c: c.left)
        current = [row[0]]
        for char in row[1:]:
            if char.left - current[-1].right > _FRAGMENT_GAP * max(char.height, current[-1].height):
                fragments.append(Fragment(current, page))
                current = []
            current.append(char)
        fragments.append(Fragment(current, page))
    return fragments


# ------------------------------------------------------------------ running heads and folios


def _edge_fragments(fragments: list[Fragment]) -> tuple[list[Fragment], list[Fragment]]:
    """The fragments in the page's top and bottom ``_EDGE_ROWS`` rows."""
    tops = sorted({round(f.middle, 1) for f in fragments}, reverse=True)
    top_rows, bottom_rows = set(tops[:_EDGE_ROWS]), set(tops[-_EDGE_ROWS:])
    return ([f for f in fragments if round(f.middle, 1) in top_rows],
            [f for f in fragments if round(f.middle, 1) in bottom_rows])


def _key(fragment: Fragment) -> str:
    return re.sub(r"\d+", "#", fragment.text)


def _drop_running_heads(pages: list[list[Fragment]]) -> None:
    """Remove running headers/footers (text that comes back at a page edge) and page numbers."""
    edges = [_edge_fragments(fragments) for fragments in pages]
    counts: Counter[tuple[str, str]] = Counter()
    for top, bottom in edges:
        counts.update({("top", _key(f)) for f in top} | {("bottom", _key(f)) for f in bottom})
    needed = max(2, math.ceil(_REPEAT_SHARE * len(pages)))
    for fragments, (top, bottom) in zip(pages, edges, strict=True):
        drop = {id(f) for band, group in (("top", top), ("bottom", bottom)) for f in group
                if counts[(band, _key(f))] >= needed or _FOLIO.fullmatch(_key(f))}
        fragments[:] = [f for f in fragments if id(f) not in drop]


# ------------------------------------------------------------------ columns


Block = tuple[bool, list[Fragment]]  # (crosses a gutter, its fragments top to bottom)


def _columns(fragments: list[Fragment]) -> list[Block]:
    """The page's fragments as blocks in reading order: columns left to right within each band
    between fragments that cross the gutter, those crossing fragments as blocks of their own."""
    if not fragments:
        return []
    gutter = _gutter(fragments)
    if gutter is None:
        return [(False, sorted(fragments, key=lambda f: (-f.middle, f.left)))]
    low, high = gutter
    across = _headings_across(fragments, low, high)
    blocks: list[Block] = []
    left: list[Fragment] = []
    right: list[Fragment] = []
    for fragment in sorted(fragments, key=lambda f: -f.top):
        if fragment.right <= low and id(fragment) not in across:
            left.append(fragment)
        elif fragment.left >= high and id(fragment) not in across:
            right.append(fragment)
        else:  # crosses the gutter: what came before it is read first, column by column
            blocks += _columns(left) + _columns(right)
            left, right = [], []
            if blocks and blocks[-1][0]:
                blocks[-1][1].append(fragment)  # consecutive crossing lines (a two-line title) stay together
            else:
                blocks.append((True, [fragment]))
    return blocks + _columns(left) + _columns(right)


def _headings_across(fragments: list[Fragment], low: float, high: float) -> set[int]:
    """Fragments set across the columns: those that cross the gutter, and centred lines above all
    of the other side's text (a short title line over three columns fits inside the middle one)."""
    left_edge, right_edge = min(f.left for f in fragments), max(f.right for f in fragments)
    centre, tolerance = (left_edge + right_edge) / 2, _CENTRED_SHARE * (right_edge - left_edge)
    left = [f for f in fragments if f.right <= low]
    right = [f for f in fragments if f.left >= high]
    across = {id(f) for f in fragments if f.left < high and f.right > low}
    for group, other in ((left, right), (right, left)):
        top = max(f.top for f in other)
        across |= {id(f) for f in group
                   if f.bottom >= top and abs((f.left + f.right) / 2 - centre) <= tolerance}
    return across


def _gutter(fragments: list[Fragment]) -> tuple[float, float] | None:
    """The vertical gap crossed by the fewest fragments (at most ``_CROSSING_SHARE`` of them: titles,
    not body lines), the widest of those, with fragments on both sides; None for a single column."""
    if len(fragments) < 4:
        return None
    height = statistics.median(f.height for f in fragments)
    edges = sorted({f.left for f in fragments} | {f.right for f in fragments})
    best: tuple[int, float, float, float] | None = None  # (crossing, -width, low, high)
    for low, high in zip(edges, edges[1:], strict=False):
        if high - low < _GUTTER_MIN * height:
            continue
        crossing = sum(1 for f in fragments if f.left < high and f.right > low)
        left = sum(1 for f in fragments if f.right <= low)
        right = sum(1 for f in fragments if f.left >= high)
        if crossing <= _CROSSING_SHARE * len(fragments) and left >= 2 and right >= 2:
            candidate = (crossing, low - high, low, high)
            best = min(best, candidate) if best else candidate
    return (best[2], best[3]) if best else None


# ------------------------------------------------------------------ lines and paragraph breaks


def _block_lines(block: list[Fragment], indents: bool = True) -> list[tuple[bool, list[Char | None]]]:
    """The block's lines (fragments of one row joined), each with whether it starts a paragraph
    (an indented first line, or a gap above it). Lines across a gutter are centred titles and
    bylines: only a gap separates them (``indents=False``).

    A line is a list of characters where None stands for a space rebuilt from a gap."""
    rows: list[list[Fragment]] = []
    for fragment in block:
        if rows and abs(rows[-1][0].middle - fragment.middle) <= 0.5 * min(rows[-1][0].height, fragment.height):
            rows[-1].append(fragment)
        else:
            rows.append([fragment])
    if not rows:
        return []
    lefts = [min(f.left for f in row) for row in rows]
    column_left = min(lefts)
    lines: list[tuple[bool, list[Char | None]]] = []
    previous: list[Fragment] | None = None
    for row, left in zip(rows, lefts, strict=True):
        height = max(f.height for f in row)
        indent = (left - column_left) / height
        indented = indents and _INDENT_MIN <= indent <= _INDENT_MAX and len(rows) > 1
        if previous is None:
            starts = indented
        else:
            gap = min(f.bottom for f in previous) - max(f.top for f in row)
            previous_indent = (min(f.left for f in previous) - column_left) / height
            starts = gap > _PARAGRAPH_GAP * height or (
                indented and not _INDENT_MIN <= previous_indent <= _INDENT_MAX)
        lines.append((starts, _line_chars(sorted(row, key=lambda f: f.left))))
        previous = row
    return lines


def _line_chars(row: list[Fragment]) -> list[Char | None]:
    """The characters of a row left to right, None where the text layer stores a space between two
    of them (in its own order) or a gap is wide enough to be one."""
    out: list[Char | None] = []
    last: Char | None = None
    for fragment in row:
        for char in fragment.chars:
            if last is not None and ((char.space_before and last.index < char.index)
                                     or char.left - last.right > _SPACE_GAP * max(char.height, last.height)):
                out.append(None)
            out.append(char)
            last = char
    return out
