"""User-facing errors: each message says what went wrong and what to do about it.

The CLI prints these as one line (exit status 2); the UI shows them in the page; neither shows a
traceback for them. Anything else is a bug and is allowed to surface.
"""


class RagError(Exception):
    """Base of every error a user can cause or fix. ``zh`` is the same message in Chinese, for the
    web page, which shows both languages."""

    def __init__(self, message: str, zh: str | None = None):
        super().__init__(message)
        self.zh = zh


class CorpusError(RagError):
    """Nothing usable could be read from the given corpus path."""


class ModelError(RagError):
    """The embedding model cannot be found, converted or loaded."""


class IndexStateError(RagError):
    """The index is missing, stale (built from another corpus/model/settings) or corrupt."""


class QuestionError(RagError):
    """The question cannot be asked as given (empty, too long, …)."""
