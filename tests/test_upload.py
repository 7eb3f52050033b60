"""Documents added and removed on a running server: the HTTP API (gradio_client over real HTTP, the
real model and index), the limits, the guard's rules for uploads, and the page in headless Chromium
(upload a PDF, watch the progress, ask, see the page). One writable server for the module, over a
small index of its own; each test leaves the index as it found it."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
from documents import essays_pdf, image_only_pdf

from conftest import SEED_FILE, running_app
from rag.library import MAX_FILES, UPLOADS, remove_documents, stored_name, upload_problem

MINI = "# 小城图书馆年度报告\n\n## 一、馆藏\n\n本馆现有藏书十二万册，其中古籍三千册。\n"
QUESTION = "全市有效期内省级专精特新企业共计多少户？"  # answered on page 3 of the essays' PDF
PDF_NAME = "营口文集-2025.pdf"
CHROMIUM = Path("/usr/bin/chromium")


# ------------------------------------------------------------------ pure


def test_upload_rules_are_ingestion_s_with_a_count_and_a_total():
    assert upload_problem([("a.pdf", 10), ("b.docx", 10), ("c.md", 10)]) is None
    assert upload_problem([]).startswith("choose one or more files")
    assert upload_problem([(f"{i}.txt", 1) for i in range(MAX_FILES + 1)]) == \
        f"{MAX_FILES + 1} files at once; the limit is {MAX_FILES} per upload (add the rest next)"
    assert upload_problem([("a.pdf", 1), ("old.doc", 1)]) == \
        "old.doc: skipped: .doc is not a supported type (.txt, .md, .jsonl, .pdf, .docx or .html); save it as .docx"
    assert upload_problem([("big.pdf", 201 * 1024 * 1024)]) == "big.pdf: the file is 201 MB; the limit is 200 MB per file"
    assert upload_problem([(f"{i}.pdf", 150 * 1024 * 1024) for i in range(3)]).startswith("the files come to 450 MB")


def test_the_build_s_progress_tells_a_listener_its_stages_and_share():
    from rag.progress import Progress

    heard = []
    report = Progress(enabled=False, listener=lambda share, text: heard.append((share, text)))
    report.stage("reading 1 path")
    report.start("embedding", 4, work=100)
    report.advance(2, work=25)
    report.advance(2, work=75)
    report.finish()
    report.stage("indexing")
    assert heard[0] == (None, "reading 1 path…") and heard[-1] == (None, "indexing…")
    assert [share for share, _ in heard[1:-1]] == [0.0, 0.25, 1.0]  # by characters, not by count
    assert heard[2][1].startswith("embedding 2/4")


def test_stored_names_stay_inside_the_uploads_folder():
    assert stored_name("../../etc/passwd.txt") == "passwd.txt"
    assert stored_name("C:\\Users\\me\\报告.PDF") == "报告.pdf"
    assert stored_name(".hidden.md") == "hidden.md"
    assert stored_name("a\x00b|c.md") == "abc.md"


def test_rag_add_of_several_paths_adds_the_readable_ones_and_names_the_rest(tmp_path, files):
    from rag.errors import CorpusError
    from rag.index import build_index, update_index

    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "report.md").write_text(MINI, encoding="utf-8")
    build_index(tmp_path / "corpus", tmp_path / "index", progress=False)
    manifest = update_index(tmp_path / "index", add=[files["museum"], files["scan"], files["doc"]], progress=False)
    assert manifest["counts"]["documents"] == 2 and manifest["corpus"]["added"] == [f"{files['museum'].parent.name}/museum.md"]
    assert [p.split(": ", 1)[1][:20] for p in manifest["corpus"]["problems"]] == \
        ["no text layer (a sca", "skipped: .doc is not"]
    with pytest.raises(CorpusError, match="no usable documents"):
        update_index(tmp_path / "index", add=[files["scan"]], progress=False)


# ------------------------------------------------------------------ the running server


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    from rag.ingest import load_corpus

    folder = tmp_path_factory.mktemp("uploads-in")
    essays_pdf(folder / PDF_NAME, load_corpus(SEED_FILE).documents)
    image_only_pdf(folder / "scan.pdf")
    (folder / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0")
    (folder / "museum.md").write_text("# 博物馆简介\n\n本市博物馆收藏文物两万件，其中一级文物四十件。\n", encoding="utf-8")
    (folder / "park.md").write_text("# 公园简介\n\n西炮台公园占地十六公顷，每年接待游客三十万人次。\n", encoding="utf-8")
    return {"pdf": folder / PDF_NAME, "scan": folder / "scan.pdf", "doc": folder / "old.doc",
            "museum": folder / "museum.md", "park": folder / "park.md"}


@pytest.fixture(scope="module")
def writable(tmp_path_factory, shared_cache):
    """A server that takes documents, over an index of one small report: (url, assistant, index dir)."""
    from conftest import env
    from rag.index import build_index

    corpus = tmp_path_factory.mktemp("mini")
    (corpus / "report.md").write_text(MINI, encoding="utf-8")
    index_dir = tmp_path_factory.mktemp("writable-index")
    with env(RAG_CACHE_DIR=str(shared_cache)):
        build_index(corpus, index_dir, progress=False)
    with running_app(index_dir, shared_cache) as (url, assistant):
        yield url, assistant, index_dir


@pytest.fixture(scope="module")
def client(writable):
    from gradio_client import Client

    return Client(writable[0], verbose=False)


def _index(client) -> str:
    return client.predict(api_name="/index")["build"]


@pytest.mark.slow
def test_a_pdf_added_over_the_api_is_searched_at_once_with_its_pages_and_removed_again(writable, client, files):
    from gradio_client import handle_file

    url, assistant, index_dir = writable
    before = _index(client)
    answers, failures, done = [], [], threading.Event()

    def keep_asking():  # questions while the index is swapped: each from the old index or the new
        while not done.is_set():
            try:
                answers.append(assistant.ask(QUESTION))
            except Exception as error:  # noqa: BLE001 - any failure is the finding
                failures.append(error)

    asker = threading.Thread(target=keep_asking)
    asker.start()
    try:
        change = client.predict([handle_file(files["pdf"]), handle_file(files["scan"])], api_name="/add")
    finally:
        done.set()
        asker.join()
    assert "error" not in change, change
    assert change["added"] == [f"{UPLOADS}/{PDF_NAME}"] and change["documents"] == 4
    assert change["problems"] == [f"{UPLOADS}/scan.pdf: no text layer (a scanned or image-only PDF); "
                                  "OCR is not supported"]  # the other file is added all the same
    assert sorted(p.name for p in (index_dir / UPLOADS).iterdir()) == [PDF_NAME]
    assert failures == [] and answers  # never a mix: a half-swapped index would fail or answer nonsense
    assert answers[0].passages[0].doc_id == "report"
    stored = index_dir / UPLOADS / PDF_NAME
    assert stored.read_bytes() == files["pdf"].read_bytes()
    assert _index(client) == change["build"] == str((index_dir / "current").resolve()) != before

    answer = client.predict(QUESTION, 3, api_name="/ask")["answer"]
    assert "137户" in answer["text"] and answer["citation"]["page"] == 3
    assert answer["citation"]["source"] == f"{UPLOADS}/{PDF_NAME}"

    # `rag ask` finds the server serving the very index it would open, and asks it.
    done_cli = subprocess.run([sys.executable, "-m", "rag.cli", "ask", "--index", str(index_dir), "--verbose",
                               QUESTION], capture_output=True, text=True, timeout=300,
                              env={**os.environ, "RAG_PORT": str(urlparse(url).port)})
    assert done_cli.returncode == 0 and "asked the server" in done_cli.stderr, done_cli.stderr
    assert "p. 3" in done_cli.stdout

    removed = client.predict(Path(PDF_NAME).stem, api_name="/remove")
    assert removed["removed"] == [f"{Path(PDF_NAME).stem}#{i}" for i in (1, 2, 3)] and removed["documents"] == 1
    assert not stored.exists()
    assert client.predict(QUESTION, 3, api_name="/ask")["passages"][0]["doc_id"] == "report"


@pytest.mark.slow
def test_bad_uploads_get_one_line_and_change_nothing(writable, client, files):
    from gradio_client import handle_file

    _, _, index_dir = writable
    before = _index(client)
    scan = client.predict([handle_file(files["scan"])], api_name="/add")
    assert scan == {"error": f"no usable documents in {index_dir / UPLOADS / 'scan.pdf'} ({UPLOADS}/scan.pdf: "
                             "no text layer (a scanned or image-only PDF); OCR is not supported)"}
    doc = client.predict([handle_file(files["doc"])], api_name="/add")
    assert doc["error"].startswith("old.doc: skipped: .doc is not a supported type")
    unknown = client.predict("no-such-document", api_name="/remove")
    assert unknown["error"].startswith("no document 'no-such-document' in the index")
    last = client.predict("report", api_name="/remove")
    assert "empty" in last["error"]
    assert _index(client) == before
    assert [p.name for p in (index_dir / UPLOADS).iterdir()] == []  # nothing kept from a failed add


def _request(url: str, method: str, path: str, body: bytes = b"", headers: dict | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", urlparse(url).port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.mark.slow
def test_an_uploaded_file_is_never_served_back(writable):
    url = writable[0]
    body = (b'--x\r\nContent-Disposition: form-data; name="files"; filename="secret.txt"\r\n'
            b"Content-Type: text/plain\r\n\r\nmy secret\r\n--x--\r\n")
    status, reply = _request(url, "POST", "/gradio_api/upload", body, {"Content-Type": "multipart/form-data; boundary=x"})
    assert status == 200
    [path] = json.loads(reply)
    assert Path(path).read_text() == "my secret"
    for route in (f"/gradio_api/file={path}", f"/file={path}", f"/gradio_api/file/{path}"):
        status, reply = _request(url, "GET", route)
        assert status == 403 and json.loads(reply) == {"error": "this server serves no files by URL"}
    Path(path).unlink()


@pytest.mark.slow
def test_the_add_api_takes_only_files_uploaded_to_it(writable, tmp_path):
    own = tmp_path / "mine.md"
    own.write_text("# 我的笔记\n\n一段不该被读取的文字。\n", encoding="utf-8")
    data = {"data": [[{"path": str(own), "meta": {"_type": "gradio.FileData"}}]]}
    status, reply = _request(writable[0], "POST", "/gradio_api/call/add", json.dumps(data).encode(),
                             {"Content-Type": "application/json"})
    assert status == 200
    _, events = _request(writable[0], "GET", f"/gradio_api/call/add/{json.loads(reply)['event_id']}")
    assert b"event: error" in events or b"only files uploaded" in events
    assert own.exists() and not (writable[2] / UPLOADS / "mine.md").exists()


@pytest.mark.slow
def test_an_upload_from_another_site_s_page_is_refused(writable):
    body = (b'--x\r\nContent-Disposition: form-data; name="files"; filename="a.txt"\r\n'
            b"Content-Type: text/plain\r\n\r\nhello\r\n--x--\r\n")
    form = {"Content-Type": "multipart/form-data; boundary=x"}
    for origin in ("http://attacker.example", "null"):
        status, reply = _request(writable[0], "POST", "/gradio_api/upload", body, {**form, "Origin": origin})
        assert status == 403 and b"own page" in reply
    port = urlparse(writable[0]).port
    status, reply = _request(writable[0], "POST", "/gradio_api/upload", body,
                             {**form, "Origin": f"http://localhost:{port}"})
    assert status == 200
    Path(json.loads(reply)[0]).unlink()


@pytest.mark.slow
def test_an_upload_over_the_limit_is_refused_before_its_body_is_read(writable):
    import socket

    port = urlparse(writable[0]).port
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:  # announces 10 GB, sends none
        sock.sendall(b"POST /gradio_api/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10000000000\r\n"
                     b"Content-Type: multipart/form-data; boundary=x\r\n\r\n")
        reply = b""
        while not reply.endswith(b"}"):  # the head and the JSON body may come in two pieces
            piece = sock.recv(4096)
            if not piece:
                break
            reply += piece
        reply = reply.decode()
    assert reply.startswith("HTTP/1.1 413") and "the limit is 400 MB per upload" in reply
    status, _ = _request(writable[0], "GET", "/config")
    assert status == 200


@pytest.mark.slow
def test_a_read_only_server_has_no_panel_and_refuses_uploads_and_the_add_api(seed_app):
    from gradio_client import Client

    url, _ = seed_app
    endpoints = Client(url, verbose=False).view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert list(endpoints) == ["/ask", "/index"]
    status, reply = _request(url, "POST", "/gradio_api/upload", b"--x--\r\n",
                             {"Content-Type": "multipart/form-data; boundary=x"})
    assert status == 403
    _, page = _request(url, "GET", "/config")
    assert b"rag-add-panel" not in page and b"rag-upload" not in page


# ------------------------------------------------------------------ the page


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed (run `make browser`)")
def test_on_the_page_a_pdf_is_dropped_in_asked_about_seen_on_its_page_and_removed(writable, files, tmp_path):
    from playwright.sync_api import sync_playwright
    from test_page import CHROMIUM_ARGS, _ask, _open_page_view, _page

    from ui.screenshot import add_on_page

    url = writable[0]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        with _page(browser, url) as page:
            progress = add_on_page(page, [files["pdf"]])
            assert any("reading" in line or "indexing" in line for line in progress), progress  # the build's stages
            status = page.locator("#rag-change-status .change.ok")
            assert "Added" in status.inner_text() and PDF_NAME in status.inner_text()
            corpus = page.locator("#rag-corpus")
            assert corpus.locator("details.doc").count() == 4
            assert "pp. 1–2 · 11 段 paragraphs" in corpus.locator("details.doc").nth(1).locator(".doc-meta").inner_text()

            _ask(page, QUESTION)
            answer = page.locator("#rag-answer")
            assert "137户" in answer.locator("blockquote").inner_text()
            assert "p. 3" in answer.locator(".cite").first.inner_text()
            _open_page_view(answer, tmp_path / "upload-page-view.png")

            button = corpus.locator("details.doc").nth(1).locator(".doc-remove")
            button.click()
            assert "Confirm" in button.inner_text() and corpus.locator("details.doc[open]").count() == 0
            button.click()
            page.wait_for_function("() => document.querySelectorAll('#rag-corpus details.doc').length === 3",
                                   timeout=60_000)
            assert "Removed" in page.locator("#rag-change-status .change.ok").inner_text()
            assert f"{Path(PDF_NAME).stem}#1" not in corpus.inner_html()

            add_on_page(page, [files["museum"], files["park"]], drop=True)  # two files dragged in at once
            assert "Added museum.md, park.md" in page.locator("#rag-change-status .change.ok").inner_text()
            assert corpus.locator("details.doc").count() == 5
            assert page.problems == []
        browser.close()
    remove_documents(writable[1], [Path(PDF_NAME).stem, "museum", "park"])  # the rest of the file, the notes
    assert not (writable[2] / UPLOADS / PDF_NAME).exists()
