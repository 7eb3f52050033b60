"""Where things live. Every location can be overridden by an environment variable, which is how the
tests isolate caches and indexes in a temporary folder."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: The name under which the bundled, converted multilingual-e5-small is known.
DEFAULT_MODEL = "multilingual-e5-small"
#: Passages shown per question: `rag ask -k`, the page's slider and the HTTP API all take it from here.
DEFAULT_K = 5
#: Which code runs the model: "auto" is the int8 engine for the bundled model (rag.ct2) and
#: sentence-transformers for any other; either can be asked for by name.
DEFAULT_ENGINE = "auto"
CT2_ENGINE = "ctranslate2-int8"
ST_ENGINE = "sentence-transformers"
ENGINES = ("auto", CT2_ENGINE, ST_ENGINE)
#: The symlink inside an index directory that points at the published build.
INDEX_CURRENT = "current"
#: Where `rag serve` listens by default (loopback only, unless the user asks for more), and where
#: `rag ask` looks for a running server.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860


def cache_dir() -> Path:
    """Per-user cache (converted models): $RAG_CACHE_DIR, else $XDG_CACHE_HOME/rag-assistant."""
    if os.environ.get("RAG_CACHE_DIR"):
        return Path(os.environ["RAG_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rag-assistant"


def default_corpus() -> Path:
    return Path(os.environ.get("RAG_CORPUS") or PROJECT_ROOT / "seeds")


def default_index_dir() -> Path:
    return Path(os.environ.get("RAG_INDEX_DIR") or PROJECT_ROOT / "embeddings")


def default_model() -> str:
    return os.environ.get("RAG_MODEL") or DEFAULT_MODEL


def default_engine() -> str:
    return os.environ.get("RAG_ENGINE") or DEFAULT_ENGINE


def default_port() -> int:
    """$RAG_PORT, else DEFAULT_PORT: `rag serve` listens there and `rag ask` looks for it there."""
    value = os.environ.get("RAG_PORT", "")
    return int(value) if value.isdigit() else DEFAULT_PORT


def engine_for(spec: str | None = None, engine: str | None = None) -> str:
    """The engine that runs model ``spec``: "auto" means the int8 engine for the bundled model only.
    Nothing is imported or loaded (`rag ask`'s fast path calls it before deciding to load anything)."""
    from rag.errors import ModelError

    name = (spec or default_model()).strip()
    wanted = engine or default_engine()
    if wanted not in ENGINES:
        raise ModelError(f"unknown engine {wanted!r}: choose one of {', '.join(ENGINES)}")
    if wanted == "auto":
        return CT2_ENGINE if name == DEFAULT_MODEL else ST_ENGINE
    if wanted == CT2_ENGINE and name != DEFAULT_MODEL:
        raise ModelError(f"the {CT2_ENGINE} engine runs the bundled {DEFAULT_MODEL} only; use "
                         f"--engine {ST_ENGINE} (or auto) for {name!r}")
    return wanted
