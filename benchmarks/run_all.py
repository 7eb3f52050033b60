"""`make bench`: every benchmark recorded in BENCHMARKS.md, one after the other (~60 min on 2 cores; the CMRC indexes are built on the first run)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ["bench_model.py", "bench_engine.py", "bench_build.py", "bench_serve.py", "bench_retrieval.py",
           "bench_answers.py", "bench_names.py", "bench_hnsw.py", "bench_ui.py", "bench_load.py", "bench_security.py",
           "bench_ingest_formats.py", "bench_add.py"]


def main() -> int:
    for script in SCRIPTS:
        print(f"\n=== {script} ===", flush=True)
        if subprocess.run([sys.executable, str(HERE / script)]).returncode != 0:
            print(f"{script} failed", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
