"""HTML for the web page, built from a Response and the corpus.

Every piece of text that comes from the corpus or the user goes through ``html.escape`` before it
is joined with markup, so a document can never inject HTML or script into the page: the functions
here build HTML only from escaped pieces and fixed tags.
"""

from __future__ import annotations

from html import escape

from rag.render import citation_line
from rag.types import Answer, Document, Passage, Response, SectionNode


def _esc(text: str) -> str:
    return escape(text, quote=True)


def mark_ranges(text: str, ranges: list[tuple[int, int]], css_class: str) -> str:
    """``text`` escaped, with each (merged) range wrapped in ``<mark class=css_class>``."""
    merged: list[list[int]] = []
    for start, end in sorted((max(0, a), min(len(text), b)) for a, b in ranges):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out: list[str] = []
    position = 0
    for start, end in merged:
        out.append(_esc(text[position:start]))
        out.append(f'<mark class="{css_class}">{_esc(text[start:end])}</mark>')
        position = end
    out.append(_esc(text[position:]))
    return "".join(out)


def keyword_ranges(text: str, keywords: list[str]) -> list[tuple[int, int]]:
    """Every occurrence of every keyword in ``text`` (case-insensitive substring search)."""
    haystack = text.lower()
    if len(haystack) != len(text):  # a rare case mapping that changes length: match exactly instead
        haystack = text
    ranges: list[tuple[int, int]] = []
    for word in {w.lower() for w in keywords if w.strip()}:
        position = haystack.find(word)
        while position != -1:
            ranges.append((position, position + len(word)))
            position = haystack.find(word, position + len(word))
    return ranges


def highlight_keywords(text: str, keywords: list[str]) -> str:
    return mark_ranges(text, keyword_ranges(text, keywords), "kw")


def citation_html(title: str, author: str, section: list[str], paragraph: int, page: int | None = None,
                  pages: list[int] | None = None) -> str:
    return f'<div class="cite">{_esc(citation_line(title, author, section, paragraph, page, pages))}</div>'


def render_answer(response: Response) -> str:
    """The answer card: the quoted sentence with its key span, and where it comes from; or a plain
    "not found" when the assistant abstains."""
    if response.abstained or response.answer is None:
        reason = response.message or "the documents do not answer this question"
        return (
            '<div class="card abstain">'
            '<div class="card-label">未找到答案 · Not found in the documents</div>'
            f'<p class="abstain-text">文档中没有可靠的答案。{_esc(reason[:1].upper() + reason[1:])}.</p>'
            '<p class="abstain-hint">下面是最接近的段落，仅供参考（弱匹配）。'
            'The closest passages are listed below as weak matches.</p>'
            "</div>"
        )
    return _answer_card(response.answer)


def _answer_card(answer: Answer) -> str:
    text = answer.text
    spans = [tuple(answer.span)] if answer.span is not None else []
    quote = mark_ranges(text, spans, "key")
    c = answer.citation
    return (
        '<div class="card answer">'
        '<div class="card-label">答案 · Answer</div>'
        f'<blockquote class="quote">“{quote}”</blockquote>'
        f"{citation_html(c.title, c.author, c.section, c.paragraph, c.page, c.pages)}"
        f'<div class="meta">置信度 confidence {answer.score:.2f}</div>'
        "</div>"
    )


def render_error(message: str) -> str:
    return (
        '<div class="card error"><div class="card-label">问题无法处理 · Cannot ask this</div>'
        f"<p>{_esc(message)}</p></div>"
    )


def render_placeholder() -> str:
    return (
        '<div class="card placeholder"><p>输入问题，按回车。答案是文档中的原句，并注明出处。</p>'
        "<p>Type a question and press Enter. Every answer is a quotation from the documents, "
        "with its source.</p></div>"
    )


# ------------------------------------------------------------------ evidence


def innermost_section(nodes: list[SectionNode], offset: int) -> SectionNode | None:
    """The deepest section whose body contains ``offset`` (None in the introduction)."""
    found: SectionNode | None = None
    while True:
        inside = [n for n in nodes if n.start <= offset < n.end]
        if not inside:
            return found
        found = inside[0]
        nodes = found.children


def context_range(document: Document, start: int, end: int) -> tuple[int, int, str]:
    """The span of the section around ``[start, end)`` and its heading ("" in the introduction)."""
    node = innermost_section(document.sections, start)
    if node is not None:
        return node.start, max(node.end, end), node.heading
    # Outside every section (the introduction): from the end of the previous section to the next heading.
    begin = max((n.end for n in document.sections if n.end <= start), default=0)
    stop = min((_heading_start(document.text, n) for n in document.sections if n.start >= end),
               default=len(document.text))
    return begin, max(stop, end), ""


def _heading_start(text: str, node: SectionNode) -> int:
    found = text.rfind(node.heading, 0, node.start)
    return found if found != -1 else node.start


def render_context(document: Document, passage: Passage) -> str:
    """The whole section around a passage, the passage itself marked."""
    start, end, heading = context_range(document, passage.start, passage.end)
    if heading:  # the heading is shown above the body: do not repeat it when the span includes it
        found = document.text.find(heading, start, passage.start)
        if found != -1 and not document.text[start:found].strip():
            start = found + len(heading)
            start += len(document.text[start:passage.start]) - len(document.text[start:passage.start].lstrip())
    body = document.text[start:end]
    marked = mark_ranges(body, [(passage.start - start, passage.end - start)], "here")
    title = heading or "引言 Introduction"
    return (
        "<details class=\"context\"><summary>在上下文中阅读 · Read in context</summary>"
        f'<div class="context-head">《{_esc(document.title)}》 › {_esc(title)}</div>'
        f'<div class="context-body">{marked}</div></details>'
    )


def render_passage(passage: Passage, keywords: list[str], document: Document | None, weak: bool) -> str:
    scores = [f"score {passage.score:.3f}"]
    if passage.bm25_score is not None:
        scores.append(f"bm25 {passage.bm25_score:.2f}")
    if passage.dense_score is not None:
        scores.append(f"dense {passage.dense_score:.3f}")
    badge = '<span class="weak">弱匹配 weak</span>' if weak else ""
    context = render_context(document, passage) if document is not None else ""
    return (
        f'<div class="passage{" is-weak" if weak else ""}">'
        f'<div class="passage-head"><span class="rank">{passage.rank}</span>'
        f"{citation_html(passage.title, passage.author, passage.section, passage.paragraph, passage.page)}"
        f'{badge}<span class="score">{_esc(" · ".join(scores))}</span></div>'
        f'<div class="passage-text">{highlight_keywords(passage.text, keywords)}</div>'
        f"{context}</div>"
    )


def render_evidence(response: Response, keywords: list[str], documents: dict[str, Document]) -> str:
    """The retrieved passages, best first, with the question's keywords highlighted."""
    if not response.passages:
        return '<div class="evidence"><p class="empty">没有找到相关段落。No passages found.</p></div>'
    title = "最接近的段落 · Closest passages" if response.abstained else "证据 · Evidence"
    items = "".join(render_passage(p, keywords, documents.get(p.doc_id), response.abstained)
                    for p in response.passages)
    return f'<div class="evidence"><h3>{title}</h3>{items}</div>'


# ------------------------------------------------------------------ corpus


def _toc(nodes: list[SectionNode]) -> str:
    if not nodes:
        return ""
    items = "".join(f"<li>{_esc(n.heading)}{_toc(n.children)}</li>" for n in nodes)
    return f"<ul>{items}</ul>"


def render_corpus(documents: list[Document]) -> str:
    """The documents with title, author and their table of contents."""
    rows = []
    for doc in documents:
        who = " · ".join(x for x in (doc.author, doc.affiliation) if x)
        rows.append(
            '<details class="doc"><summary>'
            f'<span class="doc-title">《{_esc(doc.title or "(untitled)")}》</span>'
            f'<span class="doc-author">{_esc(who)}</span>'
            f'<span class="doc-meta">{len(doc.chunks)} 段 paragraphs</span></summary>'
            f'<div class="toc">{_toc(doc.sections) or "<p>(no sections)</p>"}</div></details>'
        )
    return f'<div class="corpus">{"".join(rows)}</div>'


def document_choice(doc: Document) -> tuple[str, str]:
    """(label, value) for the essay filter."""
    label = f"《{doc.title or doc.doc_id}》" + (f" · {doc.author}" if doc.author else "")
    return label, doc.doc_id
