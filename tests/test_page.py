"""The page in headless Chromium, on a laptop (1366×768) and a phone (390×844), as a new user uses it:
ask, read the answer where it stands, click examples and earlier questions, open the essays, copy the
citation, share a link. Every test also checks that the page logged no errors."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, quote, urlparse

import pytest

from conftest import env, running_app
from ui import render
from ui.app import EXAMPLES

DATA = Path(__file__).resolve().parent / "data" / "ui"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
VIEWPORTS = {"laptop": LAPTOP, "phone": PHONE}
ANSWERABLE = "营口光阳耐火材料有限公司的自动化生产车间采用了什么技术？"
UNANSWERABLE = "2023年营口市的常住人口是多少？"
DEEP = "哪些企业在工业互联网应用方面取得了显著成效？"  # its answer is near the end of a long section

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed (run `make browser`)")]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@contextmanager
def _page(browser, url: str, viewport: dict = LAPTOP, clipboard: bool = False):
    """A fresh page at ``url``; ``page.problems`` collects console errors, page errors and dialogs."""
    phone = viewport is PHONE
    context = browser.new_context(viewport=viewport, is_mobile=phone, has_touch=phone)
    if clipboard:
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url.rstrip("/").split("?")[0])
    page = context.new_page()
    page.problems = []
    page.on("console", lambda m: page.problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda error: page.problems.append(f"page error: {error}"))
    page.on("dialog", lambda dialog: (page.problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    try:
        page.goto(url)
        page.locator("#rag-question textarea").wait_for(timeout=60_000)
        yield page
    finally:
        context.close()


def _answer_id(page) -> str | None:
    slot = page.locator("#rag-answer .answer-slot")
    return slot.get_attribute("data-id") if slot.count() else None


def _wait_for_new_answer(page, before: str | None) -> None:
    page.wait_for_function(
        "before => { const s = document.querySelector('#rag-answer .answer-slot');"
        " return s && s.dataset.id !== before && !document.getElementById('rag-answer').classList.contains('is-answering'); }",
        arg=before, timeout=60_000)


def _ask(page, question: str) -> None:
    before = _answer_id(page)
    box = page.locator("#rag-question textarea")
    box.fill(question)
    box.press("Enter")
    _wait_for_new_answer(page, before)


def _open_page_view(answer, screenshot: Path) -> None:
    """Open the answer's "view on page" and check that the rendered page image loads."""
    answer.locator("details.pageview summary").click()
    image = answer.locator("details.pageview[open] img")
    image.wait_for(timeout=10_000)
    assert image.evaluate("img => img.complete && img.naturalWidth") > 800
    answer.page.screenshot(path=str(screenshot), full_page=True)


def _settles(page, script: str, arg: object) -> bool:
    """Whether ``script(arg)`` becomes true within 5 s (the page scrolls and folds asynchronously)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(script, arg=arg, timeout=5_000)
        return True
    except PlaywrightTimeout:
        return False


def _in_viewport(page, selector: str) -> bool:
    return _settles(page, "sel => { const r = document.querySelector(sel)?.getBoundingClientRect();"
                          " return !!r && r.top >= 0 && r.bottom <= innerHeight && r.left >= 0 && r.right <= innerWidth; }",
                    selector)


def _inside_scroll_box(page, inner: str, box: str) -> bool:
    """Whether the top of ``inner`` is within the visible part of the scrolling element ``box``."""
    return _settles(page, "([inner, box]) => { const i = document.querySelector(inner), b = i && i.closest(box);"
                          " if (!b) return false; const r = i.getBoundingClientRect(), v = b.getBoundingClientRect();"
                          " return r.top >= v.top && r.top < v.bottom; }", [inner, box])


@pytest.fixture(scope="module")
def server(seed_app):
    return seed_app[0]


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_after_a_question_the_quote_and_citation_are_on_screen(browser, server, viewport, tmp_path):
    with _page(browser, server, VIEWPORTS[viewport]) as page:
        settings = page.locator("#rag-settings").bounding_box()
        assert settings["y"] < 400  # settings and filter: a folded panel near the top
        assert not page.locator("#rag-filter").is_visible()
        _ask(page, ANSWERABLE)
        assert "营口光阳耐火材料有限公司" in page.locator("#rag-answer blockquote").inner_text()
        assert "冯也" in page.locator("#rag-answer .cite").inner_text()
        assert _in_viewport(page, "#rag-answer blockquote") and _in_viewport(page, "#rag-answer .cite")
        assert _settles(page, "() => !document.querySelector('#rag-examples')?.checkVisibility()", None)  # folded
        page.screenshot(path=str(tmp_path / f"{viewport}.png"))
        assert page.problems == []


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_answer_is_marked_in_the_evidence_and_in_context(browser, server, viewport):
    with _page(browser, server, VIEWPORTS[viewport]) as page:
        _ask(page, DEEP)
        quote = page.locator("#rag-answer blockquote").inner_text().strip("“”")
        source = page.locator("#rag-evidence .passage.has-quote")
        assert source.count() == 1
        assert source.locator(".passage-text mark.quote").inner_text() == quote
        key = page.locator("#rag-answer mark.key")
        if key.count():
            assert source.locator(".passage-text mark.quote mark.key").inner_text() == key.inner_text()
        source.locator("details.context summary").click()
        body = source.locator(".context-body")
        assert body.locator("mark.quote").inner_text() == quote
        assert body.is_visible()
        assert _inside_scroll_box(page, "#rag-evidence .has-quote .context-body mark.quote", ".context-body")
        assert page.problems == []


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_clicking_an_example_asks_it(browser, server, viewport):
    with _page(browser, server, VIEWPORTS[viewport]) as page:
        before = _answer_id(page)
        page.locator("#rag-examples button").nth(2).click()
        _wait_for_new_answer(page, before)
        assert page.locator("#rag-answer .card").get_attribute("data-q") == EXAMPLES[2]
        assert page.locator("#rag-question textarea").input_value() == EXAMPLES[2]
        assert page.locator("#rag-answer .card.answer").count() == 1
        assert page.problems == []


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_corpus_panel_opens_an_essay_at_a_section(browser, server, viewport):
    with _page(browser, server, VIEWPORTS[viewport]) as page:
        doc = page.locator("#rag-corpus details.doc").nth(1)
        marker = doc.locator("summary").evaluate("s => getComputedStyle(s, '::before').content")
        assert "▶" in marker
        doc.locator("summary").click()
        reader = doc.locator(".reader")
        assert reader.is_visible() and reader.locator("h4").count() >= 2 and reader.locator("p").count() > 5
        link = doc.locator("a.toc-link").last
        heading = page.locator(link.get_attribute("href"))
        link.click()
        assert heading.inner_text() == link.inner_text()
        assert _inside_scroll_box(page, link.get_attribute("href"), ".reader")  # jumped to that section
        assert "is-target" in heading.get_attribute("class")
        assert page.problems == []


def test_copy_citation_puts_quote_and_source_on_the_clipboard(browser, seed_app):
    server, assistant = seed_app
    expected = render.citation_text(assistant.ask(ANSWERABLE).answer)
    with _page(browser, server, clipboard=True) as page:
        _ask(page, ANSWERABLE)
        page.locator("#rag-answer .copy-cite").click()
        page.wait_for_function("() => document.querySelector('#rag-answer .copy-cite.copied')", timeout=10_000)
        assert page.evaluate("navigator.clipboard.readText()") == expected
        assert "《传统转型+新兴培育" in expected and "冯也" in expected and "paragraph" in expected
        assert page.problems == []


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_question_in_the_url_is_answered_on_load_and_the_url_follows_questions(browser, server, viewport):
    with _page(browser, f"{server}?q={quote(ANSWERABLE)}", VIEWPORTS[viewport]) as page:
        _wait_for_new_answer(page, None)
        assert page.locator("#rag-answer .card").get_attribute("data-q") == ANSWERABLE
        assert page.locator("#rag-question textarea").input_value() == ANSWERABLE
        assert _in_viewport(page, "#rag-answer .cite")
        _ask(page, UNANSWERABLE)
        assert "Not found" in page.locator("#rag-answer").inner_text()
        assert page.locator("#rag-evidence .passage.is-weak").count() >= 1
        assert parse_qs(urlparse(page.url).query)["q"] == [UNANSWERABLE]
        assert page.problems == []


def test_this_session_s_questions_can_be_asked_again(browser, server):
    with _page(browser, server) as page:
        assert not page.locator("#rag-history-panel").is_visible()
        _ask(page, ANSWERABLE)
        _ask(page, UNANSWERABLE)
        panel = page.locator("#rag-history-panel")
        assert "(2)" in panel.inner_text()
        panel.locator("button").first.click()  # open the panel
        items = page.locator("#rag-history button.gallery-item")
        items.nth(1).wait_for(timeout=10_000)  # the panel opens with an animation
        assert [items.nth(i).inner_text() for i in range(items.count())] == [UNANSWERABLE, ANSWERABLE]
        before = _answer_id(page)
        items.nth(1).click()
        _wait_for_new_answer(page, before)
        assert page.locator("#rag-answer .card").get_attribute("data-q") == ANSWERABLE
        assert page.problems == []


def test_errors_are_bilingual_sentences(browser, server):
    with _page(browser, server, PHONE) as page:
        _ask(page, "？？？")
        card = page.locator("#rag-answer .card.error")
        assert card.locator("p[lang=zh]").inner_text() == "问题里没有文字或数字。"
        assert card.locator("p[lang=en]").inner_text() == "The question has no words or numbers in it."
        assert page.problems == []


def test_a_server_error_clears_the_previous_answer(browser, seed_app, monkeypatch):
    server, assistant = seed_app
    with _page(browser, server) as page:
        _ask(page, ANSWERABLE)
        assert page.locator("#rag-evidence .passage").count() > 0

        def broken(*args, **kwargs):
            raise RuntimeError("a bug")

        monkeypatch.setattr(assistant, "ask", broken)
        _ask(page, EXAMPLES[0])
        monkeypatch.undo()
        assert page.locator("#rag-answer .card.error").inner_text().count("Server error") == 1
        assert page.locator("#rag-answer blockquote").count() == 0
        assert page.locator("#rag-evidence .passage").count() == 0
        assert "q=" not in page.url  # a link must not claim an answer that was not given
        assert page.problems == []


def test_the_card_says_answering_while_a_question_is_on_its_way(browser, seed_app, monkeypatch):
    server, assistant = seed_app
    release = threading.Event()
    ask = assistant.ask

    def held(*args, **kwargs):  # an answer held back, as under load, until the page has been looked at
        release.wait(30)
        return ask(*args, **kwargs)

    with _page(browser, server, PHONE) as page:
        _ask(page, UNANSWERABLE)
        monkeypatch.setattr(assistant, "ask", held)
        before = _answer_id(page)
        box = page.locator("#rag-question textarea")
        box.fill(ANSWERABLE)
        box.press("Enter")
        try:
            page.wait_for_function("() => document.getElementById('rag-answer').classList.contains('is-answering')",
                                   timeout=10_000)
            label = page.evaluate("getComputedStyle(document.getElementById('rag-answer'), '::after').content")
            assert "Answering" in label
            assert _in_viewport(page, "#rag-answer")
        finally:
            release.set()
        _wait_for_new_answer(page, before)
        monkeypatch.undo()
        assert "营口光阳耐火材料有限公司" in page.locator("#rag-answer blockquote").inner_text()
        assert page.problems == []


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory, shared_cache):
    """A corpus whose text carries markup and a script: it must reach the page as text."""
    from rag.index import build_index

    index_dir = tmp_path_factory.mktemp("hostile-index")
    with env(RAG_CACHE_DIR=str(shared_cache)):
        build_index(DATA, index_dir, progress=False)
    with running_app(index_dir, shared_cache) as (url, _):
        yield url


def test_page_shows_corpus_markup_as_text(browser, hostile_server, tmp_path):
    with _page(browser, hostile_server) as page:
        _ask(page, "鲅鱼圈港区的灯塔编号是多少？")
        page.locator("#rag-evidence details.context summary").first.click()
        page.locator("#rag-corpus details.doc summary").first.click()
        text = page.locator("body").inner_text()
        assert "<script>alert(1)</script>" in text and "<b>bold</b>" in text
        assert "注入测试<i>文档</i>" in text  # the title, from the corpus panel and citations
        for root in ("#rag-answer", "#rag-evidence", "#rag-corpus"):
            assert page.locator(f"{root} script, {root} b, {root} i").count() == 0
        time.sleep(0.3)
        assert page.problems == []
        page.screenshot(path=str(tmp_path / "hostile.png"), full_page=True)
