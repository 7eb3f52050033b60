"""What a question asks for, worked out once per question: the kind of answer (a number, a date, a
list, a method, a reason…), the form the answer takes (a fact or an answer passage), and the words
next to the question word that the answer sentence is likely to repeat."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from rag.reader.qtypes import (
    NAMED_TYPES,
    PASSAGE_TYPES,
    PEOPLE_COUNTERS,
    asked_unit,
    asks_for_a_name,
    entity_spans,
    enumeration_around,
    is_passage_lookup,
    measure_unit,
    novel_offices,
    offices_asked,
    question_type,
)
from rag.textproc import fold, fold_in_place

_INTERROGATIVES_RE = re.compile(r"什么|多少|哪些|哪个|哪里|哪儿|哪一|哪|谁|几|何时|何|怎么|怎样|如何|为什么|吗|呢|？|\?")
_FOCUS_REACH = 4


@dataclass(frozen=True)
class AskedFor:
    """What a question asks for (the candidates and the quote reuse it)."""

    qtype: str | None
    folded_question: str
    unit: re.Pattern[str] | None
    focus: frozenset[str]  # bigrams next to the question word: what the answer sentence talks about
    named_unit: str | None = None  # 元 in 每份补贴多少元: the key span is the number that carries it

    @classmethod
    def of(cls, question: str) -> AskedFor:
        qtype = question_type(question)
        folded = fold(question)
        number = qtype == "number"
        return cls(qtype, folded, measure_unit(question) if number else None, focus_bigrams(folded),
                   asked_unit(question) if number else None)

    @property
    def wants_passage(self) -> bool:
        """How/why/list questions are answered by a passage of one to four sentences when one
        sentence does not hold the whole answer."""
        return self.qtype in PASSAGE_TYPES

    @functools.cached_property
    def wants_a_name(self) -> bool:
        """局长是谁: only a person's name answers (由谁负责 may be answered by an office or a body)."""
        return asks_for_a_name(self.folded_question, self.qtype)

    @functools.cached_property
    def offices(self) -> tuple[str, ...]:
        """The offices a name question asks about (县委书记, 董事长): the answer stands next to one."""
        return offices_asked(self.folded_question) if self.wants_a_name else ()

    def focus_share(self, sentence_bigrams: set[str]) -> float:
        return len(self.focus & sentence_bigrams) / max(len(self.focus), 1)

    @functools.cached_property
    def question_bigrams(self) -> frozenset[str]:
        """The question's bigrams without its question words (what a sentence can repeat of it)."""
        return frozenset(bigrams(strip_interrogatives(self.folded_question)))

    def restated_share(self, sentence_bigrams: set[str]) -> float:
        """How much of a sentence the question already says: high for the sentence that a why/how
        question was written from (与工业污染相比，…治理难度更大。 for 为何…比工业污染更难治理), whose
        answer is the sentence after it."""
        return len(self.question_bigrams & sentence_bigrams) / max(len(sentence_bigrams), 1)

    def novel_spans(self, text: str) -> list[tuple[int, int]]:
        """Entities of the asked-for kind in ``text`` that the question does not already contain
        (and, for a measured number, that carry the measure's unit)."""
        folded = fold_in_place(text)
        spans = [sp for sp in entity_spans(text, self.qtype) if not self.says(folded[sp[0]:sp[1]])]
        if self.unit is not None:  # a number in another unit is not the measure asked (10家 for 面积)
            measured = [sp for sp in spans if self.unit.search(folded[sp[0]:sp[1]])]
            spans = measured or [sp for sp in spans if _BARE_NUMBER_RE.match(folded[sp[0]:sp[1]])]
        return spans

    def lacks_unit(self, text: str) -> bool:
        """A number question that names a measure (投资多少钱, 面积) and ``text`` holds no number in
        its unit: 增设车位300个 does not say what the car park costs."""
        if self.unit is None:
            return False
        folded = fold_in_place(text)
        return not any(self.unit.search(folded[a:b]) for a, b in entity_spans(text, self.qtype))

    @functools.cached_property
    def numbered(self) -> dict[str, frozenset[int]]:
        """The numbered things the question names, by kind (2024年; 二期, 第三届, 4号线)."""
        return numbered_things(self.folded_question)

    def contradicts_numbered(self, text: str, codes_only: bool = False) -> bool:
        """``text`` numbers a kind of thing the question numbers (a year, a phase, a line, a model or
        a fault code…), never with the question's number: 2025年…招收4600人 does not say how many
        were admitted in 2024, nor 一期工程于2020年开工 when 二期 starts, nor E1表示… what E2 means.
        (A sentence that names none may still answer.) ``codes_only``: only models and codes, which
        a document's title may also decide (a KRF-260 manual does not describe the KRF-200)."""
        if not self.numbered:
            return False
        said = numbered_things(fold_in_place(text))
        return any(kind in said and not said[kind] & numbers for kind, numbers in self.numbered.items()
                   if kind.startswith(CODE) or not codes_only)

    def key_span(self, text: str) -> tuple[int, int] | None:
        """The part of ``text`` that answers: the first entity of the asked-for kind that the
        question does not already name; for a list (or a place, a firm…) inside an enumeration,
        the whole enumeration (欧洲、日韩和东南亚, not 欧洲)."""
        spans = self.novel_spans(text)
        if not spans and self.qtype == "person":
            # 由区长任组长 for 组长由谁担任: an office answers when no one is named.
            spans = novel_offices(text, self.folded_question)
            if not spans and (slot := slot_span(self.folded_question, text)) is not None:
                return self._body_in_slot(text, slot)
        if not spans:
            return slot_span(self.folded_question, text) if self.qtype not in PASSAGE_TYPES else None
        if self.qtype == "list":
            return max(spans, key=lambda sp: (self._clause_overlap(text, sp), sp[1] - sp[0]))
        if self.named_unit and self.named_unit not in PEOPLE_COUNTERS:
            # (People are counted in 名 or 人 alike: 员工1200余人 answers 多少名员工.)
            folded = fold_in_place(text)
            spans = [sp for sp in spans if self.named_unit in folded[sp[0]:sp[1]]] or spans
        chosen = spans[0]
        counted = [sp for sp in spans if self._next_to_counted_noun(text, sp)] if len(spans) > 1 else []
        if counted:
            # 社区食堂12个 for 有多少个社区食堂: the number next to what is counted, not the 15个 of
            # 在15个街道 before it (the text need not put the number where the question word stands).
            chosen = counted[0]
        elif len(spans) > 1 and (slot := slot_span(self.folded_question, text)) is not None:
            # Of several numbers, dates or names, the one standing where the question word stands
            # (1600余名 in 每天为1600余名老人提供午餐 for 每天给多少老人提供午餐, not the 12个 before it).
            chosen = next((sp for sp in spans if sp[0] < slot[1] and slot[0] < sp[1]), chosen)
        if self.qtype in NAMED_TYPES:
            return enumeration_around(text, chosen) or chosen
        return chosen

    @staticmethod
    def _body_in_slot(text: str, slot: tuple[int, int]) -> tuple[int, int]:
        """A who-answer that names no person: the body standing where the question word stands
        (省交通规划设计院 for 是谁设计的, whole even where the slot's end anchor cut into it; 县财政 for
        由谁承担, without the 由)."""
        body = next((sp for sp in entity_spans(text, "org") if sp[0] < slot[1] and slot[0] < sp[1]), None)
        if body is not None:
            return body
        start = slot[0] + (fold_in_place(text)[slot[0]] in "由被")
        return (start, slot[1]) if start < slot[1] else slot

    @functools.cached_property
    def counted_noun(self) -> str | None:
        """What a how-many question counts (社区食堂 in 有多少个社区食堂; the rest of its clause, so
        老人提供午餐 for 为多少名老人提供午餐), when it names it after the question word; None for
        多少元, 多少个 at the end, or another kind of question."""
        if self.qtype != "number":
            return None
        found = _COUNTED_RE.search(self.folded_question)
        noun = found.group(1) if found else ""
        return noun if len(noun) >= 2 else None

    def says(self, folded_words: str) -> bool:
        """The question already says these words — as words: the 60 of 60升 is not in 青禾T60 (a
        Latin letter or a digit next to it makes it part of another token)."""
        return any(not (_alnum_at(self.folded_question, at - 1) or _alnum_at(self.folded_question, at + len(folded_words)))
                   for at in _occurrences(folded_words, self.folded_question)) if folded_words else True

    def _next_to_counted_noun(self, text: str, span: tuple[int, int]) -> bool:
        """The number stands right before the counted noun (12个社区食堂, 1600余名老人) or right after
        it (社区食堂12个, 社区食堂共12个): a bigram of the noun touches it."""
        noun = self.counted_noun
        if noun is None:
            return False
        folded = fold_in_place(text)
        noun_bigrams = bigrams(noun)
        after = folded[span[1]:span[1] + 2]
        if after in noun_bigrams or noun in folded[span[1]:span[1] + len(noun) + 2]:
            return True
        before = folded[max(0, span[0] - 5):span[0]]
        stripped = before.rstrip(_COUNT_GAP_CHARS)
        return len(before) - len(stripped) <= 3 and stripped[-2:] in noun_bigrams

    def _clause_overlap(self, text: str, span: tuple[int, int]) -> int:
        """How many of the question's bigrams the clause around ``span`` repeats: of two lists in
        a sentence, the one the question asks about (远销… for 远销哪些地区)."""
        start = max((text.rfind(p, 0, span[0]) for p in _CLAUSE_ENDS), default=-1) + 1
        ends = [e for e in (text.find(p, span[1]) for p in _CLAUSE_ENDS) if e >= 0]
        clause = fold(text[start:min(ends, default=len(text))])
        return len(bigrams(clause) & self.question_bigrams)


# 2024年 and the years of a range (2021—2025年 names 2023 too), four digits only (民国三年 and 光绪二十年
# are read by no rule here); phases, lines, editions and batches (二期, 4号线, 第三届, 第二批, 第五代; not
# the 一代 of 哪一代 or 每一期).
_YEAR_RE = re.compile(r"(?<!\d)(1\d{3}|20\d{2})(?:\s*[-—–~至到]\s*(1\d{3}|20\d{2}))?\s*年")
# An English question's year: "visitors in 2024" (the sentence's years are read by _YEAR_RE).
_EN_YEAR_RE = re.compile(r"\b(?:in|during|since|by|until|before|after|of|for)\s+(1\d{3}|20\d{2})\b", re.I)
_NUMBERED_RE = re.compile(r"(?<![\d一二三四五六七八九十哪几每])(\d{1,3}|[一二三四五六七八九十]{1,3})\s*(期|号线|届|批|代(?![码表理价替]))")
_CN_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")}
# Models and codes: letters then digits (KRF-260, E2, T60), under the kind "code:" + the letters.
_CODE_RE = re.compile(r"(?<![a-z0-9])([a-z]{1,4})-?(\d{1,5})(?![a-z0-9])")
CODE = "code:"


def _small_number(text: str) -> int | None:
    """12 or 十二 (up to 99) as an int."""
    if text.isdigit():
        return int(text)
    tens, _, ones = text.partition("十")
    if "十" not in text:
        return _CN_DIGITS.get(text) if len(text) == 1 else None
    return (_CN_DIGITS.get(tens, 0) if tens else 1) * 10 + (_CN_DIGITS.get(ones, 0) if ones else 0)


def numbered_things(folded: str) -> dict[str, frozenset[int]]:
    found: dict[str, set[int]] = {}
    for match in _YEAR_RE.finditer(folded):
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) else first
        found.setdefault("年", set()).update(range(first, last + 1) if 0 <= last - first <= 50 else (first, last))
    for match in _EN_YEAR_RE.finditer(folded):
        found.setdefault("年", set()).add(int(match.group(1)))
    for match in _NUMBERED_RE.finditer(folded):
        if (number := _small_number(match.group(1))) is not None:
            found.setdefault(match.group(2), set()).add(number)
    for match in _CODE_RE.finditer(folded):
        found.setdefault(CODE + match.group(1), set()).add(int(match.group(2)))
    return {kind: frozenset(numbers) for kind, numbers in found.items()}


def _occurrences(needle: str, haystack: str) -> list[int]:
    return [m.start() for m in re.finditer(re.escape(needle), haystack)]


def _alnum_at(text: str, at: int) -> bool:
    """An ASCII letter or digit at ``at`` (False outside the text), next to a span that starts or
    ends with one: 青禾t60's 60, 2024年's 20 — but not 营口 inside 营口港 (Chinese has no word breaks)."""
    return 0 <= at < len(text) and text[at].isascii() and text[at].isalnum()


_CLAUSE_ENDS = "，。；：！？,;:!?"
# 多少个社区食堂, 几名老人: the counted noun is the run of word characters after the measure word
# (a 的 or a verb-like break ends it: 多少个食堂的补贴 counts 食堂).
_COUNTED_RE = re.compile(r"(?:多少|几)(?:个|名|位|家|所|座|条|项|种|户|人|次|台|辆|套|处|间|块|张|本|只|头)?"
                         r"([\u4e00-\u9fff]{2,6}?)(?=的|了|呢|吗|？|\?|$|[，。；、,;])")
# What may stand between the noun and its number: 社区食堂共12个, 食堂总数达12个, 病床数量为300张.
_COUNT_GAP_CHARS = "共有达为约计总数量到合是"
# Without a number in the measure's unit, one that carries no unit at all (六亿七千多万 for 人口,
# 五分之四 for 比例) may be the measure asked.
_BARE_NUMBER_RE = re.compile(r"[\d.,零〇一二两三四五六七八九十百千万亿多余分之半数\s]+$")


_SLOT_WORD_RE = re.compile(r"什么|哪些|哪个|哪里|哪儿|哪一|哪|谁|多少|多[长高宽深远重大久低矮短浅轻近小快慢厚粗细]|几|何时|何地|何")
_SLOT_STOPS = "，。；：！？、,;:!?（）()"
_COPULA_RE = re.compile(r"^(?:的|是|为|乃|叫|叫做|称为|称作|名为|即|有|包括|在于)")
_TRAILING_FUNCTION_RE = re.compile(r"(?:的|是|为|叫|有|乃|在|了)+$")
_ANCHOR_SAME = str.maketrans("至", "到")
_MIN_ANCHOR = 2
_CATEGORY_REACH = 4  # characters after the question word the answer also replaces (什么季节, 哪个国家)
_MAX_SLOT = 30


def slot_span(folded_question: str, text: str) -> tuple[int, int] | None:
    """The words of ``text`` that stand where the question word stands: the question says
    "L 什么 R", the sentence says "L x R", and x is the answer (车站原名为Y，… for 车站的原名是什么).
    The anchors are the longest end of L and start of R that the sentence repeats."""
    found = _SLOT_WORD_RE.search(folded_question)
    if found is None:
        return None
    # 缩短到 in the question, 缩短至 in the text: the anchors compare words that mean the same, one
    # character for one (the offsets stay the text's).
    folded = fold_in_place(text).translate(_ANCHOR_SAME)
    folded_question = folded_question.translate(_ANCHOR_SAME)
    left = _TRAILING_FUNCTION_RE.sub("", re.split(f"[{_SLOT_STOPS}]", folded_question[:found.start()])[-1])
    right = re.split(f"[{_SLOT_STOPS}]", folded_question[found.end():])[0]
    start = _after_longest_suffix(left, folded)
    end = _before_longest_prefix(right, folded, start or 0)
    for skip in range(1, _CATEGORY_REACH + 1):
        # "什么季节开花": the answer (秋季) takes the place of the question word and its category noun.
        if end is not None or len(right) - skip < _MIN_ANCHOR:
            break
        end = _before_longest_prefix(right[skip:], folded, start or 0)
    if start is None and end is None:
        return None
    if start is None or (end is not None and end - start > _MAX_SLOT):
        # No left anchor, or one far off (大桥由…设计，…于2019年3月开工，2022年10月建成通车 for
        # 大桥什么时候建成通车): the answer stands in the right anchor's clause.
        start = max(start or 0, max(folded.rfind(ch, 0, end) for ch in _SLOT_STOPS) + 1)
    while start < len(text) and (match := _COPULA_RE.match(folded[start:])) and (end is None or start + match.end() < end):
        start += match.end()
    if end is None:
        stops = [i for i in (folded.find(ch, start) for ch in _SLOT_STOPS) if i >= 0]
        end = min(stops, default=len(text))
    if not 0 < end - start <= _MAX_SLOT or fold(text[start:end]) in folded_question:
        return None
    return start, end


def _after_longest_suffix(anchor: str, folded: str) -> int | None:
    for size in range(len(anchor), _MIN_ANCHOR - 1, -1):
        at = folded.find(anchor[-size:])
        if at >= 0:
            return at + size
    return None


def _before_longest_prefix(anchor: str, folded: str, after: int) -> int | None:
    for size in range(len(anchor), _MIN_ANCHOR - 1, -1):
        at = folded.find(anchor[:size], after)
        if at >= 0:
            return at
    return None


def key_span(question: str, text: str) -> tuple[int, int] | None:
    """The key span of ``text`` for ``question`` (see ``AskedFor.key_span``)."""
    return AskedFor.of(question).key_span(text)


_REPEAT_RE = re.compile(r"(\w{1,3}?)\1+")
_MIN_REPEATED = 4


def is_repetition(question: str) -> bool:
    """The question is little but a few characters or words said over and over (营营口口口, 治理治理治理,
    哈哈哈哈): no words, though its vector sits near the word it repeats. With each immediate repeat
    cut to one, at most half of it is left (a real question loses a 谢谢 or 明明白白 at most)."""
    text = "".join(_WORD_CHAR_RE.findall(fold(question)))
    return len(text) >= _MIN_REPEATED and len(_REPEAT_RE.sub(r"\1", text)) * 2 <= len(text)


_WORD_CHAR_RE = re.compile(r"\w")


def strip_interrogatives(text: str) -> str:
    return _INTERROGATIVES_RE.sub(" ", text)


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
