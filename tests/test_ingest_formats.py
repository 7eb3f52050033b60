"""PDF, Word and HTML files: the same essays as the text file, pages that are right, and one clear
line for every file that cannot be read. The PDFs and DOCX are written by the tests (documents.py)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_raw
import pytest
from documents import (
    RUNNING_HEAD,
    encrypted_pdf,
    essays_docx,
    essays_pdf,
    image_only_pdf,
    lines_pdf,
    text_and_scan_pdf,
)

from conftest import SEED_FILE
from rag.errors import RagError
from rag.ingest import load_corpus
from rag.ingest.load import MAX_FILE_MB
from rag.ingest.pdf import normalize_char, read_pdf
from rag.ingest.reflow import reflow
from rag.pageview import quote_pages
from rag.render import citation_line
from rag.types import Answer, Citation, Corpus, Document, PageMap

STEM = SEED_FILE.stem


@pytest.fixture(scope="module")
def text_corpus() -> Corpus:
    return load_corpus(SEED_FILE)


@pytest.fixture(scope="module")
def pdf_folder(tmp_path_factory, text_corpus) -> Path:
    folder = tmp_path_factory.mktemp("pdf")
    essays_pdf(folder / f"{STEM}.pdf", text_corpus.documents)
    return folder


@pytest.fixture(scope="module")
def pdf_corpus(pdf_folder) -> Corpus:
    return load_corpus(pdf_folder)


@pytest.fixture(scope="module")
def docx_corpus(tmp_path_factory, text_corpus) -> Corpus:
    folder = tmp_path_factory.mktemp("docx")
    essays_docx(folder / f"{STEM}.docx", text_corpus.documents)
    return load_corpus(folder)


def _chunks(document: Document) -> list[tuple]:
    return [(c.chunk_id, c.text, c.start, c.end, c.section, c.paragraph, c.sentences) for c in document.chunks]


def _same_documents(copy: Corpus, original: Corpus) -> None:
    assert copy.problems == []
    assert [d.doc_id for d in copy.documents] == [d.doc_id for d in original.documents]
    for ours, theirs in zip(copy.documents, original.documents, strict=True):
        assert (ours.title, ours.author, ours.affiliation) == (theirs.title, theirs.author, theirs.affiliation)
        assert ours.text == theirs.text
        assert ours.sections == theirs.sections
        assert _chunks(ours) == _chunks(theirs)


def test_the_pdf_gives_the_same_essays_sections_and_chunks_as_the_text_file(pdf_corpus, text_corpus):
    _same_documents(pdf_corpus, text_corpus)
    assert [d.source for d in pdf_corpus.documents] == [f"{pdf_corpus.documents[0].source}"] * 3
    assert pdf_corpus.documents[0].source.endswith(".pdf")


@pytest.mark.parametrize("columns", [1, 3])
def test_one_and_three_column_layouts_read_the_same(tmp_path, text_corpus, columns):
    pages = essays_pdf(tmp_path / f"{STEM}.pdf", text_corpus.documents, columns=columns)
    assert pages == 6
    corpus = load_corpus(tmp_path)
    _same_documents(corpus, text_corpus)
    assert corpus.documents[2].chunks[-1].page == pages


def test_a_byline_and_title_printed_after_the_body_map_to_their_own_page(tmp_path, text_corpus):
    """The newspaper layout: the title moves to the front of the text, its page map goes with it."""
    essays_pdf(tmp_path / f"{STEM}.pdf", text_corpus.documents, title_last=True)
    corpus = load_corpus(tmp_path)
    _same_documents(corpus, text_corpus)
    for document in corpus.documents:
        title_page = document.page_span(0, len(document.title))[0]
        assert title_page == document.page_map.page_at(len(document.text) - 1)  # printed at the end
        assert title_page > document.chunks[0].page


def test_the_docx_gives_the_same_essays_sections_and_chunks_as_the_text_file(docx_corpus, text_corpus):
    _same_documents(docx_corpus, text_corpus)
    assert all(c.page is None for d in docx_corpus.documents for c in d.chunks)


def test_running_header_and_page_numbers_are_not_text(pdf_corpus):
    for document in pdf_corpus.documents:
        assert RUNNING_HEAD[0].split()[0] not in document.text and RUNNING_HEAD[1] not in document.text
        assert not re.search(r"—\s*\d+\s*—", document.text)  # the "— 3 —" folios


def _page_texts(path: Path) -> list[str]:
    pdf = pdfium.PdfDocument(path)
    texts = ["".join(pdf[i].get_textpage().get_text_range().split()) for i in range(len(pdf))]
    pdf.close()
    return texts


def test_every_mapped_character_is_that_character_on_that_page(pdf_corpus, pdf_folder):
    """The page map is exact: each run's document characters are the PDF's characters it names."""
    pdf = pdfium.PdfDocument(pdf_folder / f"{STEM}.pdf")
    checked = 0
    for document in pdf_corpus.documents:
        runs = document.page_map.runs
        mapped = sum(run[1] - run[0] for run in runs)
        assert mapped == sum(1 for ch in document.text if not ch.isspace())  # every visible character
        for doc_start, doc_end, page, char_start, _ in runs:
            textpage = pdf[page - 1].get_textpage()
            for offset in range(doc_start, doc_end):
                code = pdfium_raw.FPDFText_GetUnicode(textpage, char_start + offset - doc_start)
                assert chr(code) == document.text[offset] or (code == 2 and document.text[offset] == "-")
                checked += 1
    pdf.close()
    assert checked > 5000


# Latin names in Chinese text, as CMRC passages have them; each paragraph wraps, some at a space
# between two Latin words. Printed before and after the first seed essay's body, on pages 1 and 2.
MIXED_PARAGRAPHS = [
    "路德维希·普朗特（Ludwig Prandtl）是德国力学家，近代力学奠基人之一，卒于哥廷根（Göttingen）。",
    "克什米尔马鹿（\"Cervus elaphus hanglu\"）是分布在印度及巴基斯坦北部的马鹿亚种。",
    "来自克利夫兰的建筑师Henry A. Walsh设计了哥特式教堂，底特律建筑师George Diehl继续完成该塔。",
    "He commissioned sketches of churches in England, and the present building was begun soon after.",
]


@pytest.fixture(scope="module")
def mixed_text_and_pdf(tmp_path_factory, text_corpus) -> tuple[Document, Document, Path]:
    folder = tmp_path_factory.mktemp("mixed")
    essay = text_corpus.documents[0].text.split("\n")[2:]
    body = "\n".join(MIXED_PARAGRAPHS + essay + MIXED_PARAGRAPHS)
    (folder / "names.txt").write_text(f"外国人名的写法\n河海大学 张三\n{body}\n", encoding="utf-8")
    [text] = load_corpus(folder / "names.txt").documents
    assert essays_pdf(folder / "names.pdf", [text]) == 2
    [pdf] = load_corpus(folder / "names.pdf").documents
    return text, pdf, folder / "names.pdf"


def test_latin_words_in_a_pdf_keep_their_spaces(mixed_text_and_pdf):
    """Spaces between Latin words are stored in the text layer, and the gap alone misses them: the
    CJK font's substituted Latin glyphs are wider than their advance ("LudwigPrandtl")."""
    text, pdf, _ = mixed_text_and_pdf
    paragraphs = pdf.text.split("\n")[2:]
    assert paragraphs[:4] == paragraphs[-4:] == MIXED_PARAGRAPHS
    assert pdf.text == text.text
    assert [c.text for c in pdf.chunks] == [c.text for c in text.chunks]
    for name in ("Ludwig Prandtl", "Cervus elaphus hanglu", "Henry A. Walsh", "George Diehl", "Göttingen"):
        assert pdf.text.count(name) == 2


def test_mixed_text_has_no_spaces_in_its_chinese_and_right_pages(mixed_text_and_pdf):
    _, pdf, path = mixed_text_and_pdf
    chinese_with_a_space = re.compile(r"[\u4e00-\u9fff（），。·] | [\u4e00-\u9fff（），。·]")
    assert not chinese_with_a_space.search(pdf.text.split("\n", 2)[2])  # the body, after title and byline
    pages = _page_texts(path)
    for chunk in pdf.chunks:
        assert chunk.text.replace(" ", "")[:12] in pages[chunk.page - 1], chunk.chunk_id
    assert {c.page for c in pdf.chunks} == {1, 2}


def test_a_hyphen_that_ends_a_pdf_line_is_kept_and_joins_the_word(tmp_path):
    """pdfium marks a hyphen at a line end (0x02) and cannot tell a hyphenation from a word's hyphen:
    it is read as "-", and the lines are joined without a space."""
    lines_pdf(tmp_path / "hyphen.pdf", ["The well-", "known Jean-", "Paul Sartre wrote", "in Paris, 巴黎。"])
    origins, _ = read_pdf(tmp_path / "hyphen.pdf")
    assert [b.text for b in reflow(origins.lines)] == ["The well-known Jean-Paul Sartre wrote in Paris, 巴黎。"]


def test_chunks_start_on_the_page_that_prints_them(pdf_corpus, pdf_folder):
    pages = _page_texts(pdf_folder / f"{STEM}.pdf")
    assert len(pages) == 6
    for document in pdf_corpus.documents:
        for chunk in document.chunks:
            assert chunk.text[:12] in pages[chunk.page - 1], chunk.chunk_id
    assert [d.chunks[0].page for d in pdf_corpus.documents] == [1, 3, 5]  # each essay opens a page


def test_a_sentence_broken_across_a_page_is_whole_and_cites_both_pages(pdf_corpus, pdf_folder):
    pages = _page_texts(pdf_folder / f"{STEM}.pdf")
    crossing = [(document, sentence) for document in pdf_corpus.documents for chunk in document.chunks
                for sentence in chunk.sentences if document.page_span(sentence.start, sentence.end)[1]]
    assert crossing, "the typeset essays break at least one sentence across a page"
    document, sentence = crossing[0]
    text = document.text[sentence.start:sentence.end]
    page, both = document.page_span(sentence.start, sentence.end)
    assert both == [page, page + 1]
    assert text not in pages[page - 1] and text not in pages[page]  # neither page prints it whole
    assert pages[page - 1].endswith(text[:3]) or text[:8] in pages[page - 1]
    assert citation_line("t", "", [], 1, page, both).endswith(f"pp. {page}–{page + 1}")


def test_page_map_lookups():
    page_map = PageMap("x.pdf", "0", 3, runs=[[0, 5, 1, 10, 15], [6, 9, 2, 0, 3], [9, 11, 3, 7, 8]])
    assert page_map.page_at(0) == 1 and page_map.page_at(5) == 1 and page_map.page_at(6) == 2
    assert page_map.pages_in(2, 5) == [1]
    assert page_map.pages_in(4, 8) == [1, 2]
    assert page_map.chars_in(3, 8) == {1: [13, 14], 2: [0, 1]}
    assert page_map.chars_in(9, 10) == {3: [7]}  # a ligature: two characters from one glyph
    document = Document("d", "x.pdf", "", "", "", "0123456789X", page_map=page_map)
    assert document.page_span(0, 3) == (1, None)
    assert document.page_span(0, 8) == (1, [1, 2])
    assert Document("d", "x.txt", "", "", "", "abc").page_span(0, 2) == (None, None)


def test_pdf_characters_are_nfc_normalised():
    assert normalize_char("\uf9e4") == "理"  # a CJK compatibility ideograph some fonts map to
    assert normalize_char("\u2f00") == "一"  # a Kangxi radical
    assert normalize_char("\u00a0") == " "
    assert normalize_char("\ufb01") == "fi"
    assert normalize_char("，") == "，"  # full-width punctuation stays (NFKC would make it ASCII)


def test_the_page_map_survives_the_index_round_trip(pdf_corpus):
    restored = Corpus.from_dict(pdf_corpus.to_dict())
    assert restored.documents[2].page_map == pdf_corpus.documents[2].page_map
    assert [c.page for c in restored.documents[2].chunks] == [c.page for c in pdf_corpus.documents[2].chunks]


# ------------------------------------------------------------------ files that cannot be read


def _problems(folder: Path) -> dict[str, str]:
    corpus = load_corpus(folder)
    assert len(corpus.documents) == 3, "the essays next to the bad file still load"
    return {Path(p.source).name: p.message for p in corpus.problems}


@pytest.fixture
def with_essays(tmp_path) -> Path:
    shutil.copy(SEED_FILE, tmp_path / SEED_FILE.name)
    return tmp_path


def test_a_scanned_pdf_is_named_with_a_clear_message(with_essays):
    image_only_pdf(with_essays / "scan.pdf")
    assert _problems(with_essays) == {"scan.pdf": "no text layer (a scanned or image-only PDF); "
                                                  "OCR is not supported"}


def test_an_encrypted_pdf_asks_for_an_unprotected_copy(with_essays):
    encrypted_pdf(with_essays / "locked.pdf")
    message = _problems(with_essays)["locked.pdf"]
    assert "encrypted" in message and "password" in message


@pytest.mark.parametrize("name, data, expected", [
    ("broken.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ngarbage", "not a readable PDF"),
    ("notes.pdf", "只是一个文本文件。".encode(), "not a readable PDF"),
    ("broken.docx", b"PK\x03\x04 not really a zip", "not a readable Word file"),
    ("old.doc", b"\xd0\xcf\x11\xe0 binary", "save it as .docx"),
])
def test_a_damaged_file_gives_one_line_and_the_rest_loads(with_essays, name, data, expected):
    (with_essays / name).write_bytes(data)
    message = _problems(with_essays)[name]
    assert expected in message and "\n" not in message


def test_a_docx_with_broken_xml_gives_one_line(with_essays):
    import zipfile

    with zipfile.ZipFile(with_essays / "bad-xml.docx", "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types><broken")
    assert "not a readable Word file" in _problems(with_essays)["bad-xml.docx"]


def test_a_pdf_copy_of_a_text_file_is_loaded_once(pdf_folder, tmp_path):
    shutil.copy(pdf_folder / f"{STEM}.pdf", tmp_path)
    shutil.copy(SEED_FILE, tmp_path)
    corpus = load_corpus(tmp_path)
    assert [d.source.rsplit(".", 1)[1] for d in corpus.documents] == ["pdf"] * 3
    assert [(Path(p.source).name, p.message) for p in corpus.problems] == [
        (SEED_FILE.name, f"same content as {tmp_path.name}/{STEM}.pdf; loaded once")]


def test_files_that_differ_only_in_suffix_get_distinct_ids(tmp_path):
    (tmp_path / "notes.txt").write_text("港口今天开放。", encoding="utf-8")
    (tmp_path / "notes.html").write_text("<p>码头明天维修。</p>", encoding="utf-8")
    ids = sorted(d.doc_id for d in load_corpus(tmp_path).documents)
    assert ids == [f"{tmp_path.name}/notes.html", f"{tmp_path.name}/notes.txt"]


def test_a_file_over_the_size_limit_is_refused_without_reading_it(with_essays):
    with open(with_essays / "huge.pdf", "wb") as handle:  # sparse: no disk is used
        handle.truncate((MAX_FILE_MB + 1) * 1024 * 1024)
    assert _problems(with_essays) == {"huge.pdf": f"the file is {MAX_FILE_MB + 1} MB; the limit is "
                                                  f"{MAX_FILE_MB} MB per file"}


def test_a_pdf_with_some_scanned_pages_loads_the_rest_and_names_them(tmp_path):
    text_and_scan_pdf(tmp_path / "mixed.pdf")
    corpus = load_corpus(tmp_path)
    [document] = corpus.documents
    assert "港口吞吐量稳步增长" in document.text and document.chunks[0].page == 1
    assert [p.message for p in corpus.problems] == [
        "page 2 has no text layer (scanned?); OCR is not supported, so their content is not searchable"]


# ------------------------------------------------------------------ Word and HTML details


def test_word_tables_are_rows_and_headers_footers_are_dropped(tmp_path):
    import docx

    word = docx.Document()
    word.sections[0].header.paragraphs[0].text = "页眉：内部资料"
    word.sections[0].footer.paragraphs[0].text = "第 1 页"
    word.add_heading("港口年报", level=0)
    word.add_heading("一、吞吐量", level=1)
    word.add_paragraph("今年港口吞吐量稳步增长。")
    table = word.add_table(rows=2, cols=2)
    for row, cells in enumerate([("货类", "万吨"), ("集装箱", "120")]):
        for column, text in enumerate(cells):
            table.cell(row, column).text = text
    word.add_heading("二、展望", level=1)
    word.add_paragraph("明年继续扩大航线。")
    word.save(str(tmp_path / "report.docx"))
    [document] = load_corpus(tmp_path).documents
    assert document.title == "港口年报"
    assert [s.heading for s in document.sections] == ["一、吞吐量", "二、展望"]
    assert "货类 | 万吨\n集装箱 | 120" in document.text
    assert "页眉" not in document.text and "第 1 页" not in document.text
    assert document.chunks[1].section == ["一、吞吐量"]


def test_html_main_text_and_headings(tmp_path):
    (tmp_path / "page.html").write_text(
        "<html><head><title>站点 · 港口新闻</title><style>p{color:red}</style></head><body>"
        "<nav><a href='/'>首页</a> <a href='/news'>新闻</a></nav>"
        "<main><h1>港口新闻</h1><p>营口港今年开通&nbsp;3 条新航线。</p>"
        "<h2>一、航线</h2><p>新航线通往<b>东南亚</b>。</p><script>alert('x')</script>"
        "<table><tr><th>航线</th><th>班次</th></tr><tr><td>营口—胡志明</td><td>每周2班</td></tr></table>"
        "</main><footer>版权所有</footer></body></html>", encoding="utf-8")
    [document] = load_corpus(tmp_path).documents
    assert document.title == "港口新闻"
    assert [s.heading for s in document.sections] == ["一、航线"]
    assert "新航线通往东南亚。" in document.text
    assert "航线 | 班次\n营口—胡志明 | 每周2班" in document.text
    for furniture in ("首页", "alert", "版权所有", "color:red", "站点"):
        assert furniture not in document.text


# ------------------------------------------------------------------ view on page


def test_view_on_page_highlights_the_quote_where_it_is_printed(pdf_corpus):
    document = pdf_corpus.documents[1]
    start = document.text.index("截至目前，全市有效期内")
    end = document.text.index("。", start) + 1
    [image] = quote_pages(document, start, end)
    assert image.page == document.page_span(start, end)[0] == 3
    assert image.data.startswith(b"\xff\xd8")  # JPEG
    assert len(image.boxes) == 3  # the sentence is printed on three lines
    for left, top, right, bottom in image.boxes:
        assert 0 <= left < right <= image.width and 0 <= top < bottom <= image.height
    from io import BytesIO

    from PIL import Image

    picture = Image.open(BytesIO(image.data)).convert("RGB")
    left, top, right, bottom = image.boxes[1]
    assert picture.getpixel(((left + right) // 2, (top + bottom) // 2))[2] < 200  # yellow, not white
    assert min(picture.getpixel((5, 5))) > 245  # white margin


def test_view_on_page_refuses_a_changed_or_missing_pdf(pdf_corpus, tmp_path):
    document = pdf_corpus.documents[0]
    moved = Document(**{**document.__dict__,
                        "page_map": PageMap(str(tmp_path / "gone.pdf"), "0", 6, document.page_map.runs)})
    with pytest.raises(RagError, match="cannot open"):
        quote_pages(moved, 0, 10)
    copy = tmp_path / "copy.pdf"
    copy.write_bytes(Path(document.page_map.file).read_bytes() + b"\n% edited")
    changed = Document(**{**document.__dict__, "page_map": PageMap(str(copy), hashlib.sha256(b"").hexdigest(),
                                                                   6, document.page_map.runs)})
    with pytest.raises(RagError, match="changed since it was indexed"):
        quote_pages(changed, 0, 10)
    assert os.path.exists(document.page_map.file)


# ------------------------------------------------------------------ asking an index of the PDF alone

README_QUESTIONS = ["全市有效期内省级专精特新企业共计多少户？", "Where are Kanghui New Materials' products exported to?",
                    "营口有多少个千亿级产业集群？", "郭美辰的文章第二部分讲什么？"]


@pytest.fixture(scope="module")
def pdf_index(tmp_path_factory, shared_cache, pdf_folder) -> Path:
    from conftest import env
    from rag.index import build_index

    index_dir = tmp_path_factory.mktemp("pdf-index")
    with env(RAG_CACHE_DIR=str(shared_cache)):
        build_index(pdf_folder, index_dir, progress=False)
    return index_dir


@pytest.mark.slow
def test_rag_ask_on_the_pdf_alone_quotes_the_same_sentences_with_their_pages(pdf_index, seed_index):
    import json
    import subprocess
    import sys

    def ask(index: Path) -> list[dict]:
        done = subprocess.run([sys.executable, "-m", "rag.cli", "ask", "--index", str(index), "--json",
                               "--batch", str(batch)], capture_output=True, text=True, check=True,
                              env=dict(os.environ), timeout=600)
        return [json.loads(line) for line in done.stdout.splitlines()]

    batch = pdf_index.parent / "questions.txt"
    batch.write_text("\n".join(README_QUESTIONS), encoding="utf-8")
    from_pdf, from_text = ask(pdf_index), ask(seed_index)
    for pdf_answer, text_answer in zip(from_pdf, from_text, strict=True):
        ours, theirs = pdf_answer["answer"], text_answer["answer"]
        assert ours["text"] == theirs["text"] and ours["span"] == theirs["span"]
        cited = {k: v for k, v in ours["citation"].items() if k not in ("source", "page", "pages")}
        assert cited == {k: v for k, v in theirs["citation"].items() if k not in ("source", "page", "pages")}
        assert ours["citation"]["source"].endswith(".pdf") and theirs["citation"]["page"] is None
        assert [p["page"] for p in pdf_answer["passages"]] and all(p["page"] for p in pdf_answer["passages"])
    assert [a["answer"]["citation"]["page"] for a in from_pdf] == [3, 5, 6, 1]
    done = subprocess.run([sys.executable, "-m", "rag.cli", "ask", "--index", str(pdf_index), README_QUESTIONS[0]],
                          capture_output=True, text=True, check=True, env=dict(os.environ), timeout=600)
    assert "“截至目前，全市有效期内省级专精特新企业共计【137户】，数量位居全省第四。”" in done.stdout
    assert "· paragraph 4 · p. 3  (confidence" in done.stdout


def test_the_answer_card_offers_the_page_inline(pdf_corpus):
    from ui.pages import page_view_html

    document = pdf_corpus.documents[1]
    start = document.text.index("截至目前，全市有效期内")
    end = document.text.index("。", start) + 1
    citation = Citation(document.doc_id, document.source, document.title, document.author, [], 4, start, end,
                        *document.page_span(start, end))
    html = page_view_html(Answer(document.text[start:end], None, 1.0, citation), document)
    assert html.startswith('<details class="pageview"><summary>') and "View on page 3" in html
    assert html.count('src="data:image/jpeg;base64,') == 1
    text_document = Document("t", "t.txt", "", "", "", "abc")
    assert page_view_html(Answer("abc", None, 1.0, Citation("t", "t.txt", "", "", [], 1, 0, 3)), text_document) == ""


@pytest.mark.slow
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="/usr/bin/chromium is not installed")
def test_the_page_shows_the_quote_on_its_pdf_page(pdf_index, shared_cache, tmp_path):
    from playwright.sync_api import sync_playwright
    from test_page import CHROMIUM_ARGS, _ask, _open_page_view, _page

    from conftest import running_app

    with running_app(pdf_index, shared_cache) as (url, _), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        with _page(browser, url) as page:
            _ask(page, README_QUESTIONS[0])
            answer = page.locator("#rag-answer")
            assert "p. 3" in answer.locator(".cite").first.inner_text()
            _open_page_view(answer, tmp_path / "page-view.png")
        browser.close()
    assert (tmp_path / "page-view.png").stat().st_size > 10_000


def test_pages_render_safely_from_several_threads(pdf_corpus):
    """The server renders for concurrent visitors; PDFium itself is not thread-safe."""
    from concurrent.futures import ThreadPoolExecutor

    document = pdf_corpus.documents[2]
    quotes = [(s.start, s.end) for chunk in document.chunks for s in chunk.sentences][:12]
    with ThreadPoolExecutor(4) as pool:
        images = list(pool.map(lambda q: quote_pages(document, *q)[0], quotes))
    assert [image.page for image in images] == [document.page_span(*q)[0] for q in quotes]
    assert all(image.boxes for image in images)
