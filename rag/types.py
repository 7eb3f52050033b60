"""The typed records that flow through the pipeline: seeds → documents/chunks → passages → answer.

Every offset is a character offset into ``Document.text`` (the document's cleaned text), so a
quotation can always be checked as ``doc.text[start:end]``.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Span:
    """A half-open character range ``[start, end)`` into a document's cleaned text."""

    start: int
    end: int


@dataclass
class SectionNode:
    """A heading and what it covers: ``[start, end)`` spans the heading's body in ``Document.text``."""

    heading: str
    level: int  # 1 for 一、… (or Markdown #), 2 for （一）… (or ##), and so on
    start: int
    end: int
    children: list[SectionNode] = field(default_factory=list)


@dataclass
class Chunk:
    """One paragraph (or a sentence-aligned piece of a long one): the unit of retrieval."""

    chunk_id: str  # stable: f"{doc_id}#p{paragraph}" (+ f".{part}" when a paragraph is split)
    doc_id: str
    source: str  # the file it came from, as given (relative to the corpus root when possible)
    title: str
    author: str
    section: list[str]  # heading path, outermost first; [] for the introduction
    paragraph: int  # 1-based paragraph number within the document
    text: str  # == document.text[start:end]
    start: int
    end: int
    sentences: list[Span] = field(default_factory=list)  # document offsets, in order
    page: int | None = None  # the PDF page the chunk starts on (1-based); None for other files


@dataclass
class PageMap:
    """Where a PDF document's characters stand in the file: ``runs`` tie ranges of ``Document.text``
    to pdfium character indices on a page, so a quote maps to its pages and to its boxes there.

    Each run is ``[doc_start, doc_end, page, char_start, char_end]`` (pages 1-based, ranges
    half-open); the two ranges have the same length except where one PDF character became several
    (a ligature). Whitespace is not mapped: it belongs to the run before it."""

    file: str  # the PDF's absolute path when it was read
    sha256: str  # of the file's bytes, so a page view can tell the file has changed since
    page_count: int
    runs: list[list[int]] = field(default_factory=list)

    def page_at(self, offset: int) -> int | None:
        """The page of the character at ``offset`` (of the character before it, for whitespace)."""
        if not self.runs:
            return None
        at = bisect_right(self.runs, offset, key=lambda run: run[0]) - 1
        return self.runs[max(at, 0)][2]

    def pages_in(self, start: int, end: int) -> list[int]:
        """The pages ``[start, end)`` covers, in page order."""
        pages = {run[2] for run in self._runs_in(start, end)}
        if not pages and (page := self.page_at(start)) is not None:
            pages.add(page)
        return sorted(pages)

    def chars_in(self, start: int, end: int) -> dict[int, list[int]]:
        """pdfium character indices of ``[start, end)``, by page."""
        chars: dict[int, list[int]] = {}
        for doc_start, doc_end, page, char_start, char_end in self._runs_in(start, end):
            if doc_end - doc_start == char_end - char_start:
                char_start, char_end = (char_start + max(start - doc_start, 0),
                                        char_end - max(doc_end - end, 0))
            chars.setdefault(page, []).extend(range(char_start, char_end))
        return chars

    def _runs_in(self, start: int, end: int) -> list[list[int]]:
        first = max(bisect_right(self.runs, start, key=lambda run: run[0]) - 1, 0)
        return [run for run in self.runs[first:bisect_left(self.runs, end, key=lambda run: run[0])]
                if run[1] > start]


@dataclass
class Document:
    doc_id: str
    source: str
    title: str
    author: str
    affiliation: str
    text: str  # the cleaned (reflowed) text: headings and paragraphs, one per line
    sections: list[SectionNode] = field(default_factory=list)
    chunks: list[Chunk] = field(default_factory=list)
    page_map: PageMap | None = None  # PDF documents only

    def page_span(self, start: int, end: int) -> tuple[int | None, list[int] | None]:
        """(page, pages) of ``[start, end)`` for a citation: the first page, and every page only
        when the range crosses a page break; (None, None) for a document without pages."""
        if self.page_map is None:
            return None, None
        pages = self.page_map.pages_in(start, end)
        if not pages:
            return None, None
        return pages[0], (pages if len(pages) > 1 else None)

    def section_path_at(self, offset: int) -> list[str]:
        """Headings (outermost first) of the section that contains ``offset``."""
        path: list[str] = []
        nodes = self.sections
        while True:
            inside = [n for n in nodes if n.start <= offset < n.end]
            if not inside:
                return path
            path.append(inside[0].heading)
            nodes = inside[0].children


@dataclass
class LoadProblem:
    """A file (or line) that could not be read, and why, in words a user can act on."""

    source: str
    message: str


@dataclass
class Corpus:
    documents: list[Document]
    problems: list[LoadProblem] = field(default_factory=list)

    def chunks(self) -> list[Chunk]:
        return [c for d in self.documents for c in d.chunks]

    def document(self, doc_id: str) -> Document:
        """The document with ``doc_id``: a question asks twice, and scanning the list cost ~3 ms at
        60k documents. The lookup table is made again whenever ``documents`` is another list or
        another length."""
        table = self.__dict__.get("_by_id")
        if table is None or table[0] is not self.documents or table[1] != len(self.documents):
            by_id: dict[str, Document] = {}
            for d in self.documents:
                by_id.setdefault(d.doc_id, d)
            table = self.__dict__["_by_id"] = (self.documents, len(self.documents), by_id)
        return table[2][doc_id]

    def get(self, doc_id: str) -> Document | None:
        """The document with ``doc_id``, or None when the corpus has none (removed meanwhile)."""
        try:
            return self.document(doc_id)
        except KeyError:
            return None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Corpus:
        """The inverse of ``to_dict``: how a built index restores its documents without re-ingesting."""
        return cls(
            documents=[_document_from_dict(d) for d in data["documents"]],
            problems=[LoadProblem(**p) for p in data.get("problems", [])],
        )


def _section_from_dict(data: dict) -> SectionNode:
    children = [_section_from_dict(c) for c in data.get("children", [])]
    return SectionNode(**{**data, "children": children})


def _document_from_dict(data: dict) -> Document:
    chunks = [Chunk(**{**c, "sentences": [Span(**s) for s in c["sentences"]]}) for c in data["chunks"]]
    sections = [_section_from_dict(s) for s in data["sections"]]
    page_map = PageMap(**data["page_map"]) if data.get("page_map") else None
    return Document(**{**data, "sections": sections, "chunks": chunks, "page_map": page_map})


@dataclass
class Citation:
    doc_id: str
    source: str
    title: str
    author: str
    section: list[str]
    paragraph: int
    start: int
    end: int
    page: int | None = None  # the PDF page the quote starts on (1-based)
    pages: list[int] | None = None  # every page, only when the quote crosses a page break


@dataclass
class Passage:
    """A retrieved chunk with its rank and fused score (plus the per-retriever evidence)."""

    rank: int
    chunk_id: str
    doc_id: str
    title: str
    author: str
    section: list[str]
    paragraph: int
    text: str
    score: float
    start: int = 0
    end: int = 0
    dense_score: float | None = None
    bm25_score: float | None = None
    page: int | None = None  # the PDF page the passage starts on


@dataclass
class Answer:
    text: str  # an exact slice of the cited document's text
    span: tuple[int, int] | None  # the key span, relative to ``text``
    score: float  # calibrated probability that the quote answers the question
    citation: Citation
    kind: str = "fact"  # "fact": one sentence and its key span; "passage": 1–4 sentences for how/why/list
    sentences: list[list[int]] | None = None  # document offsets [start, end] of each quoted sentence


@dataclass
class Response:
    """What one question gets: the `rag ask --json` object as a typed value."""

    question: str
    abstained: bool
    answer: Answer | None
    passages: list[Passage]
    timings_ms: dict[str, float]
    id: str | None = None
    message: str | None = None  # a user-facing note: why it abstained, or what was wrong
    #: When it abstains: the closest sentence, shown as "not an answer" (its score says how unlikely).
    nearest: Answer | None = None

    def to_dict(self) -> dict:
        data = asdict(self)
        for name in ("answer", "nearest"):
            value = getattr(self, name)
            if value is not None and value.span is not None:
                data[name]["span"] = list(value.span)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Response:
        """The inverse of ``to_dict``: a Response that came over HTTP from a running server."""
        answer = None
        if data.get("answer") is not None:
            raw = data["answer"]
            span = tuple(raw["span"]) if raw.get("span") is not None else None
            answer = Answer(text=raw["text"], span=span, score=raw["score"], citation=Citation(**raw["citation"]))
        return cls(question=data["question"], abstained=data["abstained"], answer=answer,
                   passages=[Passage(**p) for p in data["passages"]], timings_ms=data["timings_ms"],
                   id=data.get("id"), message=data.get("message"))
