"""The reader's evidence, as named values: for each candidate sentence (how well it matches the
question), and for the question as a whole (whether the corpus answers it at all).

Each feature is computed under its name and laid out in the order of the tuples below; the weights
file records the same names (``scorer`` checks them at load).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rag.index import LoadedIndex, subject_words
from rag.reader import names
from rag.reader.qtypes import RELIABLE_TYPES, entity_spans, pattern_text
from rag.reader.question import AskedFor, bigrams, strip_interrogatives
from rag.retrieve import Retrieval
from rag.textproc import fold

#: How many of the best passages the answer may come from.
PASSAGES_FOR_ANSWER = 5

SENTENCE_FEATURES = (
    "cos", "cos_gap", "has_subject", "kw", "kw_gap", "kw_prev", "kw_next",
    "bigram", "bigram_local", "focus", "type", "type_missing", "type_novel", "passage", "passage_rank", "log_len",
    "run", "asks_reason", "asks_manner", "asks_list",
)
ABSTAIN_FEATURES = (
    "top_cos", "best_cos", "dense_z", "best_kw", "best_bigram", "passage_kw", "coverage", "agree",
    "type_asked", "type_novel", "type_absent", "margin", "meaning", "wants_passage",
    "has_focus", "best_focus", "focus_any", "type_any", "background_margin", "number_conflict", "unit_missing",
    "passage_kw_known", "name_absent",
)
#: For a question in another script than the corpus (English over Chinese) keyword evidence is absent
#: by construction, so its decision sees the dense evidence, whether the question is made of words at
#: all (cross-lingual cosines sit lower than same-language ones: its own calibration), and what needs
#: no shared words: a how-many or when question whose sentence holds no number or date, a who
#: question whose sentence names no one, a year or model other than the one asked.
CROSS_SCRIPT_FEATURES = ("top_cos", "best_cos", "dense_z", "meaning", "background_margin",
                         "type_absent", "name_absent", "number_conflict")


@dataclass(frozen=True)
class QuestionSignals:
    """What the question's vector alone says, before any passage is read."""

    meaning: float = 1.0  # P(the question is made of words at all)
    #: The question's best cosine to a fixed bank of general-knowledge sentences (``background.npy``):
    #: a question the corpus answers is closer to some corpus sentence than to any of them, while an
    #: off-topic one ("How do I bake bread?") finds its match in the bank. Cross-lingual cosines are
    #: compressed into a narrow band, so this comparison says what their absolute level cannot.
    background: float | None = None  # None: no bank for this embedding model


def laid_out(values: dict[str, float], names: tuple[str, ...]) -> np.ndarray:
    """The named values as a row in ``names`` order (a missing or extra name is a bug, not a 0)."""
    if values.keys() != set(names):
        raise ValueError(f"feature names differ: {sorted(values.keys() ^ set(names))}")
    return np.array([values[n] for n in names], dtype=np.float32)


@dataclass
class Candidate:
    sentence: int  # row in the index's sentence table
    passage_rank: int  # 1-based rank of its passage
    features: np.ndarray  # SENTENCE_FEATURES

    def feature(self, name: str) -> float:
        return float(self.features[SENTENCE_FEATURES.index(name)])


class PerSentence:
    """One value per sentence of the index, computed when first read and kept for the next questions
    (the most recent ``kept``): a question reads a few dozen sentences. Computing the folded text and
    bigrams of every sentence when the index opened took minutes and gigabytes at 100k chunks."""

    def __init__(self, count: int, compute: Callable[[int], object], kept: int = 1 << 16):
        self._count = count
        self._value = functools.lru_cache(maxsize=kept)(compute)

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, row: int):
        row = int(row)
        if not 0 <= row < self._count:
            raise IndexError(row)
        return self._value(row)


class SentenceEvidence:
    """The corpus side of the evidence: each sentence's text, folded form and bigrams (computed when
    a question first needs them)."""

    def __init__(self, index: LoadedIndex, idf: dict[str, float]):
        self.index = index
        self.idf = idf
        self.max_idf = max(idf.values(), default=1.0)  # an unknown word is at least as rare as any
        self.doc_text = {d.doc_id: d.text for d in index.corpus.documents}
        s = index.sentences
        self.text = PerSentence(len(s.chunk), lambda i: self.doc_text[index.chunks[s.chunk[i]].doc_id][s.start[i]:s.end[i]])
        self.folded = PerSentence(len(s.chunk), lambda i: fold(self.text[i]))
        self.bigrams = PerSentence(len(s.chunk), lambda i: frozenset(bigrams(self.folded[i])))
        # An encyclopedia entry's subject (its title, 黄鳍紫鱼) is what every one of its sentences is
        # about, though only the first names it: as keyword evidence it tells them apart by nothing.
        # The index framed exactly those documents' sentences by their subject (index.title_subject),
        # so which documents have one is read from the sentence table, not by folding every chunk again.
        framed_docs = {index.chunks[c].doc_id for c in np.unique(s.chunk[s.framed])}
        titles = {d.doc_id: d.title for d in index.corpus.documents}
        self.subject_words = {d: subject_words(titles[d]) for d in framed_docs}
        # An essay's author is named in the question (冯也的文章讲了哪些产业), never in its sentences:
        # like a subject, the name is about the document and tells none of its sentences apart.
        self.author_words = {d.doc_id: fold(d.author).strip() for d in index.corpus.documents if d.author.strip()}
        self.metadata_bigrams = {d: frozenset(bigrams(self.subject_words.get(d, "")) | bigrams(self.author_words.get(d, "")))
                                 for d in self.subject_words.keys() | self.author_words.keys()}

    def warm_names(self) -> None:
        """Tag the names in every sentence now (``names.tagged_names`` keeps them), so that no
        who/where question waits for the tagger: the server does this in the background for a
        corpus of up to ``names.WARM_SENTENCES`` sentences."""
        for i in range(len(self.text)):
            names.tagged_names(pattern_text(self.text[i]))

    def keyword_share(self, terms: list[str], text_folded: str) -> float:
        """IDF-weighted share of the question's keywords that appear in a (folded) text."""
        if not terms:
            return 0.0
        unique = set(terms)
        weights = {t: self.idf.get(t, self.max_idf) for t in unique}
        return sum(w for t, w in weights.items() if t in text_folded) / sum(weights.values())

    def _about(self, terms: list[str], doc_id: str) -> list[str]:
        """The question's keywords less those inside the document's subject or its author's name (all
        of them when the question is nothing but those)."""
        metadata = [m for m in (self.subject_words.get(doc_id), self.author_words.get(doc_id)) if m]
        kept = [t for t in terms if not any(t in m for m in metadata)]
        return kept or terms

    def neighbour_share(self, terms: list[str], i: int, step: int) -> float:
        j = i + step
        chunk_of = self.index.sentences.chunk
        if not 0 <= j < len(chunk_of):
            return 0.0
        if self.index.chunks[chunk_of[j]].doc_id != self.index.chunks[chunk_of[i]].doc_id:
            return 0.0
        return self.keyword_share(terms, self.folded[j])

    def candidates(self, asked: AskedFor, retrieval: Retrieval) -> list[Candidate]:
        """Every sentence of the best few passages, with its SENTENCE_FEATURES."""
        hits = retrieval.hits[:PASSAGES_FOR_ANSWER]
        rows = [(i, rank) for rank, hit in enumerate(hits, start=1) for i in self.index.sentences.of_chunk(hit.row)]
        if not rows:
            return []
        idx = np.array([i for i, _ in rows])
        sentences = self.index.sentences
        if retrieval.query_vector is not None:
            cos = sentences.read(idx) @ retrieval.query_vector
        else:
            cos = np.zeros(len(idx), dtype=np.float32)
        top_score = max(hits[0].score, 1e-9)
        stripped = strip_interrogatives(asked.folded_question)
        doc_of = [self.index.chunks[hits[rank - 1].row].doc_id for _, rank in rows]
        # Keyword evidence without the words of the candidate's own document subject (see __init__).
        terms = {d: self._about(retrieval.keywords, d) for d in set(doc_of)}
        question_bigrams = {d: asked.question_bigrams - self.metadata_bigrams.get(d, frozenset()) for d in set(doc_of)}
        ordered = {d: [b if b in question_bigrams[d] else None for b in ordered_bigrams(stripped)] for d in set(doc_of)}
        shares = [self.keyword_share(terms[d], self.folded[i]) for (i, _), d in zip(rows, doc_of, strict=True)]
        all_bigrams = set().union(*question_bigrams.values())
        local = _local_weights(all_bigrams, [self.bigrams[i] & all_bigrams for i, _ in rows])
        out = []
        for (i, rank), d, c, share in zip(rows, doc_of, cos, shares, strict=True):
            text = self.text[i]
            has_type = bool(entity_spans(text, asked.qtype))
            matched = self.bigrams[i] & question_bigrams[d]
            values = {
                "cos": float(c), "cos_gap": float(c - cos.max()),
                "has_subject": float(sentences.framed[i]),
                "kw": share, "kw_gap": share - max(shares),
                "kw_prev": self.neighbour_share(terms[d], i, -1), "kw_next": self.neighbour_share(terms[d], i, +1),
                "bigram": len(matched) / max(len(question_bigrams[d]), 1),
                "bigram_local": sum(local.get(b, 0.0) for b in matched),
                "focus": asked.focus_share(self.bigrams[i]),
                "type": float(has_type),
                "type_missing": float(asked.qtype is not None and not has_type),
                "type_novel": float(bool(asked.novel_spans(text))),
                "passage": hits[rank - 1].score / top_score, "passage_rank": 1.0 / rank,
                "log_len": math.log1p(len(text)),
                "run": longest_run(ordered[d], self.bigrams[i]),
                # What kind of answer is asked, the same for every candidate: it lets the scorer weigh
                # the evidence differently for a why/how/which-items question than for a factoid.
                "asks_reason": float(asked.qtype == "reason"), "asks_manner": float(asked.qtype == "manner"),
                "asks_list": float(asked.qtype == "list"),
            }
            out.append(Candidate(i, rank, laid_out(values, SENTENCE_FEATURES)))
        return out

    def question_evidence(self, asked: AskedFor, retrieval: Retrieval, candidates: list[Candidate], best: Candidate,
                          probabilities: np.ndarray, signals: QuestionSignals) -> dict[str, float]:
        """ABSTAIN_FEATURES for the chosen candidate: does the corpus answer the question at all?
        (The focus features catch the near miss: the passages name the question's subject but
        never the attribute it asks about — 董事长, 营业收入.)"""
        hits = retrieval.hits
        top = self.index.chunks[hits[0].row]
        passage_folded = fold(" ".join([top.title, top.author, *top.section, top.text]))
        dense_top = max(hits, key=lambda h: h.dense if h.dense is not None else -1.0)
        bm25_top = max(hits, key=lambda h: h.bm25 if h.bm25 is not None else -1.0)
        ranked = np.sort(probabilities)[::-1]
        return {
            "top_cos": max((h.dense or 0.0) for h in hits),
            "best_cos": best.feature("cos"),
            "dense_z": retrieval.dense_z,
            "best_kw": best.feature("kw"),
            "best_bigram": best.feature("bigram"),
            "passage_kw": self.keyword_share(retrieval.keywords, passage_folded),
            # The same share over only the words this corpus uses at all: a user's own words for a
            # thing (砸进去多少钱 for 总投资) are in no passage, and say nothing against this one.
            "passage_kw_known": self.keyword_share([t for t in retrieval.keywords if t in self.idf], passage_folded),
            "coverage": retrieval.coverage,
            "agree": float(dense_top.row == bm25_top.row and bm25_top.bm25 is not None),
            "type_asked": max(best.feature("type"), best.feature("type_missing")),
            "type_novel": best.feature("type_novel"),
            # A number or a date the patterns would have found, or a name the tagger may have missed
            # (transliterated names): the same absence says more of the first, so each has its weight.
            "type_absent": float(asked.qtype in RELIABLE_TYPES and not best.feature("type_novel")),
            "name_absent": float(asked.qtype == "person" and not best.feature("type_novel")),
            "type_any": max(c.feature("type_novel") for c in candidates),
            "margin": float(ranked[0] - (ranked[1] if len(ranked) > 1 else 0.0)),
            "meaning": signals.meaning,
            "wants_passage": float(asked.wants_passage),
            "has_focus": float(bool(asked.focus)),
            "best_focus": best.feature("focus"),
            "focus_any": max(c.feature("focus") for c in candidates),
            "background_margin": 0.0 if signals.background is None
            else max(c.feature("cos") for c in candidates) - signals.background,
            # The near misses a user writes: the asked year or measure is not what the sentence gives.
            # (A model or code also by the title: a KRF-260 manual does not describe the KRF-200.)
            "number_conflict": float(asked.contradicts_numbered(self.text[best.sentence]) or asked.contradicts_numbered(
                self.index.chunks[hits[best.passage_rank - 1].row].title, codes_only=True)),
            "unit_missing": float(asked.lacks_unit(self.text[best.sentence])),
        }


def ordered_bigrams(text: str) -> list[str | None]:
    """The text's bigrams in order, None where a non-word character breaks the text."""
    return [a + b if a.isalnum() and b.isalnum() else None for a, b in zip(text, text[1:], strict=False)]


def longest_run(ordered: list[str | None], sentence_bigrams: set[str]) -> float:
    """The longest stretch of the question (in characters) whose consecutive bigrams the sentence
    all holds, over the question's length: questions are often a sentence rewritten around its
    answer, and a long copied stretch says which sentence (a set overlap cannot see order)."""
    best = run = 0
    for bigram in ordered:
        run = run + 1 if bigram is not None and bigram in sentence_bigrams else 0
        best = max(best, run)
    return (best + 1 if best else 0) / max(len(ordered) + 1, 1)


def _local_weights(question_bigrams: set[str], matched: list[set[str]]) -> dict[str, float]:
    """Weight of each question bigram by how rare it is among the candidate sentences, normalised
    to sum to 1: the topic's name appears in every sentence of its passage and tells them apart
    by nothing; the words that paraphrase one sentence do."""
    n = len(matched)
    raw = {b: math.log(1 + n / (1 + sum(b in m for m in matched))) for b in question_bigrams}
    total = sum(raw.values()) or 1.0
    return {b: w / total for b, w in raw.items()}
