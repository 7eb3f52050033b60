"""HTML page → styled paragraphs: the main text and its headings, without navigation, scripts or
page furniture.

The standard library's ``html.parser`` is enough: block elements end a paragraph, ``<h1>``–``<h6>``
are headings (a page's only ``<h1>`` is its title, else ``<title>``), table rows become text rows,
and when the page marks its main text (``<main>``, ``<article>``) only that is read.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from rag.ingest.read import read_text
from rag.ingest.structure import Styled

_SKIPPED = {"script", "style", "noscript", "template", "svg", "nav", "header", "footer", "aside", "form",
            "button", "select", "iframe", "head"}
_BLOCKS = {"p", "div", "li", "blockquote", "pre", "section", "dt", "dd", "figcaption", "caption", "table",
           "ul", "ol", "dl", "br", "hr", "address", "body", "html"}
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_MAIN = {"main", "article"}
_VOID = {"br", "hr", "img", "meta", "link", "input", "wbr", "col", "area", "base", "source", "track"}


class _Collector(HTMLParser):
    """Paragraphs in page order, each remembering whether it stood inside <main>/<article>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.items: list[tuple[Styled, bool]] = []
        self.text: list[str] = []
        self.skip = 0
        self.main = 0
        self.heading = 0
        self.title_text: list[str] = []
        self.in_title = False
        self.row: list[str] | None = None
        self.saw_main = False

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag == "title":
            self.in_title = True
        if tag in _SKIPPED and tag not in _VOID:
            self.skip += 1
        if self.skip:
            return
        if tag in _MAIN:
            self.main += 1
            self.saw_main = True
        if tag in _BLOCKS or tag in _HEADINGS or tag == "tr":
            self._flush()
        if tag in _HEADINGS:
            self.heading = _HEADINGS[tag]
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self._flush_cell()

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        if tag in _SKIPPED and tag not in _VOID:
            self.skip = max(self.skip - 1, 0)
            return
        if self.skip:
            return
        if tag in ("td", "th") and self.row is not None:
            self._flush_cell()
        elif tag == "tr" and self.row is not None:
            self._flush_cell()
            cells, self.row = [c for c in self.row if c], None
            if cells:
                self.items.append((Styled(" | ".join(cells)), self.main > 0))
        elif tag in _BLOCKS or tag in _HEADINGS:
            self._flush()
            if tag in _HEADINGS:
                self.heading = 0
        if tag in _MAIN:
            self.main = max(self.main - 1, 0)

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title_text.append(data)
        elif not self.skip:
            self.text.append(data)

    def _flush_cell(self) -> None:
        if self.row is not None:
            self.row.append(" ".join("".join(self.text).split()))
            self.text = []

    def _flush(self) -> None:
        if self.row is not None:
            return  # inside a table row: a <p> in a cell stays part of the cell
        text = " ".join("".join(self.text).split())
        self.text = []
        if text:
            kind = "heading" if self.heading else "body"
            self.items.append((Styled(text, kind, self.heading), self.main > 0))


def read_webpage(path: Path) -> list[Styled]:
    """The page's main text as styled paragraphs; its only <h1> (or its <title>) as the title."""
    parser = _Collector()
    parser.feed(read_text(path))
    parser.close()
    parser._flush()
    paragraphs = [item for item, in_main in parser.items if in_main or not parser.saw_main]
    top = [p for p in paragraphs if p.kind == "heading" and p.level == 1]
    if len(top) == 1 and paragraphs[0] is top[0]:
        top[0].kind = "title"
    elif (title := " ".join("".join(parser.title_text).split())) and paragraphs:
        paragraphs.insert(0, Styled(title, "title"))
    return paragraphs
