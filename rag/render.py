"""Plain-text rendering of a Response for the terminal (the web UI renders its own HTML)."""

from __future__ import annotations

from rag.types import Citation, Passage, Response


def citation_line(title: str, author: str, section: list[str], paragraph: int, page: int | None = None,
                  pages: list[int] | None = None) -> str:
    """《title》 · author · section › sub-section · paragraph N · p. N: the same line the web UI shows."""
    parts = [f"《{title}》" if title else "(untitled)"]
    if author:
        parts.append(author)
    if section:
        parts.append(" › ".join(section))
    parts.append(f"paragraph {paragraph}")
    if pages:
        parts.append(f"pp. {pages[0]}–{pages[-1]}")
    elif page is not None:
        parts.append(f"p. {page}")
    return " · ".join(parts)


def cite(c: Citation | Passage) -> str:
    return citation_line(c.title, c.author, c.section, c.paragraph, c.page, getattr(c, "pages", None))


def format_response(response: Response, width: int = 100) -> str:
    lines: list[str] = []
    if response.id is not None:
        lines.append(f"[{response.id}] {response.question}")
    if response.answer is not None:
        answer = response.answer
        text = answer.text
        if answer.span is not None:
            a, b = answer.span
            text = f"{text[:a]}【{text[a:b]}】{text[b:]}"
        lines += [f"“{text}”", f"  — {cite(answer.citation)}  (confidence {answer.score:.2f})"]
    else:
        lines.append(f"Not found: {response.message or 'the documents do not answer this question'}.")
        if response.passages:
            lines.append("The closest passages (weak matches):")
    lines.append("")
    for p in response.passages:
        snippet = p.text if len(p.text) <= width else p.text[: width - 1] + "…"
        lines += [f"{p.rank}. [{p.score:.3f}] {cite(p)}", f"   {snippet}"]
    return "\n".join(lines)
