"""Compare reader variants side by side, out of fold, from one set of training contexts.

Each variant sets some module knobs (``module.NAME = value``) and runs ``train_answer.py --cv``'s
cross-validation (5 folds split by article, every model retrained) on the contexts built once with
the shipped settings. So only knobs read when a context is *decided* or when the models are *fitted*
can be compared here (``quote.NEIGHBOUR_TYPES``, ``quote.RELATIVE_LIKELIHOOD``, ``SENTENCE_HIDDEN``,
``--keep``…); a knob that changes the candidates' features or the scorer's labels needs its own
contexts (run ``train_answer.py --cv`` once per setting). Training data only: never CMRC dev or the
questions about the essays.

    .venv/bin/python benchmarks/cv_variants.py                       # every variant below, ~65 min
    .venv/bin/python benchmarks/cv_variants.py shipped no-neighbour  # just these

Writes the summary table to stdout and every variant's full report to benchmarks/results/cv-variants.json.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import train_answer as T  # noqa: E402

#: name → (what it is, {"module:NAME" or "NAME" for train_answer's own: value}).
VARIANTS: dict[str, tuple[str, dict[str, object]]] = {
    "shipped": ("the shipped settings", {}),
    "no-neighbour": ("a fact never takes in its typed neighbour (stop 21's quote)",
                     {"rag.reader.quote:NEIGHBOUR_TYPES": frozenset()}),
    "mlp-longer": ("the sentence MLP trained 1,000 steps instead of 300", {"SENTENCE_EPOCHS": 1000}),
    "mlp-wider": ("the sentence MLP with 32 hidden units, 600 steps", {"SENTENCE_HIDDEN": 32, "SENTENCE_EPOCHS": 600}),
    "keep-0.975": ("answer 97.5% of the answerable training contexts (shipped 97%)", {"KEEP": 0.975}),
    "no-name-rule": ("a who-question is decided by the scorer even when no passage names anyone (stop 22)",
                     {"rag.reader.question:asks_for_a_name": lambda folded_question, qtype: False}),
    "keep-0.98": ("answer 98% of the answerable training contexts", {"KEEP": 0.98}),
    "decision-mlp8": ("the same-script decision through 8 tanh units instead of logistic regression",
                      {"DECISION_HIDDEN": 8}),
    "decision-mlp8-keep-0.98": ("that decision answering 98% of the answerable training contexts",
                                {"DECISION_HIDDEN": 8, "KEEP": 0.98}),
}
#: The rows of the summary table: (report line, what to read of it).
SUMMARY = [("cmrc2018-trial", "hit@1"), ("cmrc2018-trial", "refused"), ("drcd-test", "hit@1"),
           ("drcd-test", "refused"), ("policy-train", "hit@1"), ("policy-train unanswerable", "refused"),
           ("drcd-test without its passage", "refused")]
HOW_WHY = ("cmrc2018-trial how/why/list", "drcd-test how/why/list", "policy-train how/why/list")
RESULTS = HERE / "results" / "cv-variants.json"


def target(key: str) -> tuple[object, str]:
    module, _, name = key.rpartition(":")
    return (importlib.import_module(module) if module else T), name


def run(name: str, contexts, base) -> dict:
    described, settings = VARIANTS[name]
    saved = {key: getattr(*target(key)) for key in settings if key != "KEEP"}
    for key, value in settings.items():
        if key != "KEEP":
            setattr(*target(key), value)
    try:
        print(f"\n########## {name}: {described}", flush=True)
        started = time.perf_counter()
        summary, _ = T.cross_validate(contexts, base, float(settings.get("KEEP", T.KEEP)))
        return {"described": described, "seconds": round(time.perf_counter() - started), "out_of_fold": summary}
    finally:
        for key, value in saved.items():
            setattr(*target(key), value)


def table(results: dict[str, dict]) -> str:
    head = ["variant", *(f"{line} {what}" for line, what in SUMMARY), "how/why pooled"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, result in results.items():
        oof = result["out_of_fold"]
        cells = [f"{oof[line][what]:.4f}" if line in oof else "" for line, what in SUMMARY]
        pooled = [(oof[s]["hit@1"], oof[s]["contexts"]) for s in HOW_WHY if s in oof]
        total = sum(n for _, n in pooled)
        cells.append(f"{sum(h * n for h, n in pooled) / total:.4f} of {total}" if total else "")
        lines.append("| " + " | ".join([name, *cells]) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variants", nargs="*", help=f"which to run, of: {', '.join(VARIANTS)} (default: all)")
    parser.add_argument("--limit", type=int, default=None, help="questions per bench set (for a quick try)")
    args = parser.parse_args()
    if unknown := [v for v in args.variants if v not in VARIANTS]:
        parser.error(f"unknown variant(s): {', '.join(unknown)}; known: {', '.join(VARIANTS)}")
    contexts, base, _, _ = T.prepare(args.limit)
    results = {name: run(name, contexts, base) for name in args.variants or VARIANTS}
    print("\n" + table(results))
    RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
