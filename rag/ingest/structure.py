"""Clean text → documents: where each essay starts and ends, its title, author and section tree.

A newspaper page of essays prints each essay's byline and title *after* its body (``…正文。`` /
``中共营口市委党校 郭美辰`` / ``深入学习…重要讲话精神`` / ``提升社会治理水平``); ordinary files print
them before it. Both layouts are recognised from the byline, a short unpunctuated
``<organisation> <name>`` line. A file without a byline is one document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from rag.ingest.chunk import chunk_document
from rag.ingest.pagemap import LineOrigins, Piece, build_page_map
from rag.ingest.reflow import (
    HEADING_ORDER,
    Block,
    collapse_spaces,
    column_width,
    heading_kind,
    reflow,
    width,
)
from rag.types import Document, SectionNode

_ORGANISATION = (r"党校|大学|学院|学校|研究院|研究所|研究中心|中心|委员会|政府|办公室|局|厅|委|部|报社|日报|"
                 r"公司|协会|学会|医院|馆")
_BYLINE = re.compile(rf"(?P<affiliation>[\u4e00-\u9fff（）()]{{2,30}}?(?:{_ORGANISATION}))\s+"
                     r"(?P<author>[\u4e00-\u9fff·]{2,4}(?:[ 、][\u4e00-\u9fff·]{2,4})*)")
_AUTHOR_ONLY = re.compile(r"(?:作者|撰稿|文)\s*[：:/／]\s*(?P<author>\S.{0,30})")
_NOT_IN_TITLE = re.compile(r"[。！？；，,;!?]")
_MAX_TITLE_LINES = 2
_MAX_TITLE_WIDTH = 40
_MIN_SENTENCE_WORDS = 4
_TITLE_LINE_RATIO = 0.75  # in hard-wrapped text a title line is shorter than the column
_MARKDOWN_SUFFIXES = (".md", ".markdown")


@dataclass
class RawDocument:
    """The raw lines of one document and its byline and title, before reflowing."""

    body: list[str]
    title: str = ""
    author: str = ""
    affiliation: str = ""
    blocks: list[Block] = field(default_factory=list)
    # Where its parts stand among the file's lines (for PDF page maps): the title's lines, the
    # byline's, and the index of the first line handed to reflow (block line numbers count from it).
    title_lines: list[int] = field(default_factory=list)
    byline_line: int | None = None
    block_offset: int = 0


def parse_text(text: str, source: str, doc_id_base: str, origins: LineOrigins | None = None,
               ) -> list[Document]:
    """The documents of one file's text: ``doc_id_base`` alone, or ``#1``, ``#2``… for several.

    ``origins`` (a PDF's lines, which ``text`` joins) gives each document its page map."""
    markdown = source.lower().endswith(_MARKDOWN_SUFFIXES)
    raws = split_documents(text.split("\n"))
    fallback_title = Path(source).stem
    documents = []
    for number, raw in enumerate(raws, start=1):
        raw.blocks = reflow(raw.body, markdown)
        if not raw.title:
            raw.title = _title_from_blocks(raw) if markdown else _title_from_first_line(raw)
        doc_id = doc_id_base if len(raws) == 1 else f"{doc_id_base}#{number}"
        documents.append(build_document(raw, doc_id, source, raw.title or fallback_title, origins))
    return documents


@dataclass
class Styled:
    """A paragraph of a file that marks its structure itself (Word styles, HTML tags)."""

    text: str
    kind: str = "body"  # "title", "heading" or "body"
    level: int = 0  # for a heading: 1 is the outermost (Heading 1, <h1>)


def parse_styled(paragraphs: list[Styled], source: str, doc_id_base: str) -> list[Document]:
    """The documents of a file whose styles give the structure: a Title starts a document (a byline
    paragraph right after it gives the author), Heading N paragraphs make the section tree.

    A file without any title or heading style is read like a text file, one paragraph per line."""
    paragraphs = [Styled(collapse_spaces(p.text), p.kind, p.level) for p in paragraphs if p.text.strip()]
    if all(p.kind == "body" for p in paragraphs):
        return parse_text("\n".join(p.text for p in paragraphs), source, doc_id_base)
    groups: list[list[Styled]] = [[]]
    for paragraph in paragraphs:
        if paragraph.kind == "title" and any(p.kind != "title" for p in groups[-1]):
            groups.append([])
        groups[-1].append(paragraph)
    raws = [_styled_document(group) for group in groups if any(p.kind != "title" for p in group)]
    documents = []
    for number, raw in enumerate(raws, start=1):
        if not raw.title:
            raw.title = _title_from_blocks(raw)
        doc_id = doc_id_base if len(raws) == 1 else f"{doc_id_base}#{number}"
        documents.append(build_document(raw, doc_id, source, raw.title or Path(source).stem))
    return documents


def _styled_document(group: list[Styled]) -> RawDocument:
    """Title paragraphs (joined by a space), a byline among the first two paragraphs, then blocks."""
    title = " ".join(p.text for p in group if p.kind == "title")
    rest = [p for p in group if p.kind != "title"]
    raw = RawDocument([], title)
    for position, paragraph in enumerate(rest[:2]):
        if paragraph.kind == "body" and (byline := _byline(paragraph.text)):
            raw.affiliation, raw.author = byline
            del rest[position]
            break
    raw.blocks = [Block(p.text, f"md{min(max(p.level, 1), 6)}" if p.kind == "heading" else None) for p in rest]
    return raw


def split_documents(lines: list[str]) -> list[RawDocument]:
    """Cut a file at its bylines; each byline takes the title lines next to it."""
    bylines = [i for i, line in enumerate(lines) if _byline(line)]
    if not bylines:
        return [RawDocument(lines)]  # body, title lines and blocks count from line 0
    if _titles_come_first(lines, bylines[0]):
        return _split_title_first(lines, bylines)
    return _split_title_last(lines, bylines)


def _byline(line: str) -> tuple[str, str] | None:
    """(affiliation, author) of a byline, or None."""
    line = line.strip()
    if match := _BYLINE.fullmatch(line):
        return match["affiliation"], " ".join(match["author"].split())
    if match := _AUTHOR_ONLY.fullmatch(line):
        return "", match["author"].strip()
    return None


def _is_title_line(line: str) -> bool:
    line = line.strip()
    return (bool(line) and not _NOT_IN_TITLE.search(line) and width(line) <= _MAX_TITLE_WIDTH
            and heading_kind(line) is None and _byline(line) is None and not _is_latin_sentence(line))


def _is_latin_sentence(line: str) -> bool:
    """"It was begun in 1892." is a sentence, not a title: several words ending in a full stop after
    a word that is not capitalised (a title may end in an abbreviation: "The Bridge of Apple Inc.")."""
    words = line.split()
    return line.endswith(".") and len(words) >= _MIN_SENTENCE_WORDS and not words[-1][:1].isupper()


def _titles_come_first(lines: list[str], first_byline: int) -> bool:
    """Title-then-byline layout: only a title stands before the first byline."""
    before = [line for line in lines[:first_byline] if line.strip()]
    return 0 < len(before) <= _MAX_TITLE_LINES and all(_is_title_line(line) for line in before)


def _split_title_last(lines: list[str], bylines: list[int]) -> list[RawDocument]:
    """Body, byline, title, next body…: text after the last title is a document without a byline."""
    documents, start = [], 0
    for index in bylines:
        title_at, end = _title_after(lines, index + 1)
        affiliation, author = _byline(lines[index]) or ("", "")
        documents.append(RawDocument(lines[start:index], _join_title([lines[i] for i in title_at]), author,
                                     affiliation, title_lines=title_at, byline_line=index, block_offset=start))
        start = end
    if any(line.strip() for line in lines[start:]):
        documents.append(RawDocument(lines[start:], block_offset=start))
    return [doc for doc in documents if any(line.strip() for line in doc.body)]


def _split_title_first(lines: list[str], bylines: list[int]) -> list[RawDocument]:
    """Title, byline, body, next title…: each body runs up to the next document's title."""
    title_starts = [_title_before(lines, index) for index in bylines]
    ends = title_starts[1:] + [len(lines)]
    documents = []
    for index, title_start, end in zip(bylines, title_starts, ends, strict=True):
        affiliation, author = _byline(lines[index]) or ("", "")
        title_at = [i for i in range(title_start, index) if lines[i].strip()]
        documents.append(RawDocument(lines[index + 1:end], _join_title([lines[i] for i in title_at]), author,
                                     affiliation, title_lines=title_at, byline_line=index,
                                     block_offset=index + 1))
    return documents


def _title_after(lines: list[str], index: int) -> tuple[list[int], int]:
    """The title lines (indices) following a byline (blank lines between allowed) and where they end."""
    while index < len(lines) and not lines[index].strip():
        index += 1
    title: list[int] = []
    while index < len(lines) and len(title) < _MAX_TITLE_LINES and _is_title_line(lines[index]):
        title.append(index)
        index += 1
    return title, index


def _title_before(lines: list[str], byline: int) -> int:
    """Where the title lines just above a byline start."""
    index = byline
    while index > 0 and not lines[index - 1].strip():
        index -= 1
    count = 0
    while index > 0 and count < _MAX_TITLE_LINES and _is_title_line(lines[index - 1]):
        index, count = index - 1, count + 1
    return index


def _join_title(lines: list[str]) -> str:
    """Title lines (a title and its second line) joined by one space, inner spacing kept."""
    return " ".join(" ".join(line.split()) for line in lines)


def _title_from_blocks(raw: RawDocument) -> str:
    """A Markdown file's title is its first heading when that is the only top-level one."""
    headings = [block for block in raw.blocks if block.heading_kind]
    if not headings or raw.blocks[0] is not headings[0]:
        return ""
    top = min(block.heading_kind for block in headings)
    if headings[0].heading_kind != top or sum(block.heading_kind == top for block in headings) > 1:
        return ""
    raw.blocks.pop(0)
    return headings[0].text


def _title_from_first_line(raw: RawDocument) -> str:
    """A plain file's title is a short unpunctuated first line standing alone above the text."""
    lines = raw.body
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None or first + 2 >= len(lines) or lines[first + 1].strip():
        return ""
    candidate = lines[first]
    column = column_width([line.strip() for line in lines])
    if not _is_title_line(candidate) or (column and width(candidate) > _TITLE_LINE_RATIO * column):
        return ""
    if not any(line.strip() for line in lines[first + 1:]):
        return ""
    raw.blocks = reflow(lines[first + 1:], markdown=False)
    raw.title_lines = [raw.block_offset + first]
    raw.block_offset += first + 1
    return " ".join(candidate.split())


def build_document(raw: RawDocument, doc_id: str, source: str, title: str,
                   origins: LineOrigins | None = None) -> Document:
    """Lay the blocks out as the document's text (one per line), then its sections and chunks.

    The title and byline found in the file open the text, so that an answer about the document
    itself (its author, its title) is a quotation with offsets like any other."""
    header = [(line, lines) for line, lines in ((raw.title, raw.title_lines),
              (" ".join(filter(None, [raw.affiliation, raw.author])),
               [] if raw.byline_line is None else [raw.byline_line])) if line]
    offsets, text = _layout([line for line, _ in header] + [block.text for block in raw.blocks])
    document = Document(doc_id=doc_id, source=source, title=title, author=raw.author,
                        affiliation=raw.affiliation, text=text)
    if origins is not None:
        pieces = [Piece(start, line, lines) for start, (line, lines) in zip(offsets, header, strict=False)]
        pieces += [Piece(start, block.text, [raw.block_offset + i for i in block.lines])
                   for start, block in zip(offsets[len(header):], raw.blocks, strict=True)]
        document.page_map = build_page_map(pieces, origins)
    offsets = offsets[len(header):]
    headings = [(block, start) for block, start in zip(raw.blocks, offsets, strict=True) if block.heading_kind]
    document.sections = section_tree(headings, text)
    paragraphs = [(start, start + len(block.text))
                  for block, start in zip(raw.blocks, offsets, strict=True) if not block.heading_kind]
    document.chunks = chunk_document(document, paragraphs)
    return document


def _layout(lines: list[str]) -> tuple[list[int], str]:
    offsets, position = [], 0
    for line in lines:
        offsets.append(position)
        position += len(line) + 1
    return offsets, "\n".join(lines)


def section_tree(headings: list[tuple[Block, int]], text: str) -> list[SectionNode]:
    """Nest headings by level; a section runs to the next heading of the same or a higher level."""
    levels = _levels([block.heading_kind for block, _ in headings])
    roots: list[SectionNode] = []
    stack: list[SectionNode] = []
    for (block, start), level in zip(headings, levels, strict=True):
        while stack and stack[-1].level >= level:
            stack.pop().end = _line_end_before(text, start)
        node = SectionNode(block.text, level, start, len(text))
        (stack[-1].children if stack else roots).append(node)
        stack.append(node)
    return roots


def _line_end_before(text: str, start: int) -> int:
    """The end of the text before ``start``, without the newline that separates them."""
    return start - 1 if start > 0 and text[start - 1] == "\n" else start


def _levels(kinds: list[str]) -> list[int]:
    """1 for the outermost kind of heading a document uses, 2 for the next, and so on."""
    order = sorted(set(kinds), key=_kind_rank)
    return [order.index(kind) + 1 for kind in kinds]


def _kind_rank(kind: str) -> int:
    return int(kind[2:]) if kind.startswith("md") else HEADING_ORDER.index(kind)
