"""What the answer quotes, always an exact slice of the document's text.

- A **fact** (who, when, how many, which): the best sentence, with the previous one when it leans on
  it (这/其… openings, fragments) or the next one when that one spells out what was asked (例如…);
  when it holds nothing of the kind asked (a name for 由谁负责), the neighbour that does and that the
  scorer finds nearly as likely; and the key span inside it (the number, the date, the enumeration).
- An **answer passage** (how, why, which measures, list questions): the shortest run of consecutive
  sentences of one paragraph (1–4) that answers — the best sentence, extended while the next one
  continues it (一是… 二是…, 同时…, a colon that announces it) or is itself nearly as likely an
  answer. When the passage holds nothing of the kind asked for (no enumeration, no 通过…, no 因为…),
  it reads on through the paragraph to the first sentence that does. A list question whose best
  sentence holds the whole enumeration is answered as a fact with the enumeration as its key span.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.reader.features import Candidate, SentenceEvidence
from rag.reader.qtypes import ABSENCE_TYPES, NAMED_TYPES, entity_spans
from rag.reader.question import AskedFor

# A sentence that leans on the one before it (这/其/该…) does not stand alone: quote both.
_DANGLING_RE = re.compile(r"^(这|其|该|此|它|他们|她们|同时|此外|因此|所以|但|而|并|也|然而|其中|对此|为此|上述)")
_MIN_STANDALONE = 12
# A sentence that announces what the next one spells out (例如/比如/包括…): quote both.
_ELABORATION_RE = re.compile(r"^(例如|比如|譬如|诸如|包括|主要有|主要包括|具体|具体来说|一是|首先)")
# A sentence that goes on with the same answer: the next item, or more of the same.
_CONTINUATION_RE = re.compile(r"^(一是|二是|三是|四是|五是|其一|其二|其三|首先|其次|再次|再者|最后|第[一二三四五六]|同时|此外|另外|"
                              r"并且|而且|还|也|更|进而|从而|以此|通过|例如|比如|譬如|诸如|具体|尤其|特别是|与此同时)")
_ANNOUNCES_RE = re.compile(r"[：:]\s*$")
#: An answer passage holds at most this many sentences and about this many characters.
PASSAGE_SENTENCES = 4
PASSAGE_CHARS = 360
#: A sentence this short only leads into the next one (在营口，一批高新技术企业蓬勃发展。).
_SHORT_LEAD = 20
#: A neighbouring sentence joins the passage when the sentence scorer finds it at least this likely
#: relative to the best one. Chosen out of fold (stop 21): 0.35 → 0.2 answered 11 more of 604
#: how/why/list questions for passages ~15% longer (~100 → ~120 characters).
RELATIVE_LIKELIHOOD = 0.2
#: A sentence of which the question repeats this share (of its bigrams) only restates what was asked
#: (…仍存在一些短板。 for …还有哪些短板): the answer passage goes on to the next one.
RESTATES_QUESTION = 0.3
#: The kinds of question whose answer passage reads on through its paragraph when it holds nothing of
#: the kind asked for (no enumeration for 哪些, no 通过… for 如何, no 因为… for 为什么): the paragraph
#: opened on its topic and the answer comes after (…长者食堂最受欢迎。…社区采取了…的办法).
READ_ON_TYPES = frozenset({"list", "manner", "reason"})
#: The kinds of fact whose quote takes in a neighbouring sentence that holds the kind asked for when
#: the best one holds none and the scorer finds the neighbour likely too (RELATIVE_LIKELIHOOD):
#: …对镇图书馆进行了全面改造。改造工程由…站长周雨桐负责。 for 由谁负责. Out of fold (stop 22): DRCD
#: +13 of 3,493 answered right, trial +1, how/why unchanged; the scorer's labels are unchanged.
NEIGHBOUR_TYPES = ABSENCE_TYPES | NAMED_TYPES


@dataclass(frozen=True)
class Quote:
    start: int  # document offsets of the quoted text
    end: int
    sentences: tuple[tuple[int, int], ...]  # document offsets of each quoted sentence
    kind: str  # "fact" or "passage"


def leans_on_previous(sentence: str) -> bool:
    """这/其/该… openings and fragments: the sentence does not stand without the one before it."""
    return bool(_DANGLING_RE.match(sentence)) or len(sentence) < _MIN_STANDALONE


class Quoter:
    def __init__(self, evidence: SentenceEvidence):
        self.evidence = evidence
        self.sentences = evidence.index.sentences

    def quote(self, asked: AskedFor, candidate: Candidate,
              likelihood: dict[int, float] | None = None) -> Quote:
        """The quote for ``candidate``; ``likelihood`` (sentence row → the scorer's probability among
        the candidates) lets an answer passage take in the sentences that also answer."""
        if asked.wants_passage:
            rows, kind = self._passage_rows(asked, candidate.sentence, likelihood or {}), "passage"
        else:
            rows, kind = self._fact_rows(asked, candidate.sentence), "fact"
            rows = self._with_typed_neighbour(asked, rows, likelihood or {})
            if asked.qtype is None and not asked.key_span(self._text(rows)):
                # An open question (…有什么作用, what did X bring) whose sentence holds no slot for
                # the answer: the evidence says it is explained, not stated — an answer passage.
                grown = self._passage_rows(asked, candidate.sentence, likelihood or {})
                if len(grown) > len(rows) and set(rows) <= set(grown):
                    rows, kind = grown, "passage"
        spans = tuple((int(self.sentences.start[r]), int(self.sentences.end[r])) for r in rows)
        return Quote(spans[0][0], spans[-1][1], spans, kind)

    def _text(self, rows: list[int]) -> str:
        return "".join(self.evidence.text[r] for r in rows)

    def _paragraph(self, row: int) -> range:
        return self.sentences.of_chunk(int(self.sentences.chunk[row]))

    def _fact_rows(self, asked: AskedFor, i: int) -> list[int]:
        own = self._paragraph(i)
        text = self.evidence.text
        if leans_on_previous(text[i]) and i > own.start:
            return [i - 1, i]  # the previous sentence gives it its subject
        if i + 1 < own.stop:
            following = text[i + 1]
            if _ELABORATION_RE.match(following) and not asked.key_span(text[i]):
                return [i, i + 1]  # "…faces problems. For example, A, B and C." — the list
            if _DANGLING_RE.match(following) and \
                    asked.focus_share(self.evidence.bigrams[i + 1]) > asked.focus_share(self.evidence.bigrams[i]):
                # "X is a typical case. Its workshop uses Y." — X introduced, the next one says what was asked
                return [i, i + 1]
        return [i]

    def _with_typed_neighbour(self, asked: AskedFor, rows: list[int], likelihood: dict[int, float]) -> list[int]:
        """``rows``, and the neighbour on either side that holds the kind of answer asked for when
        ``rows`` hold none and the scorer finds that neighbour at least RELATIVE_LIKELIHOOD as likely."""
        if asked.qtype not in NEIGHBOUR_TYPES or not likelihood or entity_spans(self._text(rows), asked.qtype):
            return rows
        if asked.qtype == "person" and not asked.wants_a_name and asked.key_span(self._text(rows)):
            return rows  # 由县财政承担 answers 由谁承担: no name needed from a neighbour
        own = self._paragraph(rows[0])
        best = max(likelihood.get(r, 0.0) for r in rows)
        options = [(likelihood.get(r, 0.0), r) for r in (rows[-1] + 1, rows[0] - 1)
                   if own.start <= r < own.stop and likelihood.get(r, 0.0) >= RELATIVE_LIKELIHOOD * best > 0
                   and entity_spans(self.evidence.text[r], asked.qtype)]
        if not options:
            return rows
        row = max(options)[1]
        return sorted([*rows, row])

    def _passage_rows(self, asked: AskedFor, i: int, likelihood: dict[int, float]) -> list[int]:
        """The best sentence, grown one neighbour at a time (the likelier side first) while the
        neighbour continues it or is itself a likely answer, up to PASSAGE_SENTENCES / PASSAGE_CHARS."""
        own = self._paragraph(i)
        text = self.evidence.text
        best = likelihood.get(i, 0.0)
        rows = [i]

        def joins(row: int, after: bool) -> bool:
            if not own.start <= row < own.stop or not self._fits(rows, row):
                return False
            if after:  # the next sentence goes on with the answer, or the last one announced it
                continues = bool(_CONTINUATION_RE.match(text[row]) or _ANNOUNCES_RE.search(text[rows[-1]])
                                 or leans_on_previous(text[row]) or len(text[rows[-1]]) < _SHORT_LEAD
                                 or asked.restated_share(self.evidence.bigrams[rows[-1]]) >= RESTATES_QUESTION)
            else:  # the first sentence needs the one before it, or that one announces it
                continues = bool(leans_on_previous(text[rows[0]]) or _ANNOUNCES_RE.search(text[row]))
            return continues or (best > 0 and likelihood.get(row, 0.0) >= RELATIVE_LIKELIHOOD * best)

        while len(rows) < PASSAGE_SENTENCES:
            before, after = rows[0] - 1, rows[-1] + 1
            options = [(likelihood.get(r, 0.0), r, r == after) for r in (before, after) if joins(r, r == after)]
            if not options:
                break
            _, row, is_after = max(options)
            rows = [*rows, row] if is_after else [row, *rows]
        return self._read_on(asked, rows, own)

    def _fits(self, rows: list[int], row: int) -> bool:
        """Whether sentence ``row`` still fits in an answer passage of ``rows``."""
        text = self.evidence.text
        return len(rows) < PASSAGE_SENTENCES and sum(len(text[r]) for r in rows) + len(text[row]) <= PASSAGE_CHARS

    def _read_on(self, asked: AskedFor, rows: list[int], own: range) -> list[int]:
        """``rows``, or when they hold nothing of the kind asked for, ``rows`` and the following
        sentences of the paragraph up to the first that does (within the passage's limits)."""
        text = self.evidence.text
        if asked.qtype not in READ_ON_TYPES or entity_spans(self._text(rows), asked.qtype):
            return rows
        grown = list(rows)
        while grown[-1] + 1 < own.stop and self._fits(grown, grown[-1] + 1):
            grown.append(grown[-1] + 1)
            if entity_spans(text[grown[-1]], asked.qtype):
                return grown
        return rows
