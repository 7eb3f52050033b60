"""Ingestion: the shipped essays come out whole and structured; other files and bad files behave."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import DATA, PROJECT_ROOT, SEED_FILE, SEEDS
from rag.errors import CorpusError
from rag.ingest import (
    MAX_CHUNK_CHARS,
    corpus_to_dict,
    load_corpus,
    load_file,
    parse_text,
    read_text,
    split_sentences,
)
from rag.ingest.reflow import clean_spaces, join_lines, reflow

FIXTURES = DATA / "ingest"

SEED_SECTIONS = [
    [("一、准确把握习近平总书记重要讲话精神", []),
     ("二、立足营口市，深化社会治理创新", ["（一）加强基层党组织建设，提升社会治理效能",
                                "（二）优化社会治理模式，推动共建共治共享",
                                "（三）深化法治保障，营造公正法治环境",
                                "（四）加强社会矛盾调解与预防"]),
     ("三、强化责任担当，推动社会治理改革落地生根", ["（一）精准施策，解决民生问题", "（二）推动政府部门协同合作"])],
    [("一、以科技创新为引领，激发企业新动能", []), ("二、以产业升级为支撑，构建现代化产业体系", []),
     ("三、以改革攻坚为保障，优化创新环境", [])],
    [("一、传统产业转型：老树发新芽", []), ("二、新兴产业培育：新苗茁壮成长", []),
     ("三、“双引擎”协同：释放强大动力", [])],
]
SEED_BYLINES = ["中共营口市委党校 郭美辰", "中共营口市委党校 王献笛", "中共营口市委党校 冯也"]


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def all_headings(nodes) -> list[str]:
    return [h for n in nodes for h in [n.heading, *all_headings(n.children)]]


def body_of_chunks(document) -> str:
    return "".join(chunk.text for chunk in document.chunks)


@pytest.fixture(scope="module")
def seed():
    return load_corpus(SEEDS)


# --- the shipped essays -------------------------------------------------------------------------


def test_seed_has_three_essays_with_titles_authors_and_affiliations(seed):
    docs = seed.documents
    assert [d.doc_id for d in docs] == ["yingkou-essays-2025#1", "yingkou-essays-2025#2", "yingkou-essays-2025#3"]
    assert [d.author for d in docs] == ["郭美辰", "王献笛", "冯也"]
    assert {d.affiliation for d in docs} == {"中共营口市委党校"}
    assert docs[0].title == "深入学习习近平总书记在辽宁考察期间的重要讲话精神 提升社会治理水平"
    assert docs[1].title == "强化科技创新和产业创新深度融合 谱写我市振兴发展新篇章"
    assert docs[2].title == "传统转型+新兴培育 营口产业“双引擎”驱动发展"
    assert {d.source for d in docs} == {"seeds/yingkou-essays-2025.txt"}
    assert seed.problems == []


def test_loading_the_seed_file_alone_gives_the_same_sources_and_ids(seed):
    single = load_corpus(SEED_FILE)
    assert [(d.doc_id, d.source, d.text) for d in single.documents] == \
        [(d.doc_id, d.source, d.text) for d in seed.documents]


@pytest.mark.parametrize("index", [0, 1, 2])
def test_seed_section_trees(seed, index):
    tree = [(n.heading, [c.heading for c in n.children]) for n in seed.documents[index].sections]
    assert tree == SEED_SECTIONS[index]
    for node in seed.documents[index].sections:
        assert node.level == 1 and all(child.level == 2 for child in node.children)


def test_section_spans_start_at_their_heading_and_nest(seed):
    for doc in seed.documents:
        for node in doc.sections:
            assert doc.text[node.start:].startswith(node.heading + "\n")
            for child in node.children:
                assert node.start < child.start < child.end <= node.end
                assert doc.text[child.start:].startswith(child.heading + "\n")
        tops = doc.sections
        for before, after in zip(tops, tops[1:], strict=False):
            assert before.end == after.start - 1  # up to the newline before the next heading
        assert tops[-1].end == len(doc.text)


def test_seed_chunks_carry_their_section_path(seed):
    doc = seed.documents[0]
    assert doc.chunks[0].section == []  # the introduction
    chunk = next(c for c in doc.chunks if "完善社会治理中的法治保障体系" in c.text)
    assert chunk.section == ["二、立足营口市，深化社会治理创新", "（三）深化法治保障，营造公正法治环境"]
    assert chunk.title == doc.title and chunk.author == "郭美辰" and chunk.source == doc.source


def test_seed_body_text_is_kept_exactly_once(seed):
    """All chunks together are the file minus whitespace, headings, bylines and titles."""
    expected = squeeze(SEED_FILE.read_text(encoding="utf-8"))
    metadata = SEED_BYLINES + [d.title for d in seed.documents]
    metadata += [h for d in seed.documents for h in all_headings(d.sections)]
    for text in metadata:
        assert expected.count(squeeze(text)) == 1, text
        expected = expected.replace(squeeze(text), "", 1)
    assert squeeze("".join(body_of_chunks(d) for d in seed.documents)) == expected


def test_seed_chunks_are_whole_paragraphs_of_whole_sentences(seed):
    for doc in seed.documents:
        paragraphs = [c.paragraph for c in doc.chunks]
        assert paragraphs == list(range(1, len(doc.chunks) + 1))
        for chunk in doc.chunks:
            assert chunk.text == doc.text[chunk.start:chunk.end]
            assert chunk.start == 0 or doc.text[chunk.start - 1] == "\n"
            assert chunk.end == len(doc.text) or doc.text[chunk.end] == "\n"
            assert chunk.text.endswith("。")
            assert chunk.chunk_id == f"{doc.doc_id}#p{chunk.paragraph}"
            assert chunk.sentences[0].start == chunk.start and chunk.sentences[-1].end == chunk.end


def test_no_seed_chunk_holds_a_heading_byline_or_title(seed):
    chunks = seed.chunks()
    headings = [h for d in seed.documents for h in all_headings(d.sections)]
    for text in headings + SEED_BYLINES + [d.title for d in seed.documents]:
        assert not any(text in c.text for c in chunks), text
    assert not any("党校" in c.text for c in chunks)


@pytest.mark.parametrize("sentence_part", ["在具体的社会治理实践中", "完善社会治理中的法治保障体系",
                                           "营口光阳耐火材料有限公司便是一个典型代表",
                                           "在社会治理中，矛盾调解是一项重要工作。",
                                           "希望辽宁在推动新时代东北全面振兴取得新突破上勇于争先"])
def test_sentences_broken_by_page_breaks_are_whole_again(seed, sentence_part):
    assert any(sentence_part in c.text for c in seed.chunks())


def test_pdf_artefact_spaces_are_removed_from_the_body(seed):
    text = "\n".join(d.text for d in seed.documents)
    for fixed in ["2025年1月22日至24日", "24日上午", "铜4个千亿级", "等13户企业", "贡献。", "等10家龙头企业",
                  "已成功牵手10家企业"]:
        assert fixed in text
    assert " " not in "".join(c.text for c in seed.chunks())  # titles keep their real spaces


def test_title_and_byline_open_the_document_text(seed):
    first = seed.documents[0]
    assert first.text.startswith(first.title + "\n中共营口市委党校 郭美辰\n")
    assert all(c.start > len(first.title) for c in first.chunks)


def test_short_sentence_final_line_ends_its_paragraph(seed):
    doc = seed.documents[1]
    ends = [c.text for c in doc.chunks if c.text.endswith("推动传统产业向绿色低碳转型。")]
    assert len(ends) == 1
    assert any(c.text.startswith("战略性新兴产业代表着未来产业发展的方向") for c in doc.chunks)


def test_page_break_style_introduction_is_two_paragraphs(seed):
    intro = [c for c in seed.documents[1].chunks if c.section == []]
    assert len(intro) == 2
    assert intro[0].text.startswith("2025年1月22日") and intro[0].text.endswith("辽宁篇章。")
    assert intro[1].text.startswith("习近平总书记指出")


def test_seed_sentences_tile_each_chunk(seed):
    for chunk in seed.chunks():
        spans = chunk.sentences
        assert all(a.end <= b.start for a, b in zip(spans, spans[1:], strict=False))
        doc = seed.document(chunk.doc_id)
        assert "".join(doc.text[s.start:s.end] for s in spans) == chunk.text
        assert all(re.search(r"[。！？；]”?$", doc.text[s.start:s.end]) for s in spans)


# --- encodings and bad files --------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["gb18030", "gbk", "utf-8-sig", "utf-16"])
def test_other_encodings_give_the_same_documents(tmp_path, seed, encoding):
    copy = tmp_path / "seeds" / SEED_FILE.name
    copy.parent.mkdir()
    copy.write_bytes(SEED_FILE.read_text(encoding="utf-8").encode(encoding))
    loaded = load_corpus(copy.parent)
    assert [(d.doc_id, d.source, d.title, d.author, d.text) for d in loaded.documents] == \
        [(d.doc_id, d.source, d.title, d.author, d.text) for d in seed.documents]


def test_utf16_big_endian_with_bom_is_read(tmp_path):
    path = tmp_path / "be.txt"
    path.write_bytes("\ufeff营口港。\r\n第二行。".encode("utf-16-be"))
    assert read_text(path) == "营口港。\n第二行。"


def test_windows_line_ends_and_crlf_give_the_same_text(tmp_path):
    path = tmp_path / "crlf.txt"
    path.write_bytes(SEED_FILE.read_bytes().replace(b"\n", b"\r\n"))
    assert read_text(path) == SEED_FILE.read_text(encoding="utf-8")


@pytest.mark.parametrize(("content", "message"), [
    (b"", "empty"),
    (b"  \n\n ", "empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary"),
    (b"abc \x80\xff\x81 not text \xfe\xff" * 3, "cannot decode"),
    (bytes(range(1, 32)) * 20, "binary"),
])
def test_a_bad_file_is_reported_and_the_rest_still_loads(tmp_path, content, message):
    (tmp_path / "good.txt").write_text("营口是一座港口城市。", encoding="utf-8")
    (tmp_path / "bad.txt").write_bytes(content)
    corpus = load_corpus(tmp_path)
    assert [d.doc_id for d in corpus.documents] == ["good"]
    [problem] = corpus.problems
    assert problem.source.endswith("bad.txt") and message in problem.message


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can read any file")
def test_an_unreadable_file_is_reported(tmp_path):
    (tmp_path / "good.txt").write_text("营口是一座港口城市。", encoding="utf-8")
    locked = tmp_path / "locked.txt"
    locked.write_text("秘密。", encoding="utf-8")
    locked.chmod(0)
    try:
        corpus = load_corpus(tmp_path)
    finally:
        locked.chmod(0o644)
    assert "permission denied" in corpus.problems[0].message


def test_a_permission_error_is_reported_even_when_running_as_root(tmp_path, monkeypatch):
    (tmp_path / "good.txt").write_text("营口是一座港口城市。", encoding="utf-8")
    locked = tmp_path / "locked.txt"
    locked.write_text("秘密。", encoding="utf-8")
    real_read_bytes = Path.read_bytes

    def read_bytes(self):
        if self.name == locked.name:
            raise PermissionError(13, "Permission denied")
        return real_read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    corpus = load_corpus(tmp_path)
    assert [d.doc_id for d in corpus.documents] == ["good"]
    assert corpus.problems[0].message == "cannot read the file (permission denied)"


def test_read_text_raises_a_clear_error_for_a_missing_file(tmp_path):
    with pytest.raises(CorpusError, match="cannot read"):
        read_text(tmp_path / "nope.txt")


def test_a_missing_corpus_path_is_a_corpus_error(tmp_path):
    with pytest.raises(CorpusError, match="corpus not found"):
        load_corpus(tmp_path / "nowhere")


def test_a_corpus_without_usable_documents_is_a_corpus_error(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "picture.png").write_bytes(b"\x89PNG")
    with pytest.raises(CorpusError, match=r"no usable documents.*empty\.txt: the file is empty"):
        load_corpus(tmp_path)
    with pytest.raises(CorpusError, match="no usable documents"):
        load_corpus(tmp_path / "empty.txt")


def test_duplicate_files_load_once_even_in_another_encoding(tmp_path):
    text = "营口是一座港口城市。\n\n鲅鱼圈是它的港区。"
    (tmp_path / "a.txt").write_text(text, encoding="utf-8")
    (tmp_path / "b.txt").write_bytes(text.encode("gb18030"))
    corpus = load_corpus(tmp_path)
    assert [d.doc_id for d in corpus.documents] == ["a"]
    assert corpus.problems[0].source.endswith("b.txt") and "a.txt" in corpus.problems[0].message


def test_folders_recurse_in_sorted_order_and_skip_hidden_and_unsupported_files(tmp_path):
    for rel in ["b/two.txt", "a/one.md", "c.txt", ".hidden/x.txt", "a/.secret.txt"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(f"{rel}的内容。", encoding="utf-8")
    (tmp_path / "scan.tiff").write_bytes(b"II*\x00")
    corpus = load_corpus(tmp_path)
    base = tmp_path.name
    assert [d.source for d in corpus.documents] == [f"{base}/a/one.md", f"{base}/b/two.txt", f"{base}/c.txt"]
    assert [p.source for p in corpus.problems] == [f"{base}/scan.tiff"]
    assert "not a supported type" in corpus.problems[0].message


def test_files_sharing_a_stem_get_distinct_ids(tmp_path):
    for folder in ["x", "y"]:
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "notes.txt").write_text(f"{folder}目录的笔记。", encoding="utf-8")
    ids = [d.doc_id for d in load_corpus(tmp_path).documents]
    assert ids == [f"{tmp_path.name}/x/notes", f"{tmp_path.name}/y/notes"]


# --- other layouts ------------------------------------------------------------------------------


def test_another_pdf_style_file_with_bylines_after_the_body():
    docs, problems = load_file(FIXTURES / "pdf-essays.txt", DATA)
    assert problems == []
    assert [(d.doc_id, d.author, d.affiliation, d.title) for d in docs] == [
        ("pdf-essays#1", "李明远", "辽宁省农业科学院", "以科技赋能乡村振兴 推动农业高质量发展"),
        ("pdf-essays#2", "张晓", "大连理工大学", "数字经济助力城市治理现代化"),
    ]
    first = docs[0]
    assert [n.heading for n in first.sections] == ["一、把握农业科技创新的基本规律",
                                                   "二、推动农业科技成果在田间地头转化", "三、完善农业科技创新的保障体系"]
    assert [c.heading for c in first.sections[1].children] == ["（一）建强基层农技推广队伍", "（二）培育新型农业经营主体"]
    texts = [c.text for c in first.chunks]
    assert texts[0].endswith("明确提出到2027年建成50个现代农业科技示范园区。")
    assert "只有尊重规律，才能让科技成果真正落地。" in texts[1]
    assert "收益，全年带动增收1.5万元。" in texts[3]
    assert texts[4] == "示范效应明显。"
    assert docs[1].chunks[-1].text.endswith("缩短了60%。")
    assert docs[0].source == "ingest/pdf-essays.txt"


@pytest.mark.parametrize(("first_line", "title"), [
    ("It was begun in 1892.", ""),  # a sentence standing alone is text, not the title
    ("The Bridge of Apple Inc.", "The Bridge of Apple Inc."),
    ("营口港的历史", "营口港的历史"),
])
def test_a_lone_first_line_is_a_title_unless_it_is_a_sentence(tmp_path, first_line, title):
    path = tmp_path / "note.txt"
    path.write_text(f"{first_line}\n\nThe bridge was designed by a young engineer, and it still stands.\n\n"
                    "它至今仍在使用。\n", encoding="utf-8")
    [doc], _ = load_file(path, tmp_path)
    assert doc.title == (title or "note")
    assert (first_line in doc.chunks[0].text) == (not title)


def test_title_before_byline_layout():
    docs, _ = load_file(FIXTURES / "title-first.txt", DATA)
    assert [(d.title, d.author, d.affiliation) for d in docs] == [
        ("城市更新中的历史街区保护", "王丽娜", "沈阳建筑大学"), ("社区治理的微更新实践", "赵强", "辽宁大学")]
    assert [n.heading for n in docs[0].sections] == ["一、坚持保护优先", "二、激发街区活力"]
    assert docs[0].chunks[-1].text == "引入文创、餐饮等业态，让老街区重新热闹起来。居民的生活也应得到改善。"
    assert not any("辽宁大学" in c.text or "微更新实践" in c.text for c in docs[0].chunks)


def test_markdown_headings_become_sections_and_the_top_heading_the_title():
    [doc], _ = load_file(FIXTURES / "report.md", DATA)
    assert doc.doc_id == "report" and doc.author == "" and doc.title == "2024 年度社区服务报告"
    tree = [(n.heading, n.level, [c.heading for c in n.children]) for n in doc.sections]
    assert tree == [("主要工作", 1, ["养老服务", "儿童服务"]), ("存在的问题", 1, [])]
    care = [c for c in doc.chunks if c.section == ["主要工作", "养老服务"]]
    assert care[0].text == "中心为辖区内 300 余名老人提供了助餐服务。每周二、周四还有志愿者上门探访，了解老人的生活需求。"
    assert [c.text for c in care[1:]] == ["- 助餐点增加到 5 个", "- 新增日间照料床位 20 张"]
    assert not any("#" in c.text for c in doc.chunks)


def test_plain_text_without_structure_is_one_document_named_after_the_file():
    [doc], _ = load_file(FIXTURES / "notes.txt", DATA)
    assert (doc.doc_id, doc.title, doc.author, doc.sections) == ("notes", "notes", "", [])
    assert len(doc.chunks) == 3  # one paragraph per line: not hard-wrapped, so not joined
    assert doc.chunks[0].text.startswith("会议记录：")


def test_hard_wrapped_english_is_joined_with_spaces():
    [doc], _ = load_file(FIXTURES / "english.txt", DATA)
    assert doc.title == "Field notes on river restoration"
    first = doc.chunks[0]
    assert "fish were seen upstream for the first time" in first.text
    sentences = [doc.text[s.start:s.end] for s in first.sentences]
    assert sentences == ["The old weir was removed in spring.",
                         "Within two months, fish were seen upstream for the first time in decades.",
                         "Volunteers counted 3.5 times more trout than last year!"]


def test_jsonl_lines_are_documents_and_bad_lines_are_reported():
    docs, problems = load_file(FIXTURES / "bench.jsonl", DATA)
    assert [(d.doc_id, d.title, d.author) for d in docs] == [
        ("Q_1-p0", "盘锦湿地", ""), ("Q_2-p0", "鞍山玉佛", ""), ("Q_4-p0", "营口鲅鱼圈", "")]
    assert [c.chunk_id for c in docs[0].chunks] == ["Q_1-p0#p1", "Q_1-p0#p2"]
    assert [(p.source, p.message.split(":")[0]) for p in problems] == [
        ("ingest/bench.jsonl", "line 3"), ("ingest/bench.jsonl", "line 4")]


def test_benchmark_corpus_format_loads():
    bench = PROJECT_ROOT.parent / "shared" / "bench" / "cmrc2018-trial" / "corpus.jsonl"
    if not bench.exists():
        pytest.skip("shared benchmark data not available")
    corpus = load_corpus(bench)
    first = json.loads(bench.read_text(encoding="utf-8").split("\n", 1)[0])
    assert corpus.documents[0].doc_id == first["id"] and corpus.documents[0].title == first["title"]
    assert corpus.problems == []


def test_chapter_section_and_numbered_headings_nest_by_kind():
    text = ("第一章 总则\n\n第一节 目的\n为规范管理，制定本办法。\n\n第二节 范围\n1. 适用对象\n本办法适用于所有单位。\n"
            "2. 例外情形\n特殊情况另行规定。\n\n第二章 附则\n本办法自发布之日起施行。")
    [doc] = parse_text(text, "rules.txt", "rules")
    tree = [(n.heading, [(c.heading, [g.heading for g in c.children]) for c in n.children]) for n in doc.sections]
    assert tree == [("第一章 总则", [("第一节 目的", []), ("第二节 范围", ["1. 适用对象", "2. 例外情形"])]),
                    ("第二章 附则", [])]
    assert doc.chunks[2].section == ["第一章 总则", "第二节 范围", "2. 例外情形"]
    assert [c.text for c in doc.chunks] == ["为规范管理，制定本办法。", "本办法适用于所有单位。", "特殊情况另行规定。",
                                            "本办法自发布之日起施行。"]


# --- reflow and cleaning rules ------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "clean"), [
    ("2025 年 1 月 22 日至 24 日，习近平", "2025年1月22日至24日，习近平"),
    ("铜 4 个千亿级产", "铜4个千亿级产"),
    ("作出更大贡献 。", "作出更大贡献。"),
    ("（一） 加强基层党组织建设", "（一）加强基层党组织建设"),
    ("采用 5G 技术", "采用 5G 技术"),  # a Latin word is not a bare number: keep the spacing
    ("version 2 of the API", "version 2 of the API"),
    ("  leading and   trailing  ", "leading and trailing"),
])
def test_clean_spaces(raw, clean):
    assert clean_spaces(raw) == clean


def test_wrapped_heading_is_joined_but_body_after_a_heading_is_not():
    lines = ["这是第一段的第一行文字，内容较长", "这是第一段的第二行，并且结束了。", "",
             "一、这是一个很长的标题需要换行显", "示", "",
             "正文第一行内容比较长，继续写下去", "正文第二行也是一样写到了结尾。", "",
             "（一）短标题", "正文紧跟在标题后面，没有空行，继续", "写完这一句话。"]
    blocks = [(b.text, b.heading_kind) for b in reflow(lines)]
    assert blocks == [("这是第一段的第一行文字，内容较长这是第一段的第二行，并且结束了。", None),
                      ("一、这是一个很长的标题需要换行显示", "cn"),
                      ("正文第一行内容比较长，继续写下去正文第二行也是一样写到了结尾。", None),
                      ("（一）短标题", "paren_cn"),
                      ("正文紧跟在标题后面，没有空行，继续写完这一句话。", None)]


def test_blank_line_after_a_mid_sentence_line_is_a_page_break():
    lines = ["营口位于辽宁省南部，渤海之滨，是", "", "一座重要的港口城市。", "", "第二段从这里开始，内容不短。"]
    assert [b.text for b in reflow(lines)] == ["营口位于辽宁省南部，渤海之滨，是一座重要的港口城市。",
                                                "第二段从这里开始，内容不短。"]


@pytest.mark.parametrize("between", ["\n", "\n\n"])
@pytest.mark.parametrize(("first", "second"), [
    ("这座大桥由一位年轻的工程师设计，工程于1892.", "路德维希·普朗特后来回忆了在那里度过的几年时光。"),
    ("The bridge, designed by a young engineer, was begun in 1892.",  # a comma: not a title line
     "Ludwig Prandtl later recalled the years he spent there as a student."),
])
def test_a_line_ending_in_a_number_and_a_full_stop_ends_its_paragraph(tmp_path, first, second, between):
    path = tmp_path / "bridge.txt"
    path.write_text(first + between + second + "\n", encoding="utf-8")
    [doc], _ = load_file(path, tmp_path)
    assert [c.text for c in doc.chunks] == [first, second]  # not "in 1892.路德维希…"


def test_a_hard_wrapped_paragraph_ending_in_a_number_and_a_full_stop_ends_there():
    lines = ["这座大桥由一位年轻的工程师设计，建", "造工程开始于1892.", "路德维希·普朗特后来回忆了这段经", "历，他说那是一段难忘的日子。"]
    assert [b.text for b in reflow(lines)] == ["这座大桥由一位年轻的工程师设计，建造工程开始于1892.",
                                                "路德维希·普朗特后来回忆了这段经历，他说那是一段难忘的日子。"]


@pytest.mark.parametrize("lines", [
    ["全市规模以上工业增加值同比增长了3.", "5%，高于全省平均水平，成绩来之不", "易，值得肯定。"],  # a wrap
    ["全市规模以上工业增加值同比增长了3.", "", "5%，高于全省平均水平，成绩来之不", "易，值得肯定。"],  # a page break
])
def test_a_decimal_number_broken_at_its_point_is_joined_whole(lines):
    assert [b.text for b in reflow(lines)] == ["全市规模以上工业增加值同比增长了3.5%，高于全省平均水平，成绩来之不易，值得肯定。"]


def test_a_section_number_broken_at_its_point_is_joined_whole():
    lines = ["具体要求详见本办法第3.", "2节的有关规定，各单位应当认真执", "行，不得擅自变更。"]
    assert [b.text for b in reflow(lines)] == ["具体要求详见本办法第3.2节的有关规定，各单位应当认真执行，不得擅自变更。"]


def test_a_numbered_heading_after_a_line_ending_in_a_number_starts_a_section():
    text = "大桥由一位年轻的工程师设计，于1892.\n2. 后来的事\n路德维希·普朗特后来回忆了这段经历。"
    [doc] = parse_text(text, "bridge.txt", "bridge")
    assert [n.heading for n in doc.sections] == ["2. 后来的事"]
    assert [(c.text, c.section) for c in doc.chunks] == [("大桥由一位年轻的工程师设计，于1892.", []),
                                                         ("路德维希·普朗特后来回忆了这段经历。", ["2. 后来的事"])]


def test_a_line_that_is_only_an_item_number_stays_with_its_item():
    lines = ["准备工作分为以下几个步骤，请按顺", "序逐项完成，不要遗漏", "1.", "准备好全部申请材料并仔细核对每一", "项内容。"]
    assert [b.text for b in reflow(lines)] == ["准备工作分为以下几个步骤，请按顺序逐项完成，不要遗漏1.准备好全部申请材料并仔细核对每一项内容。"]


# --- sentences and chunks -----------------------------------------------------------------------


def test_split_sentences_on_chinese_and_english_ends_with_offsets():
    text = "他说：“要推动治理精细化。”随后离开！真的吗？是的；好 It costs 3.5 dollars. Done! ok"
    spans = split_sentences(text, offset=100)
    pieces = [text[s.start - 100:s.end - 100] for s in spans]
    assert pieces == ["他说：“要推动治理精细化。”", "随后离开！", "真的吗？", "是的；",
                      "好 It costs 3.5 dollars.", "Done!", "ok"]


def test_split_sentences_of_blank_text_is_empty():
    assert split_sentences("  \n ") == []


def test_a_long_paragraph_is_split_at_sentence_ends():
    sentence = "营口市持续推进产业转型升级，培育壮大新兴产业集群，不断提升城市综合竞争力。"  # 38 chars
    paragraph = sentence * 25
    [doc] = parse_text(f"短的第一段。\n\n{paragraph}\n\n结尾。", "long.txt", "long")
    parts = [c for c in doc.chunks if c.paragraph == 2]
    assert [c.chunk_id for c in parts] == ["long#p2.1", "long#p2.2", "long#p2.3"]
    assert all(len(c.text) <= MAX_CHUNK_CHARS and c.text.endswith("。") for c in parts)
    assert "".join(c.text for c in parts) == paragraph
    assert max(len(c.text) for c in parts) - min(len(c.text) for c in parts) <= len(sentence)
    assert doc.chunks[-1].chunk_id == "long#p3"


def test_a_single_overlong_sentence_stays_whole():
    sentence = "这" * (MAX_CHUNK_CHARS + 50) + "。"
    [doc] = parse_text(sentence, "one.txt", "one")
    assert [c.text for c in doc.chunks] == [sentence]


# --- JSON export and the CLI --------------------------------------------------------------------


def test_corpus_to_dict_is_json_with_nested_sections_and_sentence_pairs(seed):
    data = json.loads(json.dumps(corpus_to_dict(seed), ensure_ascii=False))
    first = data["documents"][0]
    assert {"doc_id", "source", "title", "author", "affiliation", "sections", "chunks"} <= set(first)
    assert first["sections"][1]["children"][3]["heading"] == "（四）加强社会矛盾调解与预防"
    chunk = first["chunks"][0]
    assert set(chunk) == {"chunk_id", "doc_id", "source", "title", "author", "section", "paragraph", "text",
                          "start", "end", "sentences", "page"}
    assert chunk["sentences"][0] == [chunk["start"], seed.documents[0].chunks[0].sentences[0].end]
    assert data["problems"] == []


def test_rag_inspect_text_and_json(tmp_path):
    run = [sys.executable, "-m", "rag.cli", "inspect", "--corpus", str(SEEDS)]
    text = subprocess.run(run, capture_output=True, text=True, cwd=PROJECT_ROOT, check=True).stdout
    assert "· 郭美辰 · seeds/yingkou-essays-2025.txt ·" in text
    assert "    （四）加强社会矛盾调解与预防" in text
    data = json.loads(subprocess.run(run + ["--json"], capture_output=True, text=True, cwd=PROJECT_ROOT,
                                     check=True).stdout)
    assert [d["author"] for d in data["documents"]] == ["郭美辰", "王献笛", "冯也"]
    missing = subprocess.run(run[:-1] + [str(tmp_path / "none")], capture_output=True, text=True, cwd=PROJECT_ROOT)
    assert missing.returncode == 2 and "corpus not found" in missing.stderr and "Traceback" not in missing.stderr


# --- properties ---------------------------------------------------------------------------------

_WORDS = st.text(alphabet="营口港城乡发展科技创新的是在和与，。！？、；“”abc xyz", min_size=1, max_size=25)
_BREAKS = st.sampled_from(["", "\n", "\n", "\n\n", "\n\n\n", " ", "\n \n"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_WORDS, _BREAKS), min_size=1, max_size=40))
def test_random_wrapping_never_loses_or_duplicates_text(pieces):
    text = "".join(word + brk for word, brk in pieces)
    docs = parse_text(text, "random.txt", "random")
    body = squeeze("".join(body_of_chunks(d) for d in docs))
    title = squeeze(docs[0].title) if docs else ""
    assert squeeze(text) in (body, title + body)
    for doc in docs:
        for chunk in doc.chunks:
            assert chunk.text == doc.text[chunk.start:chunk.end]


@given(st.text(alphabet="营口。！？；”. ab\n", max_size=60), st.integers(min_value=0, max_value=1000))
def test_sentences_cover_all_text_in_order(text, offset):
    spans = split_sentences(text, offset)
    assert squeeze("".join(text[s.start - offset:s.end - offset] for s in spans)) == squeeze(text)
    assert all(s.start < s.end for s in spans)
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:], strict=False))


@pytest.mark.parametrize(("left", "right", "joined"), [
    ("研究", "表明", "研究表明"),  # CJK lines join without a space
    ("Henry A.", "Walsh", "Henry A. Walsh"),  # Latin words across a break need one
    ("restor\u00ad", "ation", "restoration"),  # a soft hyphen is dropped
    ("well-", "known", "well-known"),  # a hyphen is kept
    ("建筑师Henry", "设计", "建筑师Henry设计"),
    ("增长了3.", "5%", "增长了3.5%"),  # a number broken at its decimal point is mended
    ("grew by 3.", "5 per cent", "grew by 3.5 per cent"),
])
def test_join_lines(left, right, joined):
    assert join_lines(left, right) == joined
