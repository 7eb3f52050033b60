"""One progress display for a build: its stages, and the embedding count with a rate and an ETA.

It writes to stderr: on a terminal one line redrawn in place, elsewhere (a log, CI) a line every few
seconds. ``Progress(enabled=False)`` is silent (``--quiet``, ``--json``, tests, the evaluation).
A ``listener`` hears every stage and count as (share done or None, text): the web page's progress
bar for documents added from the page is this same display.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

#: Seconds between progress lines when stderr is not a terminal.
LOG_EVERY = 5.0


#: Hears (share of the counted work done, or None between counts; the line the display shows).
Listener = Callable[[float | None, str], None]


class Progress:
    def __init__(self, enabled: bool = True, stream: TextIO | None = None, listener: Listener | None = None) -> None:
        self.enabled = enabled
        self.listener = listener
        self.stream = stream or sys.stderr
        self.tty = enabled and self.stream.isatty()
        self._label = ""
        self._total = 0
        self._done = 0
        self._work = 0.0
        self._work_done = 0.0
        self._started = 0.0
        self._last_line = 0.0

    def stage(self, text: str) -> None:
        """A stage of the build starts ("reading files", "indexing")."""
        self._tell(None, f"{text}…")
        self._write(f"{text}…", final=True)

    def note(self, text: str) -> None:
        """A one-off remark (how many vectors came from the cache)."""
        self._write(text, final=True)

    def start(self, label: str, total: int, work: float | None = None) -> None:
        """Counting ``total`` items (texts to embed) that cost ``work`` in all (their characters: the
        texts come shortest first, so a count alone would promise too early an end)."""
        self._label, self._total, self._done = label, total, 0
        self._work, self._work_done = float(work or total), 0.0
        self._started = self._last_line = time.perf_counter()
        self._tell(0.0, self._line())
        self._show(final=False)

    def advance(self, n: int, work: float | None = None) -> None:
        self._done += n
        self._work_done += work if work is not None else n
        if self.listener:
            self._tell(self._work_done / self._work if self._work else None, self._line())
        now = time.perf_counter()
        if self.tty or now - self._last_line >= LOG_EVERY:
            self._last_line = now
            self._show(final=False)

    def finish(self) -> None:
        self._show(final=True)

    def _show(self, final: bool) -> None:
        self._write(self._line(), final=final)

    def _line(self) -> str:
        elapsed = time.perf_counter() - self._started
        rate = self._done / elapsed if elapsed > 0 else 0.0
        text = f"{self._label} {self._done:,}/{self._total:,}"
        if self._done and rate > 0:
            text += f" · {rate:.1f}/s"
            if self._done < self._total and self._work_done > 0:
                text += f" · ETA {_duration(elapsed * (self._work - self._work_done) / self._work_done)}"
            else:
                text += f" · {_duration(elapsed)}"
        return text

    def _tell(self, share: float | None, text: str) -> None:
        if self.listener:
            self.listener(share, text)

    def _write(self, text: str, final: bool) -> None:
        if not self.enabled:
            return
        if self.tty:
            self.stream.write(f"\r\033[K{text}" + ("\n" if final else ""))
        elif final or text:
            self.stream.write(text + "\n")
        self.stream.flush()


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"
