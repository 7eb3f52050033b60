"""Text normalisation and keyword tokens shared by BM25, answer selection and highlighting.

Chinese has no spaces, so keyword matching needs a word segmenter: jieba's search mode
(``lcut_for_search``) emits both whole words and their parts, which lets a question's ``社会治理``
match a passage's ``社会治理体系``. Traditional characters are folded to Simplified (OpenCC) and
full-width forms to half-width (NFKC), so ``營口`` and ``营口``, ``２０２５`` and ``2025`` match.
"""

from __future__ import annotations

import logging
import marshal
import mmap
import os
import re
import tempfile
import threading
import unicodedata
from functools import lru_cache

import jieba
import opencc

jieba.setLogLevel(logging.WARNING)

_T2S = opencc.OpenCC("t2s")
_JIEBA_LOCK = threading.Lock()  # jieba's lazy initialisation is not thread-safe

CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
LATIN_RE = re.compile(r"[A-Za-z]")
_WORDLIKE_RE = re.compile(r"[\w\u3400-\u4dbf\u4e00-\u9fff]")

# Function words that carry no topic: dropping them keeps BM25 from matching on 的/是/什么.
STOPWORDS = frozenset(
    """
    的 了 是 在 和 与 及 等 也 都 就 而 其 之 为 对 中 把 被 这 那 这个 那个 这些 那些 哪 哪个 哪些
    什么 啥 多少 几 几个 怎么 怎样 怎么样 如何 为什么 为何 吗 呢 啊 吧 呀 么 谁 何 何时 哪里 哪儿
    哪年 哪一年 有 个 一个 以及 或 或者 并 并且 还 又 则 所 所以 因为 由于 以 于 从 向 到 被 让 给
    将 要 会 能 可以 应 应该 该 请问 问 文中 文章 本文 里 上 下 年 月 日
    a an the of in on at to is are was were be been being what which who whom whose how when where
    why does do did for with by from and or not no as that this these those it its into about
    according text essay article
    """.split()
)


def to_simplified(text: str) -> str:
    """Traditional → Simplified only, length-preserving in practice (what the dense model sees)."""
    return _T2S.convert(text)


def fold(text: str) -> str:
    """Case-, width- and script-insensitive form of ``text`` (not length-preserving)."""
    return _T2S.convert(unicodedata.normalize("NFKC", text)).lower()


def fold_in_place(text: str) -> str:
    """``fold`` character by character, so that every character keeps its offset and spans found
    in the result are spans of ``text`` (a character whose folded form is not one character stays
    as it is). Per character, not per phrase as ``fold``: what the entity patterns need, and fast."""
    return "".join(map(_fold_character, text))


@lru_cache(maxsize=1 << 16)
def _fold_character(character: str) -> str:
    folded = fold(character)
    return folded if len(folded) == 1 else character


@lru_cache(maxsize=1)
def _init_jieba() -> None:
    with _JIEBA_LOCK:
        if not _read_jieba_cache(jieba.dt):
            jieba.initialize()  # builds the prefix dictionary from dict.txt and writes the cache file


def _read_jieba_cache(tokenizer: jieba.Tokenizer) -> bool:
    """Load the default dictionary's prefix dictionary from jieba's own cache file, mapped in one piece:
    ``jieba.initialize`` hands the open file to ``marshal.load``, which calls back into the file object
    for each of its ~500k entries (1.0 s here); ``marshal.loads`` of the mapped file gives the same
    dictionary in 0.25-0.3 s. Mapped, not read: in a server, a 9 MB ``bytes`` copy left the heap 7 MB
    larger for good (RSS +68.5 MB for the dictionary instead of +61.2). False (jieba then loads it its
    own way): a custom dictionary, or no usable cache file."""
    if tokenizer.initialized or tokenizer.dictionary is not jieba.DEFAULT_DICT:
        return tokenizer.initialized
    path = os.path.join(tokenizer.tmp_dir or tempfile.gettempdir(), tokenizer.cache_file or "jieba.cache")
    try:
        with open(path, "rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            freq, total = marshal.loads(mapped)
    except (OSError, EOFError, ValueError, TypeError):  # missing, empty, truncated, not a (dict, total) pair
        return False
    if not isinstance(freq, dict) or not isinstance(total, int):
        return False
    tokenizer.FREQ, tokenizer.total, tokenizer.initialized = freq, total, True
    return True


def segment(text: str) -> list[str]:
    """jieba search-mode words of the folded text (punctuation and spaces dropped)."""
    _init_jieba()
    return [w for w in jieba.lcut_for_search(fold(text)) if _WORDLIKE_RE.search(w)]


def keywords(text: str) -> list[str]:
    """The content words of ``text``: BM25 tokens and the evidence the answer step counts."""
    return [w for w in segment(text) if w not in STOPWORDS and not (len(w) == 1 and LATIN_RE.match(w))]


def cjk_ratio(text: str) -> float:
    """Share of CJK characters among letters: 0 for an English question, ~1 for a Chinese one."""
    cjk = len(CJK_RE.findall(text))
    latin = len(LATIN_RE.findall(text))
    return cjk / (cjk + latin) if cjk + latin else 0.0
