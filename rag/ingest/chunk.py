"""Paragraphs → chunks and sentences, every one with character offsets into ``Document.text``.

A chunk is one paragraph, so a citation points at a place a reader can find; a paragraph longer than
``MAX_CHUNK_CHARS`` is cut into near-equal parts at sentence ends, never inside a sentence.
"""

from __future__ import annotations

import math
import re

from rag.types import Chunk, Document, Span

MAX_CHUNK_CHARS = 400

# 。！？； (and a closing quote or bracket after them) end a Chinese sentence wherever they stand;
# . ! ? end an English one only before a space or the end, so 3.5 and e.g.5 stay whole.
_SENTENCE_END = re.compile(r"[。！？；]+[”’」』）)】\"']*|[.!?]+[\"'”’)\]]*(?=\s|$)")


def split_sentences(text: str, offset: int = 0) -> list[Span]:
    """Sentence spans of ``text`` (shifted by ``offset``), trimmed of surrounding whitespace."""
    spans: list[Span] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        _add_trimmed(spans, text, start, match.end(), offset)
        start = match.end()
    _add_trimmed(spans, text, start, len(text), offset)
    return spans


def _add_trimmed(spans: list[Span], text: str, start: int, end: int, offset: int) -> None:
    piece = text[start:end]
    if piece.strip():
        lead = len(piece) - len(piece.lstrip())
        trail = len(piece) - len(piece.rstrip())
        spans.append(Span(offset + start + lead, offset + end - trail))


def chunk_document(document: Document, paragraphs: list[tuple[int, int]]) -> list[Chunk]:
    """One chunk per paragraph ``(start, end)`` of ``document.text``, long ones split at sentences."""
    chunks: list[Chunk] = []
    for number, (start, end) in enumerate(paragraphs, start=1):
        sentences = split_sentences(document.text[start:end], start)
        parts = split_long(sentences)
        for part_number, part in enumerate(parts, start=1):
            suffix = f".{part_number}" if len(parts) > 1 else ""
            chunks.append(_chunk(document, f"{document.doc_id}#p{number}{suffix}", number, part))
    return chunks


def split_long(sentences: list[Span], limit: int = MAX_CHUNK_CHARS) -> list[list[Span]]:
    """Group sentences into about-equal parts, as few as ``limit`` allows (one sentence never splits)."""
    if not sentences:
        return []
    count = math.ceil((sentences[-1].end - sentences[0].start) / limit)
    target = (sentences[-1].end - sentences[0].start) / count
    parts: list[list[Span]] = [[]]
    for sentence in sentences:
        current = parts[-1]
        if current and _should_cut(current, sentence, target, limit, len(parts) < count):
            parts.append([])
        parts[-1].append(sentence)
    return parts


def _should_cut(part: list[Span], sentence: Span, target: float, limit: int, parts_left: bool) -> bool:
    """Cut before ``sentence`` when it would overflow, or when leaving it out is closer to the target."""
    without, with_it = part[-1].end - part[0].start, sentence.end - part[0].start
    return with_it > limit or (parts_left and abs(with_it - target) > abs(without - target))


def _chunk(document: Document, chunk_id: str, paragraph: int, sentences: list[Span]) -> Chunk:
    start, end = sentences[0].start, sentences[-1].end
    return Chunk(chunk_id=chunk_id, doc_id=document.doc_id, source=document.source,
                 title=document.title, author=document.author,
                 section=document.section_path_at(start), paragraph=paragraph,
                 text=document.text[start:end], start=start, end=end, sentences=list(sentences),
                 page=document.page_span(start, end)[0])
