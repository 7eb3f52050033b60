"""Plain-text rendering of a Response for the terminal (the web UI renders its own HTML)."""

from __future__ import annotations

from rag.types import Answer, Citation, Passage, Response


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


def marked(answer: Answer) -> str:
    """The quote with its key span in 【】."""
    if answer.span is None:
        return answer.text
    a, b = answer.span
    return f"{answer.text[:a]}【{answer.text[a:b]}】{answer.text[b:]}"


def format_response(response: Response, width: int = 100) -> str:
    lines: list[str] = []
    if response.id is not None:
        lines.append(f"[{response.id}] {response.question}")
    if response.answer is not None:
        answer = response.answer
        if answer.kind == "passage":
            count = len(answer.sentences or [])
            lines.append(f"Answer passage ({count} sentence{'s' if count != 1 else ''}):")
        lines += [f"“{marked(answer)}”", f"  — {cite(answer.citation)}  (confidence {answer.score:.2f})"]
    else:
        lines.append(f"Not found: {response.message or 'the documents do not answer this question'}.")
        if response.nearest is not None:
            nearest = response.nearest
            lines += [f"The closest sentence, which is NOT an answer (confidence {nearest.score:.2f}):",
                      f"  “{nearest.text}”", f"  — {cite(nearest.citation)}"]
        if response.passages:
            lines.append("The closest passages (none of them answers the question):")
    lines.append("")
    for p in response.passages:
        snippet = p.text if len(p.text) <= width else p.text[: width - 1] + "…"
        # A passage's score only ranks it against the others; without an answer it would read as a verdict.
        rank = f"{p.rank}." if response.answer is None else f"{p.rank}. [{p.score:.3f}]"
        lines += [f"{rank} {cite(p)}", f"   {snippet}"]
    return "\n".join(lines)
