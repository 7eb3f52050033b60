"""The Reader: picks the sentence that answers from the best few passages, quotes it (a fact or an
answer passage), or abstains when the corpus does not answer.

Candidate sentences are ranked by a learned scorer (``benchmarks/train_answer.py``: CMRC 2018 trial
and DRCD, never CMRC dev): a small MLP for questions in the corpus's script, a linear one for
cross-script questions (English over Chinese), whose keyword features are all zero — outside what
the MLP was trained on. A second learned model turns the question-level evidence into one calibrated
confidence, the probability that the quote answers the question; below its threshold the reader
abstains. Before either, a probe over the question's vector refuses strings that are not words in
any language (keyboard mashing, random characters), which no similarity score can tell apart, and a
rule refuses a word said over and over (营营口口口), whose vector sits near the word's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rag.index import LoadedIndex
from rag.reader.features import (
    ABSTAIN_FEATURES,
    CROSS_SCRIPT_FEATURES,
    Candidate,
    QuestionSignals,
    SentenceEvidence,
    laid_out,
)
from rag.reader.qtypes import RELIABLE_TYPES, names_a_role_or_latin_name, says_office
from rag.reader.question import AskedFor, is_repetition
from rag.reader.quote import Quote, Quoter
from rag.reader.scorer import Weights, load_weights
from rag.retrieve import Retrieval
from rag.textproc import cjk_ratio
from rag.types import Answer, Citation

NOT_WORDS = ("the question does not read as words in any language (it looks like random keys or "
             "characters); ask it in Chinese or English")
NOT_ANSWERED = "the documents do not appear to answer this question"


@dataclass
class Decision:
    answer: Answer | None
    confidence: float  # calibrated probability that the quote answers the question
    reason: str | None  # why there is no answer
    nearest: Answer | None = None  # when abstaining: the closest sentence, which is *not* an answer
    words: bool = True  # False: the question is no words at all, and no passage is "closest" to it


@dataclass
class Chosen:
    """The best candidate of a question and what the decision needs to know about it."""

    candidate: Candidate
    evidence: dict[str, float]  # ABSTAIN_FEATURES by name
    likelihood: dict[int, float]  # sentence row → the scorer's probability among the candidates


class Reader:
    def __init__(self, index: LoadedIndex, idf: dict[str, float], weights: Weights | None = None):
        self.index = index
        self.weights = weights or load_weights()
        self.evidence = SentenceEvidence(index, idf)
        self.quoter = Quoter(self.evidence)
        self.corpus_cjk = cjk_ratio("".join(c.text[:200] for c in index.chunks[:500]))
        self.dimension = index.sentences.vectors.shape[1] if len(index.sentences.vectors) else 0
        self._bank_of: np.ndarray | None = None  # the background bank _bank_search was made from
        self._bank = None

    # ------------------------------------------------------------ evidence

    def cross_script(self, question: str) -> bool:
        """True when the question is written in another script than the corpus (English over Chinese)."""
        return abs(cjk_ratio(question) - self.corpus_cjk) > 0.5

    def signals(self, retrieval: Retrieval) -> QuestionSignals:
        """What the question's vector says by itself. Each part is fitted to one embedding model and
        is left out (its neutral value) for a question without a vector or under another model."""
        vector = retrieval.query_vector
        if vector is None:
            return QuestionSignals()
        vector = vector.astype(np.float32)
        weights = self.weights
        probe, bank = weights.meaning, weights.background
        meaning = 1.0
        if probe is not None and weights.meaning_model == self.index.model and len(probe.mean) == len(vector):
            meaning = probe.probability(vector)
        background = None
        if bank is not None and weights.background_model == self.index.model and bank.shape[1] == len(vector):
            background = float(self._bank_search(bank).search(vector[None, :], 1)[0][0, 0])
        return QuestionSignals(meaning, background)

    def _bank_search(self, bank: np.ndarray):
        """The bank as an exact FAISS index, made once per bank (numpy's matrix–vector product
        took 3–7 ms on a busy machine, FAISS 0.1 ms)."""
        if self._bank_of is not bank:
            import faiss

            search = faiss.IndexFlatIP(bank.shape[1])
            search.add(np.ascontiguousarray(bank, dtype=np.float32))
            self._bank_of, self._bank = bank, search
        return self._bank

    def choose(self, asked: AskedFor, retrieval: Retrieval, cross: bool, signals: QuestionSignals,
               candidates: list[Candidate] | None = None) -> Chosen | str:
        """The best candidate sentence and its evidence, or why there is none. (The trainer calls
        this too, with the candidates it computed once, so training and answering see the same.)"""
        if candidates is None:
            candidates = self.evidence.candidates(asked, retrieval)
        if not candidates:
            return "no passage matched the question"
        if asked.qtype in RELIABLE_TYPES and not any(c.feature("type_novel") for c in candidates):
            # 多少 wants a number and 哪一年 a date: when no passage holds one, nothing here answers.
            # (When some do, a sentence without one may still be the answer — the patterns miss
            # 六亿七千多万 and 清朝末年 — and the scorer weighs that.)
            kind = {"number": "number", "ordinal": "rank", "duration": "length of time"}.get(asked.qtype, "date or time")
            return f"the closest passages hold no {kind} that would answer this"
        if asked.wants_a_name and not self._someone_named(asked, candidates):
            # 局长是谁 where no passage names anyone as 局长: in the training sets no answerable
            # question was like that except those asking 由谁 (由谁担任组长 → 市长), left to the scorer.
            return "the closest passages name no one who would answer this"
        model = self.weights.sentence_cross if cross else self.weights.sentence
        scores = np.asarray(model.score(np.stack([c.features for c in candidates])), dtype=np.float64)
        probabilities = np.exp(scores - scores.max())
        probabilities /= probabilities.sum()
        best = candidates[int(np.argmax(scores))]
        evidence = self.evidence.question_evidence(asked, retrieval, candidates, best, probabilities, signals)
        return Chosen(best, evidence, {c.sentence: float(p) for c, p in zip(candidates, probabilities, strict=True)})

    def _someone_named(self, asked: AskedFor, candidates: list[Candidate]) -> bool:
        """Some candidate names a person (the tagger's names), an office or a Latin-script name that
        the question does not already say; when the question names an office (市委书记是谁), a
        candidate that also says that office (not 总书记习近平, nor 副局长 for 局长)."""
        if asked.offices:
            candidates = [c for c in candidates
                          if any(says_office(self.evidence.folded[c.sentence], office) for office in asked.offices)]
        return any(c.feature("type_novel") for c in candidates) or any(
            names_a_role_or_latin_name(self.evidence.text[c.sentence], asked.folded_question) for c in candidates)

    def confidence(self, chosen: Chosen, cross: bool) -> float:
        """The calibrated probability that the quote answers the question."""
        if cross:
            return self.weights.abstain_cross.probability(laid_out(
                {n: chosen.evidence[n] for n in CROSS_SCRIPT_FEATURES}, CROSS_SCRIPT_FEATURES))
        return self.weights.abstain.probability(laid_out(chosen.evidence, ABSTAIN_FEATURES))

    # ------------------------------------------------------------ decision

    def select(self, question: str, retrieval: Retrieval) -> Decision:
        signals = self.signals(retrieval)
        if signals.meaning < self.weights.meaning_threshold or is_repetition(question):
            return Decision(None, 0.0, NOT_WORDS, words=False)
        asked = AskedFor.of(question)
        cross = self.cross_script(question)
        chosen = self.choose(asked, retrieval, cross, signals)
        if isinstance(chosen, str):
            return Decision(None, 0.0, chosen)
        confidence = self.confidence(chosen, cross)
        answer = self.answer(asked, chosen, confidence)
        threshold = (self.weights.abstain_cross if cross else self.weights.abstain).threshold or 0.0
        if confidence < threshold:
            return Decision(None, confidence, NOT_ANSWERED, nearest=answer)
        return Decision(answer, confidence, None)

    def quote(self, asked: AskedFor, chosen: Chosen) -> Quote:
        return self.quoter.quote(asked, chosen.candidate, chosen.likelihood)

    def answer(self, asked: AskedFor, chosen: Chosen, confidence: float) -> Answer:
        quote = self.quote(asked, chosen)
        chunk = self.index.chunks[self.index.sentences.chunk[chosen.candidate.sentence]]
        doc = self.index.corpus.document(chunk.doc_id)
        text = doc.text[quote.start:quote.end]
        citation = Citation(chunk.doc_id, chunk.source, chunk.title, chunk.author, doc.section_path_at(quote.start),
                            chunk.paragraph, quote.start, quote.end, *doc.page_span(quote.start, quote.end))
        return Answer(text, asked.key_span(text), round(confidence, 4), citation, kind=quote.kind,
                      sentences=[list(s) for s in quote.sentences])
