"""Take the README's screenshots: the page with one answered question, on a laptop and on a phone
(needs playwright + chromium).

    python -m ui.screenshot --index embeddings --out docs/screenshot.png   # also docs/screenshot-phone.png
    python -m ui.screenshot --index INDEX_OF_A_PDF --page-view --out docs/page-view.png
    python tests/documents.py /tmp/essays.pdf && \
        python -m ui.screenshot --upload /tmp/essays.pdf --out docs/upload.png
"""

from __future__ import annotations

import argparse
from pathlib import Path
from urllib.parse import quote

from rag import config

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def take(index_dir: Path, out: Path, question: str, chromium: str = "/usr/bin/chromium",
         page_view: bool = False) -> None:
    from playwright.sync_api import sync_playwright

    from rag.assistant import Assistant
    from ui.app import create_app, launch_app

    app = create_app(Assistant.open(index_dir, progress=False))
    _, url, _ = launch_app(app, prevent_thread_lock=True, quiet=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            if page_view:  # the answer card with its PDF page open
                page = browser.new_page(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
                page.goto(f"{url}?q={quote(question)}")
                page.locator("#rag-evidence .passage").first.wait_for(timeout=60_000)
                page.locator("#rag-answer details.pageview summary").click()
                page.locator("#rag-answer details.pageview[open] img").wait_for(timeout=10_000)
                page.wait_for_timeout(300)
                out.parent.mkdir(parents=True, exist_ok=True)
                page.locator("#rag-answer").screenshot(path=str(out))
                browser.close()
                return
            for viewport, path, full in (({"width": 1366, "height": 768}, out, True),
                                         ({"width": 390, "height": 844}, out.with_name(f"{out.stem}-phone{out.suffix}"),
                                          False)):
                page = browser.new_page(viewport=viewport, device_scale_factor=1)
                page.goto(f"{url}?q={quote(question)}")  # the page asks a question in its address on load
                page.locator("#rag-evidence .passage").first.wait_for(timeout=60_000)
                if full:
                    page.locator("#rag-evidence .has-quote details.context summary").first.click()
                page.wait_for_timeout(400)
                path.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(path), full_page=full)
                page.close()
            browser.close()
    finally:
        app.close()


UPLOAD_BASE = "# 小城图书馆年度报告\n\n## 一、馆藏\n\n本馆现有藏书十二万册，其中古籍三千册。\n"
UPLOAD_QUESTION = "全市有效期内省级专精特新企业共计多少户？"


def take_upload(pdf: Path, out: Path, chromium: str = "/usr/bin/chromium") -> None:
    """The page after ``pdf`` was dropped on the "add documents" panel of a server over a one-note
    index (in a temporary folder) and a question was answered from it, its page open."""
    import tempfile

    from playwright.sync_api import sync_playwright

    from rag.assistant import Assistant
    from rag.index import build_index
    from ui.app import create_app, launch_app

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "notes").mkdir()
        (Path(tmp) / "notes" / "report.md").write_text(UPLOAD_BASE, encoding="utf-8")
        build_index(Path(tmp) / "notes", Path(tmp) / "index", progress=False)
        app = create_app(Assistant.open(Path(tmp) / "index", progress=False))
        _, url, _ = launch_app(app, prevent_thread_lock=True, quiet=True)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1366, "height": 900}, device_scale_factor=1)
                page.goto(url)
                page.locator("#rag-question textarea").wait_for(timeout=60_000)
                add_on_page(page, [pdf])
                box = page.locator("#rag-question textarea")
                box.fill(UPLOAD_QUESTION)
                box.press("Enter")
                page.locator("#rag-answer details.pageview summary").click(timeout=60_000)
                page.locator("#rag-answer details.pageview[open] img").wait_for(timeout=10_000)
                page.wait_for_timeout(400)
                out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(out), full_page=True, clip={"x": 0, "y": 0, "width": 1366, "height": 1560})
                browser.close()
        finally:
            app.close()


PROGRESS = "#rag-change-status .progress-text, #rag-change-status .progress-level, #rag-change-status .eta-bar"


def add_on_page(page, files: list[Path], timeout_ms: int = 120_000, drop: bool = False) -> list[str]:
    """Open the "add documents" panel, give it ``files`` (chosen in the file dialog, or ``drop``ped
    on it as a drag and drop does) and wait for its report; returns the progress lines seen on the
    way (the page tests and the screenshot share this)."""
    if not page.locator("#rag-upload").is_visible():
        page.locator("#rag-add-panel").locator("button").first.click()
    before = page.locator("#rag-change-status .change").inner_html() if page.locator(
        "#rag-change-status .change").count() else None
    if drop:
        _drop(page, files)
    else:
        page.locator("#rag-upload input[type=file]").set_input_files([str(f) for f in files])
    seen: list[str] = []
    for _ in range(timeout_ms // 50):
        report = page.locator("#rag-change-status .change")
        if report.count() and report.inner_html() != before:
            break
        if page.locator(PROGRESS).count():
            text = page.locator("#rag-change-status").inner_text().strip()
            if text and (not seen or seen[-1] != text):
                seen.append(text)
        page.wait_for_timeout(50)
    return seen


def _drop(page, files: list[Path]) -> None:
    """Drag ``files`` onto the panel's drop zone: a DataTransfer holding them, dropped."""
    import base64

    payload = [{"name": f.name, "data": base64.b64encode(f.read_bytes()).decode()} for f in files]
    page.locator("#rag-upload button").first.evaluate(
        """(zone, files) => {
            const transfer = new DataTransfer();
            for (const f of files) {
                const bytes = Uint8Array.from(atob(f.data), c => c.charCodeAt(0));
                transfer.items.add(new File([bytes], f.name));
            }
            for (const type of ["dragenter", "dragover", "drop"]) {
                zone.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: transfer}));
            }
        }""", payload)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=config.default_index_dir())
    parser.add_argument("--out", type=Path, default=Path("docs/screenshot.png"))
    parser.add_argument("--question", default="营口有多少个千亿级产业集群？")
    parser.add_argument("--page-view", action="store_true", help="the answer card with 'view on page' open")
    parser.add_argument("--upload", type=Path, metavar="PDF",
                        help="drop this PDF on the 'add documents' panel of a fresh index, ask, open the page")
    args = parser.parse_args()
    if args.upload:
        take_upload(args.upload, args.out)
    else:
        take(args.index, args.out, args.question, page_view=args.page_view)
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
