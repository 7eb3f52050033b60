"""Ingestion: files → documents → paragraph chunks → sentences, with offsets into the cleaned text.

The stages follow the data flow, one module each: ``read`` (encoding detection), ``pdf`` (a PDF's
text layer as lines in reading order), ``word`` and ``webpage`` (.docx and HTML as styled
paragraphs), ``reflow`` (undo hard wraps and page breaks), ``structure`` (documents, titles,
bylines, section tree), ``pagemap`` (which PDF page each character came from), ``chunk``
(paragraph chunks and sentence spans) and ``load`` (files and folders into a Corpus).
"""

from rag.ingest.chunk import MAX_CHUNK_CHARS, split_sentences
from rag.ingest.load import SUPPORTED_SUFFIXES, corpus_to_dict, load_corpus, load_file
from rag.ingest.read import read_text
from rag.ingest.structure import parse_text

__all__ = ["MAX_CHUNK_CHARS", "SUPPORTED_SUFFIXES", "corpus_to_dict", "load_corpus", "load_file",
           "parse_text", "read_text", "split_sentences"]
