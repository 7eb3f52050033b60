"""The index: round trip, staleness, corruption, atomic publication and the build lock."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import SEEDS
from rag import index as index_module
from rag.errors import IndexStateError
from rag.index import CURRENT, build_index, index_status, load_index
from rag.ingest import load_corpus
from rag.types import Chunk, Document

MINI_TEXT = """# 小城图书馆年度报告

## 一、馆藏

本馆现有藏书十二万册，其中古籍三千册。去年新增图书八千册。

## 二、服务

图书馆每周开放六天，周一闭馆。去年共接待读者九万人次。
"""


@pytest.fixture
def mini_corpus(tmp_path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "report.md").write_text(MINI_TEXT, encoding="utf-8")
    return folder


def test_round_trip_restores_corpus_vectors_and_bm25(seed_index):
    loaded = load_index(seed_index)
    fresh = load_corpus(SEEDS)
    assert loaded.corpus.to_dict()["documents"] == fresh.to_dict()["documents"]
    assert loaded.chunk_vectors.ntotal == len(fresh.chunks())
    assert len(loaded.sentences.chunk) == sum(len(c.sentences) for c in fresh.chunks())
    assert loaded.manifest["counts"]["documents"] == 3
    assert loaded.bm25.get_scores(["营口"]).shape == (len(fresh.chunks()),)


def test_only_documents_whose_title_names_their_subject_get_sentences_in_context(seed_index):
    index = load_index(seed_index)
    # The essays' headline slogans never recur in their bodies: their sentences stand alone.
    assert all(index_module.title_subject(d) is None for d in index.corpus.documents)
    assert not index.sentences.framed.any()
    entry = Document("d", "x.jsonl", "杨昊 (足球运动员)", "", "", "杨昊 (足球运动员)\n杨昊是中国足球运动员。",
                     chunks=[Chunk("d-0", "d", "x.jsonl", "杨昊 (足球运动员)", "", [], 1, "杨昊是中国足球运动员。", 0, 11)])
    assert index_module.title_subject(entry) == "杨昊"  # the disambiguator is not part of the name


def test_status_is_ok_for_the_same_corpus_and_model(mini_corpus, tmp_path):
    build_index(mini_corpus, tmp_path / "idx", progress=False)
    assert index_status(tmp_path / "idx", corpus=mini_corpus).ok


def test_a_server_keeps_an_index_to_the_corpus_it_was_built_from(mini_corpus, tmp_path):
    # `rag serve --index DIR` without --corpus once rebuilt DIR from the shipped essays, replacing
    # whatever the index held (hours of build at 100k chunks).
    from rag import config
    from rag.index import corpus_to_serve, ensure_index

    index_dir = tmp_path / "idx"
    assert corpus_to_serve(index_dir, None) == config.default_corpus()  # nothing there yet: the essays
    build_index(mini_corpus, index_dir, progress=False)
    assert corpus_to_serve(index_dir, None) == mini_corpus
    assert corpus_to_serve(index_dir, SEEDS) == SEEDS  # asked for explicitly
    built = (index_dir / CURRENT).resolve()
    ensure_index(index_dir, corpus_to_serve(index_dir, None), None, progress=False)
    assert (index_dir / CURRENT).resolve() == built  # not rebuilt
    assert [d.title for d in load_index(index_dir).corpus.documents] == ["小城图书馆年度报告"]
    moved = tmp_path / "elsewhere"
    mini_corpus.rename(moved)
    assert corpus_to_serve(index_dir, None) is None  # its corpus is gone: served as it is


def test_editing_the_corpus_makes_the_index_stale(mini_corpus, tmp_path):
    build_index(mini_corpus, tmp_path / "idx", progress=False)
    (mini_corpus / "report.md").write_text(MINI_TEXT + "\n新增一段。\n", encoding="utf-8")
    status = index_status(tmp_path / "idx", corpus=mini_corpus)
    assert not status.ok and "changed" in status.detail


def test_another_model_or_settings_make_the_index_stale(mini_corpus, tmp_path, monkeypatch):
    build_index(mini_corpus, tmp_path / "idx", progress=False)
    assert "model" in index_status(tmp_path / "idx", corpus=mini_corpus, model="BAAI/bge-small-zh-v1.5").detail
    monkeypatch.setitem(index_module.SETTINGS, "hnsw_above", 1)
    assert "settings" in index_status(tmp_path / "idx", corpus=mini_corpus).detail


def test_a_missing_index_says_how_to_build_one(tmp_path):
    with pytest.raises(IndexStateError, match="rag build"):
        load_index(tmp_path / "nothing-here")


def test_a_truncated_file_is_detected_by_its_checksum(mini_corpus, tmp_path):
    build_index(mini_corpus, tmp_path / "idx", progress=False)
    target = tmp_path / "idx" / CURRENT / "chunks.faiss"
    target.write_bytes(target.read_bytes()[:-10])
    with pytest.raises(IndexStateError, match="checksum"):
        load_index(tmp_path / "idx")


def test_a_tampered_table_is_detected(mini_corpus, tmp_path):
    build_index(mini_corpus, tmp_path / "idx", progress=False)
    target = tmp_path / "idx" / CURRENT / "corpus.json"
    target.write_text(target.read_text(encoding="utf-8").replace("十二万", "二十万"), encoding="utf-8")
    with pytest.raises(IndexStateError, match="corpus.json"):
        load_index(tmp_path / "idx")


def test_a_deleted_file_is_reported_as_incomplete(mini_corpus, tmp_path):
    build_index(mini_corpus, tmp_path / "idx", progress=False)
    (tmp_path / "idx" / CURRENT / "sentences.npy").unlink()
    with pytest.raises(IndexStateError, match="incomplete"):
        load_index(tmp_path / "idx")


def test_a_failed_build_leaves_the_previous_index_usable(mini_corpus, tmp_path, monkeypatch):
    build_index(mini_corpus, tmp_path / "idx", progress=False)
    before = load_index(tmp_path / "idx").manifest

    def explode(folder, *args):
        (folder / "chunks.faiss").write_bytes(b"half a file")
        raise RuntimeError("disk full")

    monkeypatch.setattr(index_module, "_write_index_files", explode)
    with pytest.raises(RuntimeError):
        build_index(mini_corpus, tmp_path / "idx", progress=False)
    after = load_index(tmp_path / "idx")
    assert after.manifest == before
    assert not [p for p in (tmp_path / "idx").iterdir() if p.name.startswith(".staging")]


def _build_in_child(corpus: str, index_dir: str, cache: str) -> None:
    os.environ["RAG_CACHE_DIR"] = cache
    build_index(Path(corpus), Path(index_dir), progress=False)


def test_a_build_killed_midway_leaves_the_previous_index_usable(mini_corpus, tmp_path):
    index_dir = tmp_path / "idx"
    build_index(mini_corpus, index_dir, progress=False)
    before = load_index(index_dir).manifest
    big = mini_corpus / "more.txt"
    big.write_text("\n\n".join(f"第{i}段：图书馆在第{i}个季度举办了读书活动。" for i in range(400)), encoding="utf-8")
    child = multiprocessing.get_context("spawn").Process(
        target=_build_in_child, args=(str(mini_corpus), str(index_dir), os.environ["RAG_CACHE_DIR"]))
    child.start()
    deadline = time.time() + 120
    while time.time() < deadline and not any(p.name.startswith(".staging") for p in index_dir.iterdir()):
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    assert load_index(index_dir).manifest == before
    build_index(mini_corpus, index_dir, progress=False)  # the next build cleans up and succeeds
    assert load_index(index_dir).manifest["counts"]["chunks"] > before["counts"]["chunks"]
    assert not [p for p in index_dir.iterdir() if p.name.startswith(".staging")]


def test_two_builds_at_once_both_finish_with_a_valid_index(mini_corpus, tmp_path):
    ctx = multiprocessing.get_context("spawn")
    args = (str(mini_corpus), str(tmp_path / "idx"), os.environ["RAG_CACHE_DIR"])
    builds = [ctx.Process(target=_build_in_child, args=args) for _ in range(2)]
    for p in builds:
        p.start()
    for p in builds:
        p.join(timeout=300)
    assert [p.exitcode for p in builds] == [0, 0]
    loaded = load_index(tmp_path / "idx")
    assert loaded.manifest["counts"]["documents"] == 1
    assert len([p for p in (tmp_path / "idx").iterdir() if p.name.startswith("build-")]) == 1


def test_manifest_records_fingerprint_model_settings_and_versions(mini_corpus, tmp_path):
    manifest = build_index(mini_corpus, tmp_path / "idx", progress=False)
    on_disk = json.loads((tmp_path / "idx" / CURRENT / "manifest.json").read_text(encoding="utf-8"))
    assert on_disk == manifest
    assert len(manifest["corpus"]["fingerprint"]) == 64
    assert manifest["model"]["spec"] == "multilingual-e5-small" and manifest["model"]["dim"] == 384
    assert manifest["settings"] == index_module.SETTINGS
    assert {"faiss-cpu", "bm25s", "jieba"} <= set(manifest["versions"])
    assert set(manifest["files"]) >= {"corpus.json", "chunks.faiss", "sentences.npy"}
    assert manifest["model"]["engine"] == "ctranslate2-int8"
    assert manifest["settings"]["hnsw_ef_construction"] == 80


# ------------------------------------------------------------------ what shapes the index


TEXT_PREPARATION = ["context_prefix", "dense_text", "title_subject", "sentence_in_context", "bm25_tokens",
                    "texts_to_embed", "pooled_chunks"]


def _settings_of_edited_copy(tmp_path: Path, function: str) -> dict:
    """SETTINGS as computed by a copy of the package in which ``function``'s body has one more line."""
    import shutil

    package = tmp_path / f"edited-{function}"
    shutil.copytree(Path(index_module.__file__).parent, package / "rag",
                    ignore=shutil.ignore_patterns("__pycache__"))
    source = (package / "rag" / "index.py").read_text(encoding="utf-8")
    header = next(line for line in source.splitlines() if line.startswith(f"def {function}("))
    body_start = source.index(header) + len(header)
    docstring_end = source.index("\n", body_start)
    edited = source[:docstring_end + 1] + "    _ = 'an edit'\n" + source[docstring_end + 1:]
    (package / "rag" / "index.py").write_text(edited, encoding="utf-8")
    result = subprocess.run([sys.executable, "-c", "import json; from rag.index import SETTINGS; "
                             "print(json.dumps(SETTINGS))"], capture_output=True, text=True,
                            cwd=package, env={**os.environ, "PYTHONPATH": str(package)})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("function", TEXT_PREPARATION)
def test_editing_text_preparation_code_makes_the_index_stale(mini_corpus, tmp_path, function, monkeypatch):
    build_index(mini_corpus, tmp_path / "idx", progress=False)
    edited = _settings_of_edited_copy(tmp_path, function)
    assert edited["pipeline"] != index_module.SETTINGS["pipeline"]
    monkeypatch.setattr(index_module, "SETTINGS", edited)
    assert "settings" in index_status(tmp_path / "idx", corpus=mini_corpus).detail


def test_changing_ef_construction_makes_the_index_stale(mini_corpus, tmp_path, monkeypatch):
    build_index(mini_corpus, tmp_path / "idx", progress=False)
    monkeypatch.setitem(index_module.SETTINGS, "hnsw_ef_construction", 40)
    assert not index_status(tmp_path / "idx", corpus=mini_corpus).ok


def test_an_index_of_another_engine_is_detected(mini_corpus, tmp_path):
    from rag.assistant import Assistant
    from rag.errors import RagError

    build_index(mini_corpus, tmp_path / "idx", progress=False)
    status = index_status(tmp_path / "idx", corpus=mini_corpus, engine="sentence-transformers")
    assert not status.ok and "ctranslate2-int8 engine" in status.detail and "--engine" in status.detail
    with pytest.raises(RagError, match="engine"):
        Assistant.open(tmp_path / "idx", engine="sentence-transformers")
    # Built by sentence-transformers, asked by it: fine; the default engine is then the odd one out.
    build_index(mini_corpus, tmp_path / "st", progress=False, engine="sentence-transformers")
    assert Assistant.open(tmp_path / "st", engine="sentence-transformers").ask("图书馆有多少藏书？").answer
    with pytest.raises(RagError, match="sentence-transformers engine"):
        Assistant.open(tmp_path / "st")


# ------------------------------------------------------------------ the vector cache and updates


def test_a_rebuild_embeds_only_what_changed(mini_corpus, tmp_path):
    first = build_index(mini_corpus, tmp_path / "idx", progress=False)
    assert first["embedded"]["encoded"] + first["embedded"]["cached"] == first["embedded"]["distinct"]
    again = build_index(mini_corpus, tmp_path / "idx", progress=False)
    assert again["embedded"]["encoded"] == 0
    (mini_corpus / "extra.txt").write_text("第三部分\n\n阅览室新增座位两百个，全年无休。\n", encoding="utf-8")
    grown = build_index(mini_corpus, tmp_path / "idx", progress=False)
    added = load_corpus(mini_corpus / "extra.txt").chunks()
    assert 0 < grown["embedded"]["encoded"] <= len(added) + sum(len(c.sentences) for c in added)
    # Vectors from the cache are the vectors a build without it makes.
    cached = load_index(tmp_path / "idx")
    build_index(mini_corpus, tmp_path / "fresh", progress=False, cache=False)
    fresh = load_index(tmp_path / "fresh")
    assert fresh.manifest["embedded"]["cached"] == 0
    assert (cached.chunk_vectors.reconstruct_n(0, fresh.chunk_vectors.ntotal)
            == fresh.chunk_vectors.reconstruct_n(0, fresh.chunk_vectors.ntotal)).all()
    assert (cached.sentences.vectors == fresh.sentences.vectors).all()


def test_the_same_text_is_embedded_once(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    # A one-sentence paragraph without a title or heading is its own chunk text and sentence text.
    (folder / "notes.jsonl").write_text(json.dumps({"id": "n", "title": "", "text": "图书馆周一闭馆。"},
                                                   ensure_ascii=False) + "\n", encoding="utf-8")
    manifest = build_index(folder, tmp_path / "idx", progress=False, cache=False)
    assert manifest["embedded"] == {"texts": 2, "distinct": 1, "cached": 0, "encoded": 1}


def test_add_and_remove_update_the_index_embedding_only_new_text(mini_corpus, tmp_path):
    from rag.assistant import Assistant
    from rag.errors import CorpusError
    from rag.index import update_index

    index_dir = tmp_path / "idx"
    build_index(mini_corpus, index_dir, progress=False)
    new = tmp_path / "new" / "museum.md"
    new.parent.mkdir()
    new.write_text("# 博物馆简介\n\n本市博物馆收藏文物两万件，其中一级文物四十件。\n", encoding="utf-8")
    manifest = update_index(index_dir, add=[new], progress=False)
    assert manifest["counts"]["documents"] == 2
    assert manifest["embedded"]["encoded"] <= 3  # the new chunk and its sentences; the rest is cached
    assert manifest["corpus"]["added"] == ["new/museum.md"]
    answer = Assistant.open(index_dir).ask("博物馆有多少件一级文物？").answer
    assert answer and "四十件" in answer.text and answer.citation.doc_id == "museum"
    assert index_status(index_dir, corpus=mini_corpus).ok  # still the corpus it was built from, plus one

    new.write_text("# 博物馆简介\n\n本市博物馆收藏文物三万件。\n", encoding="utf-8")  # read again: replaced
    assert update_index(index_dir, add=[new], progress=False)["counts"]["documents"] == 2
    removed = update_index(index_dir, remove=["museum"], progress=False)
    assert removed["counts"]["documents"] == 1 and removed["embedded"]["encoded"] == 0
    assert removed["corpus"]["added"] == [] and removed["corpus"]["removed"] == ["new/museum.md"]
    with pytest.raises(CorpusError, match="no document 'museum'"):
        update_index(index_dir, remove=["museum"], progress=False)
    with pytest.raises(CorpusError, match="empty"):
        update_index(index_dir, remove=["report"], progress=False)
    assert len([p for p in index_dir.iterdir() if p.name.startswith("build-")]) == 1


def test_adding_to_an_index_of_other_settings_asks_for_a_build(mini_corpus, tmp_path, monkeypatch):
    from rag.index import update_index

    build_index(mini_corpus, tmp_path / "idx", progress=False)
    monkeypatch.setitem(index_module.SETTINGS, "pipeline", "0" * 16)
    with pytest.raises(IndexStateError, match="rag build"):
        update_index(tmp_path / "idx", add=[mini_corpus / "report.md"], progress=False)


def _rag(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ))


def test_cli_build_shows_one_progress_display_and_is_silent_when_asked(mini_corpus, tmp_path):
    shown = _rag("build", "--corpus", str(mini_corpus), "--index", str(tmp_path / "idx"))
    assert shown.returncode == 0, shown.stderr
    lines = shown.stderr.splitlines()
    assert lines[0].startswith("reading ") and "indexing…" in lines
    assert any(line.startswith("embedding ") for line in lines) or any("vector cache" in line for line in lines)
    assert "it/s" not in shown.stderr and "\r" not in shown.stderr  # no tqdm bars; not a terminal: plain lines
    assert "embedded" in shown.stdout
    for quiet in (["--quiet"], ["--json"]):
        result = _rag("build", "--corpus", str(mini_corpus), "--index", str(tmp_path / "idx"), *quiet)
        assert result.returncode == 0 and result.stderr == "", result.stderr
    rebuilt = json.loads(result.stdout)
    assert rebuilt["embedded"]["encoded"] == 0
    assert "load_model" not in rebuilt["timings"]  # every vector came from the cache: no model loaded


def test_cli_add_and_remove(mini_corpus, tmp_path):
    index_dir = str(tmp_path / "idx")
    assert _rag("build", "--corpus", str(mini_corpus), "--index", index_dir, "--quiet").returncode == 0
    extra = tmp_path / "extra.txt"
    extra.write_text("档案馆\n\n档案馆保存历史档案五千卷。\n", encoding="utf-8")
    added = _rag("add", str(extra), "--index", index_dir, "--json")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["counts"]["documents"] == 2
    removed = _rag("remove", "extra", "--index", index_dir, "--quiet")
    assert removed.returncode == 0 and "1 documents" in removed.stdout
    missing = _rag("remove", "nothing-like-it", "--index", index_dir)
    assert missing.returncode == 2 and "no document 'nothing-like-it'" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1


def test_sentence_vectors_stay_float16_and_are_read_row_by_row(seed_index):
    """At 100k chunks the float32 copies made at start-up took 2 GB: the tables stay float16 on disk,
    memory-mapped, and a question converts only the rows it reads."""
    sentences = load_index(seed_index).sentences
    assert sentences.vectors.dtype == np.float16 and isinstance(sentences.vectors, np.memmap)
    run, rows = sentences.of_chunk(3), np.array([5, 0, 7])
    assert sentences.read(run).dtype == np.float32
    assert (sentences.read(run) == sentences.vectors[run.start:run.stop].astype(np.float32)).all()
    assert (sentences.read(rows) == sentences.vectors[rows].astype(np.float32)).all()


def test_each_sentence_has_one_vector_framed_by_its_documents_subject_where_it_has_one(tmp_path):
    """A sentence of a document with a subject is embedded under that subject only (its plain vector
    added nothing measurable: see SentenceTable); which sentences are framed is written at build time."""
    from rag.embed import load_model

    corpus = tmp_path / "wiki.jsonl"
    corpus.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"id": "a", "title": "杨昊 (足球运动员)", "text": "杨昊是中国足球运动员。他司职后卫。"},
        {"id": "b", "title": "城市的未来", "text": "城市需要更多公园。公园让人放松。"}]), encoding="utf-8")
    build_index(corpus, tmp_path / "idx", progress=False)
    index = load_index(tmp_path / "idx")
    sentences = index.sentences
    docs = [index.chunks[c].doc_id for c in sentences.chunk]
    assert sentences.framed.tolist() == [d == "a" for d in docs]
    assert sorted(p.name for p in index.path.glob("sentences*.npy")) == ["sentences.npy", "sentences_framed.npy"]
    texts = [index.corpus.document(d).text[s:e] for d, s, e in zip(docs, sentences.start, sentences.end, strict=True)]
    expected = load_model(index.model, index.engine).encode_documents(
        [index_module.sentence_in_context("杨昊", t) if d == "a" else t for d, t in zip(docs, texts, strict=True)])
    # int8 activations are quantized per batch: the same text in another batch moves a little
    assert (np.sum(sentences.read(range(0, len(docs))) * expected, axis=1) > 0.995).all()  # plain: 0.970-0.987


def test_an_index_of_the_previous_format_is_rebuilt_not_misread(mini_corpus, tmp_path):
    """Format 2 had a second sentence table (sentences_in_context.npy) and its sentences.npy held plain
    vectors only: read as format 3 it would give the reader the wrong vectors without an error."""
    from rag.assistant import Assistant

    build_index(mini_corpus, tmp_path / "idx", progress=False)
    folder = (tmp_path / "idx" / CURRENT).resolve()
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["format"] = manifest["settings"]["format"] = 2
    manifest["settings"]["sentence_text"] = "sentence/t2s + subject+sentence/t2s"
    np.save(folder / "sentences_in_context.npy", np.load(folder / "sentences.npy"))
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    status = index_status(tmp_path / "idx", corpus=mini_corpus)
    assert not status.ok and "settings" in status.detail
    with pytest.raises(IndexStateError, match="another version"):
        load_index(tmp_path / "idx")
    Assistant.open(tmp_path / "idx", corpus=mini_corpus, progress=False)  # rebuilds it
    rebuilt = load_index(tmp_path / "idx")
    assert rebuilt.manifest["format"] == index_module.FORMAT_VERSION
    assert not (rebuilt.path / "sentences_in_context.npy").exists()


def test_the_vector_cache_fills_the_rows_it_holds_and_trusts_nothing_when_damaged(tmp_path):
    from rag.vectors import VectorCache

    store = VectorCache(tmp_path / "v.sqlite3")
    keys = [b"a", b"b", b"c"]
    store.put("s", "passage", [b"c", b"a"], np.array([[3, 3], [1, 1]], dtype=np.float32))
    found, vectors = store.get("s", "passage", keys)
    assert found.tolist() == [True, False, True]
    assert vectors[0].tolist() == [1, 1] and vectors[2].tolist() == [3, 3]
    assert not store.get("other space", "passage", keys)[0].any()
    store.put("s", "passage", [b"b"], np.array([[2, 2, 2]], dtype=np.float32))  # a vector of another size
    found, vectors = store.get("s", "passage", keys)
    assert not found.any() and vectors is None
    store.close()


def test_a_document_is_found_by_id_after_the_corpus_changes():
    from rag.types import Corpus

    corpus = Corpus([Document("a", "s", "A", "", "", "x"), Document("b", "s", "B", "", "", "y")])
    assert corpus.document("b").title == "B"
    corpus.documents.append(Document("c", "s", "C", "", "", "z"))
    assert corpus.document("c").title == "C"
    corpus.documents = [Document("d", "s", "D", "", "", "w")]
    assert corpus.document("d").title == "D"
    with pytest.raises(KeyError):
        corpus.document("a")


def test_a_loaded_index_reads_its_sentence_rows_after_a_rebuild_deletes_its_folder(mini_corpus, tmp_path):
    """A running server keeps answering while `rag build` or `rag add` publishes a new build and
    deletes the old folder: the tables' files stay open."""
    build_index(mini_corpus, tmp_path / "idx", progress=False)
    index = load_index(tmp_path / "idx")
    before = index.sentences.read(range(0, len(index.sentences.chunk)))
    (mini_corpus / "report.md").write_text(MINI_TEXT + "\n新增一段。\n", encoding="utf-8")
    build_index(mini_corpus, tmp_path / "idx", progress=False)
    assert not index.path.exists()
    assert (index.sentences.read(range(0, len(index.sentences.chunk))) == before).all()
    assert (index.sentences.read(np.array([1, 0])) == index.sentences.vectors[[1, 0]]).all()


def test_a_large_corpus_takes_its_chunk_vectors_from_its_sentences(mini_corpus, tmp_path, monkeypatch):
    """Over SETTINGS["pool_chunk_vectors_above"] chunks only sentences are encoded (half the model's
    work): each chunk's vector is the normalized mean of its sentences', and questions still find it."""
    from rag.assistant import Assistant

    monkeypatch.setitem(index_module.SETTINGS, "pool_chunk_vectors_above", 0)
    manifest = build_index(mini_corpus, tmp_path / "idx", progress=False, cache=False)
    index = load_index(tmp_path / "idx")
    chunk_count = index.chunk_vectors.ntotal
    assert manifest["counts"]["chunk_vectors_pooled"] == chunk_count == len(index.chunks)
    assert manifest["embedded"]["texts"] == manifest["counts"]["sentences"]  # no chunk text was encoded
    for row in range(chunk_count):
        mean = index.sentences.read(index.sentences.of_chunk(row)).mean(axis=0)
        assert np.allclose(index.chunk_vectors.reconstruct(row), mean / np.linalg.norm(mean), atol=2e-3)
    response = Assistant.open(tmp_path / "idx", corpus=mini_corpus, progress=False).ask("图书馆一年接待多少读者？")
    assert response.passages[0].chunk_id == "report#p2"
    assert response.answer is not None and "九万人次" in response.answer.text
    # below the threshold, every chunk is encoded as before
    monkeypatch.setitem(index_module.SETTINGS, "pool_chunk_vectors_above", 20_000)
    assert build_index(mini_corpus, tmp_path / "idx2", progress=False, cache=False)["counts"]["chunk_vectors_pooled"] == 0
