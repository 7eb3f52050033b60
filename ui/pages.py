"""The answer card's "view on page": the PDF page(s) a quote stands on, the quote highlighted,
inline as data URIs (no file route: the server never serves a corpus file by URL)."""

from __future__ import annotations

import base64
from html import escape

from rag.errors import RagError
from rag.pageview import MIME, quote_pages
from rag.types import Answer, Document

CSS = """
.pageview { margin-top: .6rem; }
.pageview summary { cursor: pointer; color: #7f1d1d; font-size: .9rem; }
.pageview figure { margin: .5rem 0 0; }
.pageview img { max-width: 100%; height: auto; border: 1px solid #e7e5e4; }
.pageview figcaption, .pageview .note { font-size: .8rem; color: var(--body-text-color-subdued); }
"""


def page_view_html(answer: Answer | None, document: Document | None) -> str:
    """A closed ``<details>`` with the quote's page images, or "" for a quote not from a PDF."""
    if answer is None or document is None or document.page_map is None:
        return ""
    c = answer.citation
    try:
        images = quote_pages(document, c.start, c.end)
    except RagError as error:
        return f'<div class="pageview"><p class="note">{escape(str(error))}</p></div>'
    pages = "–".join(str(p) for p in sorted({images[0].page, images[-1].page})) if images else "?"
    figures = "".join(
        f'<figure><img alt="第 {image.page} 页，引文已高亮 · page {image.page}, the quote highlighted" '
        f'width="{image.width}" height="{image.height}" '
        f'src="data:{MIME};base64,{base64.b64encode(image.data).decode("ascii")}">'
        f"<figcaption>p. {image.page}</figcaption></figure>"
        for image in images)
    return (f'<details class="pageview"><summary>在原页查看 · View on page {pages}</summary>'
            f"{figures}</details>")
