"""Extractive answers: exact quotations, honest abstention, structure questions, the ask contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import PROJECT_ROOT
from rag.about import is_structure_question, named_document
from rag.assistant import Assistant, clean_question
from rag.errors import QuestionError
from rag.reader.qtypes import question_type
from rag.reader.question import focus_bigrams, key_span
from rag.textproc import fold, keywords
from rag.types import Document

QUESTIONS = [
    "营口有多少个千亿级产业集群？",
    "为了化解社会矛盾，政府应设立什么机构？",
    "康辉新材料科技有限公司的产品远销哪些地区？",
    "Which technology does the automated workshop of Yingkou Guangyang Refractory Materials use?",
    "怎样才能减少社会矛盾的升级与激化？",
    "谁写了《传统转型+新兴培育 营口产业“双引擎”驱动发展》？",
    "王献笛的文章第二部分讲的是什么？",
]
UNANSWERABLE = ["What is the capital of France?", "世界上最高的山峰是哪座？", "营口市的市长是谁？"]


@pytest.fixture(scope="module")
def assistant(seed_index) -> Assistant:
    return Assistant.open(seed_index)


@pytest.mark.parametrize("question", QUESTIONS)
def test_every_answer_is_an_exact_slice_at_its_cited_offsets(assistant, question):
    response = assistant.ask(question)
    assert not response.abstained, response.message
    answer = response.answer
    doc = assistant.index.corpus.document(answer.citation.doc_id)
    assert doc.text[answer.citation.start:answer.citation.end] == answer.text
    assert answer.citation.section == doc.section_path_at(answer.citation.start)
    assert (answer.citation.title, answer.citation.author, answer.citation.source) == (doc.title, doc.author,
                                                                                        doc.source)
    if answer.span is not None:
        a, b = answer.span
        assert 0 <= a < b <= len(answer.text)


def test_the_answer_quotes_the_sentence_that_holds_the_fact(assistant):
    response = assistant.ask("全市有效期内省级专精特新企业共计多少户？")
    assert "137户" in response.answer.text
    a, b = response.answer.span
    assert response.answer.text[a:b] == "137户"
    assert response.answer.citation.author == "王献笛"


def test_an_english_question_gets_the_chinese_sentence(assistant):
    response = assistant.ask("Where are Kanghui New Materials' products exported to?")
    assert not response.abstained
    assert "欧洲、日韩和东南亚" in response.answer.text


@pytest.mark.parametrize("question", UNANSWERABLE)
def test_questions_the_essays_do_not_answer_are_abstained(assistant, question):
    response = assistant.ask(question)
    assert response.abstained and response.answer is None
    assert response.passages, "the closest passages are still shown"
    assert response.message


def test_who_wrote_an_essay_is_answered_from_its_byline(assistant):
    answer = assistant.ask("谁写了《传统转型+新兴培育 营口产业“双引擎”驱动发展》？").answer
    a, b = answer.span
    assert answer.text[a:b] == "冯也"
    assert answer.citation.doc_id == "yingkou-essays-2025#3"


@pytest.mark.parametrize(("question", "about_the_document"), [
    ("这篇文章由谁执笔？", True), ("《营口产业“双引擎”驱动发展》是由谁所写？", True), ("社会治理那篇文章是谁写的？", True),
    ("青石镇图书馆改造由谁负责？", False), ("营口港由谁管理？", False),
])
def test_only_a_question_about_writing_asks_for_the_byline(question, about_the_document):
    assert is_structure_question(question) is about_the_document


def test_who_is_responsible_for_something_is_not_answered_with_a_byline(assistant):
    response = assistant.ask("营口市的基层社会治理工作由谁负责？")
    answer = response.answer or response.nearest
    assert answer is None or "中共营口市委党校" not in answer.text


def test_a_section_question_quotes_the_heading(assistant):
    answer = assistant.ask("王献笛的文章第二部分讲的是什么？").answer
    assert answer.text == "二、以产业升级为支撑，构建现代化产业体系"
    assert answer.citation.section == ["二、以产业升级为支撑，构建现代化产业体系"]


def test_response_json_has_the_documented_shape(assistant):
    data = assistant.ask("营口有多少个千亿级产业集群？", k=3, question_id="q1").to_dict()
    assert data["id"] == "q1" and data["abstained"] is False
    assert set(data["answer"]) >= {"text", "span", "score", "citation"}
    assert set(data["answer"]["citation"]) >= {"doc_id", "source", "title", "author", "section", "paragraph",
                                               "start", "end"}
    assert [p["rank"] for p in data["passages"]] == [1, 2, 3]
    assert set(data["passages"][0]) >= {"chunk_id", "doc_id", "title", "author", "section", "paragraph", "text",
                                        "score"}
    assert set(data["timings_ms"]) == {"encode", "search", "answer", "total"}
    json.dumps(data)


@pytest.mark.parametrize("bad", ["", "   ", "\u200b\u200b", "？？？!!", "问" * 501])
def test_bad_questions_get_a_clear_error(assistant, bad):
    with pytest.raises(QuestionError):
        assistant.ask(bad)


def test_questions_are_cleaned_of_invisible_characters():
    assert clean_question("营口\u200b有\x07多少\n企业？") == "营口有多少 企业？"


@pytest.mark.parametrize(("question", "kind"), [
    ("营口有多少户企业？", "number"), ("何时召开？", "time"), ("哪一年成立？", "time"),
    ("谁写的？", "person"), ("哪家公司生产？", "org"), ("有哪些产业？", "list"),
    ("How many companies?", "number"), ("When did it open?", "time"), ("Who wrote it?", "person"),
    ("What is the total investment of the park?", "number"), ("在全省排第几？", "ordinal"), ("What rank does it hold?", "ordinal"), ("为什么要改革？", "reason"),
    ("Why must departments cooperate?", "reason"), ("营口采取了哪些措施？", "list"), ("怎样减少矛盾？", "manner"),
    ("What did Yingkou do to improve governance?", "manner"), ("今天天气不错。", None),
])
def test_question_types(question, kind):
    assert question_type(question) == kind


def test_a_lone_yi_before_a_measure_word_is_an_article_not_a_count():
    text = "一批高新技术企业蓬勃发展，共计137户。"
    assert text[slice(*key_span("有多少户企业？", text))] == "137户"


def test_a_pasted_passage_asks_for_no_kind_of_answer():
    passage = "在此背景下，结合营口市的实际情况，如何贯彻落实这些讲话精神，已成为亟待解决的关键问题。这是一段被粘贴的原文。"
    assert question_type(passage) is None
    assert question_type("营口很好。营口有多少户企业？") == "number"


def test_a_rank_question_marks_the_rank():
    text = "营口省级专精特新企业数量居全省第四位，共计137户。"
    assert text[slice(*key_span("营口专精特新企业数量在全省排第几？", text))] == "第四位"


def test_key_span_prefers_the_entity_the_question_does_not_contain():
    text = "根据2024年名单，营口有13户企业获评，全市共计137户。"
    assert text[slice(*key_span("2024年名单中营口有多少户企业获评？", text))] == "13户"


ENCYCLOPEDIA = [
    ("黄鳍紫鱼", "黄鳍紫鱼，又称黄鳍姬鲷，为辐鳍鱼纲鲈形目的其中一个种。本鱼分布于印度洋及西太平洋区。"
              "栖息在较深的水域，独游或小群活动。以其他鱼类、甲壳类为食。体长可达五十公分。"),
    ("夜来香", "夜来香是萝藦科夜来香属的植物，别名夜香花。枝条细长，夏秋傍晚开花，飘出阵阵浓香。"
             "原产于华南，一般生于山坡灌木丛中。以种子或扦插繁殖。"),
]


@pytest.fixture(scope="module")
def encyclopedia(tmp_path_factory, shared_cache) -> Assistant:
    """Two encyclopedia-style entries whose sentences, like Wikipedia's, leave their topic unsaid."""
    folder = tmp_path_factory.mktemp("encyclopedia")
    lines = [json.dumps({"id": f"e{i}-p0", "doc_id": f"e{i}", "title": title, "text": text}, ensure_ascii=False)
             for i, (title, text) in enumerate(ENCYCLOPEDIA)]
    (folder / "corpus.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("RAG_CACHE_DIR", str(shared_cache))  # the session's converted model
        return Assistant.open(folder / "index", corpus=folder / "corpus.jsonl", progress=False)


@pytest.mark.parametrize(("question", "expected"), [
    ("黄鳍紫鱼以什么为食？", "甲壳类"),
    ("黄鳍紫鱼栖息在怎样的水域？", "较深的水域"),
    ("夜来香怎么繁殖？", "扦插"),
])
def test_a_sentence_that_leaves_its_topic_unsaid_still_answers(encyclopedia, question, expected):
    response = encyclopedia.ask(question)
    assert not response.abstained, response.message
    assert expected in response.answer.text


def test_focus_is_the_attribute_next_to_the_question_word():
    assert "体长" in focus_bigrams(fold("黄鳍紫鱼体长多少？"))
    assert "黄鳍" not in focus_bigrams(fold("黄鳍紫鱼体长多少？"))
    assert "原名" in focus_bigrams(fold("那须盐原车站的原名是"))  # no question word: the end


def _run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], capture_output=True, text=True,
                          cwd=PROJECT_ROOT, env=os.environ.copy(), timeout=300)


def test_batch_keeps_order_and_ids_and_reports_bad_lines(seed_index, tmp_path):
    batch = tmp_path / "questions.jsonl"
    lines = [{"id": "b", "question": "营口有多少个千亿级产业集群？"}, {"id": "a", "question": "   "},
             {"id": "c", "question": "What is the capital of France?"}]
    batch.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines), encoding="utf-8")
    result = _run_cli("ask", "--index", str(seed_index), "--batch", str(batch), "--json")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in records] == ["b", "a", "c"]
    assert "error" in records[1] and records[2]["abstained"] is True


def test_plain_text_batch_numbers_its_lines(seed_index, tmp_path):
    batch = tmp_path / "questions.txt"
    batch.write_text("营口有多少个千亿级产业集群？\n\nWho wrote the essay about social governance?\n", encoding="utf-8")
    result = _run_cli("ask", "--index", str(seed_index), "--batch", str(batch), "--json")
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == ["1", "3"]


def test_cli_human_output_has_quote_citation_and_passages(seed_index):
    result = _run_cli("ask", "--index", str(seed_index), "全市有效期内省级专精特新企业共计多少户？")
    assert result.returncode == 0, result.stderr
    assert "【137户】" in result.stdout and "王献笛" in result.stdout and "\n1. [" in result.stdout


def test_cli_empty_question_exits_2_without_traceback(seed_index):
    result = _run_cli("ask", "--index", str(seed_index), " ")
    assert result.returncode == 2
    assert "empty" in result.stderr and "Traceback" not in result.stderr


def _named_document_by_scanning(question: str, documents):
    """The reference: every title segmented and compared, as named_document did before its index."""
    by_author = [d for d in documents if d.author and d.author in question]
    if len(by_author) == 1:
        return by_author[0]
    folded = fold(question)
    best, best_share = None, 0.0
    for doc in documents:
        words = set(keywords(doc.title))
        if not words:
            continue
        share = sum(len(w) for w in words if w in folded) / sum(len(w) for w in words)
        if share > best_share:
            best, best_share = doc, share
    return best if best_share >= 0.5 else None


def test_the_document_a_question_names_is_the_one_a_scan_of_every_title_finds(assistant):
    documents = [*assistant.documents,
                 *(Document(f"w{i}", "w.jsonl", title, "", "", "正文。") for i, title in enumerate(
                     ["战国无双3", "泡泡战士", "梵文", "营口港 (港口)", "战国无双3", "社会治理", "", "Hong Kong"]))]
    questions = [json.loads(line)["question"] for line in
                 (PROJECT_ROOT / "benchmarks" / "seed_questions.jsonl").read_text(encoding="utf-8").splitlines()
                 if line.strip()]
    questions += ["《战国无双3》是由谁开发的？", "梵文的作者是谁？", "营口港叫什么名字？", "社会治理那篇文章是谁写的？",
                  "Who wrote about Hong Kong?", "谁"]
    for question in questions:
        assert named_document(question, documents) is _named_document_by_scanning(question, documents), question


@pytest.mark.parametrize(("sentences", "heading"), [(1, "Answer passage (1 sentence):"),
                                                     (3, "Answer passage (3 sentences):")])
def test_the_command_line_counts_an_answer_passages_sentences_in_words(sentences, heading):
    from rag.render import format_response
    from rag.types import Answer, Citation, Response

    citation = Citation("d", "d.txt", "标题", "", [], 1, 0, 6 * sentences)
    answer = Answer("一句话。一句" * sentences, None, 0.5, citation, kind="passage",
                    sentences=[[6 * i, 6 * i + 6] for i in range(sentences)])
    text = format_response(Response("为什么？", False, answer, [], {}))
    assert text.splitlines()[0] == heading
