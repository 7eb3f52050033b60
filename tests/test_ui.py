"""The web UI: HTML rendering (pure) and the HTTP API through gradio_client (the page itself: test_page.py)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SEEDS
from rag.types import Answer, Citation, Document, Passage, Response, SectionNode
from ui import render

DATA = Path(__file__).resolve().parent / "data" / "ui"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ANSWERABLE = "营口光阳耐火材料有限公司的自动化生产车间采用了什么技术？"
UNANSWERABLE = "2023年营口市的常住人口是多少？"
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(),
                                    reason="/usr/bin/chromium is not installed (run `make browser`)")


# ------------------------------------------------------------------ pure rendering

TEXT = "引言。\n一、安全\n灯塔编号是<script>alert(1)</script>七号。旁边写着<b>bold</b>。\n二、其他\n码头六点开放。"
P_START = TEXT.index("灯塔")
P_END = TEXT.index("\n二、")


def _document() -> Document:
    first = SectionNode("一、安全", 1, TEXT.index("一、安全") + 5, TEXT.index("二、其他"))
    second = SectionNode("二、其他", 1, TEXT.index("二、其他") + 5, len(TEXT))
    return Document("d", "d.md", "标题<i>x</i>", "作者", "", TEXT, sections=[first, second])


def _passage(rank: int = 1, start: int = P_START, end: int = P_END, section=("一、安全",)) -> Passage:
    return Passage(rank=rank, chunk_id=f"d#p{rank}", doc_id="d", title="标题<i>x</i>", author="作者",
                   section=list(section), paragraph=2, text=TEXT[start:end], score=0.9, start=start,
                   end=end, dense_score=0.8, bm25_score=2.5)


def _response(abstained: bool = False) -> Response:
    sentence = TEXT[P_START:TEXT.index("旁边")]
    citation = Citation("d", "d.md", "标题<i>x</i>", "作者", ["一、安全"], 2, P_START, P_START + len(sentence))
    answer = None if abstained else Answer(sentence, (0, 6), 0.9, citation)
    return Response("灯塔编号是多少？", abstained, answer, [_passage()], {"total": 1.0},
                    message="no sentence matches the question well enough" if abstained else None)


def _unmarked(html: str) -> str:
    return re.sub(r"</?mark[^>]*>", "", html)


def test_passage_text_is_escaped():
    html = render.render_evidence(_response(), ["灯塔"], {"d": _document()})
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in _unmarked(html)
    assert "<script" not in html and "<b>" not in html and "<i>" not in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html


def test_answer_marks_key_span_and_escapes():
    html = render.render_answer(_response())
    assert '<mark class="key">灯塔编号是&lt;</mark>' in html
    assert "<script" not in html


def test_answer_shows_citation_line():
    html = render.render_answer(_response())
    assert "《标题&lt;i&gt;x&lt;/i&gt;》 · 作者 · 一、安全 · paragraph 2" in html


def test_abstention_says_not_found_and_marks_passages_weak():
    response = _response(abstained=True)
    answer = render.render_answer(response)
    assert "Not found" in answer and "未找到" in answer
    assert "No sentence matches" in answer
    evidence = render.render_evidence(response, [], {"d": _document()})
    assert "weak" in evidence and "is-weak" in evidence
    assert "score 0.900" not in evidence, "a weak passage shows no score that reads as a verdict"


def test_abstention_shows_the_nearest_sentence_as_not_an_answer():
    response = _response(abstained=True)
    sentence = TEXT[P_START:TEXT.index("旁边")]
    citation = Citation("d", "d.md", "标题", "作者", ["一、安全"], 2, P_START, P_START + len(sentence))
    response.nearest = Answer(sentence, None, 0.08, citation)
    html = render.render_answer(response)
    assert "not an answer" in html and "0.08" in html and "card answer" not in html


def test_an_answer_passage_says_how_many_sentences_it_quotes():
    response = _response()
    response.answer.kind, response.answer.sentences = "passage", [[0, 5], [5, 9]]
    assert "Answer passage (2" in render.render_answer(response)


def test_keywords_highlighted_case_insensitively_and_overlaps_merged():
    html = render.highlight_keywords("Yingkou port, yingkou PORT", ["yingkou", "kou port"])
    assert html.count('<mark class="kw">') == 2
    assert '<mark class="kw">Yingkou port</mark>' in html


def test_keyword_inside_markup_is_still_escaped():
    html = render.highlight_keywords("a<script>b", ["script"])
    assert html == 'a&lt;<mark class="kw">script</mark>&gt;b'


def test_read_in_context_shows_the_section_with_the_passage_marked():
    html = render.render_context(_document(), _passage())
    assert "<details" in html and "一、安全" in html
    assert '<mark class="here">灯塔编号是&lt;script&gt;' in html
    assert "码头" not in html  # the next section is not part of this one


def test_context_of_an_introduction_passage_stops_at_the_first_heading():
    intro = _passage(start=0, end=TEXT.index("\n"), section=())
    html = render.render_context(_document(), intro)
    assert '<mark class="here">引言。</mark>' in html and "一、安全" not in html


def test_corpus_panel_lists_documents_and_sections_that_open_the_text():
    html = render.render_corpus([_document()])
    assert "《标题&lt;i&gt;x&lt;/i&gt;》" in html and "作者" in html
    assert '<li><a class="toc-link" href="#rag-doc0-s0">一、安全</a></li>' in html
    assert '<li><a class="toc-link" href="#rag-doc0-s1">二、其他</a></li>' in html
    # the text to read, with each heading as a heading the table of contents jumps to
    assert '<h4 id="rag-doc0-s0">一、安全</h4><p>灯塔编号是&lt;script&gt;' in html
    assert '<h4 id="rag-doc0-s1">二、其他</h4><p>码头六点开放。</p>' in html
    assert "<script" not in html


def test_corpus_panel_over_its_budget_lists_sections_only(monkeypatch):
    monkeypatch.setattr(render, "READER_BUDGET_CHARS", 10)
    html = render.render_corpus([_document()])
    assert "<li>一、安全</li>" in html and 'class="reader"' not in html


def test_corpus_panel_of_a_part_of_the_corpus_says_how_many_and_escapes_the_search():
    assert "corpus-count" not in render.render_corpus([_document()])  # all of it: no line
    html = render.render_corpus([_document()], total=61_016)
    assert "共 61016 篇文档，显示前 1 篇 · 61,016 documents, showing the first 1; search to find the others" in html
    assert "1 document matches “作者”" in render.render_corpus([_document()], total=1, query="作者")
    html = render.render_corpus([], total=0, query="<b>x</b>")
    assert "No document matches “&lt;b&gt;x&lt;/b&gt;”" in html and "<b>" not in html


def test_documents_are_found_by_every_word_in_title_author_or_file_and_counted():
    from ui.app import filter_choices, find_documents

    docs = [Document(f"d{i}", f"folder/file{i}.md", f"标题{i}", "Zhang San" if i % 2 else "李四", "", "正文")
            for i in range(10)]
    found, total = find_documents(docs, "zhang FILE", limit=2)
    assert [d.doc_id for d in found] == ["d1", "d3"] and total == 5
    assert find_documents(docs, "  ", limit=3) == (docs[:3], 10)
    assert find_documents(docs, "正文") == ([], 0)  # titles, not texts: the question box searches those
    choices, value = filter_choices(docs, "标题9", ["d2", "gone", "d2"])
    assert value == ["d2"] and choices == [("《标题2》 · 李四", "d2"), ("《标题9》 · Zhang San", "d9")]


def test_evidence_marks_the_quotation_and_key_span_where_they_stand():
    html = render.render_evidence(_response(), ["码头"], {"d": _document()})
    passage_text = html[html.index('class="passage-text"'):html.index("<details")]
    assert '<mark class="quote"><mark class="key">灯塔编号是&lt;</mark>script&gt;alert(1)&lt;/script&gt;七号。</mark>' \
        in passage_text
    context = html[html.index("<details"):]
    assert '<mark class="here"><mark class="quote"><mark class="key">灯塔编号是&lt;</mark>' in context
    assert "has-quote" in html


def test_evidence_marks_a_passage_answer_across_sentences():
    # an answer passage (several sentences): the whole quoted range is marked, no key span
    response = _response()
    end = TEXT.index("\n二、")
    response.answer.text, response.answer.span = TEXT[P_START:end], None
    response.answer.citation.end = end
    html = render.render_evidence(response, [], {"d": _document()})
    assert '<mark class="quote">灯塔编号是&lt;script&gt;alert(1)&lt;/script&gt;七号。旁边写着&lt;b&gt;bold&lt;/b&gt;。</mark>' in html
    assert 'class="key"' not in html


def test_evidence_does_not_mark_a_passage_the_answer_is_not_in():
    response = _response()
    response.answer.citation.doc_id = "other"
    html = render.render_evidence(response, [], {"d": _document()})
    assert 'class="quote"' not in html and "has-quote" not in html


def test_answer_card_copies_quote_and_citation():
    html = render.render_answer(_response())
    assert 'data-q="灯塔编号是多少？"' in html
    assert render.citation_text(_response().answer) == (
        "“灯塔编号是<script>alert(1)</script>七号。”\n—— 《标题<i>x</i>》 · 作者 · 一、安全 · paragraph 2")
    assert 'data-copy="“灯塔编号是&lt;script&gt;alert(1)&lt;/script&gt;七号。”' in html


def test_error_card_is_bilingual_and_starts_with_a_capital():
    from rag.errors import QuestionError

    error = QuestionError("the question is empty", zh="问题是空的。")
    html = render.render_error(str(error), error.zh)
    assert '<p lang="zh">问题是空的。</p><p lang="en">The question is empty.</p>' in html
    assert "Server error" in render.render_server_error()


def test_the_app_imports_gradio_without_its_stub_writer():
    """ui/gradio_import.py halves Gradio's import by skipping its stub writer: in a fresh interpreter,
    importing the app must have replaced it in both modules that call it (a Gradio upgrade that moves
    it fails here, not silently in the start-up time), and left the import system as it was."""
    script = ("import sys, ui.app, gradio.component_meta as m, gradio.blocks_events as b\n"
              "from ui.gradio_import import _StubSkipper, keep_stubs\n"
              "assert m.create_or_modify_pyi is keep_stubs and b.create_or_modify_pyi is keep_stubs\n"
              "assert not any(isinstance(f, _StubSkipper) for f in sys.meta_path)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parent.parent)
    assert result.returncode == 0, result.stderr


# ------------------------------------------------------------------ the running server


@pytest.fixture(scope="module")
def seed_server(seed_app):
    return seed_app[0]


@pytest.fixture(scope="module")
def client(seed_server):
    from gradio_client import Client

    return Client(seed_server, verbose=False)


@pytest.mark.slow
def test_api_exposes_only_ask_and_index(client, seed_index):
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert list(endpoints) == ["/ask", "/index"]
    served = client.predict(api_name="/index")
    assert served == {"build": str((seed_index / "current").resolve()), "model": "multilingual-e5-small",
                      "engine": "ctranslate2-int8"}


@pytest.mark.slow
def test_the_page_lists_and_offers_every_essay_without_search_boxes(seed_server):
    from urllib.request import urlopen

    with urlopen(seed_server.rstrip("/") + "/config", timeout=30) as reply:
        config = json.loads(reply.read())
    props = {c["props"].get("elem_id"): c["props"] for c in config["components"] if "props" in c}
    assert [value for _, value in props["rag-filter"]["choices"]] == [f"yingkou-essays-2025#{i}" for i in (1, 2, 3)]
    assert props["rag-corpus"]["value"].count('class="doc"') == 3 and "corpus-count" not in props["rag-corpus"]["value"]
    assert props["rag-corpus-search"]["visible"] is False and props["rag-filter-search"]["visible"] is False


@pytest.mark.slow
def test_api_answers_with_essay_and_section(client):
    result = client.predict(ANSWERABLE, 3, api_name="/ask")
    assert result["abstained"] is False
    citation = result["answer"]["citation"]
    assert citation["author"] == "冯也"
    assert citation["section"][0] == "一、传统产业转型：老树发新芽"
    assert len(result["passages"]) == 3


@pytest.mark.slow
def test_api_abstains_on_unanswerable_question(client):
    result = client.predict(UNANSWERABLE, api_name="/ask")
    assert result["abstained"] is True and result["answer"] is None
    assert result["passages"]  # the closest passages are still returned
    english = client.predict("What is the capital of France?", api_name="/ask")
    assert isinstance(english["abstained"], bool)  # quality is tuned elsewhere; only the shape here


@pytest.mark.slow
@pytest.mark.parametrize("question", ["", "   ", "？？？", "x" * 600])
def test_api_bad_question_returns_error_object(client, question):
    result = client.predict(question, api_name="/ask")
    assert set(result) == {"question", "error"} and result["error"]


@pytest.mark.slow
def test_api_matches_cli_json(client, seed_index):
    api = client.predict(ANSWERABLE, 5, api_name="/ask")
    done = subprocess.run([sys.executable, "-m", "rag.cli", "ask", "--index", str(seed_index), "--json",
                           ANSWERABLE], capture_output=True, text=True, env=dict(os.environ), timeout=300,
                          check=True)
    cli = json.loads(done.stdout)
    api.pop("timings_ms"), cli.pop("timings_ms")
    assert api == cli


def _ask_cli(index_dir: Path, port: int, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag.cli", "ask", "--index", str(index_dir), "--json", "--verbose",
                           *options, ANSWERABLE], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "RAG_PORT": str(port)})


@pytest.mark.slow
def test_rag_ask_asks_a_running_server_of_the_same_index_and_only_that(seed_server, seed_index, tmp_path):
    from urllib.parse import urlparse

    from rag.index import build_index

    port = urlparse(seed_server).port
    remote = _ask_cli(seed_index, port)
    assert remote.returncode == 0 and "asked the server" in remote.stderr, remote.stderr
    local = _ask_cli(seed_index, port, "--no-server")
    assert local.returncode == 0 and "server" not in local.stderr
    remote_answer, local_answer = json.loads(remote.stdout), json.loads(local.stdout)
    remote_answer.pop("timings_ms"), local_answer.pop("timings_ms")
    assert remote_answer == local_answer
    # A copy of the same corpus is another index build: answered locally, and --verbose says why.
    build_index(SEEDS, tmp_path / "other", progress=False)
    other = _ask_cli(tmp_path / "other", port)
    assert other.returncode == 0 and "answering locally" in other.stderr and "another index" in other.stderr
    # Nothing listening on the port: answered locally at once. (A port the system just handed out and
    # took back: port + 1 may be another test module's server.)
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    nothing = _ask_cli(seed_index, free_port)
    assert nothing.returncode == 0 and "no server" in nothing.stderr
