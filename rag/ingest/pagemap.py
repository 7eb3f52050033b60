"""Raw PDF lines → a document's PageMap: which page (and which PDF character) each character of the
cleaned text came from.

Reflow only joins lines and drops or inserts whitespace, and the structure step only moves a title
and a byline to the front, so every non-space character of a cleaned block is one of the non-space
characters of the raw lines it was made from, in order. Each block (and the title and byline) is
matched to its own raw lines that way; a character the match cannot place (a "作者：" label dropped
from a byline) is skipped, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rag.types import PageMap

Origin = tuple[int, int]  # (page, 1-based; pdfium character index on that page)


@dataclass
class LineOrigins:
    """What a PDF reader knows about the lines it hands to the structure step."""

    file: str
    sha256: str
    page_count: int
    lines: list[str]
    chars: list[list[Origin | None]] = field(default_factory=list)  # per line, per character


@dataclass
class Piece:
    """A stretch of ``Document.text`` and the raw lines (indices into ``LineOrigins.lines``) it came from."""

    start: int
    text: str
    lines: list[int]


def build_page_map(pieces: list[Piece], origins: LineOrigins) -> PageMap:
    """The document's PageMap from its pieces (title, byline, blocks) and the lines' origins."""
    placed: list[tuple[int, int, int]] = []  # (document offset, page, character index)
    for piece in pieces:
        placed.extend(_match(piece, origins))
    placed.sort()
    return PageMap(file=origins.file, sha256=origins.sha256, page_count=origins.page_count,
                   runs=_runs(placed))


def _match(piece: Piece, origins: LineOrigins) -> list[tuple[int, int, int]]:
    """Each non-space character of the piece, paired with the next equal raw character."""
    raw = [(ch, origin) for index in piece.lines
           for ch, origin in zip(origins.lines[index], origins.chars[index], strict=True)
           if origin is not None and not ch.isspace()]
    placed, position = [], 0
    for offset, ch in enumerate(piece.text):
        if ch.isspace():
            continue
        found = next((i for i in range(position, len(raw)) if raw[i][0] == ch), None)
        if found is None:
            continue
        page, char = raw[found][1]
        placed.append((piece.start + offset, page, char))
        position = found + 1
    return placed


def _runs(placed: list[tuple[int, int, int]]) -> list[list[int]]:
    """Compress (offset, page, char) triples into runs where both sides advance together."""
    runs: list[list[int]] = []
    for offset, page, char in placed:
        last = runs[-1] if runs else None
        if last and last[1] == offset and last[2] == page and last[4] == char:
            last[1], last[4] = offset + 1, char + 1
        else:
            runs.append([offset, offset + 1, page, char, char + 1])
    return runs
