"""Bytes → text: strict encoding detection, so a file is either read exactly or reported.

Only the encodings Chinese documents really come in are tried, each strictly: UTF-8 (with or without
a BOM), UTF-16 when it carries a BOM, then GB18030 (a superset of GBK and GB2312). Anything else is
refused with a message rather than decoded into mojibake.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from rag.errors import CorpusError

_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_ALLOWED_CONTROLS = frozenset("\t\n\r\f\v")
_MAX_CONTROL_RATIO = 0.05


def read_text(path: str | Path) -> str:
    """The decoded text of ``path`` with ``\\n`` line ends; raises CorpusError saying why it cannot."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except PermissionError as error:
        raise CorpusError(f"{path}: cannot read the file (permission denied)") from error
    except OSError as error:
        raise CorpusError(f"{path}: cannot read the file ({error.strerror or error})") from error
    if not data.strip():
        raise CorpusError(f"{path}: the file is empty")
    text = decode(data, path)
    if _looks_binary(text):
        raise CorpusError(f"{path}: looks like a binary file, not text")
    return normalize_newlines(text)


def decode(data: bytes, path: str | Path = "<bytes>") -> str:
    """Decode strictly: UTF-16 only with a BOM, NUL bytes mean binary, then UTF-8, then GB18030."""
    if data.startswith(_UTF16_BOMS):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as error:
            raise CorpusError(f"{path}: starts with a UTF-16 mark but is not valid UTF-16") from error
    if b"\x00" in data:
        raise CorpusError(f"{path}: looks like a binary file, not text (it contains NUL bytes)")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CorpusError(f"{path}: cannot decode the text; save it as UTF-8 (GB18030/GBK and UTF-16 "
                      "with a byte-order mark are also read)")


def normalize_newlines(text: str) -> str:
    """One line-end convention; a form feed (a PDF page break) becomes a blank line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n")
    return text.lstrip("\ufeff")


def _looks_binary(text: str) -> bool:
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in _ALLOWED_CONTROLS)
    return controls > _MAX_CONTROL_RATIO * len(text)
