"""Documents added and removed on a running server (the web page's panel and its HTTP API).

Uploaded files are checked by ingestion's own rules (type and size: ``rag.ingest.load``) and by this
module's (how many files and how many bytes one upload may carry), stored under ``<index>/uploads/``
(never served back: the HTTP guard closes Gradio's file routes) and added by ``Assistant.update``,
which is the same ``update_index`` as `rag add`; removing goes through the same ``update_index`` as
`rag remove`, and deletes a document's uploaded file once no document comes from it.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePath

from rag.errors import CorpusError
from rag.ingest.load import MAX_FILE_MB, TYPES, size_problem, type_problem
from rag.progress import Progress

#: The folder inside the index directory that holds the files added from the page.
UPLOADS = "uploads"
#: Files one upload may carry: a person adding their documents, not a bulk import (that is `rag add`).
MAX_FILES = 20
#: Bytes one upload may carry in all; the HTTP guard refuses a larger request before reading its body.
MAX_UPLOAD_MB = 2 * MAX_FILE_MB
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]")


@dataclass
class Change:
    """What one add or remove did: the page's message and the API's reply."""

    added: list[str] = field(default_factory=list)  # sources read (uploads/NAME)
    removed: list[str] = field(default_factory=list)  # document ids
    documents: int = 0  # in the index afterwards
    problems: list[str] = field(default_factory=list)  # one line per file that lost something
    encoded: int = 0  # texts embedded now
    cached: int = 0  # texts whose vectors came from the cache
    seconds: float = 0.0
    build: str = ""  # the index build now served (as the /index API reports it)

    def to_dict(self) -> dict:
        return asdict(self)

    def message(self) -> str:
        """One line in English (the page shows it under the Chinese one)."""
        done = (f"added {', '.join(Path(s).name for s in self.added)}" if self.added else
                f"removed {', '.join(self.removed)}")
        embedded = ("" if not self.added else
                    f"; all {self.cached:,} texts from the vector cache" if not self.encoded else
                    f"; embedded {self.encoded:,} new texts ({self.cached:,} from the vector cache)")
        return f"{done}{embedded} in {self.seconds:.1f} s; {self.documents} documents are searched now"


def upload_problem(names_and_sizes: list[tuple[str, int]]) -> str | None:
    """Why this upload is refused as a whole (one line), or None: the count, then each file's type
    and size by ingestion's rules, then the total."""
    if not names_and_sizes:
        return f"choose one or more files to add ({TYPES})"
    if len(names_and_sizes) > MAX_FILES:
        return f"{len(names_and_sizes)} files at once; the limit is {MAX_FILES} per upload (add the rest next)"
    for name, size in names_and_sizes:
        if problem := type_problem(name) or size_problem(size):
            return f"{PurePath(name).name}: {problem}"
    total = sum(size for _, size in names_and_sizes)
    if total > MAX_UPLOAD_MB * 1024 * 1024:
        return f"the files come to {total / 1024 / 1024:,.0f} MB; the limit is {MAX_UPLOAD_MB} MB per upload"
    return None


def stored_name(name: str) -> str:
    """The name an uploaded file is stored under: its own file name, without path, control or
    reserved characters and without a leading dot (a hidden file would not be read)."""
    base = _UNSAFE.sub("", PurePath(name.replace("\\", "/")).name).strip().lstrip(".")
    stem, suffix = PurePath(base).stem, PurePath(base).suffix
    return f"{stem[:100] or 'upload'}{suffix.lower()}"


def add_uploads(assistant, files: list[Path], names: list[str] | None = None,
                progress: bool | Progress = False) -> Change:
    """Store ``files`` (uploaded under ``names``, default their own) in ``<index>/uploads/`` and add
    them to ``assistant``'s index. A file of the same name replaces the earlier one; if the update
    fails, or a file gives no document, the earlier file is put back."""
    started = time.perf_counter()
    names = [stored_name(n) for n in (names or [f.name for f in files])]
    problem = upload_problem([(n, Path(f).stat().st_size) for n, f in zip(names, files, strict=True)])
    if problem:
        raise CorpusError(problem)
    if len(set(names)) < len(names):
        raise CorpusError("two of the files have the same name; rename one and add it again")
    folder = assistant.index_dir / UPLOADS
    folder.mkdir(parents=True, exist_ok=True)
    targets = [folder / name for name in names]
    backups = {t: t.with_name(f".replaced-{time.time_ns()}-{t.name}") for t in targets if t.exists()}
    for target, backup in backups.items():
        target.rename(backup)
    try:
        for source, target in zip(files, targets, strict=True):
            shutil.copyfile(source, target)
        manifest = assistant.update(add=targets, progress=progress)
    except BaseException:
        for target in targets:
            _restore(target, backups.get(target))
        raise
    read = {d.source for d in assistant.documents}
    added = [f"{UPLOADS}/{t.name}" for t in targets if f"{UPLOADS}/{t.name}" in read]
    for target in targets:  # a file that gave no document is not kept; one it replaced comes back
        if f"{UPLOADS}/{target.name}" in added:
            if target in backups:
                backups[target].unlink(missing_ok=True)
        else:
            _restore(target, backups.get(target))
    return _change(assistant, manifest, started, added=added,
                   problems=[p for p in manifest["corpus"]["problems"]
                             if any(p.startswith(f"{UPLOADS}/{t.name}: ") for t in targets)])


def remove_documents(assistant, names: list[str], progress: bool | Progress = False) -> Change:
    """Remove documents (by id, file name or source, as `rag remove`) from ``assistant``'s index; an
    uploaded file from which no document remains is deleted."""
    started = time.perf_counter()
    before = {d.doc_id: d.source for d in assistant.documents}
    manifest = assistant.update(remove=names, progress=progress)
    after = {d.doc_id: d.source for d in assistant.documents}
    folder = (assistant.index_dir / UPLOADS).resolve()
    for source in set(before.values()) - set(after.values()):
        path = (assistant.index_dir / source).resolve()
        if source.startswith(f"{UPLOADS}/") and path.parent == folder:
            path.unlink(missing_ok=True)
    return _change(assistant, manifest, started, removed=sorted(set(before) - set(after)))


def _restore(target: Path, backup: Path | None) -> None:
    with contextlib.suppress(FileNotFoundError):
        target.unlink()
    if backup is not None:
        backup.rename(target)


def _change(assistant, manifest: dict, started: float, **what) -> Change:
    return Change(documents=manifest["counts"]["documents"], encoded=manifest["embedded"]["encoded"],
                  cached=manifest["embedded"]["cached"], seconds=round(time.perf_counter() - started, 2),
                  build=assistant.index.build_id, **what)
