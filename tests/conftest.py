"""Shared fixtures.

Every test runs with its caches and index directory in a temporary folder (autouse), so nothing a
test does touches the user's cache or the project's embeddings/. The converted model and the index
of the shipped essays are built once per session and shared, which keeps the suite fast.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SEEDS = PROJECT_ROOT / "seeds"
SEED_FILE = SEEDS / "yingkou-essays-2025.txt"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory) -> Path:
    """One model cache for the whole session: converting the bundled model takes ~15 s."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch, shared_cache):
    monkeypatch.setenv("RAG_CACHE_DIR", str(shared_cache))
    monkeypatch.setenv("RAG_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.delenv("RAG_MODEL", raising=False)
    monkeypatch.delenv("RAG_CORPUS", raising=False)
    yield


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory, shared_cache) -> Path:
    """The index of the shipped essays, built once and shared (read-only) by the tests."""
    from rag.index import build_index

    index_dir = tmp_path_factory.mktemp("seed-index")
    with env(RAG_CACHE_DIR=str(shared_cache)):
        build_index(SEEDS, index_dir, progress=False)
    return index_dir


@contextmanager
def env(**values: str) -> Iterator[None]:
    """Environment variables set for the duration (for session-scoped fixtures, which cannot use
    monkeypatch)."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def running_app(index_dir: Path, cache: Path, read_only: bool = False, **launch) -> Iterator[tuple[str, object]]:
    """The web app over ``index_dir`` in this process on a free loopback port: (url, assistant)."""
    from rag.assistant import Assistant
    from ui.app import create_app, launch_app

    with env(RAG_CACHE_DIR=str(cache), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1"):
        assistant = Assistant.open(index_dir, progress=False)
    app = create_app(assistant, read_only=read_only)
    _, url, _ = launch_app(app, port=None, prevent_thread_lock=True, quiet=True, **launch)
    try:
        yield url, assistant
    finally:
        app.close()


@pytest.fixture(scope="session")
def seed_app(seed_index, shared_cache) -> Iterator[tuple[str, object]]:
    """One read-only server over the shipped essays for the page and HTTP tests (the index is shared):
    (url, assistant). tests/test_upload.py runs one that takes documents."""
    with running_app(seed_index, shared_cache, read_only=True) as running:
        yield running
