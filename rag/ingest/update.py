"""Change an indexed corpus in place: add files (replacing the documents of a file read again) or
remove documents. Files are read by ``read_corpus``, so every type it reads can be added."""

from __future__ import annotations

from pathlib import Path

from rag.errors import CorpusError
from rag.ingest.load import nothing_usable, read_corpus
from rag.types import Corpus, Document, LoadProblem


def add_files(corpus: Corpus, paths: list[Path]) -> tuple[Corpus, list[str]]:
    """``corpus`` with the documents of ``paths`` (files or folders); returns the sources added.
    A source that is already in the corpus is replaced by its new reading. A path that gives no
    document is reported among the problems, as in a build; a CorpusError when none gives any."""
    incoming: list[Document] = []
    new_problems: list[LoadProblem] = []
    for path in paths:
        loaded = read_corpus(path)
        incoming.extend(loaded.documents)
        new_problems.extend(loaded.problems)
    if not incoming:
        raise CorpusError(nothing_usable(", ".join(map(str, paths)), new_problems))
    problems = [*corpus.problems, *new_problems]
    sources = list(dict.fromkeys(d.source for d in incoming))
    kept = [d for d in corpus.documents if d.source not in sources]
    taken = {d.doc_id: d.source for d in kept}
    for document in incoming:
        if document.doc_id in taken:
            raise CorpusError(f"{document.source}: document id {document.doc_id!r} is already in the index "
                              f"(from {taken[document.doc_id]}); rename the file or `rag remove` that one first")
        taken[document.doc_id] = document.source
    return Corpus(documents=kept + incoming, problems=problems), sources


def remove_documents(corpus: Corpus, names: list[str]) -> tuple[Corpus, list[str]]:
    """``corpus`` without the documents named by id, by source path, by file name, or by the id of a
    file of several documents (``essays`` for ``essays#1``, ``essays#2``…); returns the sources removed."""
    removed: dict[str, Document] = {}
    for name in names:
        matches = [d for d in corpus.documents if _matches(d, name)]
        if not matches:
            known = ", ".join(sorted({d.doc_id for d in corpus.documents})[:8])
            raise CorpusError(f"no document {name!r} in the index (documents: {known}…)")
        removed.update((d.doc_id, d) for d in matches)
    remaining = [d for d in corpus.documents if d.doc_id not in removed]
    if not remaining:
        raise CorpusError("that would leave the index empty; build one from another corpus instead")
    return Corpus(documents=remaining, problems=corpus.problems), sorted({d.source for d in removed.values()})


def _matches(document: Document, name: str) -> bool:
    return name in (document.doc_id, document.source, Path(document.source).name) or \
        document.doc_id.startswith(f"{name}#")
