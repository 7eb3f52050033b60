"""Learn the answer step's weights on the CMRC 2018 *trial* set and write rag/answer_weights.json.

Never trained on CMRC dev or on the seed questions: those stay clean tests.

- Sentence scorer: over SENTENCE_FEATURES, trained listwise (softmax over the candidate sentences of
  each question; the targets are the candidates whose quote, see AnswerSelector.quoted_span, holds
  a gold answer): a one-hidden-layer MLP for same-script questions and a linear model for
  cross-script ones. `--cv` prints the MLP's 5-fold top-1 on trial (the figure quoted in the code).
- Abstention: logistic regression over ABSTAIN_FEATURES. Positives are trial questions asked
  against the trial corpus; negatives are the same questions asked (a) against the seed essays and
  (b) against the trial corpus with the gold passage removed (hard, same-domain negatives). The
  threshold keeps `--keep` of the positives.
- Cross-script abstention (English questions over Chinese text, where keywords cannot match): a
  model over CROSS_SCRIPT_FEATURES calibrated on a separate English set — the answerable questions
  of benchmarks/seed_questions_en.jsonl against 15 off-topic ones in benchmarks/calibration_en.jsonl.
  The English questions in benchmarks/seed_questions.jsonl are held out from it.

    .venv/bin/python benchmarks/train_answer.py            # ~3 min on 2 cores (builds two indexes once)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.answer import (  # noqa: E402
    ABSTAIN_FEATURES,
    CROSS_SCRIPT_FEATURES,
    SENTENCE_FEATURES,
    WEIGHTS_FILE,
    AskedFor,
    model_score,
)
from rag.assistant import Assistant  # noqa: E402
from rag.evaluate import eval_index_dir, normalize_answer, read_questions  # noqa: E402

TRIAL = ROOT.parent / "shared" / "bench" / "cmrc2018-trial"
SEEDS = ROOT / "seeds"


def standardizer(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = rows.mean(axis=0)
    scale = np.maximum(rows.std(axis=0), 1e-3)  # a constant feature must not divide by zero
    return mean, scale


def train_listwise(groups: list[tuple[np.ndarray, np.ndarray]], epochs: int = 400, lr: float = 0.5,
                   l2: float = 1e-3) -> np.ndarray:
    """Softmax-over-candidates linear ranker, full-batch gradient descent."""
    w = np.zeros(groups[0][0].shape[1])
    for _ in range(epochs):
        grad = np.zeros_like(w)
        for x, y in groups:
            s = x @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            grad += x.T @ (p - y / y.sum())
        w -= lr * (grad / len(groups) + l2 * w)
    return w


def train_listwise_mlp(groups: list[tuple[np.ndarray, np.ndarray]], hidden: int = 16, epochs: int = 300,
                       lr: float = 0.01, l2: float = 1e-4, seed: int = 0) -> tuple[np.ndarray, ...]:
    """The same softmax-over-candidates loss through one tanh hidden layer (Adam): it can use
    interactions the linear ranker cannot (e.g. keyword evidence *and* an entity of the asked kind)."""
    rng = np.random.default_rng(seed)
    params = [rng.normal(0, 0.3, (groups[0][0].shape[1], hidden)), np.zeros(hidden), rng.normal(0, 0.3, hidden)]
    first = [np.zeros_like(p) for p in params]
    second = [np.zeros_like(p) for p in params]
    for epoch in range(1, epochs + 1):
        grads = [np.zeros_like(p) for p in params]
        for x, y in groups:
            h = np.tanh(x @ params[0] + params[1])
            s = h @ params[2]
            p = np.exp(s - s.max())
            p /= p.sum()
            ds = p - y / y.sum()
            grads[2] += h.T @ ds
            dh = np.outer(ds, params[2]) * (1 - h ** 2)
            grads[0] += x.T @ dh
            grads[1] += dh.sum(axis=0)
        for k, param in enumerate(params):
            g = grads[k] / len(groups) + l2 * param
            first[k] = 0.9 * first[k] + 0.1 * g
            second[k] = 0.999 * second[k] + 0.001 * g ** 2
            param -= lr * (first[k] / (1 - 0.9 ** epoch)) / (np.sqrt(second[k] / (1 - 0.999 ** epoch)) + 1e-8)
    return tuple(params)


Groups = list[tuple[np.ndarray, np.ndarray]]  # per question: candidate features, 0/1 labels


def sentence_models(groups: Groups) -> tuple[dict, dict]:
    """The same-script MLP and the cross-script linear scorer, over the same standardisation."""
    mean, scale = standardizer(np.concatenate([x for x, _ in groups]))
    standardized = [((x - mean) / scale, y) for x, y in groups]
    w1, b1, w2 = train_listwise_mlp(standardized)
    mlp = {"mean": mean.tolist(), "scale": scale.tolist(), "hidden": {"W": w1.tolist(), "b": b1.tolist()},
           "weights": w2.tolist(), "bias": 0.0}
    linear = {"mean": mean.tolist(), "scale": scale.tolist(),
              "weights": train_listwise(standardized).tolist(), "bias": 0.0}
    return mlp, linear


def top1(model: dict, groups: Groups) -> float:
    """Share of questions whose top-scored candidate holds a gold answer."""
    return float(np.mean([y[int(np.argmax([model_score(model, row) for row in x]))] for x, y in groups]))


def cross_validated_top1(groups: Groups, folds: int = 5) -> float:
    """The MLP's top-1 on held-out questions, 5-fold."""
    order = np.random.default_rng(0).permutation(len(groups))
    scores = []
    for fold in range(folds):
        held_out = set(order[fold::folds].tolist())
        mlp, _ = sentence_models([g for k, g in enumerate(groups) if k not in held_out])
        scores.append(top1(mlp, [g for k, g in enumerate(groups) if k in held_out]) * len(held_out))
    return sum(scores) / len(groups)


def train_logistic(x: np.ndarray, y: np.ndarray, epochs: int = 2000, lr: float = 0.5,
                   l2: float = 1e-3) -> tuple[np.ndarray, float]:
    w, b = np.zeros(x.shape[1]), 0.0
    for _ in range(epochs):
        p = 1 / (1 + np.exp(-(x @ w + b)))
        w -= lr * (x.T @ (p - y) / len(y) + l2 * w)
        b -= lr * float(np.mean(p - y))
    return w, b


def sentence_groups(assistant: Assistant, records: list[dict]) -> Groups:
    """Each question's candidates; a candidate is right when what the answer would quote for it
    holds a gold answer."""
    groups = []
    for record in records:
        retrieval = assistant.retriever.search(record["question"], k=10)
        asked = AskedFor.of(record["question"])
        candidates = assistant.selector.candidates(asked, retrieval)
        golds = [normalize_answer(a) for a in record["answers"] if normalize_answer(a)]
        quotes = [normalize_answer(assistant.selector.quote(asked, c)[2]) for c in candidates]
        if candidates:
            groups.append((np.stack([c.features for c in candidates]),
                           np.array([any(g in q for g in golds) for q in quotes], dtype=float)))
    return groups


def evidence(assistant: Assistant, question: str, model: dict, doc_ids: list[str] | None = None) -> np.ndarray | None:
    """The abstention evidence the answer step would see (None: it abstains before scoring)."""
    retrieval = assistant.retriever.search(question, k=10, doc_ids=doc_ids)
    best = assistant.selector.best_candidate(AskedFor.of(question), retrieval, model)
    return None if isinstance(best, str) else best[1]


def fit_abstention(x: np.ndarray, y: np.ndarray, keep: float) -> dict:
    mean, scale = standardizer(x)
    w, b = train_logistic((x - mean) / scale, y)
    confidence = 1 / (1 + np.exp(-(((x - mean) / scale) @ w + b)))
    threshold = float(np.quantile(confidence[y == 1], 1 - keep))
    rejected = float(np.mean(confidence[y == 0] < threshold))
    print(f"  threshold {threshold:.3f}: keeps {keep:.0%} of answerable, abstains on {rejected:.1%} of unanswerable")
    return {"mean": mean.tolist(), "scale": scale.tolist(), "weights": w.tolist(), "bias": b,
            "threshold": threshold}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", type=float, default=0.97, help="share of answerable questions to keep")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--cv", action="store_true", help="also report the scorer's 5-fold top-1 on trial")
    args = parser.parse_args()

    corpus = TRIAL / "corpus.jsonl"
    trial = Assistant.open(eval_index_dir(corpus), corpus=corpus)
    essays = Assistant.open(eval_index_dir(SEEDS), corpus=SEEDS)
    records = read_questions(TRIAL / "questions.jsonl", args.limit)

    print(f"sentence scorer: {len(records)} trial questions")
    groups = [g for g in sentence_groups(trial, records) if g[1].any()]
    sentence, sentence_cross = sentence_models(groups)
    if args.cv:
        print(f"  MLP 5-fold cross-validated top-1: {cross_validated_top1(groups):.3f}")
    for name, model in [("MLP (same script)", sentence), ("linear (cross-script)", sentence_cross)]:
        print(f"  {name}: train top-1 {top1(model, groups):.3f} over {len(groups)} questions with an answer sentence")

    print("abstention: positives = trial on trial; negatives = trial on the essays and on trial minus gold")
    all_docs = [d.doc_id for d in trial.documents]
    rows, labels = [], []
    for record in records:
        gold = record.get("gold_passage") or record.get("doc_id")
        for assistant, label, doc_ids in [(trial, 1, None), (essays, 0, None),
                                          (trial, 0, [d for d in all_docs if d != gold])]:
            row = evidence(assistant, record["question"], sentence, doc_ids)
            if row is not None:
                rows.append(row)
                labels.append(label)
    x, y = np.stack(rows), np.array(labels, dtype=float)
    abstain = fit_abstention(x, y, args.keep)
    cross_columns = [ABSTAIN_FEATURES.index(f) for f in CROSS_SCRIPT_FEATURES]
    print("cross-script abstention (dense evidence only), on the English calibration set:")
    english = [(r["question"], 1) for r in read_questions(ROOT / "benchmarks" / "seed_questions_en.jsonl")]
    english += [(r["question"], 0) for r in read_questions(ROOT / "benchmarks" / "calibration_en.jsonl")]
    english = [(evidence(essays, q, sentence_cross), label) for q, label in english]
    english = [(row[cross_columns], label) for row, label in english if row is not None]
    x_en = np.stack([row for row, _ in english])
    abstain_cross = fit_abstention(x_en, np.array([label for _, label in english], dtype=float), 0.95)

    weights = {
        "note": "learned by benchmarks/train_answer.py on CMRC 2018 trial; do not edit by hand",
        "features": {"sentence": list(SENTENCE_FEATURES), "abstain": list(ABSTAIN_FEATURES),
                     "abstain_cross": list(CROSS_SCRIPT_FEATURES)},
        "sentence": sentence, "sentence_cross": sentence_cross, "abstain": abstain, "abstain_cross": abstain_cross,
    }
    WEIGHTS_FILE.write_text(json.dumps(weights, indent=1), encoding="utf-8")
    print(f"wrote {WEIGHTS_FILE}")


if __name__ == "__main__":
    main()
