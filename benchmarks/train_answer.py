"""Learn the reader's weights and write rag/reader/weights.json.

Training data, from more than one source and question style (never CMRC dev, never the questions
about the seed essays except the English calibration set named below — those stay clean tests):

- CMRC 2018 trial (Simplified, 1,002 questions) and DRCD test (Traditional, 3,493 questions), each
  asked of its own corpus; the bench-corpus part of benchmarks/howwhy_questions.jsonl (340
  how/why/list/measures questions over trial and DRCD passages, most answered after the passage's
  first sentence).
- benchmarks/policy_train/: 26 reports, essays, manuals and entries written here (fictional places) with 523
  questions (facts, how/why/list/measures, English, and near misses the documents do not answer),
  the kind of text and question people bring; asked like the bench sets, except of the essays.
- benchmarks/policy_train_para/: 10 more such documents with 200 questions written as a user who has
  not read the text asks them (other words than the text's: 砸进去多少钱 for 总投资), and near misses.
- Unanswerable contexts made from them: each question asked of its corpus without its article (and
  without its passage), and a bench question asked of the seed essays;
  benchmarks/gibberish_train.jsonl (keyboard mashing, random strings, off-topic and near-miss
  questions) asked of every corpus, the essays included.
- Cross-script (English over Chinese): benchmarks/english_bench_train.jsonl (English translations of
  trial and DRCD questions, their Chinese gold answers kept), asked like the Chinese ones above;
  benchmarks/seed_questions_en.jsonl and the answerable part of benchmarks/english_train.jsonl
  against benchmarks/calibration_en.jsonl, the unanswerable part of english_train.jsonl and the
  English strings of gibberish_train.jsonl.

What is learned:
- ``sentence`` (MLP, Chinese questions) / ``sentence_cross`` (linear, English and Chinese questions):
  rank a question's candidate sentences, listwise (softmax over the candidates; targets: the
  candidates whose quote holds a gold answer).
- ``abstain`` / ``abstain_cross``: logistic regression whose output is the answer's confidence, the
  probability that the quote holds the answer (label 1 only when it does). The threshold is set so
  that ``--keep`` of the answerable contexts are answered.
- ``background.npy`` (not learned, sampled): 2,000 sentence vectors each of trial and DRCD, the
  general-knowledge bank behind the ``background_margin`` feature; a training question's best
  cosine to it leaves out its own article's sentences.
- ``meaning``: a linear probe over the question's vector: words (questions of every set above,
  titles, English sentences) vs. strings that are no words at all (seeded generators below plus the
  mash/latin/cjk/mixed kinds of gibberish_train.jsonl). Threshold: keep 99.7% of word strings out of fold.

``--cv`` also reports, out of fold with folds split by article (an English translation goes with
its Chinese question's article), answer-hit@1, refusals and the confidence's reliability on every
set (the figures quoted in BENCHMARKS.md for DRCD).

    .venv/bin/python benchmarks/train_answer.py [--cv]     # ~10 min on 2 cores once the indexes exist
    .venv/bin/python benchmarks/train_answer.py --cv --failures benchmarks/out/oof-failures.jsonl
"""

from __future__ import annotations

import argparse
import importlib
import json
import random
import re
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import config  # noqa: E402
from rag.assistant import Assistant  # noqa: E402
from rag.evaluate import eval_index_dir, normalize_answer, read_questions  # noqa: E402
from rag.reader import reader as reader_module  # noqa: E402
from rag.reader.features import (  # noqa: E402
    ABSTAIN_FEATURES,
    CROSS_SCRIPT_FEATURES,
    SENTENCE_FEATURES,
    Candidate,
    QuestionSignals,
    laid_out,
)
from rag.reader.question import AskedFor, is_repetition  # noqa: E402
from rag.reader.scorer import WEIGHTS_FILE, Model, Weights  # noqa: E402

BENCH = ROOT.parent / "shared" / "bench"
HERE = ROOT / "benchmarks"
#: The public Wikipedia sets: questions, the background bank, the meaning probe's words.
BENCH_CORPORA = {"cmrc2018-trial": BENCH / "cmrc2018-trial", "drcd-test": BENCH / "drcd-test"}
#: Every corpus whose questions are asked of it: the public sets, then reports and policy documents
#: written here (benchmarks/policy_train/, the kind of text people bring, and its how/why questions;
#: benchmarks/policy_train_para/, questions paraphrased as users ask them).
CORPORA = {**BENCH_CORPORA, "policy-train": HERE / "policy_train", "policy-para": HERE / "policy_train_para"}
#: Corpora added after the first two get their folds after theirs, so adding one leaves the
#: earlier folds as they were and out-of-fold figures stay comparable from run to run.
LATER_CORPORA = ("policy-train", "policy-para")
SEEDS = ROOT / "seeds"
ENGLISH_BENCH = HERE / "english_bench_train.jsonl"
FOLDS = 5


# ---------------------------------------------------------------- contexts


@dataclass
class Context:
    """One question asked of one corpus, with everything the reader computes before deciding."""

    source: str  # which set it comes from (for reports)
    assistant: Assistant
    question: str
    golds: list[str]  # normalised gold answers; [] when this corpus cannot answer it
    article: str  # fold key: the question's article (or the question itself)
    asked: AskedFor
    retrieval: object
    candidates: list[Candidate]
    labels: np.ndarray  # per candidate: its (fact) quote holds a gold answer
    cross: bool
    signals: QuestionSignals = QuestionSignals()
    translated: bool = False  # an English question over a training corpus (teaches sentence choice only)
    corpus: str = ""  # the training corpus the question was written for ("" for the essay sets)
    near_miss: bool = False  # its subject is in the corpus, what it asks is not (no passage, or written so)

    @property
    def answerable(self) -> bool:
        return bool(self.golds)


class MemoEmbedder:
    """Encodes each distinct question once, however many corpora it is asked of, and keeps the
    vectors under benchmarks/out/ for the next run (keyed by model and engine)."""

    def __init__(self, embedder):
        self.embedder = embedder
        self.memo: dict[str, np.ndarray] = {}
        engine = getattr(embedder, "engine", "sentence-transformers")
        self.path = ROOT / "benchmarks" / "out" / f"query-vectors-{embedder.name}-{engine}.npz"
        if self.path.exists():
            saved = np.load(self.path, allow_pickle=False)
            self.memo = dict(zip(saved["texts"].tolist(), saved["vectors"], strict=True))

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        texts = list(self.memo)
        np.savez(self.path, texts=np.array(texts), vectors=np.stack([self.memo[t] for t in texts]))

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if missing:
            self.memo.update(zip(missing, self.embedder.encode_queries(missing), strict=True))
        return np.stack([self.memo[t] for t in texts])


def context(source: str, assistant: Assistant, record: dict, answerable: bool, article: str,
            doc_ids: list[str] | None = None) -> Context | None:
    question = record["question"]
    retrieval = assistant.retriever.search(question, k=10, doc_ids=doc_ids)
    if not retrieval.hits:
        return None
    reader = assistant.reader
    asked = AskedFor.of(question)
    candidates = reader.evidence.candidates(asked, retrieval)
    golds = [g for g in (normalize_answer(a) for a in record.get("answers") or []) if g] if answerable else []
    quotes = [quoted_text(assistant, c.sentence, reader.quoter.quote(asked, c)) for c in candidates]
    labels = np.array([any(g in q for g in golds) for q in quotes], dtype=float)
    return Context(source, assistant, question, golds, article, asked, retrieval, candidates, labels,
                   reader.cross_script(question))


def quoted_text(assistant: Assistant, row: int, quote) -> str:
    """The normalised text a quote of sentence ``row`` covers (what a gold answer must be inside)."""
    doc_id = assistant.index.chunks[assistant.index.sentences.chunk[row]].doc_id
    return normalize_answer(assistant.reader.evidence.doc_text[doc_id][quote.start:quote.end])


PASSAGE_KINDS = ("how", "why", "list", "measures")


def source_of(corpus: str, record: dict) -> str:
    """The report line a question belongs to: how/why/list, English and unanswerable questions are
    reported on their own (their share of the set is small)."""
    if english(record):
        return f"english {corpus}"
    if not record.get("answers"):
        return f"{corpus} unanswerable"
    return f"{corpus} how/why/list" if record.get("corpus") or record.get("kind") in PASSAGE_KINDS else corpus


def english(record: dict) -> bool:
    return record.get("kind") == "english-bench" or record.get("lang") == "en"


def article_of(record: dict) -> str:
    return str(record.get("doc_id") or record.get("gold_passage") or record["id"])


def build_contexts(assistants: dict[str, Assistant], limit: int | None) -> list[Context]:
    contexts: list[Context] = []
    essays = assistants["seeds"]
    for name in CORPORA:
        assistant = assistants[name]
        records = read_questions(CORPORA[name] / "questions.jsonl", limit)
        records += [r for r in read_questions(HERE / "howwhy_questions.jsonl") if r.get("corpus") == name]
        records += [r for r in read_questions(ENGLISH_BENCH) if r.get("corpus") == name]
        by_article: dict[str, list[str]] = {}
        for doc in assistant.documents:
            by_article.setdefault(doc.doc_id.rsplit("-p", 1)[0], []).append(doc.doc_id)
        started = time.perf_counter()
        for record in records:
            article = article_of(record)
            # Without its passage, the question's subject is often still there (the article's other
            # passages) but not what it asks: the near miss. Without its article, nothing is.
            gold = record.get("gold_passage")
            others = [d for a, ids in by_article.items() if a != article for d in ids]
            siblings = [d for d in by_article.get(article, []) if d != gold]
            source = source_of(name, record)
            if not record.get("answers"):  # a near miss written with its corpus: nothing there answers it
                made = context(source, assistant, record, False, article)
                contexts += [replace(made, corpus=name, near_miss=True)] if made is not None else []
                continue
            asked_of = [context(source, assistant, record, True, article),
                    context(f"{source} without its article", assistant, record, False, article, others)]
            if name in BENCH_CORPORA:  # (the written reports share the essays' topics: not a clean negative)
                asked_of.append(context(f"{source} asked of the essays", essays, record, False, article))
            if gold and siblings:
                near = context(f"{source} without its passage", assistant, record, False, article, others + siblings)
                asked_of.append(replace(near, near_miss=True) if near is not None else None)
            contexts += [replace(c, translated=english(record), corpus=name) for c in asked_of if c is not None]
        print(f"  {name}: {len(records)} questions in {time.perf_counter() - started:.0f} s", flush=True)
    for record in read_questions(HERE / "gibberish_train.jsonl"):
        for name, assistant in assistants.items():
            made = context(f"gibberish ({record['kind']}) on {name}", assistant, record, False, record["id"])
            if made is not None:
                contexts.append(made)
    return contexts


# ---------------------------------------------------------------- the meaning probe


_KEY_ROWS = ["qwertyuiop", "asdfghjkl", "zxcvbnm", "1234567890"]
_COMMON_HANZI = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方"
                 "后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开")
_INTERJECTIONS = "啊哦嗯呀哈呵嘿噢唉哎呃喔哇"
_STDLIB_FOR_SENTENCES = ("os", "json", "re", "random", "collections", "itertools", "functools", "pathlib",
                         "subprocess", "threading", "socket", "email", "logging", "argparse", "datetime",
                         "decimal", "statistics", "csv", "sqlite3", "zipfile", "shutil", "tempfile", "unittest",
                         "typing", "dataclasses", "enum", "heapq", "string", "textwrap", "difflib", "inspect",
                         "pickle", "calendar", "hashlib", "uuid", "base64", "struct", "io", "asyncio",
                         "contextlib", "math", "operator", "warnings", "locale", "platform", "mimetypes",
                         "smtplib", "wave", "zlib", "gzip")


def no_words(rng: random.Random) -> str:
    """A string that is no words: keyboard runs, random letters, random or repeated characters, mixes."""
    def mash() -> str:
        return " ".join("".join(rng.choice(rng.choice(_KEY_ROWS)) for _ in range(rng.randint(2, 9)))
                        for _ in range(rng.randint(1, 4)))

    def letters() -> str:
        return " ".join("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 10)))
                        for _ in range(rng.randint(1, 5)))

    def hanzi() -> str:
        if rng.random() < 0.3:
            return "".join(rng.choice(_INTERJECTIONS) * rng.randint(1, 4) for _ in range(rng.randint(1, 3)))
        return "".join(rng.choice(_COMMON_HANZI) for _ in range(rng.randint(2, 12)))

    def digits() -> str:
        return str(rng.randint(0, 10 ** rng.randint(1, 12)))

    kind = rng.random()
    if kind < 0.75:
        return rng.choice([mash, letters, hanzi])()
    return rng.choice([mash, letters, hanzi])() + rng.choice([" ", "", "?", "？"]) + rng.choice([mash, letters, hanzi, digits])()


def english_sentences(limit: int) -> list[str]:
    """English sentences from the standard library's docstrings: plain words of many kinds."""
    import warnings

    found = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in _STDLIB_FOR_SENTENCES:
            module = importlib.import_module(name)
            for attribute in dir(module):
                doc = getattr(getattr(module, attribute, None), "__doc__", None)
                if isinstance(doc, str):
                    for sentence in re.split(r"(?<=[.?!])\s+", " ".join(doc.split())):
                        if 20 < len(sentence) < 120 and re.fullmatch(r"[A-Za-z ,.'?;:()-]+", sentence):
                            found.add(sentence)
    ordered = sorted(found)
    random.Random(1).shuffle(ordered)
    return ordered[:limit]


def train_meaning(embedder, assistants: dict[str, Assistant]) -> tuple[Model, dict]:
    rng = random.Random(0)
    words: list[str] = []
    for name, folder in CORPORA.items():
        words += [r["question"] for r in read_questions(folder / "questions.jsonl")]
        words += [d.title for d in assistants[name].documents if d.title]
    words += [r["question"] for r in read_questions(HERE / "seed_questions_en.jsonl")]
    words += [r["question"] for r in read_questions(HERE / "calibration_en.jsonl")]
    gibberish = read_questions(HERE / "gibberish_train.jsonl")
    words += [r["question"] for r in gibberish if r["kind"] not in ("mash", "latin", "cjk", "mixed")]
    words += english_sentences(2500)
    words = list(dict.fromkeys(words))
    noise = [r["question"] for r in gibberish if r["kind"] in ("mash", "latin", "cjk", "mixed")]
    noise += [no_words(rng) for _ in range(3000)]
    texts = words + noise
    y = np.array([1.0] * len(words) + [0.0] * len(noise))
    x = embedder.encode_queries(texts).astype(np.float64)
    order = np.random.default_rng(0).permutation(len(y))
    out_of_fold = np.zeros(len(y))
    for fold in range(FOLDS):
        held = order[fold::FOLDS]
        kept = np.setdiff1d(order, held)
        model = fit_logistic(x[kept], y[kept], balanced=True)
        out_of_fold[held] = [model.probability(row) for row in x[held].astype(np.float32)]
    threshold = float(min(0.5, np.quantile(out_of_fold[y == 1], 0.003)))
    report = {"words": int(y.sum()), "no_words": int(len(y) - y.sum()), "threshold": round(threshold, 4),
              "words_refused_oof": round(float(np.mean(out_of_fold[y == 1] < threshold)), 4),
              "no_words_refused_oof": round(float(np.mean(out_of_fold[y == 0] < threshold)), 4)}
    model = fit_logistic(x, y, balanced=True)
    return replace(model, features=tuple(f"dim{i}" for i in range(x.shape[1])), threshold=threshold), report


# ---------------------------------------------------------------- the background bank

BANK_PER_CORPUS = 2000
BANK_FILE = WEIGHTS_FILE.with_name("background.npy")


@dataclass
class Bank:
    """General-knowledge sentences (QuestionSignals.background): a fixed sample of trial and DRCD
    sentences, with the article each came from so that a training question never meets its own."""

    vectors: np.ndarray  # float16, as shipped
    articles: np.ndarray  # article key of each row

    def best(self, vectors: np.ndarray, articles: list[str]) -> np.ndarray:
        """Each question's best cosine to the bank, leaving out the sentences of its own article."""
        similarity = vectors.astype(np.float32) @ self.vectors.astype(np.float32).T
        similarity[self.articles[None, :] == np.array(articles)[:, None]] = -1.0
        return similarity.max(axis=1)


def background_bank(assistants: dict[str, Assistant]) -> Bank:
    rng = np.random.default_rng(0)
    vectors, articles = [], []
    for name in BENCH_CORPORA:
        index = assistants[name].index
        text = assistants[name].reader.evidence.text
        rows = [i for i in range(len(text)) if len(text[i]) >= 10]  # sentences, not headings or fragments
        chosen = np.sort(rng.choice(rows, size=min(BANK_PER_CORPUS, len(rows)), replace=False))
        vectors.append(index.sentences.vectors[chosen].astype(np.float16))
        articles += [index.chunks[index.sentences.chunk[i]].doc_id.rsplit("-p", 1)[0] for i in chosen]
    return Bank(np.concatenate(vectors), np.array(articles))


def signal_contexts(contexts: list[Context], meaning: Model, bank: Bank) -> None:
    """Each context's QuestionSignals, as the reader computes them (its own article left out of the bank)."""
    vectors = np.stack([ctx.retrieval.query_vector for ctx in contexts]).astype(np.float32)
    best = np.concatenate([bank.best(vectors[k:k + 2048], [c.article for c in contexts[k:k + 2048]])
                           for k in range(0, len(contexts), 2048)])
    for ctx, vector, background in zip(contexts, vectors, best, strict=True):
        ctx.signals = QuestionSignals(meaning.probability(vector), float(background))


# ---------------------------------------------------------------- learners


def standardizer(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = rows.mean(axis=0)
    scale = np.maximum(rows.std(axis=0), 1e-3)  # a constant feature must not divide by zero
    return mean, scale


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-3, epochs: int = 1500, lr: float = 0.5,
                 balanced: bool = False, features: tuple[str, ...] = (), sample_weight: np.ndarray | None = None) -> Model:
    mean, scale = standardizer(x)
    z = (x - mean) / scale
    weight = np.where(y == 1, 0.5 / max(y.mean(), 1e-9), 0.5 / max(1 - y.mean(), 1e-9)) if balanced else np.ones(len(y))
    if sample_weight is not None:
        weight = weight * sample_weight / sample_weight.mean()
    w, b = np.zeros(x.shape[1]), 0.0
    for _ in range(epochs):
        p = 1 / (1 + np.exp(-(z @ w + b)))
        g = (p - y) * weight
        w -= lr * (z.T @ g / len(y) + l2 * w)
        b -= lr * float(np.mean(g))
    return Model(features or tuple(f"x{i}" for i in range(x.shape[1])), mean.astype(np.float32),
                 scale.astype(np.float32), w.astype(np.float32), float(b))


class Adam:
    """Adam (full batch, L2 on every array) over ``params``, which it updates in place."""

    def __init__(self, params: list[np.ndarray], lr: float, l2: float):
        self.params, self.lr, self.l2 = params, lr, l2
        self.first = [np.zeros_like(p) for p in params]
        self.second = [np.zeros_like(p) for p in params]
        self.steps = 0

    def step(self, grads: list[np.ndarray]) -> None:
        self.steps += 1
        for k, param in enumerate(self.params):
            g = grads[k] + self.l2 * param
            self.first[k] = 0.9 * self.first[k] + 0.1 * g
            self.second[k] = 0.999 * self.second[k] + 0.001 * g ** 2
            param -= self.lr * (self.first[k] / (1 - 0.9 ** self.steps)) / (
                np.sqrt(self.second[k] / (1 - 0.999 ** self.steps)) + 1e-8)


def fit_logistic_mlp(x: np.ndarray, y: np.ndarray, hidden: int, features: tuple[str, ...],
                     sample_weight: np.ndarray | None = None, l2: float = 1e-4, epochs: int = 600,
                     lr: float = 0.01, seed: int = 0) -> Model:
    """Log-loss through one tanh hidden layer (Adam, full batch): a decision that can weigh one piece
    of evidence by another (a high cosine means less when no sentence holds the kind asked for)."""
    mean, scale = standardizer(x)
    z = (x - mean) / scale
    weight = np.ones(len(y)) if sample_weight is None else sample_weight / sample_weight.mean()
    rng = np.random.default_rng(seed)
    params = [rng.normal(0, 0.3, (x.shape[1], hidden)), np.zeros(hidden), rng.normal(0, 0.3, hidden), np.zeros(1)]
    adam = Adam(params, lr, l2)
    for _ in range(epochs):
        h = np.tanh(z @ params[0] + params[1])
        p = 1 / (1 + np.exp(-(h @ params[2] + params[3][0])))
        g = (p - y) * weight / len(y)
        dh = g[:, None] * params[2] * (1 - h ** 2)
        adam.step([z.T @ dh, dh.sum(axis=0), h.T @ g, np.array([g.sum()])])
    f32 = np.float32
    return Model(features, mean.astype(f32), scale.astype(f32), params[2].astype(f32), float(params[3][0]),
                 params[0].astype(f32), params[1].astype(f32))


def padded(groups: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Groups of candidates as one [questions, candidates, features] array with a mask."""
    width = max(len(x) for x, _ in groups)
    features = groups[0][0].shape[1]
    x = np.zeros((len(groups), width, features))
    y = np.zeros((len(groups), width))
    mask = np.zeros((len(groups), width), dtype=bool)
    for k, (gx, gy) in enumerate(groups):
        x[k, :len(gx)], y[k, :len(gy)], mask[k, :len(gx)] = gx, gy / gy.sum(), True
    return x, y, mask


def train_listwise(groups, hidden: int | None, epochs: int, lr: float, l2: float, seed: int = 0):
    """Softmax-over-candidates ranker (Adam, full batch): linear, or through one tanh hidden layer,
    which can use interactions (keyword evidence *and* an entity of the asked kind)."""
    x, y, mask = padded(groups)
    rng = np.random.default_rng(seed)
    n_features = x.shape[2]
    if hidden:
        params = [rng.normal(0, 0.3, (n_features, hidden)), np.zeros(hidden), rng.normal(0, 0.3, hidden)]
    else:
        params = [np.zeros(n_features)]
    adam = Adam(params, lr, l2)
    for _ in range(epochs):
        if hidden:
            h = np.tanh(x @ params[0] + params[1])
            s = h @ params[2]
        else:
            s = x @ params[0]
        s = np.where(mask, s, -1e9)
        p = np.exp(s - s.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        ds = np.where(mask, p - y, 0.0) / len(groups)
        if hidden:
            dh = ds[..., None] * params[2] * (1 - h ** 2)
            grads = [np.einsum("qcf,qch->fh", x, dh), dh.sum(axis=(0, 1)), np.einsum("qch,qc->h", h, ds)]
        else:
            grads = [np.einsum("qcf,qc->f", x, ds)]
        adam.step(grads)
    return params


#: How many times a how/why/list question counts in the sentence scorers' fit: they are a tenth of
#: the questions, and the sentence that answers them is chosen on other evidence than a factoid's.
PASSAGE_WEIGHT = 1


#: The same-script sentence scorer: one tanh layer of this many units, this many full-batch Adam steps.
SENTENCE_HIDDEN = 16
SENTENCE_EPOCHS = 300


def candidate_groups(contexts: list[Context]) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(np.stack([c.features for c in ctx.candidates]), ctx.labels) for ctx in contexts
            if ctx.answerable and ctx.candidates and ctx.labels.any()
            for _ in range(PASSAGE_WEIGHT if ctx.asked.wants_passage else 1)]


def sentence_models(contexts: list[Context]) -> tuple[Model, Model]:
    """The same-script MLP (Chinese questions) and the cross-script linear scorer (English questions:
    out of fold, English hit@1 on the trial/DRCD translations 0.371/0.542 when it learned from the
    Chinese questions, 0.371/0.546 from both, 0.406/0.546 from the English ones alone), over one
    standardisation."""
    same = candidate_groups([c for c in contexts if not c.cross
                             for _ in range(SCORER_REPEAT.get(c.corpus, 1))])
    cross = candidate_groups([c for c in contexts if c.cross])
    mean, scale = standardizer(np.concatenate([x for x, _ in same]))
    f32 = np.float32

    def standardized(groups):
        return [((x - mean) / scale, y) for x, y in groups]

    w1, b1, w2 = train_listwise(standardized(same), hidden=SENTENCE_HIDDEN, epochs=SENTENCE_EPOCHS, lr=0.01, l2=1e-4)
    (linear,) = train_listwise(standardized(cross), hidden=None, epochs=300, lr=0.05, l2=1e-3)
    mlp = Model(SENTENCE_FEATURES, mean.astype(f32), scale.astype(f32), w2.astype(f32), 0.0, w1.astype(f32), b1.astype(f32))
    return mlp, Model(SENTENCE_FEATURES, mean.astype(f32), scale.astype(f32), linear.astype(f32), 0.0)


# ---------------------------------------------------------------- decisions


@dataclass
class Outcome:
    context: Context
    evidence: dict[str, float] | None  # None: refused before the decision (no candidate, no words)
    correct: bool  # the quote holds a gold answer
    confidence: float = 0.0  # under the weights it was decided with (out of fold in cross-validation)
    answered: bool = False  # the confidence reached that decision model's threshold
    quote: str = ""  # the quote it chose, normalised as the gold answers are (for --failures)


def decide(contexts: list[Context], weights: Weights) -> list[Outcome]:
    """What the reader with ``weights`` would choose for each context, and whether its quote is right."""
    outcomes = []
    for ctx in contexts:
        reader = ctx.assistant.reader
        reader.weights = weights
        if (weights.meaning is not None and ctx.signals.meaning < weights.meaning_threshold) or is_repetition(ctx.question):
            outcomes.append(Outcome(ctx, None, False))
            continue
        chosen = reader.choose(ctx.asked, ctx.retrieval, ctx.cross, ctx.signals, ctx.candidates)
        if isinstance(chosen, str):
            outcomes.append(Outcome(ctx, None, False))
            continue
        text = quoted_text(ctx.assistant, chosen.candidate.sentence, reader.quote(ctx.asked, chosen))
        confidence = reader.confidence(chosen, ctx.cross)
        threshold = (weights.abstain_cross if ctx.cross else weights.abstain).threshold or 0.0
        outcomes.append(Outcome(ctx, chosen.evidence, any(g in text for g in ctx.golds), confidence,
                                confidence >= threshold, text))
    return outcomes


def fit_abstention(outcomes: list[Outcome], names: tuple[str, ...], keep: float, hidden: int = 0) -> Model:
    decided = [o for o in outcomes if o.evidence is not None]
    rows = [(o.evidence, o.correct, o.context.answerable) for o in decided]
    x = np.stack([laid_out({n: e[n] for n in names}, names) for e, _, _ in rows]).astype(np.float64)
    y = np.array([float(c) for _, c, _ in rows])
    weight = np.array([CORPUS_WEIGHT.get(o.context.corpus, 1.0) * (NEAR_MISS_WEIGHT if o.context.near_miss else 1.0)
                       for o in decided])
    if hidden:
        model = fit_logistic_mlp(x, y, hidden, features=names, sample_weight=weight)
    else:
        model = fit_logistic(x, y, features=names, sample_weight=weight)
    confidence = np.array([model.probability(r.astype(np.float32)) for r in x])
    answerable = np.array([a for _, _, a in rows])
    threshold = float(np.quantile(confidence[answerable], 1 - keep))
    if KEEP_EACH_CORPUS:
        corpus = np.array([o.context.corpus for o in decided])
        for name in set(corpus[answerable]):
            own = confidence[answerable & (corpus == name)]
            if len(own) >= KEEP_EACH_MIN:
                threshold = min(threshold, float(np.quantile(own, 1 - keep)))
    return replace(model, threshold=threshold)


def with_models(weights: Weights, **models) -> Weights:
    return replace(weights, **models)


def reliability(confidence: np.ndarray, correct: np.ndarray) -> list[dict]:
    edges = [0.0, 0.2, 0.4, 0.6, 0.8, 0.9, 1.0001]
    table = []
    for low, high in zip(edges, edges[1:], strict=False):
        inside = (confidence >= low) & (confidence < high)
        if inside.any():
            table.append({"confidence": f"{low:.1f}–{min(high, 1):.1f}", "answers": int(inside.sum()),
                          "right": round(float(correct[inside].mean()), 3)})
    return table


def report(outcomes: list[Outcome], title: str) -> dict:
    """hit@1 over answerable contexts, refusals, and the reliability of the confidence."""
    summary: dict[str, dict] = {}
    for source in sorted({o.context.source for o in outcomes}):
        mine = [o for o in outcomes if o.context.source == source]
        answered, confidences, rights = 0, [], []
        hits = 0
        for o in mine:
            if o.answered:
                answered += 1
                hits += o.correct
                confidences.append(o.confidence)
                rights.append(o.correct)
        n = len(mine)
        answerable = mine[0].context.answerable if mine else False
        entry = {"contexts": n, "answered": round(answered / max(n, 1), 4)}
        if answerable:
            entry["hit@1"] = round(hits / max(n, 1), 4)
            entry["refused"] = round(1 - answered / max(n, 1), 4)
            entry["reliability"] = reliability(np.array(confidences), np.array(rights, dtype=float))
        else:
            entry["refused"] = round(1 - answered / max(n, 1), 4)
        summary[source] = entry
    print(f"\n{title}")
    for source, entry in summary.items():
        print(f"  {source}: " + ", ".join(f"{k} {v}" for k, v in entry.items() if k != "reliability"))
        for row in entry.get("reliability", []):
            print(f"      confidence {row['confidence']}: {row['answers']} answers, {row['right']:.3f} right")
    return summary


def cross_validate(contexts: list[Context], base: Weights, keep: float) -> tuple[dict, list[Outcome]]:
    """Out-of-fold decisions, folds split by article, every model retrained on the other folds."""
    fold_of = folds_by_article(contexts)
    outcomes: list[Outcome] = []
    for fold in range(FOLDS):
        train = [c for c in contexts if fold_of[c.article] != fold]
        held = [c for c in contexts if fold_of[c.article] == fold]
        weights = fit_all(train, base, keep)
        outcomes += decide(held, weights)
        print(f"  fold {fold + 1}/{FOLDS} done", flush=True)
    return report(outcomes, "out of fold (split by article):"), outcomes


def write_failures(outcomes: list[Outcome], path: Path) -> int:
    """The out-of-fold mistakes, one JSON line each, for reading where the reader goes wrong on
    the training sets (never on the tests): an answerable question refused or quoted wrong, an
    unanswerable one answered."""
    lines = []
    for o in outcomes:
        ctx = o.context
        mistaken = not (o.answered and o.correct) if ctx.answerable else o.answered
        if not mistaken:
            continue
        lines.append(json.dumps({"source": ctx.source, "question": ctx.question, "answerable": ctx.answerable,
                                 "answered": o.answered, "right": o.correct, "confidence": round(o.confidence, 3),
                                 "quote": o.quote, "gold": ctx.golds}, ensure_ascii=False))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)


def write_outcomes(outcomes: list[Outcome], path: Path) -> None:
    """Every out-of-fold decision, one JSON line each: what a threshold or rule over the confidence
    would do can then be read off without another run."""
    lines = [json.dumps({"source": o.context.source, "corpus": o.context.corpus, "answerable": o.context.answerable,
                         "near_miss": o.context.near_miss, "cross": o.context.cross, "decided": o.evidence is not None,
                         "answered": o.answered, "right": o.correct, "confidence": round(o.confidence, 4),
                         "evidence": {k: round(v, 4) for k, v in (o.evidence or {}).items()}},
                        ensure_ascii=False) for o in outcomes]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def folds_by_article(contexts: list[Context]) -> dict[str, int]:
    """A fold per article: the Chinese questions' articles first (so adding English questions, which
    share their articles, leaves those folds as they were), then the rest (the essay questions in
    English, one article each), then the LATER_CORPORA's."""
    fold_of: dict[str, int] = {}
    first = [c for c in contexts if c.corpus not in LATER_CORPORA]
    later = [c for c in contexts if c.corpus in LATER_CORPORA]
    each_later = [[c for c in later if c.corpus == name] for name in LATER_CORPORA]
    for group in ([c for c in first if not c.cross], [c for c in first if c.cross], *each_later):
        articles = sorted({c.article for c in group} - fold_of.keys())
        fold_of |= {a: k % FOLDS for k, a in enumerate(np.random.default_rng(0).permutation(articles))}
    return fold_of


#: Share of the answerable same-script training contexts the decision answers (``--keep``).
KEEP = 0.97
ENGLISH_KEEP = 0.95
#: Hold every training corpus (with at least KEEP_EACH_MIN answerable contexts) to ``keep``, not only
#: all of them pooled (``--keep-each``). Tried in stop 26 and left off: the hardest corpus then sets
#: the threshold, DRCD's refusals fell from 3.4% to 1.5% but the unanswerable contexts refused from
#: 84% to 62.5% out of fold.
KEEP_EACH_CORPUS = False
KEEP_EACH_MIN = 100
#: How much each context of a corpus counts in the decision's fit (default 1). The paraphrased
#: questions count 4 times here and in the scorer's fit (SCORER_REPEAT): 140 questions against ~5,000
#: written beside their passage. Out of fold at the same share of unanswerable contexts refused (0.84),
#: paraphrased questions answered right 0.586 (once) → 0.636 (twice) → 0.664 (4 times), the other
#: facts 0.876 → 0.878 → 0.874 (stop 26, BENCHMARKS.md).
CORPUS_WEIGHT: dict[str, float] = {"policy-para": 4.0}
#: How many times each question of a corpus counts in the same-script scorer's fit (default once).
SCORER_REPEAT: dict[str, int] = {"policy-para": 4}
#: Hidden units of the same-script decision (0: logistic regression over the evidence).
DECISION_HIDDEN = 0
#: How much a near miss (the question's subject is there, what it asks is not) counts in that fit.
NEAR_MISS_WEIGHT = 1.0


def fit_all(contexts: list[Context], base: Weights, keep: float) -> Weights:
    """Every model from ``contexts``: the sentence scorers, then each script's decision over the
    outcomes they give (same-script questions keep ``keep`` of their answerable contexts, English
    ones ENGLISH_KEEP). The English decision leaves the bench translations out: with the dense
    evidence alone it cannot tell them from the same question asked of the corpus without its
    article (out of fold, 95–97% of those answered), and pooling them set a threshold that refused
    30–37% of the English questions about the essays (15% without them)."""
    sentence, sentence_cross = sentence_models(contexts)
    weights = with_models(base, sentence=sentence, sentence_cross=sentence_cross)
    abstain = fit_abstention(decide([c for c in contexts if not c.cross], weights), ABSTAIN_FEATURES, keep,
                             DECISION_HIDDEN)
    abstain_cross = fit_abstention(decide([c for c in contexts if c.cross and not c.translated], weights),
                                   CROSS_SCRIPT_FEATURES, ENGLISH_KEEP)
    return with_models(weights, abstain=abstain, abstain_cross=abstain_cross)


def english_contexts(assistants: dict[str, Assistant]) -> list[Context]:
    essays = assistants["seeds"]
    out = []
    # (The English strings of gibberish_train.jsonl are asked of every corpus in build_contexts.)
    for path in [HERE / "seed_questions_en.jsonl", HERE / "calibration_en.jsonl", HERE / "english_train.jsonl"]:
        if not path.exists():
            continue
        for record in read_questions(path):
            answerable = bool(record.get("answers"))
            source = f"english {path.stem}" + ("" if answerable else ", unanswerable")
            made = context(source, essays, record, answerable, record["id"])
            if made is not None and made.cross:
                out.append(made)
    return out


def placeholder_weights() -> Weights:
    """Models of the right shapes that score everything 0: what the trainer starts from."""
    def zero(names: tuple[str, ...]) -> Model:
        size = len(names)
        return Model(names, np.zeros(size, np.float32), np.ones(size, np.float32), np.zeros(size, np.float32), 0.0,
                     threshold=0.0)

    return Weights(zero(SENTENCE_FEATURES), zero(SENTENCE_FEATURES), zero(ABSTAIN_FEATURES),
                   zero(CROSS_SCRIPT_FEATURES), meaning=None, meaning_threshold=0.0, meaning_model=None)


def prepare(limit: int | None = None) -> tuple[list[Context], Weights, dict, Bank]:
    """Every training context with its signals, and the weights every fit starts from (the meaning
    probe and the background bank, learned first): what ``--cv`` and the final fit both use."""
    # The models are learned here: start from placeholders, whatever the current weights file holds.
    reader_module.load_weights = placeholder_weights
    assistants = {"seeds": Assistant.open(eval_index_dir(SEEDS), corpus=SEEDS, progress=False)}
    for name, folder in CORPORA.items():
        corpus = folder / "corpus.jsonl"
        assistants[name] = Assistant.open(eval_index_dir(corpus), corpus=corpus, progress=False)
    memo = MemoEmbedder(assistants["seeds"].embedder)
    for assistant in assistants.values():
        assistant.retriever.embedder = memo

    print("meaning probe: words vs. strings of no words", flush=True)
    meaning, meaning_report = train_meaning(memo, assistants)
    memo.save()
    print(f"  {meaning_report}")
    base = replace(placeholder_weights(), meaning=meaning, meaning_threshold=float(meaning.threshold),
                   meaning_model=config.DEFAULT_MODEL)

    print("contexts: every question asked of its corpus, of its corpus without its article, and of the essays",
          flush=True)
    contexts = build_contexts(assistants, limit)
    memo.save()
    bank = background_bank(assistants)
    base = replace(base, background=bank.vectors, background_model=config.DEFAULT_MODEL)
    contexts += english_contexts(assistants)
    signal_contexts(contexts, meaning, bank)
    return contexts, base, meaning_report, bank


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", type=float, default=KEEP, help="share of answerable contexts to answer")
    parser.add_argument("--limit", type=int, default=None, help="questions per bench set (for a quick try)")
    parser.add_argument("--cv", action="store_true", help="also report out-of-fold results by article")
    parser.add_argument("--failures", type=Path, default=None,
                        help="with --cv: write the out-of-fold mistakes to this JSONL file")
    parser.add_argument("--outcomes", type=Path, default=None,
                        help="with --cv: write every out-of-fold decision to this JSONL file")
    parser.add_argument("--keep-each", action="store_true", help="hold every training corpus to --keep")
    parser.add_argument("--weigh", nargs="*", default=[], metavar="CORPUS=N",
                        help="count a corpus's questions N times in the scorer's and the decision's fits "
                             f"(default {SCORER_REPEAT})")
    parser.add_argument("--no-save", action="store_true", help="do not write the weights (an experiment)")
    args = parser.parse_args()
    global KEEP_EACH_CORPUS
    KEEP_EACH_CORPUS = KEEP_EACH_CORPUS or args.keep_each
    for name, times in (pair.split("=") for pair in args.weigh):
        SCORER_REPEAT[name] = int(times)
        CORPUS_WEIGHT[name] = float(times)

    contexts, base, meaning_report, bank = prepare(args.limit)
    meaning = base.meaning
    cv = None
    if args.cv:
        cv, outcomes = cross_validate(contexts, base, args.keep)
        if args.failures:
            print(f"wrote {write_failures(outcomes, args.failures)} out-of-fold mistakes to {args.failures}")
        if args.outcomes:
            write_outcomes(outcomes, args.outcomes)

    weights = fit_all(contexts, base, args.keep)
    report(decide(contexts, weights), "in sample (the shipped weights):")

    data = {"note": "learned by benchmarks/train_answer.py on CMRC 2018 trial, DRCD test and the sets named "
                    "there; never on CMRC dev; do not edit by hand",
            "sentence": weights.sentence.to_dict(), "sentence_cross": weights.sentence_cross.to_dict(),
            "abstain": weights.abstain.to_dict(), "abstain_cross": weights.abstain_cross.to_dict(),
            "meaning": {**meaning.to_dict(), "embedding_model": config.DEFAULT_MODEL, "report": meaning_report},
            "background": {"file": BANK_FILE.name, "sentences": len(bank.vectors), "dimension": bank.vectors.shape[1],
                           "embedding_model": config.DEFAULT_MODEL,
                           "from": f"{BANK_PER_CORPUS} sentences each of CMRC 2018 trial and DRCD test"}}
    if cv is not None:
        data["cross_validation"] = cv
    if args.no_save:
        return
    np.save(BANK_FILE, bank.vectors)
    WEIGHTS_FILE.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    print(f"wrote {WEIGHTS_FILE}")


if __name__ == "__main__":
    main()
