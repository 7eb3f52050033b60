"""Take the README's screenshots: the page with one answered question, on a laptop and on a phone
(needs playwright + chromium).

    python -m ui.screenshot --index embeddings --out docs/screenshot.png   # also docs/screenshot-phone.png
"""

from __future__ import annotations

import argparse
from pathlib import Path
from urllib.parse import quote

from rag import config

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def take(index_dir: Path, out: Path, question: str, chromium: str = "/usr/bin/chromium") -> None:
    from playwright.sync_api import sync_playwright

    from rag.assistant import Assistant
    from ui.app import create_app, launch_app

    app = create_app(Assistant.open(index_dir, progress=False))
    _, url, _ = launch_app(app, prevent_thread_lock=True, quiet=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=config.default_index_dir())
    parser.add_argument("--out", type=Path, default=Path("docs/screenshot.png"))
    parser.add_argument("--question", default="营口有多少个千亿级产业集群？")
    args = parser.parse_args()
    take(args.index, args.out, args.question)
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
