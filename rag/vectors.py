"""Passage vectors for a build: each distinct text encoded once, and kept in a content-hash cache.

A build asks for three lists of vectors (chunks, sentences, sentences under their subject) that
overlap: a one-sentence paragraph without a title is its own chunk, and identical sentences recur.
They are encoded as one set of distinct texts, shortest first so that each batch pads little.

The cache is one SQLite file in the user's cache folder, keyed by the engine and model that made a
vector, the kind of text (passage or query prompt) and the SHA-256 of the text. Rebuilding a corpus
where one file changed embeds only that file's texts; `rag add` relies on the same store. SQLite
makes concurrent builds safe (one writer at a time, readers never see half a write).
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag import config
from rag.progress import Progress

#: Texts handed to the engine at a time: small enough for a lively progress display, large enough
#: that the engine's own batches stay full.
STEP = 128
PASSAGE = "passage"


@dataclass
class EncodeStats:
    texts: int = 0  # vectors asked for
    distinct: int = 0  # distinct texts among them
    cached: int = 0  # distinct texts found in the cache
    encoded: int = 0  # distinct texts the engine encoded

    def as_dict(self) -> dict[str, int]:
        return {"texts": self.texts, "distinct": self.distinct, "cached": self.cached, "encoded": self.encoded}


def cache_path() -> Path:
    return config.cache_dir() / "vectors.sqlite3"


def space_of(spec: str, engine: str) -> str:
    """The cache key prefix of a model run by an engine: vectors of anything else are never reused.
    Needs no loaded model, so a build whose texts are all cached loads none."""
    from rag.ct2 import ENGINE as CT2
    from rag.ct2 import ENGINE_VERSION
    from rag.embed import resolve

    version = ENGINE_VERSION if engine == CT2 else 1
    return f"{engine} v{version}|{resolve(spec).identity}"


class VectorCache:
    """Vectors by (space, kind, text hash), stored as float32 bytes."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=60)
        with self._db:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS vectors (space TEXT, kind TEXT, key BLOB, vector BLOB, "
                             "PRIMARY KEY (space, kind, key)) WITHOUT ROWID")

    def close(self) -> None:
        self._db.close()

    def get(self, space: str, kind: str, keys: list[bytes]) -> tuple[np.ndarray, np.ndarray | None]:
        """(found, vectors): which of ``keys`` (distinct) the cache holds, and their vectors in the rows of
        ``keys`` (None when it holds none). One array, filled as rows arrive: at 100k chunks (1.4M
        texts) a dict of one array per text held ~2.4 GB more than the vectors themselves."""
        found = np.zeros(len(keys), dtype=bool)
        vectors = None
        row_of = {key: i for i, key in enumerate(keys)}
        for start in range(0, len(keys), 500):  # SQLite's limit on bound parameters
            part = keys[start:start + 500]
            rows = self._db.execute(
                f"SELECT key, vector FROM vectors WHERE space = ? AND kind = ? AND key IN ({','.join('?' * len(part))})",
                [space, kind, *part])
            for key, blob in rows:
                vector = np.frombuffer(blob, dtype=np.float32)
                if vectors is None:
                    vectors = np.empty((len(keys), len(vector)), dtype=np.float32)
                if len(vector) != vectors.shape[1]:  # a damaged cache: trust none of it
                    return np.zeros(len(keys), dtype=bool), None
                vectors[row_of[key]] = vector
                found[row_of[key]] = True
        return found, vectors

    def put(self, space: str, kind: str, keys: list[bytes], vectors: np.ndarray) -> None:
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?)",
                                 [(space, kind, key, np.ascontiguousarray(v, dtype=np.float32).tobytes())
                                  for key, v in zip(keys, vectors, strict=True)])


@contextlib.contextmanager
def open_cache(enabled: bool = True) -> Iterator[VectorCache | None]:
    if not enabled:
        yield None
        return
    cache = VectorCache()
    try:
        yield cache
    finally:
        cache.close()


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()[:16]


def encode_passages(space: str, load: Callable[[], Any], texts: list[str], progress: Progress,
                    cache: VectorCache | None, label: str = "embedding") -> tuple[np.ndarray, EncodeStats]:
    """Vectors for ``texts`` in passage mode: each distinct text once, from the cache when it has it.
    ``load`` gives the embedder, and is called only when some text is not in the cache."""
    stats = EncodeStats(texts=len(texts))
    distinct = list(dict.fromkeys(texts))
    stats.distinct = len(distinct)
    keys = [text_key(t) for t in distinct]
    found, vectors = cache.get(space, PASSAGE, keys) if cache is not None else (np.zeros(len(keys), bool), None)
    stats.cached = int(found.sum())
    missing = np.flatnonzero(~found).tolist()
    stats.encoded = len(missing)
    embedder = load() if missing else None
    if vectors is None:
        vectors = np.empty((len(distinct), embedder.dim if embedder is not None else 0), dtype=np.float32)
    if embedder is not None:
        missing.sort(key=lambda i: len(distinct[i]))  # similar lengths batch together: less padding
        progress.start(label, len(missing), work=sum(len(distinct[i]) for i in missing))
        for start in range(0, len(missing), STEP):
            rows = missing[start:start + STEP]
            part = embedder.encode_documents([distinct[i] for i in rows])
            vectors[rows] = part
            if cache is not None:
                cache.put(space, PASSAGE, [keys[i] for i in rows], part)
            progress.advance(len(rows), work=sum(len(distinct[i]) for i in rows))
        progress.finish()
    if len(distinct) == len(texts):  # no text repeats: the rows are already in the order asked for
        return vectors, stats
    row_of = {text: i for i, text in enumerate(distinct)}
    return vectors[[row_of[t] for t in texts]], stats
