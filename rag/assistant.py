"""The one object every face uses (CLI, web UI, Python API): question in, Response out.

    from rag.assistant import Assistant
    assistant = Assistant.open()              # the index under embeddings/, the default model
    response = assistant.ask("营口有多少个千亿级产业集群？")
    response.answer.text, response.answer.citation

It loads the index and the model once; ``ask`` is thread-safe for concurrent use by the server.
``update`` adds or removes documents (the same ``update_index`` as `rag add` / `rag remove`) and swaps
the new index in whole: a question asked meanwhile is answered from the old index or the new one,
never from a mix of the two.
"""

from __future__ import annotations

import json
import re
import threading
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from rag import config
from rag.about import answer_about
from rag.errors import QuestionError, RagError
from rag.index import LoadedIndex, ensure_index, load_index, update_index
from rag.progress import Progress
from rag.reader import Decision, Reader
from rag.retrieve import MODES, Retriever
from rag.types import Passage, Response

MAX_QUESTION_CHARS = 500
MAX_K = 50
# Control and zero-width characters carry no meaning and break matching; tabs/newlines become spaces.
# Lone surrogates (possible in JSON, "\ud800") cannot be encoded and would fail in the tokenizer.
_INVISIBLE_RE = re.compile(r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202f\u2060-\u206f\ufeff"
                           r"\ud800-\udfff]")


def clean_question(question: object) -> str:
    """The question as it will be searched, or a QuestionError that says what is wrong with it."""
    if not isinstance(question, str):
        raise QuestionError("the question must be text", zh="问题必须是文字。")
    text = _INVISIBLE_RE.sub("", question)
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        raise QuestionError("the question is empty: type a question, e.g. 营口有多少个千亿级产业集群？",
                            zh="问题是空的：请输入一个问题，例如 营口有多少个千亿级产业集群？")
    if len(text) > MAX_QUESTION_CHARS:
        raise QuestionError(f"the question is {len(text)} characters long; the limit is {MAX_QUESTION_CHARS}. "
                            "Ask about one thing at a time.",
                            zh=f"问题有 {len(text)} 个字符，上限是 {MAX_QUESTION_CHARS}。请一次只问一件事。")
    if not any(unicodedata.category(ch)[0] in "LN" for ch in text):
        raise QuestionError("the question has no words or numbers in it", zh="问题里没有文字或数字。")
    return text


@dataclass(frozen=True)
class _Loaded:
    """One index with the retriever and reader over it: what a question is answered from, replaced
    as a whole."""

    index: LoadedIndex
    retriever: Retriever
    reader: Reader


class Assistant:
    def __init__(self, index: LoadedIndex, embedder):
        self.embedder = embedder
        self._loaded = self._over(index)
        self._updating = threading.Lock()

    def _over(self, index: LoadedIndex) -> _Loaded:
        retriever = Retriever(index, self.embedder)
        return _Loaded(index, retriever, Reader(index, retriever.idf))

    @property
    def index(self) -> LoadedIndex:
        return self._loaded.index

    @property
    def retriever(self) -> Retriever:
        return self._loaded.retriever

    @property
    def reader(self) -> Reader:
        return self._loaded.reader

    @property
    def index_dir(self) -> Path:
        """The index directory (its ``current`` link points at the loaded build)."""
        return self.index.path.parent

    def update(self, add: list[Path] | None = None, remove: list[str] | None = None,
               progress: bool | Progress = False) -> dict:
        """`rag add` / `rag remove` on this assistant's index (``update_index``, which publishes the new
        build atomically), then the new build swapped in: one update at a time; questions go on
        being answered from the old index until the new one is loaded. Returns the new manifest."""
        with self._updating:
            manifest = update_index(self.index_dir, add=add, remove=remove, progress=progress)
            loaded = self._over(load_index(self.index_dir))
            self._loaded = loaded  # one reference assigned: a question holds either the old or the new
        return manifest

    @classmethod
    def open(cls, index_dir: Path | str | None = None, corpus: Path | str | None = None,
             model: str | None = None, progress: bool = True, engine: str | None = None) -> Assistant:
        """Load the index (building it first when ``corpus`` is given and the index is missing or
        stale) and the model and engine it was built with."""
        from rag.embed import engine_for, load_model

        index_dir = Path(index_dir or config.default_index_dir())
        model = model or config.default_model()
        engine = engine_for(model, engine)
        ensure_index(index_dir, Path(corpus) if corpus else None, model, progress=progress, engine=engine)
        index = load_index(index_dir)
        if index.model != model:
            raise RagError(f"the index was built with model {index.model!r}; pass --model {index.model} "
                           f"or rebuild with `rag build --model {model}`")
        if index.engine != engine:
            raise RagError(f"the index was built with the {index.engine} engine, whose vectors differ from the "
                           f"{engine} engine's; pass --engine {index.engine} or rebuild with "
                           f"`rag build --engine {engine}`")
        return cls(index, load_model(model, engine))

    @property
    def documents(self):
        return self.index.corpus.documents

    def ask(self, question: str, k: int = config.DEFAULT_K, question_id: str | None = None, mode: str = "hybrid",
            doc_ids: list[str] | None = None) -> Response:
        started = time.perf_counter()
        text = clean_question(question)
        if not 1 <= int(k) <= MAX_K:
            raise QuestionError(f"k must be between 1 and {MAX_K}", zh=f"段落数必须在 1 到 {MAX_K} 之间。")
        if mode not in MODES:
            raise QuestionError(f"mode must be one of {', '.join(MODES)}",
                                zh=f"检索方式必须是 {'、'.join(MODES)} 之一。")
        loaded = self._loaded  # this question's index, whatever an update swaps in meanwhile
        retrieval = loaded.retriever.search(text, k=max(int(k), 5), mode=mode, doc_ids=doc_ids)
        passages = [_passage(loaded.index, rank, hit) for rank, hit in enumerate(retrieval.hits[:k], start=1)]
        answer_started = time.perf_counter()
        decision = _about(loaded.index, text, retrieval) or loaded.reader.select(text, retrieval)
        if not decision.words:
            passages = []  # nothing is close to keyboard mashing: listing passages would suggest otherwise
        done = time.perf_counter()
        timings = {
            "encode": round(retrieval.encode_ms, 2),
            "search": round(retrieval.search_ms, 2),
            "answer": round((done - answer_started) * 1000, 2),
            "total": round((done - started) * 1000, 2),
        }
        return Response(question=text, abstained=decision.answer is None, answer=decision.answer,
                        passages=passages, timings_ms=timings, id=question_id, message=decision.reason,
                        nearest=decision.nearest)


def _about(index: LoadedIndex, question: str, retrieval) -> Decision | None:
    """Questions about the documents themselves (author, title, section N) from the structure."""
    top = index.corpus.document(index.chunks[retrieval.hits[0].row].doc_id) if retrieval.hits else None
    answer = answer_about(question, index.corpus.documents, fallback=top)
    return Decision(answer, 1.0, None) if answer else None


def _passage(index: LoadedIndex, rank: int, hit) -> Passage:
    c = index.chunks[hit.row]
    return Passage(rank=rank, chunk_id=c.chunk_id, doc_id=c.doc_id, title=c.title, author=c.author,
                   section=list(c.section), paragraph=c.paragraph, text=c.text,
                   score=round(hit.score, 4), start=c.start, end=c.end,
                   dense_score=None if hit.dense is None else round(hit.dense, 4),
                   bm25_score=None if hit.bm25 is None else round(hit.bm25, 4), page=c.page)


def read_batch(path: Path) -> list[tuple[str | None, str]]:
    """(id, question) pairs from a file of one question per line, or JSONL with 'question'/'id'."""
    try:
        lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    except OSError as error:
        raise QuestionError(f"cannot read the batch file {path}: {error.strerror}") from error
    except UnicodeDecodeError as error:
        raise QuestionError(f"the batch file {path} is not UTF-8 text") from error
    items: list[tuple[str | None, str]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if line.lstrip().startswith("{"):
            try:
                record = json.loads(line)
                items.append((None if record.get("id") is None else str(record["id"]), record["question"]))
            except (ValueError, KeyError, AttributeError) as error:
                raise QuestionError(f"{path}:{number}: not a JSON object with a 'question' field") from error
        else:
            items.append((str(number), line.strip()))
    return items
