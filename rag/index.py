"""Build, persist and load the search index: FAISS vectors + BM25 over jieba tokens + the tables.

Layout of an index directory::

    <index>/current -> build-<stamp>/      (a symlink, swapped atomically when a build finishes)
    <index>/build-<stamp>/manifest.json   (fingerprint, model, settings, versions, file checksums)
                         corpus.json      (documents, sections, chunks, sentences: no re-ingesting)
                         chunks.faiss     (chunk vectors; exact inner product, HNSW when large)
                         sentence_rows.npy (chunk row, start, end of every sentence)
                         sentences.npy    (one vector per sentence, float16, for retrieval and the answer
                                           step: under its document's subject where it has one)
                         sentences_framed.npy  (which sentences were framed by their document's subject)
                         bm25/            (bm25s over jieba tokens of title + section + text)
    <index>/.build.lock                   (one build at a time)

A build writes a fresh ``build-*`` folder and only then repoints ``current``, so a build that is
killed at any point leaves the previous index untouched and usable.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import inspect
import json
import mmap
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import bm25s
import faiss
import numpy as np

from rag import __version__, config
from rag.errors import IndexStateError
from rag.progress import Progress
from rag.textproc import fold, keywords, to_simplified
from rag.types import Chunk, Corpus, Document

FORMAT_VERSION = 3  # 2: sentences_framed.npy; 3: one sentence table (framed where a subject), no sentences_in_context.npy


HNSW_EF_SEARCH = 64
CURRENT = config.INDEX_CURRENT
_SKIP_NAMES = {".build.lock", "README.md"}


@dataclass
class IndexStatus:
    ok: bool
    detail: str


@dataclass
class SentenceTable:
    """Every sentence of every chunk, in corpus order, with its vectors for the answer step.

    The vectors stay float16 and, once loaded, memory-mapped: a question reads the rows of its
    candidate chunks only (``read``). At 100k chunks (~700k sentences) the table holds 517 MB as
    float16; the float32 copy made at start-up before took twice that.

    One vector per sentence: under its document's subject where the document has one
    (``sentence_in_context``), else the sentence alone. A build that also kept the plain vector of
    a framed sentence embedded a third more text for nothing measurable on the training sets (CMRC
    trial + DRCD test, 4,408 questions: answer-sentence top-1 by cosine 0.833 framed alone vs 0.832
    for the better of plain and framed; retrieval R@1 within 0.25 point; benchmarks/bench_sentence_vectors.py)."""

    chunk: np.ndarray  # int32 chunk row of each sentence
    start: np.ndarray  # int32 document offsets
    end: np.ndarray
    vectors: np.ndarray  # float16, L2-normalised
    framed: np.ndarray  # bool: the vector is framed by the document's subject (see title_subject)
    #: The open files of memory-mapped tables, read row by row (see _read_rows). Open, so that a later
    #: build deleting this one's folder does not take the rows away from a running server.
    files: dict[str, BinaryIO] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        # Sentences are stored chunk by chunk, so each chunk's sentences are one contiguous run.
        rows = np.arange(int(self.chunk.max()) + 1 if len(self.chunk) else 0)
        self.first = np.searchsorted(self.chunk, rows, side="left")
        self.last = np.searchsorted(self.chunk, rows, side="right")

    def of_chunk(self, row: int) -> range:
        """Sentence rows of chunk ``row``."""
        if row >= len(self.first):
            return range(0)
        return range(int(self.first[row]), int(self.last[row]))

    def read(self, rows: range | np.ndarray) -> np.ndarray:
        """float32 vectors of sentence ``rows`` (a range or an index array)."""
        return _rows(self.vectors, rows, self.files.get("vectors"))


def _rows(table: np.ndarray, rows: range | np.ndarray, file: BinaryIO | None) -> np.ndarray:
    if file is not None and isinstance(table, np.memmap) and isinstance(table.base, mmap.mmap) \
            and table.filename == os.path.abspath(file.name):
        return _read_rows(table, rows, file)
    part = table[rows.start:rows.stop] if isinstance(rows, range) else table[rows]
    return np.asarray(part, dtype=np.float32)


def _read_rows(table: np.memmap, rows: range | np.ndarray, file: BinaryIO) -> np.ndarray:
    """Rows of a memory-mapped table read from its file, not through the mapping: every page a
    mapping touches stays resident, with up to 64 KB of cached neighbours (the kernel's fault-around),
    and at 100k chunks 200 questions had left 560 MB of the (then two) tables in the process's RSS."""
    count, width = table.shape
    runs = [(rows.start, rows.stop)] if isinstance(rows, range) else _runs(np.asarray(rows, dtype=np.int64))
    if any(start < 0 or stop > count for start, stop in runs):
        raise IndexError(f"sentence rows outside 0..{count}")
    size = width * table.dtype.itemsize
    parts = [os.pread(file.fileno(), (stop - start) * size, table.offset + start * size) for start, stop in runs]
    return np.frombuffer(b"".join(parts), dtype=table.dtype).reshape(-1, width).astype(np.float32)


def _runs(rows: np.ndarray) -> list[tuple[int, int]]:
    """``rows`` (in their order) as half-open runs of consecutive rows: one read per run."""
    if not len(rows):
        return []
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    return [(int(part[0]), int(part[-1]) + 1) for part in np.split(rows, breaks)]


@dataclass
class LoadedIndex:
    path: Path
    manifest: dict
    corpus: Corpus
    chunks: list[Chunk]
    chunk_vectors: faiss.Index
    sentences: SentenceTable
    bm25: bm25s.BM25

    @property
    def model(self) -> str:
        return self.manifest["model"]["spec"]

    @property
    def engine(self) -> str:
        return self.manifest["model"].get("engine", "sentence-transformers")

    @property
    def build_id(self) -> str:
        """The published build's folder: two processes that report the same one read the same index."""
        return str(self.path)


# ---------------------------------------------------------------- texts each retriever sees


def context_prefix(chunk: Chunk) -> str:
    """Title and section path: lets both retrievers match a question that names the topic."""
    return " ".join([chunk.title, *chunk.section]).strip()


def dense_text(chunk: Chunk) -> str:
    prefix = context_prefix(chunk)
    return to_simplified(f"{prefix}\n{chunk.text}" if prefix else chunk.text)


_DISAMBIGUATOR_RE = re.compile(r"\s*[（(][^（）()]*[）)]\s*$")


def subject_words(title: str) -> str:
    """A title as a subject: folded, without its "(…)" disambiguator."""
    return fold(_DISAMBIGUATOR_RE.sub("", title)).strip()


def title_subject(document: Document) -> str | None:
    """The document's subject when its title names one: an encyclopedia entry's title ("杨昊 (足球运动员)"
    → 杨昊) recurs in its body; an essay's headline slogan does not."""
    subject = subject_words(document.title)
    if not subject:
        return None
    return subject if any(subject in fold(chunk.text) for chunk in document.chunks) else None


def sentence_in_context(subject: str, sentence: str) -> str:
    """A sentence under its document's subject. Encyclopedia-style text leaves the subject unsaid
    ("体长可达50公分" in the entry on a fish): alone, the model cannot tell that the sentence answers a
    question about that fish (CMRC trial: answer-sentence top-1 by cosine 0.661 → 0.822). Documents
    without a subject keep the plain sentence: an essay's sentences name their own."""
    return to_simplified(f"{subject}\n{sentence}")


def bm25_tokens(chunk: Chunk) -> list[str]:
    return keywords(f"{context_prefix(chunk)} {chunk.text}")


@dataclass
class TextsToEmbed:
    """What a build embeds, in the order of its vectors: the chunks it encodes, then one text per
    sentence (under its document's subject where ``framed``). In a large corpus a chunk's vector is
    the mean of its sentences' (see ``pooled_chunks``), and only chunks without sentences are encoded."""

    sentence_rows: list[tuple[int, int, int]]  # (chunk row, start, end) of every sentence
    chunks: list[str]  # the chunk texts to encode…
    encoded_rows: list[int]  # …and their rows; every other chunk's vector is pooled from its sentences
    sentences: list[str]
    framed: np.ndarray  # bool per sentence
    chunk_count: int

    def all(self) -> list[str]:
        return self.chunks + self.sentences

    def split(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The chunk vectors (one per chunk row) and the sentence vectors, from ``all()``'s vectors."""
        encoded, sentences = vectors[:len(self.chunks)], vectors[len(self.chunks):]
        if len(self.encoded_rows) == self.chunk_count:
            return encoded, sentences
        chunks = np.zeros((self.chunk_count, vectors.shape[1]), dtype=np.float64)
        np.add.at(chunks, np.array([row for row, _, _ in self.sentence_rows], dtype=np.int64), sentences)
        chunks /= np.maximum(np.linalg.norm(chunks, axis=1, keepdims=True), 1e-12)
        chunks[self.encoded_rows] = encoded
        return chunks.astype(np.float32), sentences


def pooled_chunks(chunk_count: int) -> bool:
    """Whether a corpus of ``chunk_count`` chunks takes each chunk's vector as the mean of its sentences'
    vectors instead of encoding the chunk: that halves the model's work (a chunk costs about as much
    as all its sentences together), for answers ~0.2-0.3 point worse (BENCHMARKS.md, stop 25). Worth
    it where an encoded build takes a quarter of an hour or more (20,000 chunks, 2 cores), not for a
    few documents."""
    return chunk_count > SETTINGS["pool_chunk_vectors_above"]


def texts_to_embed(corpus: Corpus, chunks: list[Chunk]) -> TextsToEmbed:
    """The texts whose vectors make the index of ``chunks`` (``corpus.chunks()``)."""
    doc_text = {d.doc_id: d.text for d in corpus.documents}
    subjects = {d.doc_id: title_subject(d) for d in corpus.documents}
    sentence_rows = [(row, s.start, s.end) for row, c in enumerate(chunks) for s in c.sentences]
    of_row = [(doc_text[chunks[row].doc_id][start:end], subjects[chunks[row].doc_id]) for row, start, end in sentence_rows]
    sentences = [sentence_in_context(subject, text) if subject else to_simplified(text) for text, subject in of_row]
    framed = np.array([subject is not None for _, subject in of_row], dtype=bool)
    pooled = pooled_chunks(len(chunks))
    encoded = [row for row, c in enumerate(chunks) if not (pooled and c.sentences)]
    return TextsToEmbed(sentence_rows, [dense_text(chunks[row]) for row in encoded], encoded, sentences, framed,
                        len(chunks))


#: The functions above decide what each retriever sees: their code is part of the index's settings.
_TEXT_PREPARATION = (context_prefix, dense_text, subject_words, title_subject, sentence_in_context, bm25_tokens,
                     texts_to_embed, pooled_chunks, TextsToEmbed.split)


def _pipeline_fingerprint() -> str:
    """Hash of the code that reads, cuts, tokenizes and frames text for the index: changing any of it
    makes old indexes stale. (A change to this module's file layout bumps FORMAT_VERSION instead.)"""
    here = Path(__file__).parent
    sources = sorted([*here.glob("ingest/*.py"), here / "textproc.py"])
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sources))
    for function in _TEXT_PREPARATION:
        digest.update(inspect.getsource(function).encode())
    digest.update(_DISAMBIGUATOR_RE.pattern.encode())
    return digest.hexdigest()[:16]


#: Everything that changes what the index contains; a different value makes an index stale. The
#: engine and model that made the vectors are recorded beside it, in the manifest's ``model``.
SETTINGS = {
    "format": FORMAT_VERSION,
    "bm25_tokens": "jieba-search/t2s/nfkc/stopwords-v1",
    "bm25_fields": "title+section+text",
    "dense_text": "title+section+text/t2s",
    "sentence_text": "subject+sentence/t2s where the document has a subject, else sentence/t2s",
    "pool_chunk_vectors_above": 20_000,  # chunks; see pooled_chunks
    "hnsw_above": 50_000,  # vectors; below it exact search is fast enough (see BENCHMARKS.md)
    "hnsw_m": 32,
    "hnsw_ef_construction": 80,
    "pipeline": _pipeline_fingerprint(),
}


# ---------------------------------------------------------------- fingerprints and status


def corpus_fingerprint(corpus_path: Path) -> str:
    """Hash of every visible file's relative path and bytes: any edit, addition or removal shows."""
    corpus_path = Path(corpus_path)
    if not corpus_path.exists():
        raise IndexStateError(f"corpus path does not exist: {corpus_path}")
    files = [corpus_path] if corpus_path.is_file() else sorted(
        p for p in corpus_path.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(corpus_path).parts)
    )
    digest = hashlib.sha256()
    for path in files:
        rel = path.name if path == corpus_path else path.relative_to(corpus_path).as_posix()
        digest.update(rel.encode() + b"\0")
        with contextlib.suppress(OSError):  # unreadable files are reported by ingestion
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def read_manifest(index_dir: Path) -> dict | None:
    path = Path(index_dir) / CURRENT / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def _missing_detail(index_dir: Path) -> str:
    """Why there is no manifest to read: no index at all, or one whose manifest is damaged."""
    if (Path(index_dir) / CURRENT / "manifest.json").exists():
        return f"the index at {index_dir} is corrupt (its manifest.json cannot be read)"
    return f"no index at {index_dir}"


def index_status(index_dir: Path, corpus: Path | None = None, model: str | None = None,
                 engine: str | None = None) -> IndexStatus:
    """Whether the index exists and matches this corpus, model, engine and settings (checksums not read)."""
    from rag.embed import engine_for

    manifest = read_manifest(index_dir)
    if manifest is None:
        return IndexStatus(False, _missing_detail(index_dir))
    if manifest.get("settings") != SETTINGS:
        return IndexStatus(False, "built with other settings or by another version")
    wanted_model = model or config.default_model()
    if manifest["model"]["spec"] != wanted_model:
        return IndexStatus(False, f"built with model {manifest['model']['spec']!r}, not {wanted_model!r}")
    wanted_engine = engine_for(wanted_model, engine)
    if manifest["model"].get("engine") != wanted_engine:
        return IndexStatus(False, f"built with the {manifest['model'].get('engine')} engine, whose vectors differ "
                                  f"from the {wanted_engine} engine's: pass --engine {manifest['model'].get('engine')}"
                                  f" or rebuild")
    if corpus is not None and manifest["corpus"]["fingerprint"] != corpus_fingerprint(corpus):
        return IndexStatus(False, f"the corpus at {corpus} changed since the index was built")
    return IndexStatus(True, f"{manifest['counts']['chunks']} chunks, model {manifest['model']['spec']}, "
                             f"{manifest['model']['engine']} engine")


# ---------------------------------------------------------------- build


@contextlib.contextmanager
def build_lock(index_dir: Path):
    """One build per index directory at a time; a second one waits instead of interleaving."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".build.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for another build of {index_dir} to finish…", file=sys.stderr)
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def build_index(corpus_path: Path | str, index_dir: Path | str, model: str | None = None,
                progress: bool | Progress = True, engine: str | None = None, cache: bool = True) -> dict:
    """Ingest ``corpus_path``, embed and index it, and publish it atomically under ``index_dir``.
    Vectors come from the content-hash cache where it has them (``cache=False`` encodes everything)."""
    from rag.ingest import load_corpus

    corpus_path, index_dir = Path(corpus_path), Path(index_dir)
    report = progress if isinstance(progress, Progress) else Progress(enabled=progress)
    started = time.perf_counter()
    with build_lock(index_dir):
        report.stage(f"reading {corpus_path}")
        fingerprint = corpus_fingerprint(corpus_path)
        corpus = load_corpus(corpus_path)
        read_seconds = time.perf_counter() - started
        source = {"path": str(corpus_path), "fingerprint": fingerprint, "added": [], "removed": []}
        return _build(corpus, source, index_dir, model, engine, report, cache, started,
                      {"read": round(read_seconds, 2)})


def update_index(index_dir: Path | str, add: list[Path] | None = None, remove: list[str] | None = None,
                 progress: bool | Progress = True, cache: bool = True) -> dict:
    """`rag add` / `rag remove`: the current index's corpus with files added (a file already in it is
    replaced) or documents removed, republished like a build. Only new text is embedded; the rest of
    the vectors come from the cache. The manifest keeps the corpus fingerprint the index was built
    from and lists what was added and removed on top of it."""
    from rag.ingest.update import add_files, remove_documents

    index_dir = Path(index_dir)
    report = progress if isinstance(progress, Progress) else Progress(enabled=progress)
    started = time.perf_counter()
    with build_lock(index_dir):
        manifest = read_manifest(index_dir)
        if manifest is None:
            raise IndexStateError(f"{_missing_detail(index_dir)}: build one first with `rag build`")
        if manifest.get("settings") != SETTINGS:  # its stored documents were cut by other code
            raise IndexStateError(f"the index at {index_dir} was built with other settings or by another "
                                  "version: run `rag build` first")
        folder = (index_dir / CURRENT).resolve()
        try:
            corpus = Corpus.from_dict(json.loads((folder / "corpus.json").read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise IndexStateError(f"the index at {index_dir} is corrupt ({error}): run `rag build` again") from error
        source = dict(manifest["corpus"])
        source.setdefault("added", [])
        source.setdefault("removed", [])
        if add:
            report.stage(f"reading {len(add)} path{'s' if len(add) != 1 else ''}")
            corpus, added = add_files(corpus, [Path(p) for p in add])
            source["added"] = sorted(set(source["added"]) | set(added))
        if remove:
            corpus, removed = remove_documents(corpus, remove)
            source["removed"] = sorted(set(source["removed"]) | set(removed))
            source["added"] = [s for s in source["added"] if s not in removed]
        return _build(corpus, source, index_dir, manifest["model"]["spec"], manifest["model"]["engine"],
                      report, cache, started, {"read": round(time.perf_counter() - started, 2)})


def _build(corpus: Corpus, source: dict, index_dir: Path, model: str | None, engine: str | None,
           report: Progress, cache: bool, started: float, timings: dict) -> dict:
    """Embed and index ``corpus`` into a staging folder and publish it (the build lock is held). The
    model is loaded only if some text is not in the vector cache."""
    from rag.embed import engine_for, load_model, resolve

    model = model or config.default_model()
    engine = engine_for(model, engine)

    def load():
        loading = time.perf_counter()
        embedder = load_model(model, engine)
        timings["load_model"] = round(time.perf_counter() - loading, 2)
        return embedder

    staging = index_dir / f".staging-{os.getpid()}-{time.time_ns()}"
    staging.mkdir()
    try:
        counts, embedded, dim = _write_index_files(staging, corpus, (model, engine, load), report, cache, timings)
        source["problems"] = [f"{p.source}: {p.message}" for p in corpus.problems]
        manifest = {
            "format": FORMAT_VERSION,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "corpus": source,
            "model": {"spec": model, "name": resolve(model).name, "dim": dim, "engine": engine},
            "settings": SETTINGS,
            "versions": _versions(),
            "counts": counts,
            "embedded": embedded,
            "timings": timings,
            "build_seconds": round(time.perf_counter() - started, 2),
            "files": _checksums(staging),
        }
        _write_json(staging / "manifest.json", manifest)
        _publish(staging, index_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def _write_index_files(folder: Path, corpus: Corpus, model: tuple, report: Progress, cache: bool,
                       timings: dict) -> tuple[dict, dict, int]:
    """The index files of ``corpus``; ``model`` is (spec, engine, a function that loads it)."""
    from rag.vectors import encode_passages, open_cache, space_of

    chunks = corpus.chunks()
    _write_json(folder / "corpus.json", corpus.to_dict())

    # Chunks and sentences are embedded as one set, so no text is encoded twice.
    texts = texts_to_embed(corpus, chunks)
    embedding = time.perf_counter()
    spec, engine, load = model
    with open_cache(cache) as store:
        vectors, stats = encode_passages(space_of(spec, engine), load, texts.all(), report, store)
    timings["embed"] = round(time.perf_counter() - embedding, 2)
    if stats.cached:
        report.note(f"embedded {stats.encoded:,} new texts; {stats.cached:,} came from the vector cache")
    if len(texts.encoded_rows) < len(chunks):
        report.note(f"{len(chunks) - len(texts.encoded_rows):,} chunk vectors are the mean of their sentences' "
                    f"(over {SETTINGS['pool_chunk_vectors_above']:,} chunks: half the embedding time)")
    chunk_vectors, sentence_vectors = texts.split(vectors)
    sentence_vectors = sentence_vectors.astype(np.float16)
    sentence_rows = texts.sentence_rows

    report.stage("indexing")
    indexing = time.perf_counter()
    faiss.write_index(_vector_index(chunk_vectors), str(folder / "chunks.faiss"))
    table = np.array(sentence_rows, dtype=np.int32).reshape(-1, 3)
    np.save(folder / "sentence_rows.npy", table)
    np.save(folder / "sentences.npy", sentence_vectors)
    np.save(folder / "sentences_framed.npy", texts.framed)

    retriever = bm25s.BM25()
    retriever.index([bm25_tokens(c) or [""] for c in chunks], show_progress=False)
    retriever.save(str(folder / "bm25"), show_progress=False)
    timings["index"] = round(time.perf_counter() - indexing, 2)
    counts = {"documents": len(corpus.documents), "chunks": len(chunks), "sentences": len(sentence_rows),
              "chunk_vectors_pooled": len(chunks) - len(texts.encoded_rows)}
    return counts, stats.as_dict(), int(vectors.shape[1])


def _vector_index(vectors: np.ndarray) -> faiss.Index:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if len(vectors) > SETTINGS["hnsw_above"]:
        index = faiss.IndexHNSWFlat(vectors.shape[1], SETTINGS["hnsw_m"], faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = SETTINGS["hnsw_ef_construction"]
    else:
        index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    return index


def _publish(staging: Path, index_dir: Path) -> None:
    """Move the finished build into place and repoint ``current`` in one atomic rename."""
    final = index_dir / f"build-{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 10**9:09d}"
    staging.rename(final)
    link = index_dir / f".current-{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        link.unlink()
    link.symlink_to(final.name)
    os.replace(link, index_dir / CURRENT)
    _fsync_dir(index_dir)
    for old in index_dir.iterdir():  # earlier builds and staging left by killed builds
        if old.name != final.name and (old.name.startswith("build-") or old.name.startswith(".staging-")):
            shutil.rmtree(old, ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def _checksums(folder: Path) -> dict[str, dict]:
    return {
        p.relative_to(folder).as_posix(): {"sha256": _sha256(p), "bytes": p.stat().st_size}
        for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    packages = ["faiss-cpu", "bm25s", "jieba", "ctranslate2", "tokenizers", "sentence-transformers",
                "transformers", "torch"]
    versions = {"rag": __version__}
    for name in packages:
        with contextlib.suppress(PackageNotFoundError):
            versions[name] = version(name)
    return versions


# ---------------------------------------------------------------- load


def load_index(index_dir: Path | str, verify: bool = True) -> LoadedIndex:
    """Open the current build; a missing, unfinished or tampered index raises IndexStateError."""
    index_dir = Path(index_dir)
    manifest = read_manifest(index_dir)
    if manifest is None:
        raise IndexStateError(f"{_missing_detail(index_dir)}: run `rag build` (or `rag build --index {index_dir}`)")
    folder = (index_dir / CURRENT).resolve()
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexStateError(f"the index at {index_dir} was built by another version: run `rag build`")
    if verify:
        _verify(folder, manifest)
    try:
        corpus = Corpus.from_dict(json.loads((folder / "corpus.json").read_text(encoding="utf-8")))
        chunk_vectors = faiss.read_index(str(folder / "chunks.faiss"))
        if isinstance(chunk_vectors, faiss.IndexHNSW):
            chunk_vectors.hnsw.efSearch = HNSW_EF_SEARCH
        rows = np.load(folder / "sentence_rows.npy")
        files = {"vectors": open(folder / "sentences.npy", "rb")}  # noqa: SIM115 (kept open: see SentenceTable)
        sentences = SentenceTable(chunk=rows[:, 0], start=rows[:, 1], end=rows[:, 2],
                                  vectors=np.load(files["vectors"].name, mmap_mode="r"),
                                  framed=np.load(folder / "sentences_framed.npy"), files=files)
        bm25 = bm25s.BM25.load(str(folder / "bm25"), show_progress=False)
    except Exception as error:  # any unreadable piece means the same thing to the user
        raise IndexStateError(f"the index at {index_dir} is corrupt ({error}): run `rag build` again") from error
    chunks = corpus.chunks()
    if chunk_vectors.ntotal != len(chunks) or not len(sentences.chunk) == len(sentences.vectors) == len(
            sentences.framed):
        raise IndexStateError(f"the index at {index_dir} is inconsistent: run `rag build` again")
    return LoadedIndex(folder, manifest, corpus, chunks, chunk_vectors, sentences, bm25)


def _verify(folder: Path, manifest: dict) -> None:
    expected = manifest.get("files", {})
    actual = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} - {"manifest.json"}
    if missing := sorted(set(expected) - actual):
        raise IndexStateError(f"the index at {folder.parent} is incomplete (missing {', '.join(missing)}): "
                              "run `rag build` again")
    for name, meta in expected.items():
        path = folder / name
        if path.stat().st_size != meta["bytes"] or _sha256(path) != meta["sha256"]:
            raise IndexStateError(f"the index file {name} in {folder.parent} does not match its checksum "
                                  "(truncated or modified): run `rag build` again")


def corpus_to_serve(index_dir: Path, corpus: Path | None) -> Path | None:
    """The corpus a server keeps ``index_dir`` up to date with: the one given; else the one the index
    was built from (when it is still there), so that serving someone's index never rebuilds it from
    the shipped essays; else, for a missing index, the shipped essays. None: serve the index as it is."""
    if corpus is not None:
        return Path(corpus)
    manifest = read_manifest(index_dir)
    if manifest is None:
        return config.default_corpus()
    built_from = Path(manifest.get("corpus", {}).get("path", ""))
    return built_from if str(built_from) not in ("", ".") and built_from.exists() else None


def ensure_index(index_dir: Path, corpus: Path | None, model: str | None, progress: bool = True,
                 engine: str | None = None) -> None:
    """Build the index when it is missing or stale for ``corpus`` (used by `ask --corpus` and `serve`)."""
    status = index_status(index_dir, corpus=corpus, model=model, engine=engine)
    if status.ok:
        return
    if corpus is None:
        if read_manifest(index_dir) is None:
            raise IndexStateError(f"{status.detail}: run `rag build` first")
        raise IndexStateError(f"the index is stale ({status.detail}): run `rag build`")
    print(f"building the index ({status.detail})…", file=sys.stderr)
    build_index(corpus, index_dir, model=model, progress=progress, engine=engine)
