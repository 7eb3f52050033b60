"""Answer quality and latency: `rag eval` on the seed-essay questions and on CMRC 2018 dev.

- seed: benchmarks/seed_questions.jsonl (73 questions: facts, paraphrases, English, questions about
  titles/authors/sections, and 18 the essays cannot answer) over seeds/.
- cmrc-dev: 3219 questions over 848 passages (the learned weights never saw dev).

    .venv/bin/python benchmarks/bench_answers.py                 # both (~6 min the first time)
    .venv/bin/python benchmarks/bench_answers.py --sets seed
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.evaluate import format_report, run_eval  # noqa: E402

BENCH = ROOT.parent / "shared" / "bench"
SETS = {
    "seed": (ROOT / "seeds", ROOT / "benchmarks" / "seed_questions.jsonl"),
    "cmrc-dev": (BENCH / "cmrc2018-dev" / "corpus.jsonl", BENCH / "cmrc2018-dev" / "questions.jsonl"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", choices=sorted(SETS), default=["seed", "cmrc-dev"])
    args = parser.parse_args()
    results = {}
    for name in args.sets:
        corpus, questions = SETS[name]
        report = run_eval(corpus, questions)
        results[name] = report
        print(f"\n## {name}\n{format_report(report)}", flush=True)
    out = ROOT / "benchmarks" / "results" / "answers.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    out.write_text(json.dumps({**previous, **results}, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
