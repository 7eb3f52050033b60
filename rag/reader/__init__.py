"""The reader: from the retrieved passages to a quotation that answers the question, or an honest
"not found".

- ``qtypes``: what kind of answer a question asks for, and where such answers stand in a sentence;
- ``question``: everything worked out once per question (kind, answer form, focus words);
- ``features``: the named evidence for each candidate sentence and for the question as a whole;
- ``scorer``: the learned models and their weights file (feature names checked at load);
- ``quote``: what is quoted — a fact (one sentence and its key span) or an answer passage
  (1–4 consecutive sentences of one paragraph for how/why/list questions);
- ``reader``: the ``Reader`` that ties them together.
"""

from rag.reader.reader import Decision, Reader

__all__ = ["Decision", "Reader"]
