"""A local, offline, extractive question-answering assistant for Chinese documents."""

__version__ = "0.1.0"
