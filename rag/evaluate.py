"""`rag eval`: retrieval and answer metrics on a benchmark (corpus + questions JSONL).

Questions are the `../shared/bench` format: ``{"id", "question", "answers", "gold_passage" or
"doc_id"}``. ``"answers": []`` marks a question the corpus cannot answer (for abstention metrics).
Retrieval is scored at the document level: a chunk counts for its document id.
"""

from __future__ import annotations

import hashlib
import json
import re
import resource
import statistics
import time
import unicodedata
from pathlib import Path

from rag import config
from rag.errors import CorpusError, QuestionError

RECALL_AT = (1, 5, 10)


def read_questions(path: Path, limit: int | None = None) -> list[dict]:
    try:
        lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    except OSError as error:
        raise CorpusError(f"cannot read the questions file {path}: {error.strerror}") from error
    questions = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            record["question"]  # noqa: B018 - required field
        except (ValueError, KeyError, TypeError) as error:
            raise CorpusError(f"{path}:{number}: not a question record ({error})") from error
        questions.append(record)
        if limit and len(questions) >= limit:
            break
    return questions


def gold_doc(question: dict) -> str | None:
    return question.get("gold_passage") or question.get("doc_id")


def eval_index_dir(corpus: Path) -> Path:
    """A cached index per corpus path, so repeated evaluations reuse the build."""
    key = hashlib.sha256(str(Path(corpus).resolve()).encode()).hexdigest()[:16]
    return config.cache_dir() / "eval-indexes" / f"{Path(corpus).stem}-{key}"


def run_eval(corpus: Path, questions: Path, retriever: str = "hybrid", index_dir: Path | None = None,
             model: str | None = None, k: int = 10, limit: int | None = None, answers: bool = True,
             fusion: str = "adaptive", engine: str | None = None) -> dict:
    from rag.assistant import Assistant

    index_dir = Path(index_dir) if index_dir else eval_index_dir(corpus)
    build_started = time.perf_counter()
    assistant = Assistant.open(index_dir, corpus=corpus, model=model, progress=False, engine=engine)
    open_seconds = time.perf_counter() - build_started
    records = read_questions(questions, limit)
    report = {
        "corpus": str(corpus), "questions": str(questions), "retriever": retriever, "fusion": fusion,
        "model": assistant.index.model, "engine": assistant.index.engine, "count": len(records),
        "index": {"chunks": len(assistant.index.chunks),
                  "build_seconds": assistant.index.manifest.get("build_seconds"),
                  "open_seconds": round(open_seconds, 2)},
        "retrieval": retrieval_metrics(assistant, records, retriever, fusion, k),
    }
    if answers:
        report["answers"] = answer_metrics(assistant, records, retriever)
    report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return report


def retrieval_metrics(assistant, records: list[dict], mode: str, fusion: str, k: int) -> dict:
    hits = {n: 0 for n in RECALL_AT}
    reciprocal = 0.0
    encode_ms, search_ms, total_ms = [], [], []
    scored = 0
    for record in records:
        gold = gold_doc(record)
        if gold is None or record.get("answers") == []:
            continue
        result = assistant.retriever.search(record["question"], k=max(k, 10) * 3, mode=mode, fusion=fusion)
        encode_ms.append(result.encode_ms)
        search_ms.append(result.search_ms)
        total_ms.append(result.encode_ms + result.search_ms)
        docs = _unique([assistant.index.chunks[h.row].doc_id for h in result.hits])
        scored += 1
        for n in RECALL_AT:
            hits[n] += gold in docs[:n]
        if gold in docs[:10]:
            reciprocal += 1.0 / (docs.index(gold) + 1)
    scored = max(scored, 1)
    return {
        **{f"recall@{n}": round(hits[n] / scored, 4) for n in RECALL_AT},
        "mrr@10": round(reciprocal / scored, 4),
        "latency_ms": {"median": _median(total_ms), "p95": _p95(total_ms),
                       "encode_median": _median(encode_ms), "search_median": _median(search_ms)},
    }


def answer_metrics(assistant, records: list[dict], mode: str) -> dict:
    answerable = [r for r in records if r.get("answers")]
    unanswerable = [r for r in records if r.get("answers") == []]
    hit = em = f1 = doc_hit = abstained_answerable = 0
    abstained_unanswerable = 0
    latencies = []
    by_kind: dict[str, list[int]] = {}
    given: list[tuple[float, bool]] = []  # (confidence, right) of every answer given
    forms: dict[str, int] = {}
    for record in records:
        try:
            response = assistant.ask(record["question"], k=5, mode=mode)
        except QuestionError:  # refused as input (no words at all, too long…): an abstention
            response = None
        else:
            latencies.append(response.timings_ms["total"])
        abstained = response is None or response.abstained
        golds = record.get("answers") or []
        if not golds:
            abstained_unanswerable += abstained
            _count(by_kind, record.get("kind", "unanswerable"), abstained)
            continue
        if abstained:
            abstained_answerable += 1
            _count(by_kind, record.get("kind", "answerable"), False)
            continue
        answer = response.answer
        text = answer.text
        span = text[answer.span[0]:answer.span[1]] if answer.span else text
        found = any(normalize_answer(g) and normalize_answer(g) in normalize_answer(text) for g in golds)
        hit += found
        given.append((answer.score, found))
        forms[answer.kind] = forms.get(answer.kind, 0) + 1
        _count(by_kind, record.get("kind", "answerable"), found)
        em += any(normalize_answer(span) == normalize_answer(g) for g in golds)
        f1 += max(char_f1(span, g) for g in golds)
        gold = gold_doc(record)
        doc_hit += gold is None or answer.citation.doc_id == gold
    n = max(len(answerable), 1)
    abstained_total = abstained_answerable + abstained_unanswerable
    metrics = {
        "answerable": len(answerable), "unanswerable": len(unanswerable),
        "answer_hit@1": round(hit / n, 4), "span_em": round(em / n, 4), "span_f1": round(f1 / n, 4),
        "citation_doc_accuracy": round(doc_hit / n, 4),  # an abstention counts as a wrong citation
        "citation_doc_accuracy_answered": round(doc_hit / max(len(answerable) - abstained_answerable, 1), 4),
        "abstention_rate": round(abstained_total / max(len(records), 1), 4),
        "abstained_answerable": round(abstained_answerable / n, 4),
        "latency_ms": {"median": _median(latencies), "p95": _p95(latencies)},
        "by_kind": {kind: {"count": len(v), "correct": round(sum(v) / len(v), 4)} for kind, v in by_kind.items()},
        "answer_forms": forms,
        "reliability": reliability(given),
    }
    if unanswerable:
        metrics["abstention_precision"] = round(abstained_unanswerable / max(abstained_total, 1), 4)
        metrics["abstention_recall"] = round(abstained_unanswerable / len(unanswerable), 4)
    return metrics


#: Confidence bins of the reliability table: of the answers given in each, what share were right.
RELIABILITY_BINS = (0.0, 0.2, 0.4, 0.6, 0.8, 0.9, 1.0)


def reliability(given: list[tuple[float, bool]]) -> list[dict]:
    """Of the answers given with confidence in each bin (and ≥ 0.8), the share that held a gold answer:
    a calibrated confidence of 0.8 should be right about 8 times in 10."""
    rows = []
    bins = list(zip(RELIABILITY_BINS, RELIABILITY_BINS[1:], strict=False))
    for low, high in [*bins, (0.8, 1.0)]:
        inside = [right for score, right in given if low <= score < high or (high == 1.0 and score == 1.0 and low <= score)]
        if inside:
            label = f"≥ {low:.1f}" if (low, high) == (0.8, 1.0) else f"{low:.1f}–{high:.1f}"
            rows.append({"confidence": label, "answers": len(inside), "right": round(sum(inside) / len(inside), 4)})
    return rows


def char_f1(prediction: str, gold: str) -> float:
    """CMRC 2018's character F1: longest common substring over punctuation-free characters."""
    p, g = normalize_answer(prediction), normalize_answer(gold)
    if not p or not g:
        return 0.0
    common = _longest_common_substring(p, g)
    if common == 0:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def _longest_common_substring(a: str, b: str) -> int:
    best = 0
    previous = [0] * (len(b) + 1)
    for ch in a:
        current = [0] * (len(b) + 1)
        for j, other in enumerate(b, start=1):
            if ch == other:
                current[j] = previous[j - 1] + 1
                best = max(best, current[j])
        previous = current
    return best


_SPACE_RE = re.compile(r"\s+")


def normalize_answer(text: str) -> str:
    """Lower-cased, without whitespace or punctuation (the CMRC evaluation convention)."""
    text = _SPACE_RE.sub("", unicodedata.normalize("NFKC", text).lower())
    return "".join(ch for ch in text if not unicodedata.category(ch).startswith("P"))


def _count(table: dict[str, list[int]], kind: str, ok: bool) -> None:
    table.setdefault(kind, []).append(int(ok))


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def _p95(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))], 2)


def format_report(report: dict) -> str:
    r = report["retrieval"]
    lines = [
        f"{report['questions']} on {report['corpus']} ({report['count']} questions, "
        f"{report['index']['chunks']} chunks, model {report['model']}, retriever {report['retriever']})",
        "retrieval: " + "  ".join(f"R@{n} {r[f'recall@{n}']:.3f}" for n in RECALL_AT)
        + f"  MRR@10 {r['mrr@10']:.3f}",
        f"latency per question: median {r['latency_ms']['median']} ms (encode {r['latency_ms']['encode_median']}, "
        f"search {r['latency_ms']['search_median']}), p95 {r['latency_ms']['p95']} ms",
        f"index: built in {report['index']['build_seconds']} s; peak memory {report['peak_rss_mb']} MB",
    ]
    if "answers" in report:
        a = report["answers"]
        lines.append(f"answers: hit@1 {a['answer_hit@1']:.3f}  span EM {a['span_em']:.3f}  span F1 {a['span_f1']:.3f}  "
                     f"citation doc {a['citation_doc_accuracy']:.3f} (of answers given "
                     f"{a['citation_doc_accuracy_answered']:.3f})  abstained {a['abstention_rate']:.3f} "
                     f"(answerable {a['abstained_answerable']:.3f})")
        if "abstention_recall" in a:
            lines.append(f"abstention: precision {a['abstention_precision']:.3f}  recall {a['abstention_recall']:.3f}")
        lines.append("by kind: " + ", ".join(f"{k} {v['correct']:.2f} ({v['count']})" for k, v in a["by_kind"].items()))
        lines.append("answer forms: " + ", ".join(f"{k} {v}" for k, v in a["answer_forms"].items()))
        if a["reliability"]:
            lines.append("reliability (of the answers given with this confidence, the share right): "
                         + "  ".join(f"{r['confidence']}: {r['right']:.2f} of {r['answers']}" for r in a["reliability"]))
        lines.append(f"ask latency: median {a['latency_ms']['median']} ms, p95 {a['latency_ms']['p95']} ms")
    return "\n".join(lines)
