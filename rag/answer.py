"""Extractive answers: pick the sentence that answers the question from the best few passages, mark
its key span, or abstain when the corpus does not answer.

Each candidate sentence gets a feature vector (question–sentence cosine, alone and under its
document's subject, IDF-weighted keyword evidence in the sentence and in its neighbours, the
passage's retrieval score and rank, whether the sentence holds the kind of thing the question asks
for, …). A scorer learned on the CMRC 2018 *trial*
set (``benchmarks/train_answer.py``; the dev set stays a clean test) ranks them: a small MLP for
questions in the corpus's script, a linear one for cross-script questions (English over Chinese),
whose keyword features are all zero — outside what the MLP was trained on. A second
learned scorer over question-level evidence decides whether to answer at all.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from rag.index import LoadedIndex
from rag.qtypes import RELIABLE_TYPES, entity_spans, is_passage_lookup, measure_unit, question_type
from rag.retrieve import Retrieval
from rag.textproc import cjk_ratio, fold
from rag.types import Answer, Chunk, Citation

WEIGHTS_FILE = Path(__file__).with_name("answer_weights.json")
PASSAGES_FOR_ANSWER = 5
SENTENCE_FEATURES = (
    "cos", "cos_gap", "has_subject", "cos_context", "cos_context_gap", "kw", "kw_gap", "kw_prev", "kw_next",
    "bigram", "bigram_local", "focus", "type", "type_missing", "type_novel", "passage", "passage_rank", "log_len",
)
ABSTAIN_FEATURES = ("top_cos", "best_cos", "dense_z", "best_kw", "best_bigram", "passage_kw", "coverage", "agree",
                    "type_asked", "type_novel", "type_absent", "margin")
#: For a question in another script than the corpus (English over Chinese) keyword evidence is absent
#: by construction, so its abstention model sees only the dense evidence, calibrated on its own
#: (cross-lingual cosines sit lower than same-language ones).
CROSS_SCRIPT_FEATURES = ("top_cos", "best_cos")
# A sentence that leans on the one before it (这/其/该…) does not stand alone: quote both.
_DANGLING_RE = re.compile(r"^(这|其|该|此|它|他们|她们|同时|此外|因此|所以|但|而|并|也|然而|其中|对此|为此|上述)")
_MIN_STANDALONE = 12
# A sentence that announces what the next one spells out (例如/比如/包括…): quote both.
_ELABORATION_RE = re.compile(r"^(例如|比如|譬如|诸如|包括|主要有|主要包括|具体|具体来说|一是|首先)")


@dataclass
class Candidate:
    sentence: int  # row in the index's sentence table
    passage_rank: int  # 1-based rank of its passage
    features: np.ndarray


@dataclass
class Decision:
    answer: Answer | None
    confidence: float  # probability-like confidence that the corpus answers the question
    reason: str | None


@lru_cache(maxsize=1)
def load_weights() -> dict:
    return json.loads(WEIGHTS_FILE.read_text(encoding="utf-8"))


class AnswerSelector:
    def __init__(self, index: LoadedIndex, idf: dict[str, float]):
        self.index = index
        self.idf = idf
        self.max_idf = max(idf.values(), default=1.0)  # an unknown word is at least as rare as any
        self.doc_text = {d.doc_id: d.text for d in index.corpus.documents}
        self.sentence_text = [self._slice(i) for i in range(len(index.sentences.chunk))]
        self.folded = [fold(t) for t in self.sentence_text]
        self.sentence_bigrams = [bigrams(t) for t in self.folded]
        self.corpus_cjk = cjk_ratio("".join(c.text[:200] for c in index.chunks[:500]))

    def _slice(self, i: int) -> str:
        s = self.index.sentences
        chunk = self.index.chunks[s.chunk[i]]
        return self.doc_text[chunk.doc_id][s.start[i]:s.end[i]]

    # ------------------------------------------------------------ features

    def keyword_share(self, terms: list[str], text_folded: str) -> float:
        """IDF-weighted share of the question's keywords that appear in a (folded) text."""
        if not terms:
            return 0.0
        weights = [self.idf.get(t, self.max_idf) for t in set(terms)]
        found = sum(w for t, w in zip(set(terms), weights, strict=True) if t in text_folded)
        return found / sum(weights)

    def candidates(self, asked: AskedFor, retrieval: Retrieval) -> list[Candidate]:
        """Every sentence of the best few passages, with its feature vector (SENTENCE_FEATURES)."""
        hits = retrieval.hits[:PASSAGES_FOR_ANSWER]
        if not hits:
            return []
        qtype = asked.qtype
        terms = retrieval.keywords
        rows: list[tuple[int, int]] = []
        for rank, hit in enumerate(hits, start=1):
            rows += [(i, rank) for i in self.index.sentences.of_chunk(hit.row)]
        if not rows:
            return []
        idx = np.array([i for i, _ in rows])
        if retrieval.query_vector is not None:
            cos = self.index.sentences.vectors[idx] @ retrieval.query_vector
            cos_context = self.index.sentences.in_context[idx] @ retrieval.query_vector
        else:
            cos = cos_context = np.zeros(len(idx), dtype=np.float32)
        top_score = max(hits[0].score, 1e-9)
        shares = [self.keyword_share(terms, self.folded[i]) for i, _ in rows]
        question_bigrams = bigrams(strip_interrogatives(asked.folded_question))
        local = _local_weights(question_bigrams, [self.sentence_bigrams[i] & question_bigrams for i, _ in rows])
        out = []
        for (i, rank), c, c_context, share in zip(rows, cos, cos_context, shares, strict=True):
            hit = hits[rank - 1]
            text = self.sentence_text[i]
            has_type = bool(entity_spans(text, qtype))
            features = np.array([
                float(c),
                float(c - cos.max()),
                float(self.index.sentences.framed[i]),
                float(c_context),
                float(c_context - cos_context.max()),
                share,
                share - max(shares),
                self._neighbour_share(terms, i, -1),
                self._neighbour_share(terms, i, +1),
                len(question_bigrams & self.sentence_bigrams[i]) / max(len(question_bigrams), 1),
                sum(local.get(b, 0.0) for b in self.sentence_bigrams[i] & question_bigrams),
                asked.focus_share(self.sentence_bigrams[i]),
                float(has_type),
                float(qtype is not None and not has_type),
                float(bool(asked.novel_spans(text))),
                hit.score / top_score,
                1.0 / rank,
                math.log1p(len(text)),
            ], dtype=np.float32)
            out.append(Candidate(i, rank, features))
        return out

    def _neighbour_share(self, terms: list[str], i: int, step: int) -> float:
        j = i + step
        chunk_of = self.index.sentences.chunk
        if not 0 <= j < len(chunk_of):
            return 0.0
        if self.index.chunks[chunk_of[j]].doc_id != self.index.chunks[chunk_of[i]].doc_id:
            return 0.0
        return self.keyword_share(terms, self.folded[j])

    # ------------------------------------------------------------ decision

    def best_candidate(self, asked: AskedFor, retrieval: Retrieval,
                       sentence_model: dict) -> tuple[Candidate, np.ndarray] | str:
        """The best candidate sentence and the abstention evidence for it, or why there is none.
        (The trainer calls this too, so training and answering see the same candidates.)"""
        candidates = self.candidates(asked, retrieval)
        if not candidates:
            return "no passage matched the question"
        qtype = asked.qtype
        if qtype in RELIABLE_TYPES:
            # 多少 wants a number and 哪一年 a date: a sentence without one cannot be the answer.
            candidates = [c for c in candidates if c.features[SENTENCE_FEATURES.index("type_novel")]]
            if not candidates:
                kind = {"number": "number", "ordinal": "rank"}.get(qtype, "date or time")
                return f"the closest passages hold no {kind} that would answer this"
        scores = np.array([model_score(sentence_model, c.features) for c in candidates])
        best = int(np.argmax(scores))
        probabilities = np.exp(scores - scores.max())
        probabilities /= probabilities.sum()
        return candidates[best], self.abstain_features(asked, retrieval, candidates[best], probabilities)

    def select(self, question: str, retrieval: Retrieval) -> Decision:
        weights = load_weights()
        cross = self.cross_script(question)
        asked = AskedFor.of(question)
        best = self.best_candidate(asked, retrieval, weights["sentence_cross" if cross else "sentence"])
        if isinstance(best, str):
            return Decision(None, 0.0, best)
        candidate, evidence = best
        model = "abstain_cross" if cross else "abstain"
        if cross:
            evidence = evidence[[ABSTAIN_FEATURES.index(f) for f in CROSS_SCRIPT_FEATURES]]
        confidence = _sigmoid(model_score(weights[model], evidence))
        if confidence < weights[model]["threshold"]:
            return Decision(None, confidence, "the documents do not appear to answer this question")
        return Decision(self._answer(asked, candidate, confidence), confidence, None)

    def cross_script(self, question: str) -> bool:
        """True when the question is written in another script than the corpus (English over Chinese)."""
        return abs(cjk_ratio(question) - self.corpus_cjk) > 0.5

    def abstain_features(self, asked: AskedFor, retrieval: Retrieval, best: Candidate,
                         probabilities: np.ndarray) -> np.ndarray:
        hits = retrieval.hits
        top = self.index.chunks[hits[0].row]
        passage_folded = fold(" ".join([top.title, *top.section, top.text]))
        dense_top = max(hits, key=lambda h: h.dense if h.dense is not None else -1.0)
        bm25_top = max(hits, key=lambda h: h.bm25 if h.bm25 is not None else -1.0)
        sorted_p = np.sort(probabilities)[::-1]

        def of_best(name: str) -> float:
            return float(best.features[SENTENCE_FEATURES.index(name)])

        return np.array([
            max((h.dense or 0.0) for h in hits),
            of_best("cos"),
            retrieval.dense_z,
            of_best("kw"),
            of_best("bigram"),
            self.keyword_share(retrieval.keywords, passage_folded),
            retrieval.coverage,
            float(dense_top.row == bm25_top.row and bm25_top.bm25 is not None),
            max(of_best("type"), of_best("type_missing")),
            of_best("type_novel"),
            float(asked.qtype in RELIABLE_TYPES and not of_best("type_novel")),
            float(sorted_p[0] - (sorted_p[1] if len(sorted_p) > 1 else 0.0)),
        ], dtype=np.float32)

    def quoted_span(self, asked: AskedFor, candidate: Candidate) -> tuple[int, int]:
        """Document offsets of what the answer quotes for ``candidate``: its sentence, or two adjacent
        ones when one alone does not stand."""
        s = self.index.sentences
        i = candidate.sentence
        own = s.of_chunk(int(s.chunk[i]))
        start, end = int(s.start[i]), int(s.end[i])
        if leans_on_previous(self.sentence_text[i]) and i > own.start:
            return int(s.start[i - 1]), end  # the previous sentence gives it its subject
        if i + 1 < own.stop:
            following = self.sentence_text[i + 1]
            if _ELABORATION_RE.match(following) and not asked.key_span(self.sentence_text[i]):
                return start, int(s.end[i + 1])  # "…faces problems. For example, A, B and C." — the list
            if _DANGLING_RE.match(following) and asked.focus_share(self.sentence_bigrams[i + 1]) > \
                    asked.focus_share(self.sentence_bigrams[i]):
                # "X is a typical case. Its workshop uses Y." — X introduced, the next one says what was asked
                return start, int(s.end[i + 1])
        return start, end

    def quote(self, asked: AskedFor, candidate: Candidate) -> tuple[int, int, str]:
        """Document offsets and text of what the answer quotes for ``candidate`` (the trainer labels
        candidates by this same quote)."""
        start, end = self.quoted_span(asked, candidate)
        return start, end, self.doc_text[self._chunk_of(candidate).doc_id][start:end]

    def _chunk_of(self, candidate: Candidate) -> Chunk:
        return self.index.chunks[self.index.sentences.chunk[candidate.sentence]]

    def _answer(self, asked: AskedFor, candidate: Candidate, confidence: float) -> Answer:
        chunk = self._chunk_of(candidate)
        start, end, text = self.quote(asked, candidate)
        doc = self.index.corpus.document(chunk.doc_id)
        citation = Citation(chunk.doc_id, chunk.source, chunk.title, chunk.author,
                            doc.section_path_at(start), chunk.paragraph, start, end, *doc.page_span(start, end))
        return Answer(text, asked.key_span(text), round(confidence, 4), citation)


def leans_on_previous(sentence: str) -> bool:
    """这/其/该… openings and fragments: the sentence does not stand without the one before it."""
    return bool(_DANGLING_RE.match(sentence)) or len(sentence) < _MIN_STANDALONE


@dataclass(frozen=True)
class AskedFor:
    """What a question asks for, worked out once per question (the candidates reuse it)."""

    qtype: str | None
    folded_question: str
    unit: re.Pattern[str] | None
    focus: frozenset[str]  # bigrams next to the question word: what the answer sentence talks about

    @classmethod
    def of(cls, question: str) -> AskedFor:
        qtype = question_type(question)
        folded = fold(question)
        return cls(qtype, folded, measure_unit(question) if qtype == "number" else None, focus_bigrams(folded))

    def focus_share(self, sentence_bigrams: set[str]) -> float:
        return len(self.focus & sentence_bigrams) / max(len(self.focus), 1)

    def novel_spans(self, text: str) -> list[tuple[int, int]]:
        """Entities of the asked-for kind in ``text`` that the question does not already contain
        (and, for a measured number, that carry the measure's unit)."""
        spans = [sp for sp in entity_spans(text, self.qtype) if fold(text[sp[0]:sp[1]]) not in self.folded_question]
        if self.unit is not None:
            spans = [sp for sp in spans if self.unit.search(text[sp[0]:sp[1]])]
        return spans

    def key_span(self, text: str) -> tuple[int, int] | None:
        spans = self.novel_spans(text)
        if not spans:
            return None
        return max(spans, key=lambda sp: sp[1] - sp[0]) if self.qtype == "list" else spans[0]


def key_span(question: str, text: str) -> tuple[int, int] | None:
    """The part of ``text`` that answers: the entity of the asked-for kind that the question
    itself does not already contain (a number with its unit, a date, a name, a list)."""
    return AskedFor.of(question).key_span(text)


_INTERROGATIVES_RE = re.compile(r"什么|多少|哪些|哪个|哪里|哪儿|哪一|哪|谁|几|何时|何|怎么|怎样|如何|为什么|吗|呢|？|\?")


def strip_interrogatives(text: str) -> str:
    return _INTERROGATIVES_RE.sub(" ", text)


_FOCUS_REACH = 4


def focus_bigrams(folded_question: str) -> frozenset[str]:
    """The bigrams within a few characters of the question word (体长 in 黄鳍紫鱼体长多少, 原名 in
    车站的原名是什么): the answer sentence names that attribute, often without the topic, which
    every sentence of the passage shares. (On CMRC trial, 5-fold: sentence top-1 0.793 → 0.822.)"""
    if is_passage_lookup(folded_question):
        return frozenset()
    found = _INTERROGATIVES_RE.search(folded_question)
    if found is None:  # "…的原名是" with no question word: the attribute ends the question
        window = folded_question[-_FOCUS_REACH - 2:]
    else:
        window = (folded_question[max(0, found.start() - _FOCUS_REACH):found.start()] + " "
                  + folded_question[found.end():found.end() + _FOCUS_REACH])
    return frozenset(bigrams(strip_interrogatives(window)))


def bigrams(text: str) -> set[str]:
    """Character bigrams of the word characters: keyword evidence that does not depend on jieba
    cutting the question and the sentence the same way."""
    return {a + b for a, b in zip(text, text[1:], strict=False) if a.isalnum() and b.isalnum()}


def _local_weights(question_bigrams: set[str], matched: list[set[str]]) -> dict[str, float]:
    """Weight of each question bigram by how rare it is among the candidate sentences, normalised
    to sum to 1: the topic's name appears in every sentence of its passage and tells them apart
    by nothing; the words that paraphrase one sentence do."""
    n = len(matched)
    raw = {b: math.log(1 + n / (1 + sum(b in m for m in matched))) for b in question_bigrams}
    total = sum(raw.values()) or 1.0
    return {b: w / total for b, w in raw.items()}


def model_score(model: dict, features: np.ndarray) -> float:
    """A standardised linear score, or a one-hidden-layer (tanh) one when the model has ``hidden``."""
    mean = np.array(model["mean"], dtype=np.float32)
    scale = np.array(model["scale"], dtype=np.float32)  # never 0: the trainer floors it
    x = (features - mean) / scale
    if "hidden" in model:
        x = np.tanh(x @ np.array(model["hidden"]["W"], dtype=np.float32)
                    + np.array(model["hidden"]["b"], dtype=np.float32))
    return float(np.dot(x, np.array(model["weights"], dtype=np.float32)) + model["bias"])


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))
