"""Writing a benchmark's results: one JSON file under benchmarks/results/ with the machine's load
average at the end (the machines are shared: read every figure with it)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path


def record(path: Path, results: dict, table: Callable[[dict], str]) -> None:
    """Add the load average after the run, write ``results`` to ``path`` and print its table."""
    results["load_average_after"] = os.getloadavg()[0]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(table(results))


def load_note(results: dict) -> str:
    """The line under every table: the load average before and after the run."""
    return f"load average {results['load_average_before']:.2f} before, {results['load_average_after']:.2f} after"
