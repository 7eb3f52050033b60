"""Word ``.docx`` → styled paragraphs in document order: Title and Heading N styles give the structure,
tables become one text row per table row, page headers and footers are left out.

python-docx (MIT) reads the file; headers and footers live in their own parts, outside the body it
walks, so they never reach the text.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from rag.errors import CorpusError
from rag.ingest.structure import Styled

_HEADING_STYLE = re.compile(r"(?:heading|标题)\s*(\d)", re.IGNORECASE)
_TITLE_STYLE = re.compile(r"title|标题", re.IGNORECASE)
_CELL_SEPARATOR = " | "


def read_word(path: Path) -> list[Styled]:
    """The body's paragraphs and table rows, each with its structural kind."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table
    from lxml.etree import XMLSyntaxError

    try:
        document = docx.Document(str(path))
        items = list(document.iter_inner_content())
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, XMLSyntaxError) as error:
        raise CorpusError("not a readable Word file (the .docx is damaged, password-protected or not a "
                          "Word document)") from error
    paragraphs: list[Styled] = []
    for item in items:
        if isinstance(item, Table):
            paragraphs.extend(Styled(row) for row in table_rows(item))
        else:
            paragraphs.append(_styled(item))
    return paragraphs


def _styled(paragraph) -> Styled:
    """Heading N (or a style based on it) is a heading; Title is a title; anything else is body."""
    text = " ".join(paragraph.text.split())
    style = paragraph.style
    while style is not None:
        name = (style.name or "").strip()
        if match := _HEADING_STYLE.fullmatch(name):
            return Styled(text, "heading", int(match.group(1)))
        if _TITLE_STYLE.fullmatch(name):
            return Styled(text, "title")
        style = style.base_style
    return Styled(text)


def table_rows(table) -> list[str]:
    """One line per row, cells joined by `` | ``; a merged cell is read once."""
    rows = []
    for row in table.rows:
        cells: list[str] = []
        seen: set[int] = set()
        for cell in row.cells:
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            cells.append(" ".join(cell.text.split()))
        if any(cells):
            rows.append(_CELL_SEPARATOR.join(cells))
    return rows
