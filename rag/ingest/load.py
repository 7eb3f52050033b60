"""Files and folders → a Corpus: one bad file is reported and skipped, never fatal to the rest."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import asdict
from pathlib import Path, PurePath

from rag.errors import CorpusError
from rag.ingest.chunk import chunk_document
from rag.ingest.pdf import read_pdf
from rag.ingest.read import read_text
from rag.ingest.structure import parse_styled, parse_text
from rag.ingest.webpage import read_webpage
from rag.ingest.word import read_word
from rag.types import Corpus, Document, LoadProblem, SectionNode

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".jsonl", ".pdf", ".docx", ".html", ".htm")
TYPES = ".txt, .md, .jsonl, .pdf, .docx or .html"
#: A larger file is refused before it is read: 200 MB is ~10,000 PDF pages, far past a person's
#: own documents, and reading it would hold the whole file (and its text) in memory.
MAX_FILE_MB = 200
_OLD_FORMATS = {".doc": "save it as .docx", ".rtf": "save it as .docx", ".wps": "save it as .docx"}


def load_corpus(path: str | Path) -> Corpus:
    """Every document under ``path`` (a file or a folder, recursively, in sorted order); a
    CorpusError when none can be read."""
    corpus = read_corpus(path)
    if not corpus.documents:
        raise CorpusError(nothing_usable(Path(path), corpus.problems))
    return corpus


def read_corpus(path: str | Path) -> Corpus:
    """``load_corpus`` that returns a corpus of no documents (only problems) instead of raising."""
    path = Path(path)
    if not path.exists():
        raise CorpusError(f"corpus not found: {path} (give a file or folder of {TYPES} files)")
    root = path.resolve().parent if path.is_dir() else path.resolve().parent.parent
    files = corpus_files(path)
    bases = _doc_id_bases(files, root)
    corpus = Corpus(documents=[])
    seen_content: dict[str, str] = {}
    seen_ids: set[str] = set()
    for file in files:
        documents, problems, digest = _load(file, root, bases[file])
        corpus.problems.extend(problems)
        if documents and _is_duplicate(documents[0].source, digest, seen_content, corpus.problems):
            continue
        for document in documents:
            if document.doc_id in seen_ids:
                corpus.problems.append(LoadProblem(document.source, f"duplicate document id {document.doc_id!r}; "
                                                   "only the first is loaded"))
                continue
            seen_ids.add(document.doc_id)
            corpus.documents.append(document)
    return corpus


def corpus_files(path: Path) -> list[Path]:
    """The file itself, or the folder's non-hidden files in sorted (relative path) order."""
    if path.is_file():
        return [path]
    files = [p for p in path.rglob("*") if p.is_file() and not _hidden(p.relative_to(path))]
    return sorted(files, key=lambda p: p.relative_to(path).as_posix())


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def _doc_id_bases(files: list[Path], root: Path) -> dict[Path, str]:
    """The file stem; the relative path without suffix when two files share a stem; the relative path
    itself when that is shared too (``essays.pdf`` next to ``essays.docx``)."""
    stems = Counter(file.stem for file in files)
    paths = Counter(_source(file, root).rsplit(".", 1)[0] for file in files if stems[file.stem] > 1)
    bases = {}
    for file in files:
        without_suffix = _source(file, root).rsplit(".", 1)[0]
        bases[file] = (file.stem if stems[file.stem] == 1 else
                       without_suffix if paths[without_suffix] == 1 else _source(file, root))
    return bases


def _source(path: Path, root: Path) -> str:
    resolved = path.resolve()
    return resolved.relative_to(root).as_posix() if resolved.is_relative_to(root) else path.name


def load_file(path: str | Path, root: str | Path, doc_id_base: str | None = None,
              ) -> tuple[list[Document], list[LoadProblem]]:
    """The documents of one file (source relative to ``root``) and the problems met reading it."""
    documents, problems, _ = _load(Path(path), Path(root).resolve(), doc_id_base or Path(path).stem)
    return documents, problems


def _load(path: Path, root: Path, doc_id_base: str) -> tuple[list[Document], list[LoadProblem], str]:
    """``load_file`` plus a digest of the documents' cleaned text, which finds copies saved in other
    encodings or formats (a PDF and the .docx it was printed from)."""
    source = _source(path, root)
    if problem := type_problem(path.name):
        return [], [LoadProblem(source, problem)], ""
    try:
        documents, problems = _read(path, source, doc_id_base)
    except CorpusError as error:
        return [], [LoadProblem(source, str(error).removeprefix(f"{path}: "))], ""
    usable = [doc for doc in documents if doc.chunks]
    if not usable and not problems:
        problems.append(LoadProblem(source, "no text paragraphs found (only headings or blank lines)"))
    text = "\f".join(doc.text for doc in usable)  # a title found in the file opens its text
    return usable, problems, hashlib.sha256(text.encode("utf-8")).hexdigest()


def _read(path: Path, source: str, doc_id_base: str) -> tuple[list[Document], list[LoadProblem]]:
    """The file's documents and the problems met reading it, by file type."""
    _check_size(path)
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        origins, empty_pages = read_pdf(path)
        text = "\n".join(origins.lines)
        problems = [LoadProblem(source, f"{_pages(empty_pages)} no text layer (scanned?); OCR is not "
                                        "supported, so their content is not searchable")] if empty_pages else []
        return parse_text(text, source, doc_id_base, origins), problems
    if suffix in (".docx", ".html", ".htm"):
        paragraphs = read_word(path) if suffix == ".docx" else read_webpage(path)
        return parse_styled(paragraphs, source, doc_id_base), []
    text = read_text(path)
    if suffix == ".jsonl":
        return parse_jsonl(text, source)
    return parse_text(text, source, doc_id_base), []


def type_problem(name: str) -> str | None:
    """Why a file of this name is not read (its type), or None. The one rule for `rag build`,
    `rag add` and the page's upload panel."""
    suffix = PurePath(name).suffix
    if suffix.lower() in SUPPORTED_SUFFIXES:
        return None
    hint = f"; {_OLD_FORMATS[suffix.lower()]}" if _OLD_FORMATS.get(suffix.lower()) else ""
    return f"skipped: {suffix or 'files without a suffix'} is not a supported type ({TYPES}){hint}"


def size_problem(size: int) -> str | None:
    """Why a file of ``size`` bytes is not read (over ``MAX_FILE_MB``), or None; the same for every face."""
    if size > MAX_FILE_MB * 1024 * 1024:
        return f"the file is {size / 1024 / 1024:,.0f} MB; the limit is {MAX_FILE_MB} MB per file"
    return None


def _check_size(path: Path) -> None:
    try:
        size = path.stat().st_size
    except OSError as error:
        raise CorpusError(f"cannot read the file ({error.strerror or error})") from error
    if problem := size_problem(size):
        raise CorpusError(problem)


def _pages(numbers: list[int]) -> str:
    shown = ", ".join(map(str, numbers[:10])) + (f" and {len(numbers) - 10} more" if len(numbers) > 10 else "")
    return f"page {shown} has" if len(numbers) == 1 else f"pages {shown} have"


def parse_jsonl(text: str, source: str) -> tuple[list[Document], list[LoadProblem]]:
    """One document per line of ``{"id", "title", "text"}`` (the benchmark format)."""
    documents, problems = [], []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            documents.append(jsonl_document(line, source))
        except ValueError as error:
            problems.append(LoadProblem(source, f"line {number}: {error}"))
    return documents, problems


def jsonl_document(line: str, source: str) -> Document:
    """A Document from one JSON line; its paragraphs are the non-blank lines of ``text``."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON ({error.msg})") from error
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise ValueError('expected an object with a "text" string (and "id", "title")')
    if not isinstance(record.get("id"), str | int) or not str(record["id"]).strip():
        raise ValueError('missing "id"')
    paragraphs = [p.strip() for p in record["text"].split("\n") if p.strip()]
    if not paragraphs:
        raise ValueError('"text" is empty')
    document = Document(doc_id=str(record["id"]), source=source, title=str(record.get("title") or ""),
                        author="", affiliation="", text="\n".join(paragraphs))
    starts = [sum(len(p) + 1 for p in paragraphs[:i]) for i in range(len(paragraphs))]
    document.chunks = chunk_document(document, [(s, s + len(p)) for s, p in zip(starts, paragraphs, strict=True)])
    return document


def _is_duplicate(source: str, digest: str, seen: dict[str, str], problems: list[LoadProblem]) -> bool:
    """Files with the same text (in any encoding) are loaded once; the copy is reported."""
    if digest in seen:
        problems.append(LoadProblem(source, f"same content as {seen[digest]}; loaded once"))
        return True
    seen[digest] = source
    return False


def nothing_usable(path: str | Path, problems: list[LoadProblem]) -> str:
    details = "; ".join(f"{p.source}: {p.message}" for p in problems[:5])
    return f"no usable documents in {path}" + (f" ({details})" if details else f" (no {TYPES} files found)")


def corpus_to_dict(corpus: Corpus) -> dict:
    """The JSON shape of ``rag inspect --json``: documents with sections and chunks, then problems."""
    return {"documents": [_document_dict(d) for d in corpus.documents],
            "problems": [asdict(p) for p in corpus.problems]}


def _document_dict(document: Document) -> dict:
    return {"doc_id": document.doc_id, "source": document.source, "title": document.title,
            "author": document.author, "affiliation": document.affiliation, "text": document.text,
            "page_count": document.page_map.page_count if document.page_map else None,
            "sections": [_section_dict(s) for s in document.sections],
            "chunks": [_chunk_dict(c) for c in document.chunks]}


def _section_dict(node: SectionNode) -> dict:
    return {"heading": node.heading, "level": node.level, "start": node.start, "end": node.end,
            "children": [_section_dict(c) for c in node.children]}


def _chunk_dict(chunk) -> dict:
    data = asdict(chunk)
    data["sentences"] = [[s.start, s.end] for s in chunk.sentences]
    return data
