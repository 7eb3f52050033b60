"""Questions about the documents themselves — who wrote X, what is Y's essay called, what does
section N of an essay cover — answered from the recovered structure, not from body text.

The answer is still a quotation: the title line, the byline or the heading line of the document's
cleaned text, with the asked-for part (the name, the title, the heading) as the key span.
"""

from __future__ import annotations

import re

from rag.textproc import fold, keywords
from rag.types import Answer, Citation, Document, SectionNode

# "Who wrote it", not any sentence with 作者 in it (作者为什么认为… asks the essay, not its byline),
# nor any 由谁 (改造由谁负责 asks the text: only 由谁撰写/执笔/所写… ask for the author).
_AUTHOR_Q = re.compile(r"谁写|谁撰写|谁执笔|由谁(?:来)?(?:撰写|执笔|所写|创作|起草|编写)|作者是|作者叫|作者为(?!什么|何)|作者姓|作者的名字|撰写人|执笔人|署名|"
                       r"(?:的|篇|文章)作者[？?]?$|^作者[？?]?$|"
                       r"\bwho (wrote|authored|is the author)|\b(the )?author( of| is|\?|$)|\bwritten by\b", re.I)
_TITLE_Q = re.compile(r"题目|标题|题为|篇名|叫什么|名称|\btitle\b|\bcalled\b|\bentitled\b", re.I)
_AFFILIATION_Q = re.compile(r"单位|哪里工作|在哪工作|任职|就职|\baffiliat|\bwork (for|at)\b|\binstitution\b", re.I)
_PART_Q = re.compile(r"第\s*([一二三四五六七八九十\d]+)\s*(?:部分|节|章|个标题|个小标题|点)|"
                     r"\b(?:section|part|chapter)\s+(\d+|one|two|three|four|five|six)\b|"
                     r"\b(first|second|third|fourth|fifth|sixth)\s+(?:section|part|chapter)\b", re.I)
_NAMED_WORK_RE = re.compile(r"《[^》]+》")
_NUMBERS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10,
            "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
            "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6}


def is_structure_question(question: str) -> bool:
    return bool(_AUTHOR_Q.search(question) or _TITLE_Q.search(question) or _AFFILIATION_Q.search(question)
                or _PART_Q.search(question))


class _TitleWords:
    """Each document's title keywords, and which documents' titles hold each word: a question is
    checked against the titles that share a word with it, not against every title (segmenting 60k
    titles took ~1.7 s per question that asks 由谁/叫什么 at 100k chunks)."""

    def __init__(self, documents: list[Document]):
        self.documents, self.count = documents, len(documents)
        by_title: dict[str, frozenset[str]] = {}  # titles repeat (copies, versions): segment each once
        for d in documents:
            if d.title not in by_title:
                by_title[d.title] = frozenset(keywords(d.title))
        self.words = [by_title[d.title] for d in documents]
        self.rows_of: dict[str, list[int]] = {}
        for row, words in enumerate(self.words):
            for word in words:
                self.rows_of.setdefault(word, []).append(row)
        self.longest = max(map(len, self.rows_of), default=0)

    def rows_sharing_a_word(self, folded: str) -> list[int]:
        """Rows of the documents whose title has a word that occurs in ``folded``, in order."""
        found = {folded[i:j] for i in range(len(folded)) for j in range(i + 1, min(i + self.longest, len(folded)) + 1)}
        return sorted({row for word in found & self.rows_of.keys() for row in self.rows_of[word]})


_titles: _TitleWords | None = None  # of the last document list asked about (one corpus per process)


def _title_words(documents: list[Document]) -> _TitleWords:
    global _titles
    titles = _titles
    if titles is None or titles.documents is not documents or titles.count != len(documents):
        titles = _titles = _TitleWords(documents)
    return titles


def named_document(question: str, documents: list[Document]) -> Document | None:
    """The document a question names by its author or (most of) its title, if any."""
    by_author = [d for d in documents if d.author and d.author in question]
    if len(by_author) == 1:
        return by_author[0]
    folded = fold(question)
    titles = _title_words(documents)
    best, best_share = None, 0.0
    for row in titles.rows_sharing_a_word(folded):  # a title without a word in the question shares 0
        doc, words = documents[row], titles.words[row]
        share = sum(len(w) for w in words if w in folded) / sum(len(w) for w in words)
        if share > best_share:
            best, best_share = doc, share
    return best if best_share >= 0.5 else None


def answer_about(question: str, documents: list[Document], fallback: Document | None) -> Answer | None:
    """An answer from the structure, or None when the question is not about the documents."""
    if not is_structure_question(question):
        return None
    doc = named_document(question, documents)
    part = _part_number(question)
    if part is not None and doc is not None:
        return _heading_answer(doc, part)
    if _AFFILIATION_Q.search(question) and doc is not None and doc.affiliation:
        return _byline_answer(doc, doc.affiliation)
    if _AUTHOR_Q.search(question):
        if doc is None and _NAMED_WORK_RE.search(question):
            return None  # who wrote 《红楼梦》: a work that is not among the documents
        target = doc or fallback
        if target is not None and target.author:
            return _byline_answer(target, target.author)
    if _TITLE_Q.search(question) and doc is not None and doc.author and doc.author in question:
        return _title_answer(doc)
    return None


def _part_number(question: str) -> int | None:
    match = _PART_Q.search(question)
    if not match:
        return None
    token = next(g for g in match.groups() if g)
    return int(token) if token.isdigit() else _NUMBERS.get(token.lower())


def _citation(doc: Document, start: int, end: int, section: list[str], paragraph: int = 0) -> Citation:
    return Citation(doc.doc_id, doc.source, doc.title, doc.author, section, paragraph, start, end,
                    *doc.page_span(start, end))


def _quote(doc: Document, start: int, end: int, key: str, section: list[str]) -> Answer:
    text = doc.text[start:end]
    at = text.find(key)
    span = (at, at + len(key)) if at >= 0 else None
    return Answer(text, span, 1.0, _citation(doc, start, end, section), sentences=[[start, end]])


def _line_at(doc: Document, offset: int) -> tuple[int, int]:
    start = doc.text.rfind("\n", 0, offset) + 1
    end = doc.text.find("\n", offset)
    return start, len(doc.text) if end < 0 else end


def _title_answer(doc: Document) -> Answer | None:
    at = doc.text.find(doc.title)
    if at < 0:
        return None
    return _quote(doc, at, at + len(doc.title), doc.title, [])


def _byline_answer(doc: Document, key: str) -> Answer | None:
    at = doc.text.find(key)
    if at < 0:
        return None
    start, end = _line_at(doc, at)
    return _quote(doc, start, end, key, [])


def _heading_answer(doc: Document, number: int) -> Answer | None:
    top_level: list[SectionNode] = doc.sections
    if not 1 <= number <= len(top_level):
        return None
    node = top_level[number - 1]
    start, end = _line_at(doc, node.start)
    return _quote(doc, start, end, node.heading, [node.heading])
