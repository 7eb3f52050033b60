"""Robustness: strange questions, messy corpus folders and damaged indexes, through every face.

Each case gets a sensible answer or one clear message: ``QuestionError``/``CorpusError``/
``IndexStateError`` in Python, exit status 2 and one line on stderr from the CLI (never a traceback).
The HTTP API and the server under load are covered in tests/test_load.py.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import PROJECT_ROOT
from rag.assistant import MAX_QUESTION_CHARS, Assistant
from rag.errors import CorpusError, IndexStateError, QuestionError
from rag.index import CURRENT, build_index, index_status, load_index
from rag.ingest import load_corpus, parse_text, read_text
from rag.ingest.read import decode
from rag.types import Response

QUESTION = "营口有多少个千亿级产业集群？"
FACT = "千亿级产业集群"  # in the sentence that answers QUESTION
GOOD_TEXT = "营口是一座港口城市。\n\n鲅鱼圈是它的港区，每年吞吐大量货物。\n"
OTHER_TEXT = "# 小城图书馆\n\n图书馆每周开放六天，周一闭馆。去年共接待读者九万人次。\n"


@pytest.fixture(scope="module")
def assistant(seed_index) -> Assistant:
    return Assistant.open(seed_index, progress=False)


def _run_cli(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], capture_output=True, text=True,
                          cwd=PROJECT_ROOT, env=os.environ.copy(), timeout=timeout)


def _assert_clean_failure(result: subprocess.CompletedProcess, *needles: str) -> None:
    """Exit status 2 and exactly one line on stderr that says what went wrong; no traceback."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def _assert_exact_quotation(assistant: Assistant, response: Response) -> None:
    if response.answer is None:
        return
    answer = response.answer
    document = assistant.index.corpus.document(answer.citation.doc_id)
    assert document.text[answer.citation.start:answer.citation.end] == answer.text
    if answer.span is not None:
        assert 0 <= answer.span[0] < answer.span[1] <= len(answer.text)


# ------------------------------------------------------------------ questions: the Python API


@pytest.mark.parametrize("question", [
    "營口有多少個千億級產業集群？",  # Traditional Chinese
    "Yingkou有多少个千亿级产业集群?",  # mixed Chinese and English
    "ＹＩＮＧＫＯＵ有多少个千亿级产业集群？",  # full-width Latin letters
    "营\x00口\x1b有多少\u200d个千亿级\ufeff产业集群\u2060？",  # control and zero-width characters
    "营口有多少个千亿级产业集群？🤔🏭",  # emoji
    "<script>alert(1)</script>营口有多少个千亿级产业集群？",  # script text
    "**营口**有多少个`千亿级`产业集群？\n\n- 请回答",  # Markdown
    "\t营口有多少个\r\n千亿级产业集群？  ",  # tabs, line breaks and padding
])
def test_odd_but_real_questions_find_the_passage_that_answers_them(assistant, question):
    response = assistant.ask(question)
    assert FACT in response.passages[0].text  # retrieval sees through the noise
    if response.answer is not None:  # whether to abstain is the answer scorer's call, tuned elsewhere
        assert FACT in response.answer.text
    _assert_exact_quotation(assistant, response)
    assert "\x00" not in response.question and "\u200d" not in response.question


@pytest.mark.parametrize("question", [
    "<img src=x onerror=alert(1)>", "# 标题\n- 列表\n> 引用", "SELECT * FROM users; DROP TABLE x;--",
    "🙂 ok", "ａｂｃ", "a", "1", "的", "../../etc/passwd", "{{7*7}} ${jndi:ldap://x}",
])
def test_questions_without_an_answer_get_a_response_not_an_error(assistant, question):
    response = assistant.ask(question)
    assert isinstance(response, Response)
    _assert_exact_quotation(assistant, response)
    assert response.abstained == (response.answer is None)
    if response.abstained:
        assert response.message


def test_a_question_that_is_a_whole_passage_quotes_that_passage(assistant):
    chunk = next(c for c in assistant.index.chunks if 150 < len(c.text) <= MAX_QUESTION_CHARS)
    response = assistant.ask(chunk.text)
    assert not response.abstained
    citation = response.answer.citation
    assert citation.doc_id == chunk.doc_id and chunk.start <= citation.start < citation.end <= chunk.end
    _assert_exact_quotation(assistant, response)


@pytest.mark.parametrize("length", [MAX_QUESTION_CHARS + 1, 5000, 200_000])
def test_an_overlong_question_is_refused_with_its_length_not_truncated(assistant, length):
    question = (QUESTION * (length // len(QUESTION) + 1))[:length]
    with pytest.raises(QuestionError, match=rf"{length} characters long; the limit is {MAX_QUESTION_CHARS}"):
        assistant.ask(question)


def test_the_limit_counts_visible_characters_only(assistant):
    question = ("营" * (MAX_QUESTION_CHARS - len(QUESTION))) + QUESTION
    assert isinstance(assistant.ask(question), Response)
    assert isinstance(assistant.ask(question + "\u200b" * 50 + "   "), Response)


@pytest.mark.parametrize("question", [
    "", " \t\n\r ", "\u3000\u3000", "\u200b\ufeff\u2060", "\x00\x01\x1b", "？！。，…",
    "?!.,;:'\"()[]{}", "🤔🤔🤔", "👍🏽👨‍👩‍👧", "———", None, 42, b"\xe8\x90\xa5\xe5\x8f\xa3",
])
def test_empty_punctuation_emoji_only_and_non_text_questions_are_question_errors(assistant, question):
    with pytest.raises(QuestionError):
        assistant.ask(question)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"k": 0}, "k must be"), ({"k": 10_000}, "k must be"), ({"mode": "nonsense"}, "mode must be"),
])
def test_bad_options_are_question_errors(assistant, kwargs, message):
    with pytest.raises(QuestionError, match=message):
        assistant.ask(QUESTION, **kwargs)


def test_a_filter_naming_no_document_does_not_crash(assistant):
    response = assistant.ask(QUESTION, doc_ids=["no-such-document"])
    assert isinstance(response, Response)
    _assert_exact_quotation(assistant, response)


# A random question: arbitrary Unicode, sometimes wrapped around words of the corpus.
_FRAGMENTS = st.sampled_from(["营口", "千亿级产业集群", "社会治理", "Yingkou", "耐火材料", "？", "\u200b", "\n", "🏭"])
_QUESTIONS = st.one_of(
    st.text(max_size=80),
    st.lists(st.one_of(_FRAGMENTS, st.text(max_size=6)), max_size=12).map("".join),
    st.text(alphabet=st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp", "P", "S"]), max_size=30),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(question=_QUESTIONS)
def test_fuzzed_questions_get_a_response_or_a_question_error(assistant, question):
    try:
        response = assistant.ask(question)
    except QuestionError as error:
        assert str(error)
        return
    assert isinstance(response, Response)
    assert 0 < len(response.question) <= MAX_QUESTION_CHARS
    _assert_exact_quotation(assistant, response)


# ------------------------------------------------------------------ questions: the CLI


@pytest.mark.parametrize(("question", "needle"), [
    ("问" * (MAX_QUESTION_CHARS + 20), f"{MAX_QUESTION_CHARS + 20} characters long"),
    ("？！。…", "no words or numbers"),
    ("\u200b\u200b\t", "empty"),
])
def test_cli_bad_question_is_one_line_and_exit_2(seed_index, question, needle):
    _assert_clean_failure(_run_cli("ask", "--index", str(seed_index), question), "rag ask: error:", needle)


def test_cli_answers_script_and_emoji_questions(seed_index):
    result = _run_cli("ask", "--index", str(seed_index), "--json", "<script>alert(1)</script>营口有多少个千亿级产业集群？🤔")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert FACT in data["passages"][0]["text"] and data["question"].startswith("<script>")


# ------------------------------------------------------------------ corpora


def _messy_folder(folder: Path) -> dict[str, str]:
    """Good files in every encoding we read plus one of each kind of bad file; returns bad name → why."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "utf8.txt").write_text(GOOD_TEXT, encoding="utf-8")
    (folder / "gbk.txt").write_bytes("辽河入海口有一片湿地。\n\n湿地里生长着大片芦苇。\n".encode("gbk"))
    (folder / "gb18030.txt").write_bytes("营口的㐀字与𠀀字也能读出。\n\n这是第二段。\n".encode("gb18030"))
    (folder / "bom.md").write_bytes("# 营口港\n\n营口港始建于1861年。\n".encode("utf-8-sig"))
    (folder / "utf16.txt").write_text("望儿山在熊岳城。\n\n山上有一座塔。\n", encoding="utf-16")
    (folder / "z-copy.txt").write_bytes(GOOD_TEXT.encode("gb18030"))  # same text as utf8.txt, sorts after
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    (folder / "headings.md").write_text("# 目录\n\n## 一、总则\n\n## 二、附则\n", encoding="utf-8")
    (folder / "garbled.txt").write_bytes(b"abc \x80\xff\x81 not text \xfe\xff" * 3)
    (folder / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0")
    return {"z-copy.txt": "same content as", "empty.txt": "empty", "binary.txt": "binary",
            "headings.md": "no text paragraphs", "garbled.txt": "cannot decode",
            "photo.jpg": "not a supported type"}


GOOD_IDS = ["bom", "gb18030", "gbk", "utf16", "utf8"]


def test_a_messy_folder_loads_every_good_file_and_names_every_bad_one(tmp_path):
    bad = _messy_folder(tmp_path / "messy")
    corpus = load_corpus(tmp_path / "messy")
    assert sorted(d.doc_id for d in corpus.documents) == GOOD_IDS
    assert "𠀀" in corpus.document("gb18030").text and corpus.document("bom").title == "营口港"
    reported = {Path(p.source).name: p.message for p in corpus.problems}
    assert set(reported) == set(bad)
    for name, why in bad.items():
        assert why in reported[name], (name, reported[name])


def _load_as_nobody(folder: str, results) -> None:
    """Runs in a forked child: drop root, then ingest (the interpreter itself lives under /root)."""
    try:
        os.setgid(65534)
        os.setuid(65534)
        corpus = load_corpus(folder)
        results.put(([d.doc_id for d in corpus.documents], [(p.source, p.message) for p in corpus.problems]))
    except BaseException as error:  # report anything, so the parent fails with the reason
        results.put(repr(error))


@pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0, reason="needs root to drop to nobody")
def test_a_file_without_read_permission_is_reported_for_a_real_unprivileged_user():
    folder = tempfile.mkdtemp(prefix="rag-perm-")
    try:
        os.chmod(folder, 0o755)
        Path(folder, "good.txt").write_text(GOOD_TEXT, encoding="utf-8")
        os.chmod(Path(folder, "good.txt"), 0o644)
        Path(folder, "locked.txt").write_text("秘密。", encoding="utf-8")
        os.chmod(Path(folder, "locked.txt"), 0o600)
        context = multiprocessing.get_context("fork")
        results = context.Queue()
        child = context.Process(target=_load_as_nobody, args=(folder, results))
        child.start()
        outcome = results.get(timeout=60)
        child.join(timeout=30)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert not isinstance(outcome, str), outcome
    ids, problems = outcome
    assert ids == ["good"]
    assert [(Path(s).name, m) for s, m in problems] == [("locked.txt", "cannot read the file (permission denied)")]


@pytest.mark.slow
def test_a_huge_file_is_ingested_whole_and_in_bounded_time(tmp_path):
    paragraph = "营口市位于辽宁省中南部，渤海东岸，是一座重要的港口城市。近年来，营口坚持创新驱动，推动产业转型升级。\n\n"
    huge = tmp_path / "huge.md"
    repeats = 25_000_000 // len(paragraph.encode("utf-8"))
    huge.write_text("# 营口概况\n\n" + paragraph * repeats, encoding="utf-8")
    assert huge.stat().st_size > 20_000_000
    started = time.perf_counter()
    corpus = load_corpus(huge)
    seconds = time.perf_counter() - started
    assert not corpus.problems
    [document] = corpus.documents
    assert document.title == "营口概况"
    assert len(document.chunks) == repeats
    assert all(c.text == paragraph.strip() for c in document.chunks)  # every paragraph, whole
    assert seconds < 60, f"ingesting 25 MB took {seconds:.1f} s"


@pytest.mark.slow
def test_cli_build_over_a_mixed_folder_succeeds_and_warns_about_each_bad_file(tmp_path):
    bad = _messy_folder(tmp_path / "messy")
    result = _run_cli("build", "--corpus", str(tmp_path / "messy"), "--index", str(tmp_path / "idx"), "--quiet")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == len(bad)
    for name, why in bad.items():
        assert any(name in line and why in line for line in warnings), (name, warnings)
    assert f"built {tmp_path / 'idx'}: {len(GOOD_IDS)} documents" in result.stdout
    problems = load_index(tmp_path / "idx").manifest["corpus"]["problems"]
    assert sorted(Path(p.split(": ", 1)[0]).name for p in problems) == sorted(bad)


@pytest.mark.slow
def test_cli_build_over_only_bad_files_exits_2_naming_them(tmp_path):
    bad = _messy_folder(tmp_path / "messy")
    for path in (tmp_path / "messy").iterdir():
        if path.name not in bad:
            path.unlink()
    (tmp_path / "messy" / "z-copy.txt").unlink()  # a copy of nothing is a good file
    result = _run_cli("build", "--corpus", str(tmp_path / "messy"), "--index", str(tmp_path / "idx"), "--quiet")
    _assert_clean_failure(result, "rag build: error: no usable documents", "empty.txt: the file is empty")
    assert not (tmp_path / "idx" / CURRENT).exists()


@pytest.mark.parametrize("args", [["--corpus", "/no/such/folder"], ["--corpus", "/no/such/file.txt"]])
def test_cli_build_over_a_missing_path_exits_2(tmp_path, args):
    result = _run_cli("build", *args, "--index", str(tmp_path / "idx"), "--quiet")
    _assert_clean_failure(result, "/no/such/")


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_decode_or_are_refused_clearly(data):
    try:
        text = decode(data)
    except CorpusError as error:
        assert "<bytes>" in str(error)
        return
    assert isinstance(text, str)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300))
def test_any_file_content_is_read_or_reported_never_raised(tmp_path, data):
    path = tmp_path / "random.txt"
    path.write_bytes(data)
    try:
        text = read_text(path)
    except CorpusError as error:
        assert str(path) in str(error)
        return
    assert "\r" not in text and not text.startswith("\ufeff")


_LINES = st.one_of(
    st.text(alphabet="营口港城乡发展科技创新的是在和与，。！？、；“”abc 12", min_size=1, max_size=30),
    st.sampled_from(["一、总则", "二、发展", "（一）产业", "（二）人才", "第一章 总则", "# 标题", "## 小节",
                     "中共营口市委党校 郭美辰", "作者：王献笛", "1. 第一条", "", " ", "\u3000\u3000"]),
    st.text(max_size=20),  # anything at all
)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(_LINES, st.sampled_from(["\n", "\n\n", "\n\n\n", "\f", "\r\n"])), max_size=30),
       st.sampled_from(["random.txt", "random.md"]))
def test_random_structured_text_parses_into_consistent_documents(pieces, name):
    text = "".join(line + brk for line, brk in pieces)
    documents = parse_text(text.replace("\r\n", "\n").replace("\f", "\n\n"), name, "random")
    for document in documents:
        for chunk in document.chunks:
            assert chunk.text and chunk.text == document.text[chunk.start:chunk.end]
            assert all(chunk.start <= s.start < s.end <= chunk.end for s in chunk.sentences)
            assert all(a.end <= b.start for a, b in zip(chunk.sentences, chunk.sentences[1:], strict=False))
        _assert_sections_inside(document.sections, 0, len(document.text))


def _assert_sections_inside(nodes, start: int, end: int) -> None:
    for node in nodes:
        assert start <= node.start <= node.end <= end and node.heading
        _assert_sections_inside(node.children, node.start, node.end)


# ------------------------------------------------------------------ damaged and stale indexes


@pytest.fixture
def mini_index(tmp_path) -> tuple[Path, Path]:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "port.txt").write_text(GOOD_TEXT, encoding="utf-8")
    build_index(corpus, tmp_path / "idx", progress=False)
    return corpus, tmp_path / "idx"


@pytest.mark.parametrize("content", ["{not json", "", "[1, 2]", "\x00\x01"])
def test_a_corrupt_manifest_is_a_clear_index_state_error(mini_index, content):
    corpus, index_dir = mini_index
    (index_dir / CURRENT / "manifest.json").write_text(content, encoding="utf-8")
    with pytest.raises(IndexStateError, match=r"corrupt.*manifest\.json.*rag build"):
        load_index(index_dir)
    with pytest.raises(IndexStateError, match="corrupt"):
        Assistant.open(index_dir, progress=False)
    assert "corrupt" in index_status(index_dir, corpus=corpus).detail


@pytest.mark.slow
def test_cli_ask_on_a_corrupt_manifest_exits_2_and_a_build_repairs_it(mini_index):
    corpus, index_dir = mini_index
    (index_dir / CURRENT / "manifest.json").write_text("{not json", encoding="utf-8")
    _assert_clean_failure(_run_cli("ask", "--index", str(index_dir), "营口是什么城市？"), "corrupt", "rag build")
    result = _run_cli("build", "--if-stale", "--corpus", str(corpus), "--index", str(index_dir), "--quiet")
    assert result.returncode == 0 and "corrupt" in result.stderr, result.stderr
    assert load_index(index_dir).manifest["counts"]["documents"] == 1


@pytest.mark.slow
def test_cli_ask_on_an_index_from_another_version_says_it_is_stale(mini_index):
    _, index_dir = mini_index
    manifest_path = index_dir / CURRENT / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["settings"]["pipeline"] = "0" * 16
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    _assert_clean_failure(_run_cli("ask", "--index", str(index_dir), "营口是什么城市？"), "stale", "rag build")


@pytest.mark.slow
def test_cli_ask_with_another_corpus_rebuilds_and_answers_from_it(mini_index, tmp_path):
    _, index_dir = mini_index
    other = tmp_path / "other"
    other.mkdir()
    (other / "library.md").write_text(OTHER_TEXT, encoding="utf-8")
    assert not index_status(index_dir, corpus=other).ok
    result = _run_cli("ask", "--index", str(index_dir), "--corpus", str(other), "--json", "图书馆哪天闭馆？")
    assert result.returncode == 0, result.stderr
    assert "building the index" in result.stderr and "changed" in result.stderr
    data = json.loads(result.stdout)
    assert data["passages"][0]["doc_id"] == "library"
    assert index_status(index_dir, corpus=other).ok
    assert load_index(index_dir).manifest["corpus"]["path"] == str(other)


def test_an_index_dir_that_is_a_file_or_a_dangling_link_is_a_clear_error(tmp_path):
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(IndexStateError, match="no index"):
        load_index(tmp_path / "file")
    (tmp_path / "dangling").mkdir()
    (tmp_path / "dangling" / CURRENT).symlink_to("build-gone")
    with pytest.raises(IndexStateError, match="no index"):
        load_index(tmp_path / "dangling")

