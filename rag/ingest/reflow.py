"""Raw lines → clean blocks (headings and paragraphs): undo the hard wraps and page breaks of PDF text.

Text extracted from a newspaper PDF breaks every ~17 characters and at every page end, often
mid-sentence and sometimes with a blank line. The rules, checked against the shipped essays:

- a blank line is a paragraph break only after a sentence-final line (``。``, ``！``, ``？``, ``…``,
  a full stop, also after a number ``…in 1892.``; optionally closed by a quote); after any other line
  it is a page break inside a sentence;
- a line ending in a number's ``.`` goes on when the next starts with a digit (``增长了3.`` / ``5%``,
  a decimal or section number broken at its point), and a line that is only ``1.`` is an item's number;
- without a blank line, a sentence-final line ends its paragraph only when it is clearly shorter
  than the column width (``绿色低碳转型。`` in a 17-character column);
- a numbered heading (``一、`` ``（一）`` ``第一章`` ``1.`` ``#``) starts at a paragraph start and is
  continued by a short following line when it filled the column (``…重要讲话`` / ``精神``).

Text that is not hard-wrapped (one paragraph per line) keeps its lines as paragraphs. Markdown is
typed, not extracted: blank lines and list items separate its paragraphs and its spacing is kept.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field

# Heading kinds, outermost first: a document's levels are the ranks of the kinds it uses.
HEADING_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("chapter", re.compile(r"第[一二三四五六七八九十百零〇\d]+[章篇部]")),
    ("section", re.compile(r"第[一二三四五六七八九十百零〇\d]+节")),
    ("cn", re.compile(r"[一二三四五六七八九十百]+、")),
    ("paren_cn", re.compile(r"[（(][一二三四五六七八九十百]+[）)]")),
    ("num", re.compile(r"\d{1,2}[.．、](?!\d)\s*\S")),
    ("paren_num", re.compile(r"[（(]\d{1,2}[）)]")),
]
HEADING_ORDER = [kind for kind, _ in HEADING_PATTERNS]
_SPACED_MARKER = re.compile(r"(第[一二三四五六七八九十百零〇\d]+[章节篇部]|\d{1,2}[.．])\s+")
_MD_HEADING = re.compile(r"(#{1,6})\s+(.*?)\s*#*\s*$")
_MD_LIST_ITEM = re.compile(r"(?:[-*+]|\d+[.)])\s")
_MD_FENCE = re.compile(r"(```|~~~)")

_SENTENCE_FINAL = re.compile(r"(?:[。！？!?…]|[^.]\.)[”’」』）)\"']*$")  # not "...": an ellipsis
_LIST_NUMBER = re.compile(r"\d{1,2}\.")  # a line that is only "1.": an item's number, its text follows
_DECIMAL_POINT_END = re.compile(r"\d\.$")  # "增长了3." / "5%": a number broken at its decimal point
_INNER_STOP = re.compile(r"[。！？；]")
_CJK_SIDE = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef“”‘’—…·《》〈〉【】]")
_NUMBER_THEN_CJK = re.compile(r"[\d.,%]+(?:$|[\u2e80-\u9fff\uff00-\uffef])")  # "4", "24日上午"
_CJK_THEN_NUMBER = re.compile(r"(?:^|[\u2e80-\u9fff\uff00-\uffef])[\d.,%]+$")  # "2025", "考察。24"
_SPACES = re.compile(r"[ \t\u00a0\u3000]+")
_SOFT_HYPHEN = "\u00ad"
_HYPHENATED = re.compile(r"[^\W\d_]-$")  # a line that breaks a word at its hyphen
_MAX_HEADING_WIDTH = 40
_SHORT_LINE_RATIO = 0.8  # a sentence-final line at most this share of the column ends a paragraph
_FULL_HEADING_RATIO = 0.75  # a heading at least this wide may wrap onto the next line...
_CONTINUATION_RATIO = 0.5  # ...if that line is at most this wide
_UNWRAPPED_JOIN_WIDTH = 15  # unwrapped text: a line this wide that stops mid-sentence was broken


@dataclass
class Block:
    """A heading or a paragraph of a document, already cleaned."""

    text: str
    heading_kind: str | None = None  # None for a paragraph; a HEADING_ORDER kind or "md1".."md6"
    lines: list[int] = field(default_factory=list)  # the indices of the raw lines it was made from


def width(text: str) -> float:
    """Printed width in CJK cells: wrap widths compare CJK and Latin lines fairly."""
    return sum(0.5 if ord(ch) < 128 else 1.0 for ch in text.strip())


def is_sentence_final(line: str) -> bool:
    """Whether a line ends a sentence: "…in 1892." does, a bare list number "1." does not."""
    line = line.strip()
    return bool(_SENTENCE_FINAL.search(line)) and not _LIST_NUMBER.fullmatch(line)


def breaks_a_number(left: str, right: str) -> bool:
    """A line ending in digits and "." followed by one starting with a digit broke a decimal number
    ("3." / "5%") or a section number ("第3." / "2节"): the lines go on, whatever the stop says."""
    return bool(_DECIMAL_POINT_END.search(left)) and right[:1].isdigit()


def heading_kind(line: str, markdown: bool = False) -> str | None:
    """The numbering kind of a heading line, or None for body text (a heading has no full stop)."""
    line = line.strip()
    if markdown:
        match = _MD_HEADING.match(line)
        return f"md{len(match.group(1))}" if match and match.group(2) else None
    if width(line) > _MAX_HEADING_WIDTH or _INNER_STOP.search(line):
        return None
    return next((kind for kind, pattern in HEADING_PATTERNS if pattern.match(line)), None)


def heading_text(line: str, markdown: bool = False) -> str:
    """The heading as it should be shown: Markdown marks dropped, PDF artefact spaces removed."""
    if markdown and (match := _MD_HEADING.match(line.strip())):
        return collapse_spaces(match.group(2))
    if match := _SPACED_MARKER.match(line.strip()):  # "第一章 总则", "1. 背景": the space is conventional
        return f"{match.group(1)} {clean_spaces(line.strip()[match.end():])}"
    return clean_spaces(line)


def collapse_spaces(text: str) -> str:
    """Typed text (Markdown) keeps its spacing; only runs of whitespace become one space."""
    return _SPACES.sub(" ", text.strip())


def clean_spaces(text: str) -> str:
    """Drop the spaces a PDF puts around numbers and between CJK characters; keep real separators."""
    parts = _SPACES.split(text.strip())
    out = parts[0]
    for part in parts[1:]:
        out += ("" if _is_artefact_space(out, part) else " ") + part
    return out


def _is_artefact_space(left: str, right: str) -> bool:
    """A space is an artefact between two CJK characters, or between CJK text and a bare number."""
    left_cjk, right_cjk = bool(_CJK_SIDE.match(left[-1])), bool(_CJK_SIDE.match(right[0]))
    if left_cjk and right_cjk:
        return True
    if left_cjk:
        return bool(_NUMBER_THEN_CJK.match(right))
    return right_cjk and bool(_CJK_THEN_NUMBER.search(left))


def join_lines(left: str, right: str) -> str:
    """Join a hard-wrapped line to the next: no space in CJK text, one space between Latin words;
    a word broken at a soft hyphen is mended, one broken at a hyphen keeps it ("well-" "known")."""
    if left.endswith(_SOFT_HYPHEN):
        return left[:-1] + right
    if breaks_a_number(left, right):
        return left + right
    if _CJK_SIDE.match(left[-1]) or _CJK_SIDE.match(right[0]) or _HYPHENATED.search(left):
        return left + right
    return f"{left} {right}"


def reflow(lines: list[str], markdown: bool = False) -> list[Block]:
    """Headings and paragraphs of a document body, with wrapped lines and page breaks joined."""
    return _Reflower(lines, markdown).run()


class _Reflower:
    """One pass over the lines, carrying the open paragraph and whether a blank line came before."""

    def __init__(self, lines: list[str], markdown: bool) -> None:
        self.lines = [line.strip() for line in lines]
        self.markdown = markdown
        self.column = column_width(self.lines, markdown)
        self.blocks: list[Block] = []
        self.paragraph: list[str] = []  # the raw lines of the open paragraph
        self.paragraph_lines: list[int] = []  # and their indices
        self.blank_before = False
        self.after_break = True  # the previous line ended a paragraph or a heading
        self.in_fence = False

    def run(self) -> list[Block]:
        index = 0
        while index < len(self.lines):
            index = self._take(index)
        self._close_paragraph()
        return self.blocks

    def _take(self, index: int) -> int:
        """Consume the line at ``index`` (and a heading's continuation); return the next index."""
        line = self.lines[index]
        if self.markdown and _MD_FENCE.match(line):
            self.in_fence = not self.in_fence
        if not line:
            self.blank_before = True
            return index + 1
        kind = self._heading_kind(line)
        if kind:
            return self._take_heading(index, kind)
        if self.paragraph and not self._joins(self.paragraph[-1], line):
            self._close_paragraph()
        self.paragraph.append(line)
        self.paragraph_lines.append(index)
        self.after_break = is_sentence_final(line) or line.endswith(("：", ":"))
        self.blank_before = False
        return index + 1

    def _heading_kind(self, line: str) -> str | None:
        if self.in_fence:
            return None
        kind = heading_kind(line, self.markdown)
        at_start = self.after_break or self.blank_before or not self.paragraph
        return kind if kind and (self.markdown or at_start) else None

    def _take_heading(self, index: int, kind: str) -> int:
        self._close_paragraph()
        text, used, index = self.lines[index], [index], index + 1
        if self._continues_heading(text, index):
            text, used, index = join_lines(text, self.lines[index]), [*used, index], index + 1
        self.blocks.append(Block(heading_text(text, self.markdown), kind, used))
        self.after_break, self.blank_before = True, False
        return index

    def _continues_heading(self, heading: str, index: int) -> bool:
        """A heading that filled the column goes on in a short, unpunctuated line before a break."""
        if self.markdown or self.column is None or index >= len(self.lines):
            return False
        nxt = self.lines[index]
        followed_by_break = index + 1 >= len(self.lines) or not self.lines[index + 1]
        return (bool(nxt) and followed_by_break and not is_sentence_final(nxt)
                and heading_kind(nxt) is None
                and width(heading) >= _FULL_HEADING_RATIO * self.column
                and width(nxt) <= _CONTINUATION_RATIO * self.column)

    def _joins(self, previous: str, line: str) -> bool:
        """Whether ``line`` continues the paragraph whose last raw line is ``previous``."""
        if self.markdown:
            return not self.blank_before and not _MD_LIST_ITEM.match(line) and not self.in_fence
        if breaks_a_number(previous, line):
            return True
        if is_sentence_final(previous):
            return False if self.blank_before else not self._ends_paragraph_here(previous)
        return self.column is not None or width(previous) >= _UNWRAPPED_JOIN_WIDTH

    def _ends_paragraph_here(self, line: str) -> bool:
        """A sentence-final line ends its paragraph unless it fills the column (hard-wrapped text)."""
        if not is_sentence_final(line):
            return False
        return self.column is None or width(line) <= _SHORT_LINE_RATIO * self.column

    def _close_paragraph(self) -> None:
        if self.paragraph:
            text = self.paragraph[0]
            for line in self.paragraph[1:]:
                text = join_lines(text, line)
            clean = collapse_spaces if self.markdown else clean_spaces
            self.blocks.append(Block(clean(text), lines=self.paragraph_lines))
            self.paragraph, self.paragraph_lines = [], []


def column_width(lines: list[str], markdown: bool = False) -> float | None:
    """The wrap width of hard-wrapped text (median width of lines that stop mid-sentence), else None."""
    body = [line for line in lines if line and not heading_kind(line, markdown)]
    mid_sentence = [width(line) for line in body if not is_sentence_final(line)]
    if markdown or len(body) < 3 or len(mid_sentence) < 0.5 * len(body):
        return None
    return statistics.median(mid_sentence)
