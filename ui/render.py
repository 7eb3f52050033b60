"""HTML for the web page, built from a Response and the corpus.

Every piece of text that comes from the corpus or the user goes through ``html.escape`` before it
is joined with markup, so a document can never inject HTML or script into the page: the functions
here build HTML only from escaped pieces and fixed tags.
"""

from __future__ import annotations

from html import escape

from rag.library import Change
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


def mark_nested(text: str, spans: list[tuple[int, int, str]], keywords: list[str] = ()) -> str:
    """``text`` escaped, each of ``spans`` (start, end, class), each inside the one before it, wrapped
    in one ``<mark>``, and the keywords marked ``kw`` within: the passage, the quoted sentence(s) in
    it, the key span in them."""
    if not spans:
        return highlight_keywords(text, list(keywords))
    start, end, css_class = spans[0]
    start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
    if start >= end:
        return mark_nested(text, spans[1:], keywords)
    inner = [(a - start, b - start, c) for a, b, c in spans[1:]]
    return (highlight_keywords(text[:start], list(keywords))
            + f'<mark class="{css_class}">{mark_nested(text[start:end], inner, keywords)}</mark>'
            + highlight_keywords(text[end:], list(keywords)))


def quote_spans(answer: Answer | None, doc_id: str, offset: int) -> list[tuple[int, int, str]]:
    """Where the answer's quotation, and its key span, lie in a text that starts at document offset
    ``offset`` of ``doc_id``: [] when the answer is elsewhere. The whole quoted range is marked, so a
    fact (one sentence) and an answer passage (several) are marked alike."""
    if answer is None or answer.citation.doc_id != doc_id:
        return []
    c = answer.citation
    spans = [(c.start - offset, c.end - offset, "quote")]
    if answer.span is not None:
        spans.append((c.start + answer.span[0] - offset, c.start + answer.span[1] - offset, "key"))
    return spans


def citation_html(title: str, author: str, section: list[str], paragraph: int, page: int | None = None,
                  pages: list[int] | None = None) -> str:
    return f'<div class="cite">{_esc(citation_line(title, author, section, paragraph, page, pages))}</div>'


def render_answer(response: Response) -> str:
    """The answer card: the quoted sentence with its key span, and where it comes from; or a plain
    "not found" when the assistant abstains. The card carries the question (``data-q``), which the
    page puts in its URL."""
    data = f'data-q="{_esc(response.question)}"'
    if response.abstained or response.answer is None:
        reason = response.message or "the documents do not answer this question"
        return (
            f'<div class="card abstain" {data}>'
            '<div class="card-label">未找到答案 · Not found in the documents</div>'
            f'<p class="abstain-text">文档中没有可靠的答案。{_esc(reason[:1].upper() + reason[1:])}.</p>'
            f"{_nearest(response.nearest)}"
            '<p class="abstain-hint">下面是最接近的段落，仅供参考，都不是答案。'
            'The closest passages are listed below; none of them answers the question.</p>'
            "</div>"
        )
    return _answer_card(response.answer, data)


def _nearest(nearest: Answer | None) -> str:
    """The closest sentence of an abstention, shown for what it is: not an answer."""
    if nearest is None:
        return ""
    c = nearest.citation
    return (
        '<div class="nearest"><div class="nearest-label">最接近的句子（不是答案）· Closest sentence, not an answer '
        f'<span class="meta">置信度 confidence {nearest.score:.2f}</span></div>'
        f'<blockquote class="weak-quote">“{_esc(nearest.text)}”</blockquote>'
        f"{citation_html(c.title, c.author, c.section, c.paragraph, c.page, c.pages)}</div>"
    )


def citation_text(answer: Answer) -> str:
    """The answer as it is pasted elsewhere: the quotation, then 《title》 · author · section · paragraph."""
    c = answer.citation
    return f"“{answer.text}”\n—— {citation_line(c.title, c.author, c.section, c.paragraph)}"


def _answer_card(answer: Answer, data: str) -> str:
    text = answer.text
    spans = [tuple(answer.span)] if answer.span is not None else []
    quote = mark_ranges(text, spans, "key")
    c = answer.citation
    return (
        f'<div class="card answer" {data}>'
        f'<div class="card-label">{_answer_label(answer)}</div>'
        f'<blockquote class="quote">“{quote}”</blockquote>'
        f"{citation_html(c.title, c.author, c.section, c.paragraph, c.page, c.pages)}"
        '<div class="card-foot">'
        f'<span class="meta">置信度 confidence {answer.score:.2f}</span>'
        f'<button type="button" class="copy-cite" data-copy="{_esc(citation_text(answer))}">'
        "复制引文 · Copy citation</button></div>"
        "</div>"
    )


def _answer_label(answer: Answer) -> str:
    """A fact is one sentence; an answer passage (how/why/list questions) says how many it quotes."""
    if answer.kind == "passage":
        count = len(answer.sentences or []) or 1
        return f"答案段落 · Answer passage ({count} 句 sentence{'s' if count > 1 else ''})"
    return "答案 · Answer"


def _sentence_case(message: str) -> str:
    message = message.strip()
    message = message[:1].upper() + message[1:]
    return message if message.endswith((".", "?", "!", "。")) else message + "."


def render_error(message: str, zh: str | None = None, title: str = "问题无法处理 · Cannot ask this") -> str:
    """An error card: the message in Chinese (when known) and in English, each a sentence."""
    chinese = f'<p lang="zh">{_esc(zh)}</p>' if zh else ""
    return (
        f'<div class="card error"><div class="card-label">{_esc(title)}</div>'
        f'{chinese}<p lang="en">{_esc(_sentence_case(message))}</p></div>'
    )


def render_server_error() -> str:
    """What the page shows when answering failed for a reason that is not the user's: the previous
    answer is gone, so nothing on screen looks current when it is not."""
    return render_error("something went wrong on the server while answering; the previous answer "
                        "was cleared. Please try again", zh="服务器在作答时出错，先前的答案已清除。请再试一次。",
                        title="服务器出错 · Server error")


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


def render_context(document: Document, passage: Passage, answer: Answer | None = None) -> str:
    """The whole section around a passage, the passage itself marked, and in it the answer's
    quotation and key span when they are there (the page scrolls to them when it is opened)."""
    start, end, heading = context_range(document, passage.start, passage.end)
    if heading:  # the heading is shown above the body: do not repeat it when the span includes it
        found = document.text.find(heading, start, passage.start)
        if found != -1 and not document.text[start:found].strip():
            start = found + len(heading)
            start += len(document.text[start:passage.start]) - len(document.text[start:passage.start].lstrip())
    body = document.text[start:end]
    spans = [(passage.start - start, passage.end - start, "here"), *quote_spans(answer, document.doc_id, start)]
    marked = mark_nested(body, spans)
    title = heading or "引言 Introduction"
    return (
        "<details class=\"context\"><summary>在上下文中阅读 · Read in context</summary>"
        f'<div class="context-head">《{_esc(document.title)}》 › {_esc(title)}</div>'
        f'<div class="context-body">{marked}</div></details>'
    )


def render_passage(passage: Passage, keywords: list[str], document: Document | None, weak: bool,
                   answer: Answer | None = None) -> str:
    """One retrieved passage: its citation, scores, text (keywords marked, and the answer's quotation
    when it comes from this passage) and the section around it to read in context."""
    quote = [s for s in quote_spans(answer, passage.doc_id, passage.start)
             if s[0] < len(passage.text) and s[1] > 0]
    # The scores only rank the passages against each other; next to "weak" a 1.000 reads as a verdict.
    scores = [] if weak else [f"score {passage.score:.3f}"]
    if passage.bm25_score is not None and not weak:
        scores.append(f"bm25 {passage.bm25_score:.2f}")
    if passage.dense_score is not None and not weak:
        scores.append(f"dense {passage.dense_score:.3f}")
    badge = '<span class="weak">弱匹配 weak</span>' if weak else ""
    if quote:
        badge += '<span class="has-answer">答案出处 answer</span>'
    context = render_context(document, passage, answer if quote else None) if document is not None else ""
    return (
        f'<div class="passage{" is-weak" if weak else ""}{" has-quote" if quote else ""}">'
        f'<div class="passage-head"><span class="rank">{passage.rank}</span>'
        f"{citation_html(passage.title, passage.author, passage.section, passage.paragraph, passage.page)}"
        f'{badge}<span class="score">{_esc(" · ".join(scores))}</span></div>'
        f'<div class="passage-text">{mark_nested(passage.text, quote, keywords)}</div>'
        f"{context}</div>"
    )


def render_evidence(response: Response, keywords: list[str], documents: dict[str, Document]) -> str:
    """The retrieved passages, best first, with the question's keywords highlighted and the answer's
    quotation marked where it stands."""
    if not response.passages:
        return '<div class="evidence"><p class="empty">没有找到相关段落。No passages found.</p></div>'
    title = "最接近的段落 · Closest passages" if response.abstained else "证据 · Evidence"
    items = "".join(render_passage(p, keywords, documents.get(p.doc_id), response.abstained, response.answer)
                    for p in response.passages)
    return f'<div class="evidence"><h3>{title}</h3>{items}</div>'


# ------------------------------------------------------------------ corpus

#: Documents are shown in full in the corpus panel until their text adds up to this many characters
#: (the page carries them all, in its config too: 150,000 CJK characters are ~450 KB of its UTF-8,
#: under the 1 MB the page is kept to); later ones list their sections only.
READER_BUDGET_CHARS = 150_000


def _section_id(doc_index: int, node_index: int) -> str:
    return f"rag-doc{doc_index}-s{node_index}"


def _flatten(nodes: list[SectionNode]) -> list[SectionNode]:
    return [x for n in nodes for x in (n, *_flatten(n.children))]


def _toc(nodes: list[SectionNode], ids: dict[int, str]) -> str:
    if not nodes:
        return ""
    items = []
    for n in nodes:
        heading = _esc(n.heading)
        link = f'<a class="toc-link" href="#{ids[id(n)]}">{heading}</a>' if id(n) in ids else heading
        items.append(f"<li>{link}{_toc(n.children, ids)}</li>")
    return f"<ul>{''.join(items)}</ul>"


def render_reader(document: Document, ids: dict[int, str]) -> str:
    """The document to read: its paragraphs, with each section heading as a heading (anchored by
    ``ids``, so that the table of contents can jump to it). The title and byline are left out: the
    panel shows them above."""
    by_start = {_heading_start(document.text, n): n for n in _flatten(document.sections)}
    begin = document.chunks[0].start if document.chunks else 0
    begin = min([begin, *(start for start in by_start if start >= 0)])
    parts: list[str] = []
    position = begin
    for line in document.text[begin:].split("\n"):
        node = by_start.get(position)
        if node is not None and line.strip() == node.heading.strip():
            level = min(node.level, 3) + 3
            parts.append(f'<h{level} id="{ids[id(node)]}">{_esc(line)}</h{level}>')
        elif line.strip():
            parts.append(f"<p>{_esc(line)}</p>")
        position += len(line) + 1
    return f'<div class="reader">{"".join(parts)}</div>'


def document_extent(doc: Document) -> str:
    """How long a document is: its PDF pages when it has them, and its paragraphs."""
    paragraphs = f"{len(doc.chunks)} 段 paragraphs"
    if not (doc.page_map and doc.chunks):
        return paragraphs
    first, last = doc.chunks[0].page, doc.chunks[-1].page
    pages = f"p. {first}" if first == last else f"pp. {first}–{last}"
    return f"{pages} · {paragraphs}"


def render_corpus(documents: list[Document], removable: bool = False, total: int | None = None,
                  query: str = "") -> str:
    """The documents with title, author and extent; each opens to its table of contents (headings that
    jump to their section) and its text to read. ``removable``: each has a remove button (ui/page.js
    asks for a second click before it removes). ``documents`` may be a part of the corpus (the first
    ones, or the first that match ``query``) of ``total`` (that match): then a line above says so."""
    total = len(documents) if total is None else total
    rows = [_corpus_count(len(documents), total, query)] if query or total > len(documents) else []
    budget = READER_BUDGET_CHARS
    for i, doc in enumerate(documents):
        who = " · ".join(x for x in (doc.author, doc.affiliation) if x)
        readable = len(doc.text) <= budget
        budget -= len(doc.text) if readable else 0
        ids = {id(n): _section_id(i, j) for j, n in enumerate(_flatten(doc.sections))} if readable else {}
        reader = render_reader(doc, ids) if readable else ""
        rows.append(
            '<details class="doc"><summary>'
            f'<span class="doc-title">《{_esc(doc.title or "(untitled)")}》</span>'
            f'<span class="doc-author">{_esc(who)}</span>'
            f'<span class="doc-meta">{_esc(document_extent(doc))}</span>'
            + (f'<button type="button" class="doc-remove" data-doc="{_esc(doc.doc_id)}" '
               f'title="从索引中移除 · Remove from the index">移除 · Remove</button>' if removable else "")
            + '</summary>'
            f'<div class="toc">{_toc(doc.sections, ids) or "<p>(no sections)</p>"}</div>{reader}</details>'
        )
    return f'<div class="corpus">{"".join(rows)}</div>'


def _corpus_count(shown: int, total: int, query: str) -> str:
    """The line above a part of the corpus: how many documents there are (or match ``query``) and
    how many are shown."""
    if query and not total:
        return f'<p class="corpus-count">没有匹配“{_esc(query)}”的文档 · No document matches “{_esc(query)}”</p>'
    zh = f"{total} 篇匹配“{_esc(query)}”" if query else f"共 {total} 篇文档"
    en = (f"{total:,} {'document matches' if total == 1 else 'documents match'} “{_esc(query)}”" if query
          else f"{total:,} documents")
    if shown < total:
        zh += f"，显示前 {shown} 篇"
        en += f", showing the first {shown:,}" + ("" if query else "; search to find the others")
    return f'<p class="corpus-count">{zh} · {en}</p>'


def document_choice(doc: Document) -> tuple[str, str]:
    """(label, value) for the essay filter."""
    label = f"《{doc.title or doc.doc_id}》" + (f" · {doc.author}" if doc.author else "")
    return label, doc.doc_id


def render_change(result: dict) -> str:
    """The add-documents panel's report of an add or remove (``rag.library.Change.to_dict()``), or
    its error: one line each, Chinese above English; a file that lost something is named."""
    if "error" in result:
        return (f'<div class="change error"><p lang="zh">未能完成 · Not done</p>'
                f'<p lang="en">{_esc(_sentence_case(str(result["error"])))}</p></div>')
    change = Change(**result)
    zh = (f"已添加 {len(change.added)} 个文件，现可检索 {change.documents} 篇文档。" if change.added else
          f"已移除 {len(change.removed)} 篇文档，现可检索 {change.documents} 篇文档。")
    problems = "".join(f"<li>{_esc(p)}</li>" for p in change.problems)
    return (f'<div class="change ok"><p lang="zh">{_esc(zh)}</p><p lang="en">{_esc(_sentence_case(change.message()))}</p>'
            + (f'<ul class="change-problems">{problems}</ul>' if problems else "") + "</div>")


def upload_limits(files: int, file_mb: int, upload_mb: int) -> str:
    """The add-documents panel's rules, stated before anyone trips on them."""
    return (f'<p class="upload-limits">PDF（文字层）、Word .docx、HTML、文本 · 每次最多 {files} 个文件，'
            f"每个不超过 {file_mb} MB · PDF (text layer), Word .docx, HTML, text: up to {files} files at once, "
            f"{file_mb} MB each, {upload_mb} MB in all. 文件保存在本机索引目录中 · Files are kept in the "
            "index folder on this machine.</p>")
