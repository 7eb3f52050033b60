"""Importing Gradio without rewriting its type stubs, half of what ``import gradio`` costs.

Gradio 6.31 regenerates the ``.pyi`` stub of every component class it defines, on every import
(``gradio.component_meta.create_or_modify_pyi``, also bound in ``gradio.blocks_events``): for each of
~80 classes it reads and parses the class's source file, renders a Jinja template and compares or
rewrites the stub in site-packages. The stubs serve editors and type checkers only; the wheel ships
them already. Skipping that work took ``import gradio`` from 3.1 to 1.6 s at load 5 on this machine's
two cores (BENCHMARKS.md, "Serving and the shell"). Should a later Gradio move the function, the
skip matches nothing and Gradio imports as it always did (tests/test_ui.py checks it still applies).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType

#: The modules that call Gradio's stub writer, each through its own global name for it.
STUB_WRITERS = ("gradio.component_meta", "gradio.blocks_events")


def keep_stubs(*_args: object, **_kwargs: object) -> None:
    """Stands in for ``create_or_modify_pyi``: the stubs stay as the wheel installed them."""


class _StubSkipper(importlib.abc.MetaPathFinder):
    """Finds the stub writers' modules as Python would, and rebinds the writer once each has run."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None):
        if fullname not in STUB_WRITERS:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run(module)
            module.create_or_modify_pyi = keep_stubs

        spec.loader.exec_module = exec_module  # this spec's own loader object, made for this import
        return spec


@contextmanager
def stubs_left_alone() -> Iterator[None]:
    """Within: a first ``import gradio`` leaves the component stubs alone (no effect once imported)."""
    skipper = _StubSkipper()
    sys.meta_path.insert(0, skipper)
    try:
        yield
    finally:
        sys.meta_path.remove(skipper)
