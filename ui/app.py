"""The Gradio web UI and HTTP API over one ``Assistant``.

``rag serve`` calls :func:`serve`, which loads (building first if needed) the index once and blocks.
Tests and benchmarks use :func:`create_app` + :func:`launch_app` to run it on a free port.

The page's event handlers are private to the page; the HTTP API has two functions: ``/ask``
(question, k) → the same JSON object as ``rag ask --json``, or ``{"error": ...}``; and ``/index`` →
which index build, model and engine answer (how `rag ask` checks that a running server serves the
index it would open before asking it: ``rag.remote``). Unless the server is read-only (`rag serve
--read-only`), the page has an "add documents" panel and remove buttons in the corpus panel, and
the API two more: ``/add`` (files) and ``/remove`` (a document id or file name) → what changed
(``rag.library.Change``) or ``{"error": ...}``; both go through ``Assistant.update``, the same index
update as `rag add` / `rag remove`, one at a time. Every request passes the guard (ui/guard.py)
first. The corpus panel and the filter list the first ``SHOWN`` documents; past that, a search box
on each finds the others on the server, so that the page stays small whatever the corpus. What the
page does beyond Gradio's components (the answering state, ``?q=`` in the address,
copy citation, scrolling, the two-click remove) is ui/page.js.
"""

from __future__ import annotations

import gc
import itertools
import logging
import os
import threading
from pathlib import Path

from ui.gradio_import import stubs_left_alone

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline: no telemetry calls

with stubs_left_alone():  # half of Gradio's import time (ui/gradio_import.py)
    import gradio as gr
from gradio.utils import get_upload_folder, is_in_or_equal  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402

from rag import config  # noqa: E402
from rag.assistant import Assistant  # noqa: E402
from rag.errors import QuestionError, RagError  # noqa: E402
from rag.ingest.load import MAX_FILE_MB, TYPES  # noqa: E402
from rag.library import MAX_FILES, MAX_UPLOAD_MB, UPLOADS, add_uploads, remove_documents  # noqa: E402
from rag.progress import Progress  # noqa: E402
from rag.reader import names  # noqa: E402
from rag.textproc import keywords  # noqa: E402
from rag.types import Document  # noqa: E402
from ui import pages, render  # noqa: E402
from ui.guard import Guard, allowed_hosts, echo  # noqa: E402
from ui.style import CSS, HEAD_CSS, theme  # noqa: E402

log = logging.getLogger(__name__)
CONCURRENCY = 4
HISTORY_SIZE = 20  # questions kept in "this session"
#: Documents listed in the corpus panel and offered by the filter at a time; a search (on the server)
#: finds the others. Listing all 61,016 documents of a 100k-chunk index made the page's config 28.5 MB,
#: and Gradio's startup check of the page timed out (`rag serve` failed 2 of 3 times); now 0.3 MB.
#: A search of those 61,016 documents takes ~0.1 s (find_documents, on one busy core).
SHOWN = 150
EXAMPLES = [
    "营口有多少个千亿级产业集群？",
    "营口光阳耐火材料有限公司的自动化生产车间采用了什么技术？",
    "营口市应设立什么机构来化解社会矛盾？",
    "Which company in Yingkou makes refractory materials?",
    "How does Yingkou improve grassroots social governance?",
]
MODES = [("混合 Hybrid", "hybrid"), ("关键词 Keyword (BM25)", "bm25"), ("语义 Semantic", "dense")]
HEADER = (
    "<h1>营口文集问答 · Ask the Yingkou essays</h1>"
    "<p>离线检索，原文作答，注明出处。Offline, extractive answers: every answer is a quotation "
    "with its source.</p>"
)
PAGE_HEAD = HEAD_CSS + f"<script>{(Path(__file__).parent / 'page.js').read_text(encoding='utf-8')}</script>"


def parse_k(value: object) -> int:
    """``k`` as the HTTP API may send it (a number, or digits as text), or a QuestionError; the range
    is checked by ``Assistant.ask``."""
    if isinstance(value, bool):
        value = None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if not isinstance(value, int):
        raise QuestionError(f"k must be a whole number of passages, e.g. {config.DEFAULT_K}; got {echo(value, 40)!r}",
                            zh=f"段落数必须是整数，例如 {config.DEFAULT_K}。")
    return value


INTERNAL_ERROR = "the server failed (an internal error, logged on the server)"


def find_documents(documents: list[Document], query: str, limit: int = SHOWN) -> tuple[list[Document], int]:
    """(the first ``limit`` documents whose title, author, affiliation, file or id contain every word
    of ``query``, case-insensitively; how many do): the first ``limit`` of all for a blank query."""
    words = query.lower().split()
    if not words:
        return documents[:limit], len(documents)
    found = [d for d in documents if all(w in _searched_text(d) for w in words)]
    return found[:limit], len(found)


def _searched_text(doc: Document) -> str:
    return "\n".join((doc.title, doc.author, doc.affiliation, doc.source, doc.doc_id)).lower()


def filter_choices(documents: list[Document], query: str, chosen: list[str] | None) -> tuple[list, list[str]]:
    """(choices, value) for the document filter: the documents chosen (those still in the corpus)
    first, then the first that match ``query``, at most ``SHOWN`` besides the chosen."""
    by_id = {d.doc_id: d for d in documents}
    value = [c for c in dict.fromkeys(chosen or []) if c in by_id]
    found, _ = find_documents(documents, query)
    taken = set(value)
    picked = [by_id[c] for c in value] + [d for d in found if d.doc_id not in taken]
    return [render.document_choice(d) for d in picked], value


def create_app(assistant: Assistant, read_only: bool = False) -> gr.Blocks:
    """The page and the API over ``assistant`` (queued, ``CONCURRENCY`` answers at a time); unless
    ``read_only``, with the panel and API that add and remove documents."""
    answer_ids = itertools.count(1)

    def answer_html(question: str, k: float, mode: str, doc_ids: list[str] | None) -> tuple[str, str, bool]:
        """(answer card, evidence, whether it was answered) for the page. Never raises: an unexpected
        failure clears the previous answer and says so."""
        try:
            response = assistant.ask(question, k=int(k), mode=mode, doc_ids=list(doc_ids or []) or None)
        except RagError as error:
            return render.render_error(str(error), error.zh), "", False
        except Exception:  # a bug: logged with its traceback; the page must not keep a stale answer
            log.exception("answering %r failed", echo(question))
            return render.render_server_error(), "", False
        words = keywords(response.question)
        corpus = assistant.index.corpus
        shown = {p.doc_id for p in response.passages} | ({response.answer.citation.doc_id} if response.answer else set())
        documents = {d: doc for d in shown if (doc := corpus.get(d))}  # not every document: 60k at scale
        cited = documents.get(response.answer.citation.doc_id) if response.answer else None
        return (render.render_answer(response) + pages.page_view_html(response.answer, cited),
                render.render_evidence(response, words, documents), True)

    def respond(question: str, k: float, mode: str, doc_ids: list[str] | None, history: list[str]) -> tuple:
        """Every output of asking on the page: the question box, the card (stamped, so the same answer
        twice still replaces it), the evidence, the folded examples, this session's questions."""
        card, evidence, asked = answer_html(question, k, mode, doc_ids)
        if asked:
            history = [question.strip(), *(q for q in history if q != question.strip())][:HISTORY_SIZE]
        stamped = f'<div class="answer-slot" data-id="{next(answer_ids)}">{card}</div>'
        return (question, stamped, evidence, gr.Accordion(open=False), history,
                gr.Dataset(samples=[[q] for q in history]),
                gr.Accordion(visible=bool(history), label=f"本次提问 · This session ({len(history)})"))

    def pick(samples: list[str], index: int | None, *rest) -> tuple:
        if index is None or not 0 <= index < len(samples):
            return tuple(gr.update() for _ in outputs)
        return respond(samples[index], *rest)

    def ask_example(index: int | None, k, mode, doc_ids, history) -> tuple:
        return pick(EXAMPLES, index, k, mode, doc_ids, history)

    def ask_again(index: int | None, k, mode, doc_ids, history) -> tuple:
        return pick(history, index, k, mode, doc_ids, history)

    def ask_from_url(k, mode, doc_ids, history, request: gr.Request) -> tuple:
        """``?q=…`` in the address asks that question as the page opens."""
        question = (request.query_params.get("q") or "") if request else ""
        if not question.strip():
            return tuple(gr.update() for _ in outputs)
        return respond(question, k, mode, doc_ids, history)

    def ask(question: str, k: int = config.DEFAULT_K) -> dict:
        """Ask a question about the documents; returns the `rag ask --json` object, or {"error": ...}."""
        try:
            return assistant.ask(question, k=parse_k(k)).to_dict()
        except RagError as error:
            return {"question": echo(question), "error": str(error)}
        except Exception:  # a bug: logged; the caller gets a message of ours, not a library's internals
            log.exception("answering %r over the API failed", echo(question))
            return {"question": echo(question), "error": "the server failed to answer this question "
                                                         "(an internal error, logged on the server)"}

    def index() -> dict:
        """Which index build (its folder), model and engine this server answers from."""
        return {"build": assistant.index.build_id, "model": assistant.index.model,
                "engine": assistant.embedder.engine}

    def add(files: list[str] | None, progress=gr.Progress()) -> dict:  # noqa: B008 (Gradio's way)
        """Add files (.pdf, .docx, .html, .txt, .md, .jsonl) to the index, as `rag add` does; returns what
        changed, or {"error": ...}."""
        paths = [Path(f) for f in files or []]
        if not all(is_in_or_equal(str(path), get_upload_folder()) for path in paths):
            paths = []  # Gradio lets only its own uploads through; nor is anything else ever deleted here
            return {"error": "only files uploaded to this server can be added"}
        try:
            return add_uploads(assistant, paths, progress=_shown(progress)).to_dict()
        except RagError as error:
            return {"error": str(error)}
        except Exception:
            log.exception("adding %d files failed", len(paths))
            return {"error": INTERNAL_ERROR}
        finally:  # Gradio's copies: the index keeps its own under uploads/
            for path in paths:
                path.unlink(missing_ok=True)

    def remove(document: str, progress=gr.Progress()) -> dict:  # noqa: B008 (Gradio's way)
        """Remove a document (its id, file name or source, as `rag remove` takes them) from the index;
        returns what changed, or {"error": ...}."""
        try:
            return remove_documents(assistant, [str(document or "").strip()], progress=_shown(progress)).to_dict()
        except RagError as error:
            return {"error": str(error)}
        except Exception:
            log.exception("removing %r failed", echo(document))
            return {"error": INTERNAL_ERROR}

    def corpus_html(query: str = "") -> str:
        """The corpus panel: the first ``SHOWN`` documents (that match ``query``) and how many there are."""
        query = (query or "").strip()
        found, total = find_documents(assistant.documents, query)
        return render.render_corpus(found, removable=not read_only, total=total, query=query)

    def filter_now(query: str, chosen: list[str] | None) -> gr.CheckboxGroup:
        choices, value = filter_choices(assistant.documents, (query or "").strip(), chosen)
        return gr.CheckboxGroup(choices=choices, value=value)

    def searchable(query: str = "") -> bool:
        """A search box shows when the documents do not all fit (or it still holds a search)."""
        return len(assistant.documents) > SHOWN or bool((query or "").strip())

    def corpus_now(corpus_query: str, filter_query: str, chosen: list[str] | None) -> tuple:
        """The corpus panel, the filter and their search boxes for the documents searched now."""
        return (corpus_html(corpus_query), gr.Textbox(visible=searchable(corpus_query)),
                filter_now(filter_query, chosen), gr.Textbox(visible=searchable(filter_query)))

    def changed(result: dict, *searched) -> tuple:
        return (render.render_change(result), *corpus_now(*searched), None)

    with gr.Blocks(title="营口文集问答 · Document QA", delete_cache=(3600, 3600)) as app:
        history = gr.State([])
        gr.HTML(HEADER, elem_id="rag-header")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                with gr.Row(equal_height=True, elem_id="rag-ask-row"):
                    question = gr.Textbox(label="提问 Ask", show_label=False, placeholder="输入问题 · Ask a question",
                                          lines=1, max_lines=3, scale=6, min_width=200, autofocus=True,
                                          elem_id="rag-question")
                    button = gr.Button("提问 Ask", variant="primary", scale=1, min_width=80, elem_id="rag-ask")
                with gr.Accordion("设置与筛选 · Settings & filter", open=False, elem_id="rag-settings"):
                    k = gr.Slider(1, 10, value=config.DEFAULT_K, step=1, label="段落数 Passages")
                    mode = gr.Radio(MODES, value="hybrid", label="检索方式 Retrieval")
                    filter_search = gr.Textbox(label="查找文档 · Find documents", max_lines=1,
                                               placeholder="标题、作者或文件名 · Title, author or file name",
                                               visible=searchable(), elem_id="rag-filter-search")
                    doc_ids = gr.CheckboxGroup(filter_choices(assistant.documents, "", [])[0],
                                               value=[], label="只搜索 Search only (留空=全部 none = all)",
                                               elem_id="rag-filter")
                with gr.Accordion("示例 · Examples", open=True, elem_id="rag-examples-panel") as examples_panel:
                    examples = gr.Dataset(components=["textbox"], samples=[[e] for e in EXAMPLES], type="index",
                                          show_label=False, elem_id="rag-examples")
                answer = gr.HTML(render.render_placeholder(), elem_id="rag-answer")
                with gr.Accordion("本次提问 · This session", open=False, visible=False,
                                  elem_id="rag-history-panel") as history_panel:
                    asked = gr.Dataset(components=["textbox"], samples=[], type="index", show_label=False,
                                       elem_id="rag-history")
                evidence = gr.HTML("", elem_id="rag-evidence")
            with gr.Column(scale=2, min_width=300):
                if not read_only:
                    with gr.Accordion("添加文档 · Add documents", open=False, elem_id="rag-add-panel"):
                        # No file_types: Gradio would refuse other types with its own message; the
                        # types are ingestion's rule (rag.ingest.load), said in one line by rag.library.
                        uploads = gr.File(label=f"拖放文件 · Drop files ({TYPES})", file_count="multiple",
                                          type="filepath", height=150, elem_id="rag-upload")
                        gr.HTML(render.upload_limits(MAX_FILES, MAX_FILE_MB, MAX_UPLOAD_MB), elem_id="rag-upload-limits")
                        status = gr.HTML("", elem_id="rag-change-status")
                        result = gr.JSON(elem_id="rag-change-result", elem_classes=["rag-hidden"])
                        to_remove = gr.Textbox(elem_id="rag-remove-name", elem_classes=["rag-hidden"], show_label=False)
                        remove_button = gr.Button("remove", elem_id="rag-remove", elem_classes=["rag-hidden"])
                with gr.Accordion("文档 · Corpus", open=True, elem_id="rag-corpus-panel"):
                    corpus_search = gr.Textbox(show_label=False, max_lines=1, visible=searchable(),
                                               placeholder="搜索标题、作者或文件名 · Search titles, authors, file names",
                                               elem_id="rag-corpus-search")
                    corpus = gr.HTML(corpus_html(), elem_id="rag-corpus")
        outputs = [question, answer, evidence, examples_panel, history, asked, history_panel]
        settings = [k, mode, doc_ids, history]
        events = {"outputs": outputs, "api_visibility": "private", "show_progress": "hidden",
                  "concurrency_id": "answer"}
        gr.on([question.submit, button.click], respond, inputs=[question, *settings], **events)
        examples.click(ask_example, inputs=[examples, *settings], **events)
        asked.click(ask_again, inputs=[asked, *settings], **events)
        app.load(ask_from_url, inputs=settings, **events)
        searched = [corpus_search, filter_search, doc_ids]
        shown = [corpus, corpus_search, doc_ids, filter_search]
        search = {"api_visibility": "private", "show_progress": "hidden", "trigger_mode": "always_last"}
        # The documents as they are now, not as the server started. The load renders the search boxes'
        # values when the page opened: a search typed before it returns was answered, then overwritten
        # by that older panel, so the panel is rendered once more for what the boxes hold then.
        app.load(corpus_now, inputs=searched, outputs=shown, api_visibility="private", show_progress="hidden").then(
            corpus_now, inputs=searched, outputs=shown, **search)
        corpus_search.change(corpus_html, inputs=[corpus_search], outputs=[corpus], **search)
        filter_search.change(filter_now, inputs=[filter_search, doc_ids], outputs=[doc_ids], **search)
        gr.api(ask, api_name="ask")
        gr.api(index, api_name="index")
        if not read_only:
            update = {"outputs": [result], "show_progress_on": [status], "show_progress": "full",
                      "concurrency_id": "update", "concurrency_limit": 1}
            after = {"fn": changed, "inputs": [result, *searched], "outputs": [status, *shown, uploads],
                     "api_visibility": "private", "show_progress": "hidden"}
            uploads.upload(add, inputs=[uploads], api_name="add", **update).then(**after)
            remove_button.click(remove, inputs=[to_remove], api_name="remove", **update).then(**after)
    app.queue(default_concurrency_limit=CONCURRENCY)
    app.rag_accepts_uploads = not read_only  # launch_app opens the upload route only then
    return app


def _shown(progress: gr.Progress) -> Progress:
    """The build's own progress display (rag.progress), shown on the page: the share of the texts
    embedded so far fills nine tenths of the bar (embedding is most of an update's time; the last
    tenth is indexing and swapping the index in); each stage's name is its label."""
    done = [0.0]

    def listener(share: float | None, text: str) -> None:
        done[0] = done[0] if share is None else 0.9 * share
        progress(done[0], desc=text)

    return Progress(enabled=False, listener=listener)


def launch_app(app: gr.Blocks, host: str = config.DEFAULT_HOST, port: int | None = None, share: bool = False,
               prevent_thread_lock: bool = False, quiet: bool = False, extra_hosts: tuple[str, ...] = ()):
    """Start the server with the page's theme, stylesheet and script behind the guard (ui/guard.py),
    which answers only to ``host``, loopback and ``extra_hosts``; returns Gradio's (app, local_url,
    share_url)."""
    hosts = allowed_hosts(host, (*extra_hosts, *((".gradio.live",) if share else ())))
    uploads = getattr(app, "rag_accepts_uploads", False)
    guard = Middleware(Guard, hosts=hosts, default_k=config.DEFAULT_K,
                       max_upload=MAX_UPLOAD_MB * 1024 * 1024 if uploads else 0)
    return app.launch(server_name=host, server_port=port, share=share,
                      prevent_thread_lock=prevent_thread_lock, quiet=quiet, ssr_mode=False,
                      theme=theme(), css=CSS + pages.CSS, head=PAGE_HEAD, footer_links=["api"],
                      app_kwargs={"middleware": [guard]},
                      # Gradio's own per-file check only backs up the upload's (the guard's, first), so
                      # that a file over ingestion's 200 MB hears rag.library's message; read-only: no files
                      max_file_size=MAX_UPLOAD_MB * 1024 * 1024 if uploads else "1kb")


def serve(index_dir: Path | str | None = None, corpus: Path | str | None = None, model: str | None = None,
          host: str = config.DEFAULT_HOST, port: int = config.DEFAULT_PORT, share: bool = False,
          extra_hosts: tuple[str, ...] = (), engine: str | None = None, read_only: bool = False) -> None:
    """Load the index once (building it first when missing or stale) and serve until interrupted."""
    from rag.index import corpus_to_serve

    index_dir = Path(index_dir or config.default_index_dir())
    corpus = corpus_to_serve(index_dir, Path(corpus) if corpus else None)
    print(f"loading the index at {index_dir} …", flush=True)
    assistant = Assistant.open(index_dir, corpus=corpus, model=model, progress=True, engine=engine)
    assistant.ask(EXAMPLES[0])  # warm up the tokenizer and the model before the first visitor
    # What is loaded by now lives as long as the server: frozen, the garbage collector no longer walks
    # it (~170k objects, jieba's 500k-word dictionary among them; 51 of them garbage). Its next full
    # collection came during the launch and took 0.15 s (launch 0.35 → 0.19 s); so would each later one.
    gc.freeze()
    if len(assistant.index.sentences.chunk) <= names.WARM_SENTENCES:
        threading.Thread(target=assistant.reader.evidence.warm_names, name="warm-names", daemon=True).start()
    app = create_app(assistant, read_only=read_only)
    print(f"serving {len(assistant.documents)} documents on http://{host}:{port}"
          + (" (read-only)" if read_only else f"; documents added from the page go to {index_dir / UPLOADS}"),
          flush=True)
    if host in ("0.0.0.0", "::") and not extra_hosts:
        print("note: other machines must reach this server by a name given with --allowed-host", flush=True)
    launch_app(app, host=host, port=port, share=share, extra_hosts=extra_hosts)
