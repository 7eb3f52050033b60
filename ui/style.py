"""The page's look: a Gradio theme with local fonts only (the demo runs offline) and a stylesheet."""

from __future__ import annotations

import gradio as gr

FONT_STACK = ["Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei",
              "Hiragino Sans GB", "WenQuanYi Micro Hei", "system-ui", "sans-serif"]
SERIF_STACK = '"Noto Serif CJK SC", "Source Han Serif SC", "Songti SC", SimSun, serif'


def theme() -> gr.themes.Base:
    base = gr.themes.Soft(primary_hue="red", neutral_hue="stone", font=FONT_STACK,
                          font_mono=["ui-monospace", "monospace"])
    return base.set(
        block_label_background_fill="*neutral_100", block_label_text_color="*neutral_700",
        block_title_text_color="*neutral_700",
        button_primary_background_fill="*primary_800", button_primary_background_fill_hover="*primary_700",
        checkbox_label_background_fill_selected="*primary_800",
        slider_color="*primary_800",
    )


CSS = """
.gradio-container { max-width: 1180px !important; margin: 0 auto !important; }
#rag-header h1 { font-size: 1.7rem; margin: .2rem 0 .1rem; letter-spacing: .02em; }
#rag-header p { color: var(--body-text-color-subdued); margin: 0 0 .4rem; }
#rag-question textarea { font-size: 1.08rem; }
.card { border-radius: 14px; padding: 1.1rem 1.35rem; margin: .2rem 0 .8rem;
        border: 1px solid var(--border-color-primary); background: var(--background-fill-primary); }
.card-label { font-size: .8rem; font-weight: 600; letter-spacing: .06em;
              color: var(--body-text-color-subdued); margin-bottom: .45rem; }
.card.answer { border-left: 6px solid #b91c1c; box-shadow: 0 2px 10px rgba(0,0,0,.06); }
.card.answer .quote { font-family: """ + SERIF_STACK + """; font-size: 1.32rem; line-height: 1.85;
                      margin: 0 0 .7rem; padding: 0; border: none; color: var(--body-text-color); }
mark.key { background: #fde68a; color: inherit; padding: 0 .12em; border-radius: 3px;
           box-shadow: inset 0 -2px 0 #f59e0b; }
.cite { color: #7f1d1d; font-size: .95rem; line-height: 1.5; }
.card .meta { font-size: .8rem; color: var(--body-text-color-subdued); }
.card-foot { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between;
             gap: .5rem; margin-top: .45rem; }
.copy-cite { font-size: .8rem; border: 1px solid #fca5a5; color: #7f1d1d; background: #fff;
             border-radius: 999px; padding: .2rem .75rem; cursor: pointer; }
.copy-cite:hover { background: #fef2f2; }
.copy-cite.copied { border-color: #86efac; color: #166534; background: #f0fdf4; }
/* "answering…": a question is on its way; the card below it is the previous one, dimmed */
#rag-answer, #rag-evidence { position: relative; }
#rag-answer.is-answering .card, #rag-evidence.is-answering .evidence { opacity: .35; transition: opacity .15s; }
#rag-answer.is-answering::after { content: "正在作答… · Answering…"; position: absolute; top: .8rem; right: 1rem;
    z-index: 5; font-size: .85rem; font-weight: 600; color: #7f1d1d; background: #fef2f2;
    border: 1px solid #fca5a5; border-radius: 999px; padding: .15rem .7rem; }
.card.error p { margin: .1rem 0; }
.card.abstain { border-left: 6px solid #a8a29e; background: var(--background-fill-secondary); }
.abstain-text { font-size: 1.1rem; margin: 0 0 .3rem; }
.abstain-hint { color: var(--body-text-color-subdued); margin: 0; }
.nearest { border-left: 3px dashed #d6d3d1; padding: .2rem 0 .2rem .8rem; margin: .6rem 0; }
.nearest-label { font-size: .8rem; color: var(--body-text-color-subdued); }
.weak-quote { margin: .3rem 0; color: var(--body-text-color-subdued); font-style: italic; }
.card.error { border-left: 6px solid #d97706; }
.card.placeholder { color: var(--body-text-color-subdued); }
.card.placeholder p { margin: .1rem 0; }
.evidence h3 { font-size: 1rem; margin: .4rem 0 .6rem; }
.passage { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: .7rem .95rem;
           margin-bottom: .6rem; background: var(--background-fill-primary); }
.passage.is-weak { opacity: .82; border-style: dashed; }
.passage-head { display: flex; flex-wrap: wrap; align-items: baseline; gap: .5rem; margin-bottom: .35rem; }
.passage-head .cite { flex: 1 1 auto; font-size: .9rem; }
.rank { display: inline-block; min-width: 1.5rem; text-align: center; border-radius: 999px;
        background: #7f1d1d; color: #fff; font-size: .75rem; font-weight: 600; padding: .05rem .35rem; }
.score { font-size: .75rem; color: var(--body-text-color-subdued); font-variant-numeric: tabular-nums; }
.weak { font-size: .72rem; color: #92400e; background: #fef3c7; border-radius: 6px; padding: .05rem .4rem; }
.passage-text { line-height: 1.8; white-space: pre-wrap; }
mark.kw { background: #fee2e2; color: inherit; padding: 0 .05em; border-radius: 2px; }
mark.here { background: #fef9c3; color: inherit; outline: 1px solid #facc15; }
mark.quote { background: #fde68a; color: inherit; padding: 0 .05em; border-radius: 2px;
             box-shadow: inset 0 -2px 0 #b91c1c; }
mark.quote mark.key { background: #fbbf24; box-shadow: none; }
mark.quote mark.kw { background: transparent; text-decoration: underline 2px #fca5a5; }
.has-answer { font-size: .72rem; color: #7f1d1d; background: #fee2e2; border-radius: 6px; padding: .05rem .4rem; }
.passage.has-quote { border-color: #fca5a5; }
details.context { margin-top: .45rem; }
details.context summary { cursor: pointer; font-size: .85rem; color: #7f1d1d; }
.context-head { font-size: .85rem; font-weight: 600; margin: .4rem 0 .2rem; }
.context-body { position: relative; white-space: pre-wrap; line-height: 1.8; max-height: 26rem; overflow-y: auto;
                padding: .5rem .7rem; background: var(--background-fill-secondary); border-radius: 8px; }
.corpus details.doc { border-bottom: 1px solid var(--border-color-primary); padding: .45rem 0; }
/* a block summary with its own triangle (a flex one, as before, loses the browser's marker) */
.corpus summary { cursor: pointer; display: block; list-style: none; padding-left: 1.1rem; position: relative; }
.corpus summary::-webkit-details-marker { display: none; }
.corpus summary::before { content: "▶"; position: absolute; left: 0; top: .3rem; font-size: .7rem;
                          color: #7f1d1d; transition: transform .15s; }
.corpus details[open] > summary::before { transform: rotate(90deg); }
.corpus summary > span { margin-right: .5rem; }
.doc-title { font-weight: 600; }
.corpus-count { margin: 0 0 .3rem; font-size: .85rem; color: var(--body-text-color-subdued); }
.doc-author, .doc-meta { font-size: .85rem; color: var(--body-text-color-subdued); }
.doc-remove { margin-left: .3rem; padding: 0 .45rem; font-size: .78rem; line-height: 1.5; cursor: pointer;
              border: 1px solid var(--border-color-primary); border-radius: 6px; background: transparent;
              color: var(--body-text-color-subdued); }
.doc-remove:hover, .doc-remove.is-armed { border-color: #b91c1c; color: #b91c1c; }
.rag-hidden { display: none !important; }
.upload-limits { font-size: .8rem; color: var(--body-text-color-subdued); margin: .3rem 0; }
.change { font-size: .9rem; padding: .4rem .6rem; border-radius: 8px; margin-top: .3rem; }
.change p { margin: 0; }
.change.ok { background: #f0fdf4; border: 1px solid #bbf7d0; }
.change.error { background: #fef2f2; border: 1px solid #fecaca; }
.change-problems { margin: .3rem 0 0 1.1rem; font-size: .85rem; }
.toc ul { margin: .2rem 0 .2rem 1.1rem; padding: 0; }
.toc li { font-size: .9rem; line-height: 1.6; }
a.toc-link { color: inherit; text-decoration: none; border-bottom: 1px dotted #b91c1c; cursor: pointer; }
a.toc-link:hover { color: #7f1d1d; }
.reader { position: relative; max-height: 28rem; overflow-y: auto; margin: .4rem 0 .2rem; padding: .4rem .8rem;
          background: var(--background-fill-secondary); border-radius: 8px; line-height: 1.8; }
.reader h4 { font-size: 1rem; margin: .8rem 0 .3rem; color: #7f1d1d; }
.reader h5, .reader h6 { font-size: .95rem; margin: .6rem 0 .2rem; }
.reader p { margin: 0 0 .5rem; text-indent: 2em; }
.reader .is-target { background: #fef3c7; border-radius: 4px; }
/* a phone: the question, the settings and the answer card within the first screen */
@media (max-width: 640px) {
  #rag-header h1 { font-size: 1.15rem; margin: 0; }
  #rag-header p { display: none; }
  .card { padding: .75rem .85rem; margin-bottom: .4rem; }
  .card.answer .quote { font-size: 1.05rem; line-height: 1.7; margin-bottom: .4rem; }
  .cite { font-size: .88rem; }
}
"""

# Gradio scopes CSS to the page's content (it prefixes every rule with `.gradio-container .contain`),
# so the frame around it is styled from <head>: on a phone its 32 px side padding costs two characters
# per line of the answer.
HEAD_CSS = "<style>@media (max-width: 640px) { .gradio-container .main.app { padding: .4rem .5rem; } }</style>"
