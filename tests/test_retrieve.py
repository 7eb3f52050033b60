"""Hybrid retrieval over the seed essays, and the fusion rules on their own."""

from __future__ import annotations

import marshal

import jieba
import numpy as np
import pytest

from rag.embed import load_model
from rag.index import load_index
from rag.retrieve import Retriever, fuse, top_positive_rows
from rag.textproc import _read_jieba_cache, keywords
from tests.conftest import SEED_FILE

ESSAY_1, ESSAY_2, ESSAY_3 = "yingkou-essays-2025#1", "yingkou-essays-2025#2", "yingkou-essays-2025#3"

# (question, essay, section path prefix) — facts stated in exactly one place of the essays.
KNOWN = [
    ("为了化解社会矛盾，政府应设立什么机构？", ESSAY_1, ["二、立足营口市，深化社会治理创新", "（四）加强社会矛盾调解与预防"]),
    ("全市有效期内省级专精特新企业共计多少户？", ESSAY_2, ["一、以科技创新为引领，激发企业新动能"]),
    ("营口光阳耐火材料有限公司的自动化生产车间采用了什么技术？", ESSAY_3, ["一、传统产业转型：老树发新芽"]),
    ("康辉新材料科技有限公司的产品远销哪些地区？", ESSAY_3, ["二、新兴产业培育：新苗茁壮成长"]),
    ("營口正著力構建哪幾個千億級產業集群？", ESSAY_3, ["三、“双引擎”协同：释放强大动力"]),
    ("Which government departments should set up a joint mechanism to respond to emergencies?", ESSAY_1,
     ["三、强化责任担当，推动社会治理改革落地生根", "（二）推动政府部门协同合作"]),
    ("What is the total investment of the Huaneng clean energy high-end equipment industrial park?", ESSAY_3,
     ["二、新兴产业培育：新苗茁壮成长"]),
]


@pytest.fixture(scope="module")
def retriever(seed_index):
    return Retriever(load_index(seed_index), load_model())


@pytest.mark.parametrize(("question", "essay", "section"), KNOWN)
def test_known_questions_find_their_essay_and_section_in_the_top_3(retriever, question, essay, section):
    result = retriever.search(question, k=3)
    found = [(retriever.index.chunks[h.row].doc_id, retriever.index.chunks[h.row].section) for h in result.hits]
    assert any(doc == essay and path[: len(section)] == section for doc, path in found), found


def test_an_english_question_keeps_the_dense_retrievers_answer(retriever):
    question = "Which company's automated workshop uses 5G and the industrial internet?"
    hybrid = retriever.search(question, k=5)
    dense = retriever.search(question, k=5, mode="dense")
    assert hybrid.coverage < 0.3
    assert hybrid.hits[0].row == dense.hits[0].row


def test_traditional_and_simplified_questions_rank_alike(retriever):
    simplified = retriever.search("营口光阳耐火材料有限公司采用了什么技术？", k=3)
    traditional = retriever.search("營口光陽耐火材料有限公司採用了什麼技術？", k=3)
    assert [h.row for h in simplified.hits][:1] == [h.row for h in traditional.hits][:1]


def test_a_document_filter_restricts_every_retriever(retriever):
    for mode in ("hybrid", "bm25", "dense"):
        result = retriever.search("营口的产业集群", k=10, mode=mode, doc_ids=[ESSAY_1])
        assert result.hits and {retriever.index.chunks[h.row].doc_id for h in result.hits} == {ESSAY_1}
    assert retriever.search("营口", k=5, doc_ids=["no-such-doc"]).hits == []


def test_bm25_drops_chunks_that_share_no_keyword(retriever):
    result = retriever.search("zebra quantum", k=10, mode="bm25")
    assert result.hits == []


def test_keywords_drop_function_words_and_fold_scripts():
    words = keywords("營口的ＧＤＰ是多少？")
    assert "营口" in words and "gdp" in words
    assert "的" not in words and "多少" not in words


def test_jiebas_cache_read_in_one_piece_is_the_dictionary_jieba_loads():
    """Reading jieba's cache file ourselves (3.5× faster) must give the very dictionary, hence the very
    words, that jieba.initialize gives: compared on every line of the shipped essays."""
    theirs = jieba.Tokenizer()
    theirs.initialize()  # writes the cache file when there is none
    ours = jieba.Tokenizer()
    assert _read_jieba_cache(ours)
    assert ours.total == theirs.total and ours.FREQ == theirs.FREQ
    for line in SEED_FILE.read_text(encoding="utf-8").splitlines():
        assert ours.lcut_for_search(line) == theirs.lcut_for_search(line)


@pytest.mark.parametrize("content", [None, b"", b"not marshal data", marshal.dumps(5), marshal.dumps(([], 3))])
def test_a_missing_or_broken_jieba_cache_is_left_to_jieba(tmp_path, content):
    tokenizer = jieba.Tokenizer()
    tokenizer.tmp_dir = str(tmp_path)
    if content is not None:
        (tmp_path / "jieba.cache").write_bytes(content)
    assert not _read_jieba_cache(tokenizer)
    assert not tokenizer.initialized and tokenizer.FREQ == {}


def test_fusion_without_keyword_coverage_is_the_dense_ranking():
    dense = {1: 0.90, 2: 0.85, 3: 0.80}
    lexical = {3: 12.0, 4: 8.0}
    fused = fuse(dense, lexical, coverage=0.0)
    assert max(fused, key=fused.get) == 1
    assert fused[4] == 0.0


def test_fusion_with_full_coverage_lets_strong_keyword_evidence_win():
    dense = {1: 0.90, 2: 0.89, 3: 0.70}
    lexical = {2: 15.0, 3: 1.0}
    fused = fuse(dense, lexical, coverage=1.0)
    assert max(fused, key=fused.get) == 2


def test_rrf_counts_ranks_not_scores():
    fused = fuse({1: 0.9, 2: 0.1}, {2: 100.0, 1: 99.0}, coverage=1.0, fusion="rrf")
    assert fused[1] == pytest.approx(fused[2])


@pytest.mark.parametrize("seed", range(5))
def test_top_positive_rows_equals_a_full_stable_sort_of_the_positive_rows(seed):
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 6, 1000).astype(np.float32)  # many ties, as BM25's zeros are
    scores[rng.random(1000) < 0.5] = 0.0
    positive = int((scores > 0).sum())
    for depth in (1, 50, positive - 1, positive, 999, 2000):
        expected = [r for r in np.argsort(-scores, kind="stable") if scores[r] > 0][:depth]
        assert top_positive_rows(scores, depth).tolist() == expected


def test_top_positive_rows_of_no_evidence_is_empty():
    assert top_positive_rows(np.zeros(100, dtype=np.float32), 10).size == 0
