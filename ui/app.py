"""The Gradio web UI and HTTP API over one ``Assistant``.

``rag serve`` calls :func:`serve`, which loads (building first if needed) the index once and blocks.
Tests and benchmarks use :func:`create_app` + :func:`launch_app` to run it on a free port.

The page's event handlers are private to the page; the HTTP API is one function, ``/ask``
(question, k) → the same JSON object as ``rag ask --json``, or ``{"error": ...}``.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline: no telemetry calls

import gradio as gr  # noqa: E402

from rag import config  # noqa: E402
from rag.assistant import Assistant  # noqa: E402
from rag.errors import RagError  # noqa: E402
from rag.textproc import keywords  # noqa: E402
from ui import pages, render  # noqa: E402
from ui.style import CSS, theme  # noqa: E402

CONCURRENCY = 4
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


def create_app(assistant: Assistant) -> gr.Blocks:
    """The page and the API over ``assistant`` (queued, ``CONCURRENCY`` answers at a time)."""
    documents = {d.doc_id: d for d in assistant.documents}

    def ask_page(question: str, k: float, mode: str, doc_ids: list[str] | None) -> tuple[str, str]:
        try:
            response = assistant.ask(question, k=int(k), mode=mode, doc_ids=list(doc_ids) or None)
        except RagError as error:
            return render.render_error(str(error)), ""
        words = keywords(response.question)
        cited = documents.get(response.answer.citation.doc_id) if response.answer else None
        return (render.render_answer(response) + pages.page_view_html(response.answer, cited),
                render.render_evidence(response, words, documents))

    def ask(question: str, k: int = 5) -> dict:
        """Ask a question about the documents; returns the `rag ask --json` object, or {"error": ...}."""
        try:
            return assistant.ask(question, k=int(k)).to_dict()
        except (RagError, TypeError, ValueError) as error:
            return {"question": question, "error": str(error)}

    with gr.Blocks(title="营口文集问答 · Document QA") as app:
        gr.HTML(HEADER, elem_id="rag-header")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                with gr.Row(equal_height=True):
                    question = gr.Textbox(label="提问 Ask", placeholder="输入问题，按回车 · Type a question, "
                                          "press Enter", lines=1, max_lines=3, scale=6,
                                          autofocus=True, elem_id="rag-question")
                    button = gr.Button("提问 Ask", variant="primary", scale=1, min_width=90,
                                       elem_id="rag-ask")
                gr.Examples(EXAMPLES, inputs=question, label="示例 Examples")
                answer = gr.HTML(render.render_placeholder(), elem_id="rag-answer")
                evidence = gr.HTML("", elem_id="rag-evidence")
            with gr.Column(scale=2):
                with gr.Accordion("设置 Settings", open=True):
                    k = gr.Slider(1, 10, value=5, step=1, label="段落数 Passages")
                    mode = gr.Radio(MODES, value="hybrid", label="检索方式 Retrieval")
                with gr.Accordion("文档 Corpus", open=True):
                    doc_ids = gr.CheckboxGroup([render.document_choice(d) for d in assistant.documents],
                                               value=[], label="只搜索 Search only (留空=全部 none = all)",
                                               elem_id="rag-filter")
                    gr.HTML(render.render_corpus(assistant.documents), elem_id="rag-corpus")
        gr.on([question.submit, button.click], ask_page, inputs=[question, k, mode, doc_ids],
              outputs=[answer, evidence], api_visibility="private")
        gr.api(ask, api_name="ask")
    app.queue(default_concurrency_limit=CONCURRENCY)
    return app


def launch_app(app: gr.Blocks, host: str = "127.0.0.1", port: int | None = None, share: bool = False,
               prevent_thread_lock: bool = False, quiet: bool = False):
    """Start the server with the page's theme and stylesheet; returns Gradio's (app, local_url, share_url)."""
    return app.launch(server_name=host, server_port=port, share=share,
                      prevent_thread_lock=prevent_thread_lock, quiet=quiet, ssr_mode=False,
                      theme=theme(), css=CSS + pages.CSS, footer_links=["api"])


def serve(index_dir: Path | str | None = None, corpus: Path | str | None = None, model: str | None = None,
          host: str = "127.0.0.1", port: int = 7860, share: bool = False) -> None:
    """Load the index once (building it first when missing or stale) and serve until interrupted."""
    index_dir = Path(index_dir or config.default_index_dir())
    corpus = Path(corpus or config.default_corpus())
    print(f"loading the index at {index_dir} …", flush=True)
    assistant = Assistant.open(index_dir, corpus=corpus, model=model, progress=True)
    assistant.ask(EXAMPLES[0])  # warm up the tokenizer and the model before the first visitor
    app = create_app(assistant)
    print(f"serving {len(assistant.documents)} documents on http://{host}:{port}", flush=True)
    launch_app(app, host=host, port=port, share=share)
