"""Hybrid retrieval: dense (FAISS) and keyword (BM25 over jieba tokens), fused by how much each
retriever can be trusted for *this* question.

Plain fusion fails in two known ways: an English question over Chinese text has (almost) no BM25
evidence, yet rank-based fusion gives BM25's arbitrary hits equal votes; and a Chinese question with
strong keyword evidence is better served by BM25 than by the small dense model. So BM25's weight
scales with *keyword coverage*: the IDF-weighted share of the question's content words that occur in
the corpus at all. An English question gets coverage ≈ 0 and is answered by the dense retriever
alone; a Chinese one gets coverage ≈ 1 and the tuned BM25-heavy mix.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import faiss
import numpy as np

from rag.index import LoadedIndex
from rag.textproc import keywords, to_simplified

MODES = ("hybrid", "bm25", "dense")
FUSIONS = ("adaptive", "weighted", "rrf")
#: BM25's share in the weighted mix when the question's keywords are fully covered (tuned on the
#: CMRC trial set, never on dev: see benchmarks/bench_retrieval.py).
BM25_WEIGHT = 0.7
RRF_K = 60
CANDIDATES = 50
#: A chunk's dense score mixes its own cosine with its best sentence's: a question usually matches
#: one sentence, and a paragraph vector blurs it. Tuned on CMRC trial (dense R@1 0.952 → 0.98 on
#: 500 questions, flat for 0.5-0.7); it lifts English questions over Chinese text the most. The
#: sentence vectors are framed by their document's subject where it has one: R@1 the same as with
#: plain ones (CMRC trial hybrid 0.984 → 0.985, DRCD test 0.951 → 0.953, dense −0.2 to +0.1 point).
SENTENCE_WEIGHT = 0.6


@dataclass
class Hit:
    row: int  # chunk row in the index
    score: float  # fused score, higher is better (0..1 for hybrid)
    dense: float | None  # cosine similarity, when the chunk was a dense candidate
    bm25: float | None  # raw BM25 score, when positive


@dataclass
class Retrieval:
    hits: list[Hit]
    query_vector: np.ndarray | None
    keywords: list[str]
    coverage: float  # IDF-weighted share of the question's keywords found in the corpus
    dense_z: float  # how far the best dense match stands above the other candidates (std units)
    encode_ms: float
    search_ms: float


class Retriever:
    def __init__(self, index: LoadedIndex, embedder):
        self.index = index
        self.embedder = embedder
        self.idf = _bm25_idf(index)
        self.max_idf = max(self.idf.values(), default=1.0)  # an unknown word is at least as rare as any
        rows_of: dict[str, list[int]] = {}
        for row, chunk in enumerate(index.chunks):
            rows_of.setdefault(chunk.doc_id, []).append(row)
        self._doc_rows = {d: np.array(rows, dtype=np.int64) for d, rows in rows_of.items()}

    def search(self, question: str, k: int = 10, mode: str = "hybrid", fusion: str = "adaptive",
               doc_ids: list[str] | None = None) -> Retrieval:
        if mode not in MODES or fusion not in FUSIONS:
            raise ValueError(f"mode must be one of {MODES}, fusion one of {FUSIONS}")
        allowed = self._allowed_rows(doc_ids)
        started = time.perf_counter()
        query_vector = None
        if mode != "bm25":
            query_vector = self.embedder.encode_queries([to_simplified(question)])[0]
        encoded = time.perf_counter()

        terms = keywords(question)
        coverage = self._coverage(terms)
        depth = max(k, CANDIDATES)
        dense = self._dense(query_vector, depth, allowed) if query_vector is not None else {}
        lexical = self._bm25(terms, depth, allowed) if mode != "dense" else {}
        if mode == "dense":
            scores = dense
        elif mode == "bm25":
            scores = lexical
        else:
            scores = fuse(dense, lexical, coverage, fusion)
        order = sorted(scores, key=lambda row: (-scores[row], row))[:k]
        hits = [Hit(row, float(scores[row]), dense.get(row), lexical.get(row)) for row in order]
        searched = time.perf_counter()
        return Retrieval(hits, query_vector, terms, coverage, _standout(dense),
                         (encoded - started) * 1000, (searched - encoded) * 1000)

    def _allowed_rows(self, doc_ids: list[str] | None) -> np.ndarray | None:
        if not doc_ids:
            return None
        rows = [self._doc_rows[d] for d in doc_ids if d in self._doc_rows]
        return np.concatenate(rows) if rows else np.array([], dtype=np.int64)

    def _dense(self, vector: np.ndarray, depth: int, allowed: np.ndarray | None) -> dict[int, float]:
        if allowed is not None and len(allowed) == 0:
            return {}
        params = None
        if allowed is not None:
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))
        n = min(depth, self.index.chunk_vectors.ntotal)
        scores, rows = self.index.chunk_vectors.search(vector[None, :].astype(np.float32), n, params=params)
        sentences = self.index.sentences
        out = {}
        for row, score in zip(rows[0], scores[0], strict=True):
            if row < 0:
                continue
            run = sentences.of_chunk(int(row))
            best = float((sentences.read(run) @ vector).max()) if len(run) else float(score)
            out[int(row)] = (1 - SENTENCE_WEIGHT) * float(score) + SENTENCE_WEIGHT * best
        return out

    def _bm25(self, terms: list[str], depth: int, allowed: np.ndarray | None) -> dict[int, float]:
        known = [t for t in terms if t in self.idf]
        if not known:
            return {}
        scores = self.index.bm25.get_scores(known)
        if allowed is not None:
            masked = np.zeros_like(scores)
            masked[allowed] = scores[allowed]
            scores = masked
        return {int(r): float(scores[r]) for r in top_positive_rows(scores, depth)}

    def _coverage(self, terms: list[str]) -> float:
        """IDF-weighted share of the question's keywords that the corpus contains at all."""
        if not terms:
            return 0.0
        weights = [self.idf.get(t, self.max_idf) for t in terms]
        found = sum(w for t, w in zip(terms, weights, strict=True) if t in self.idf)
        return found / sum(weights)


def top_positive_rows(scores: np.ndarray, depth: int) -> np.ndarray:
    """The ``depth`` best rows scoring above 0 (a BM25 score of 0 is no evidence), best first, ties
    by row: ``np.argsort(-scores, kind="stable")`` cut there, without sorting every row (at 100k
    chunks the full sort took ~6 ms of a question's 25 ms). The zeros are left out before the
    partition too: ``np.partition`` over an array that is mostly one repeated value took ~8 ms."""
    rows = np.flatnonzero(scores > 0)
    if len(rows) > depth:
        kept = scores[rows]
        threshold = np.partition(kept, len(kept) - depth)[len(kept) - depth]
        rows = rows[kept >= threshold]  # every row tied at the threshold, in row order
    return rows[np.argsort(-scores[rows], kind="stable")][:depth]


def fuse(dense: dict[int, float], lexical: dict[int, float], coverage: float,
         fusion: str = "adaptive") -> dict[int, float]:
    """Combine the two retrievers' candidate scores into one score per chunk row."""
    if fusion == "rrf":
        fused: dict[int, float] = {}
        for ranking in (dense, lexical):
            for rank, row in enumerate(sorted(ranking, key=lambda r: -ranking[r]), start=1):
                fused[row] = fused.get(row, 0.0) + 1.0 / (RRF_K + rank)
        return fused
    weight = BM25_WEIGHT * (coverage if fusion == "adaptive" else 1.0)
    if not lexical:
        weight = 0.0
    if not dense:
        weight = 1.0
    dense_n, lexical_n = _min_max(dense), _min_max(lexical)
    return {row: (1 - weight) * dense_n.get(row, 0.0) + weight * lexical_n.get(row, 0.0)
            for row in dense.keys() | lexical.keys()}


def _standout(scores: dict[int, float]) -> float:
    """z-score of the top score among the candidates: a question the corpus answers usually has one
    passage that stands out; an off-topic one gets a flat list. Unlike the raw cosine, this does not
    shift with the question's language."""
    if len(scores) < 3:
        return 0.0
    values = np.array(list(scores.values()), dtype=np.float64)
    return float((values.max() - values.mean()) / (values.std() + 1e-6))


def _min_max(scores: dict[int, float]) -> dict[int, float]:
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    span = high - low
    return {row: (s - low) / span if span > 0 else 1.0 for row, s in scores.items()}


def _bm25_idf(index: LoadedIndex) -> dict[str, float]:
    """IDF of every vocabulary word, from the BM25 matrix's document frequencies."""
    bm25 = index.bm25
    vocab: dict[str, int] = bm25.vocab_dict
    indptr = bm25.scores["indptr"]
    doc_freq = np.diff(indptr)  # CSC: one column per vocabulary id
    n_docs = max(bm25.scores.get("num_docs", len(index.chunks)), 1)
    idf = np.log(1 + (n_docs - doc_freq + 0.5) / (doc_freq + 0.5))
    return {word: float(idf[i]) for word, i in vocab.items() if word and doc_freq[i] > 0}
