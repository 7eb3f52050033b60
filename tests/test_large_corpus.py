"""The page over a corpus of many documents: its config stays small (the page lists the first
``SHOWN`` documents; a search on the server finds the others) — 61,016 documents once made it 28.5 MB
and `rag serve` failed to start. The corpus is fake (no index, no model): the page needs only the
documents until someone asks."""

from __future__ import annotations

import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

from rag.types import Document
from ui.app import SHOWN, create_app, launch_app

MANY = 20_000
CAP = 1_000_000  # bytes of the page's config (and of the page, which carries it too)
CHROMIUM = Path("/usr/bin/chromium")


def _documents(count: int, text_chars: int = 40) -> list[Document]:
    body = ("营口港口的集装箱吞吐量逐年增长。" * (text_chars // 16 + 1))[:text_chars]
    return [Document(f"report{i:05d}", f"uploads/report{i:05d}.md", f"营口年度报告第{i}号", f"作者{i % 97}",
                     "营口市", f"营口年度报告第{i}号\n{body}") for i in range(count)]


@pytest.fixture(scope="module", params=[(MANY, 40), (400, 20_000)], ids=["many-small", "few-large"])
def large(request):
    """A running page (that takes documents) over ``MANY`` small documents, or over 400 of 20,000
    characters (more text than the corpus panel carries): (url, app, documents)."""
    documents = _documents(*request.param)
    app = create_app(SimpleNamespace(documents=documents))
    _, url, _ = launch_app(app, port=None, prevent_thread_lock=True, quiet=True)
    try:
        yield url, app, documents
    finally:
        app.close()


def _get(url: str, path: str) -> bytes:
    with urllib.request.urlopen(url.rstrip("/") + path, timeout=30) as reply:
        return reply.read()


def _handler(app, name: str):
    return next(f.fn for f in app.fns.values() if getattr(f.fn, "__name__", "") == name)


def test_the_page_s_config_stays_small_and_lists_the_first_documents(large):
    url, _, documents = large
    config, page = _get(url, "/config"), _get(url, "/")
    assert len(config) < CAP and len(page) < CAP, (len(config), len(page))
    text = config.decode()
    assert f'data-doc=\\"{documents[SHOWN - 1].doc_id}\\"' in text
    assert f'data-doc=\\"{documents[SHOWN].doc_id}\\"' not in text
    assert f"{len(documents):,} documents, showing the first {SHOWN}" in text
    assert "rag-corpus-search" in text and "rag-filter-search" in text


def test_a_search_on_the_server_finds_a_document_beyond_the_first(large):
    _, app, documents = large
    last = documents[-1]
    html = _handler(app, "corpus_html")(f"第{len(documents) - 1}号")
    assert f'data-doc="{last.doc_id}"' in html and html.count('class="doc"') == 1
    assert "1 document matches" in html
    html = _handler(app, "corpus_html")("营口")  # every document: the first SHOWN, and how many
    assert html.count('class="doc"') == SHOWN and f"{len(documents):,} documents match" in html
    choices = _handler(app, "filter_now")(last.source, [documents[0].doc_id]).choices
    assert [value for _, value in choices] == [documents[0].doc_id, last.doc_id]  # the chosen stay


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed (run `make browser`)")
def test_on_the_page_the_search_boxes_find_a_document_beyond_the_first(large):
    from playwright.sync_api import sync_playwright
    from test_page import CHROMIUM_ARGS, _page

    url, _, documents = large
    last = documents[-1]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        with _page(browser, url) as page:
            corpus = page.locator("#rag-corpus")
            # The panel renders after the page loads: wait for the count rather than read it at once
            # (on a loaded machine the first read came before the panel; a wrong count still times out).
            _wait_for_documents_shown(page, SHOWN)
            page.locator("#rag-corpus-search input, #rag-corpus-search textarea").fill(last.doc_id)
            corpus.locator(f'.doc-remove[data-doc="{last.doc_id}"]').wait_for(timeout=30_000)
            _wait_for_documents_shown(page, 1)

            page.locator("#rag-settings").get_by_text("设置与筛选").click()
            page.locator("#rag-filter-search input, #rag-filter-search textarea").fill(last.title)
            choice = page.locator("#rag-filter label").filter(has_text=last.title)
            choice.wait_for(timeout=30_000)
            choice.click()
            page.locator("#rag-filter-search input, #rag-filter-search textarea").fill("")
            page.wait_for_function("() => document.querySelectorAll('#rag-filter label').length > 1", timeout=30_000)
            assert page.locator("#rag-filter label").first.inner_text().strip().startswith(f"《{last.title}》")
            assert page.locator("#rag-filter input:checked").count() == 1
            assert page.problems == []
        browser.close()


def _wait_for_documents_shown(page, count: int) -> None:
    page.wait_for_function(f"() => document.querySelectorAll('#rag-corpus details.doc').length === {count}",
                           timeout=30_000)
