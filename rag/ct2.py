"""The fast default engine for the bundled model: CTranslate2 int8 weights + the `tokenizers` library.

At run time it needs only numpy, ``ctranslate2`` and ``sentencepiece``: no torch, no transformers.
It reproduces what the sentence-transformers folder does (``rag.convert``): the model's own prompts
("query: " / "passage: "), the tokens of ``tokenizer.json`` truncated to the model's maximum length,
mean pooling over every token, L2 normalization. Measured on this machine (BENCHMARKS.md, "Encoder
engines"): cosine to the sentence-transformers fp32 vectors ≥ 0.998, a single query ~3× faster, the
process ~1/3 of the memory and imported in 0.1 s instead of ~6 s.

Tokens come from sentencepiece running the same Unigram pieces, scores and normalization table as
``tokenizer.json`` (written into the folder as ``sentencepiece.model``): the `tokenizers` object of
this 250k-piece vocabulary holds ~280 MB, sentencepiece's ~60 MB, and their ids were identical on
17,000 texts (CMRC and DRCD passages, sentences and questions, odd scripts) except for one thing
``tokens`` reproduces: tokenizers keeps a trailing space as a "▁" token. The conversion checks the two
agree on a set of probes before the folder is used.

The int8 folder is made once, from the converted sentence-transformers folder, into the user's cache:
in a child process (the converter imports torch and transformers and peaks at ~1.7 GB; none of it
should stay in a process that only wants to answer questions), into a temporary folder beside the
target, with a marker file written last and a rename, under the same kind of lock as ``rag.convert``.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import struct
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag import config
from rag.convert import made_once
from rag.errors import ModelError

if TYPE_CHECKING:
    from rag.embed import ModelSource

#: The engine's name in index manifests and the vector cache.
ENGINE = config.CT2_ENGINE
#: Bump when the folder layout or the pooling changes: old folders are rebuilt, cached vectors unused.
ENGINE_VERSION = 2
MARKER = "rag-ct2.json"
SENTENCEPIECE = "sentencepiece.model"
#: Tokens per forward pass (texts × the longest one), texts sorted by length first so a batch pads
#: little. Small batches are much faster on this CPU (2 cores, shared), measured on CMRC trial text:
#: ~360-token passages 1.9/s at 8192 tokens per batch → 2.9/s at 1024 (3.3/s one at a time);
#: ~185-token chunks 5.3 → 12.0/s; ~35-token sentences 29 → 64/s (flat from 256 to 2048).
TOKENS_PER_BATCH = 1024
BATCH_SIZE = 64  # at most, for very short texts


def ct2_model_dir(source: Path) -> Path:
    """Where the int8 copy of the sentence-transformers folder ``source`` lives in the cache."""
    return config.cache_dir() / "models" / f"{source.name}-ct2-int8"


def read_marker(folder: Path) -> dict | None:
    """The conversion record of a finished int8 folder of the current layout, else None."""
    try:
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) and marker.get("engine_version") == ENGINE_VERSION else None


def ensure_ct2(source: Path, announce: bool = True) -> Path:
    """The int8 folder for the sentence-transformers folder ``source``, converting it first if needed."""
    target = ct2_model_dir(source)

    def build(folder: Path) -> None:
        if announce:
            print("preparing the fast int8 engine for the bundled model (once, ~15 s)…", file=sys.stderr,
                  flush=True)
        _build_int8_folder(source, folder)

    return made_once(target, read_marker, build)


def _build_int8_folder(source: Path, building: Path) -> None:
    """Convert in a child process (its peak memory goes with it), then the tokenizer and the marker."""
    result = subprocess.run([sys.executable, "-m", "rag.ct2", str(source), str(building)],
                            capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise ModelError(f"cannot convert {source} for the int8 engine: "
                         f"{lines[-1] if lines else 'the converter failed'}")
    shutil.copy2(source / "tokenizer.json", building / "tokenizer.json")
    (building / SENTENCEPIECE).write_bytes(sentencepiece_model(building / "tokenizer.json"))
    meta = {"engine_version": ENGINE_VERSION, "source": str(source), **sentence_transformers_setup(source)}
    check_tokens(building, meta["max_seq_length"])
    (building / MARKER).write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")


def sentence_transformers_setup(folder: Path) -> dict[str, Any]:
    """Prompts, maximum length and dimension of a sentence-transformers folder, checked to be the
    Transformer → mean Pooling → Normalize pipeline this engine reproduces."""
    def read(name: str) -> Any:
        return json.loads((folder / name).read_text(encoding="utf-8"))

    modules = [m["type"].rsplit(".", 1)[-1] for m in read("modules.json")]
    pooling = read("1_Pooling/config.json")
    if modules != ["Transformer", "Pooling", "Normalize"] or pooling.get("pooling_mode") != "mean":
        raise ModelError(f"the int8 engine reproduces Transformer → mean Pooling → Normalize; {folder} has "
                         f"{' → '.join(modules)} ({pooling.get('pooling_mode')} pooling)")
    return {"prompts": read("config_sentence_transformers.json").get("prompts", {}),
            "max_seq_length": int(read("sentence_bert_config.json")["max_seq_length"]),
            "dim": int(pooling["embedding_dimension"])}


# ---------------------------------------------------------------- tokens


def sentencepiece_model(tokenizer_json: Path) -> bytes:
    """A sentencepiece ModelProto with the pieces, scores, special tokens and normalization table of an
    XLM-R style ``tokenizer.json`` (Unigram; Precompiled + collapse spaces; Metaspace; <s> $A </s>),
    hand-encoded so that no protobuf package is needed."""
    spec = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    model, normalizer = spec["model"], spec.get("normalizer") or {}
    steps = normalizer.get("normalizers", [normalizer])
    if model.get("type") != "Unigram" or not steps or steps[0].get("type") != "Precompiled":
        raise ModelError(f"{tokenizer_json} is not an XLM-R style Unigram tokenizer")
    charsmap = base64.b64decode(steps[0]["precompiled_charsmap"])
    kinds = {"<unk>": 2, "<s>": 3, "</s>": 3, "<pad>": 3, "<mask>": 4}  # UNKNOWN, CONTROL, USER_DEFINED
    ids = {piece: i for i, (piece, _) in enumerate(model["vocab"])}
    proto = bytearray()
    for piece, score in model["vocab"]:
        entry = _bytes_field(1, piece.encode("utf-8")) + _float_field(2, score)
        if piece in kinds:
            entry += _varint_field(3, kinds[piece])
        proto += _bytes_field(1, entry)
    trainer = (_varint_field(3, 1) + _varint_field(40, ids["<unk>"]) + _varint_field(41, ids["<s>"])
               + _varint_field(42, ids["</s>"]) + _varint_field(43, ids["<pad>"]))  # model_type UNIGRAM
    normalization = (_bytes_field(1, b"tokenizer.json") + _bytes_field(2, charsmap)
                     + _varint_field(3, 1) + _varint_field(4, 1) + _varint_field(5, 1))
    return bytes(proto + _bytes_field(2, trainer) + _bytes_field(3, normalization))


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _bytes_field(number: int, data: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _varint_field(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _float_field(number: int, value: float) -> bytes:
    return _varint(number << 3 | 5) + struct.pack("<f", value)


class Tokens:
    """Token ids as ``tokenizer.json`` gives them (``<s> … </s>``, cut to ``max_length`` keeping
    ``</s>``), computed by sentencepiece."""

    def __init__(self, folder: Path, max_length: int) -> None:
        import sentencepiece

        self.processor = sentencepiece.SentencePieceProcessor(model_file=str(folder / SENTENCEPIECE))
        self.bos, self.eos = self.processor.bos_id(), self.processor.eos_id()
        self.space = self.processor.piece_to_id("▁")
        self.max_length = max_length

    def __call__(self, texts: list[str]) -> list[list[int]]:
        out = []
        for text, ids in zip(texts, self.processor.encode(texts), strict=True):
            if text[-1:].isspace():  # tokenizers keeps a trailing space as a token; sentencepiece drops it
                ids.append(self.space)
            out.append([self.bos, *ids[: self.max_length - 2], self.eos])
        return out


#: Probes on which sentencepiece must give the ids of tokenizer.json before a folder is used.
PROBES = ["passage: 营口市 uses 5G + industrial internet in its factories.", "query: 全市有效期内省级专精特新企业共计多少户？",
          "passage: Ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３ ｶﾀｶﾅ ﬁ ① ½ Ⅻ", "passage: 𠀀𪚥𰻞 rare CJK, emoji 😀🇨🇳",
          "query: Tabs\tand\nnew lines\r\nmixed   with    spaces ", "passage:    ", "query: 日本語の文章と한국어 문장",
          "passage: 臺灣的繁體字與简体字、！？。，“”《》（）", "passage: " + "营口港" * 400]


def check_tokens(folder: Path, max_length: int) -> None:
    """Refuse a folder whose sentencepiece model does not give tokenizer.json's ids."""
    import tokenizers

    reference = tokenizers.Tokenizer.from_file(str(folder / "tokenizer.json"))
    reference.enable_truncation(max_length)
    ours = Tokens(folder, max_length)(PROBES)
    for probe, ids, expected in zip(PROBES, ours, reference.encode_batch(PROBES), strict=True):
        if ids != expected.ids:
            raise ModelError(f"sentencepiece and tokenizer.json disagree on {probe[:40]!r}")


# ---------------------------------------------------------------- the engine


class CT2Embedder:
    """Float32, L2-normalized vectors from the int8 model; the same interface as the
    sentence-transformers embedder in ``rag.embed``."""

    engine = ENGINE

    def __init__(self, source: ModelSource, folder: Path, threads: int = 0) -> None:
        import ctranslate2

        meta = read_marker(folder)
        if meta is None:
            raise ModelError(f"{folder} is not a finished int8 model folder")
        self.source, self.name, self.folder = source, source.name, folder
        self.dim = int(meta["dim"])
        self.max_seq_length = int(meta["max_seq_length"])
        self.prompts: dict[str, str] = meta["prompts"]
        # threads=0 lets CTranslate2 use every core (2 here) for one text: a question's latency.
        # OMP_WAIT_POLICY=PASSIVE (rag/__init__) keeps its OpenMP threads from spinning against a busy
        # neighbour, as for torch.
        self.encoder = ctranslate2.Encoder(str(folder), device="cpu", compute_type="int8", intra_threads=threads)
        self._bulk: Any = None  # a second encoder for builds, made on first use (see _bulk_encoder)
        self._bulk_lock = threading.Lock()
        self.tokens = Tokens(folder, self.max_seq_length)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Vectors for search questions (the model's query prompt)."""
        return self._encode(texts, self.prompts.get("query", ""))

    def encode_documents(self, texts: list[str], batch_size: int = BATCH_SIZE) -> np.ndarray:
        """Vectors for passages to search in (the model's passage prompt)."""
        prompt = self.prompts.get("document", self.prompts.get("passage", ""))
        return self._encode(texts, prompt, batch_size)

    def _encode(self, texts: list[str], prompt: str, batch_size: int = BATCH_SIZE) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        ids = self.tokens([prompt + t for t in texts])
        batches = _batches(ids, batch_size)
        if len(batches) == 1:
            out[batches[0]] = self._pool(self.encoder, [ids[i] for i in batches[0]])
            return out
        encoder, workers = self._bulk_encoder()
        with ThreadPoolExecutor(workers) as pool:
            for rows, vectors in zip(batches, pool.map(lambda rows: self._pool(encoder, [ids[i] for i in rows]),
                                                       batches), strict=True):
                out[rows] = vectors
        return out

    @staticmethod
    def _pool(encoder: Any, batch: list[list[int]]) -> np.ndarray:
        """Mean over each text's tokens (padding excluded), L2-normalized: sentence-transformers'
        Pooling(mean) + Normalize."""
        hidden = np.asarray(encoder.forward_batch(batch).last_hidden_state, dtype=np.float32)
        lengths = np.array([len(b) for b in batch], dtype=np.float32)
        mask = np.arange(hidden.shape[1])[None, :] < lengths[:, None]
        pooled = (hidden * mask[..., None]).sum(axis=1) / np.maximum(lengths, 1e-9)[:, None]
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def _bulk_encoder(self) -> tuple[Any, int]:
        """For many batches: one single-threaded worker per core, each on its own batch, encodes
        15-20% more texts per second than all cores on one batch at a time (CMRC trial chunks
        12.2 → 14.4/s, sentences 75 → 86/s). Questions keep the all-cores encoder: lower latency."""
        import ctranslate2

        workers = max(1, min(os.cpu_count() or 1, 8))
        with self._bulk_lock:
            if self._bulk is None:
                self._bulk = ctranslate2.Encoder(str(self.folder), device="cpu", compute_type="int8",
                                                 inter_threads=workers, intra_threads=1)
        return self._bulk, workers

    def info(self) -> dict[str, Any]:
        return {"model": self.name, "engine": self.engine, "path": str(self.folder), "dimension": self.dim,
                "max_seq_length": self.max_seq_length, "converted_from_bundled": self.source.bundled,
                "source_weights": self.source.source_weights, "device": "cpu"}


def _batches(ids: list[list[int]], most: int) -> list[list[int]]:
    """Rows of ``ids`` shortest first, cut into batches of at most ``most`` texts and
    TOKENS_PER_BATCH padded tokens (always at least one text)."""
    batches: list[list[int]] = []
    current: list[int] = []
    for row in sorted(range(len(ids)), key=lambda i: len(ids[i])):
        if current and (len(current) == most or (len(current) + 1) * len(ids[row]) > TOKENS_PER_BATCH):
            batches.append(current)
            current = []
        current.append(row)
    return [*batches, current] if current else batches


def _convert(source: str, output: str) -> None:
    """Run in the child process: the sentence-transformers folder's BertModel → int8 CTranslate2."""
    import ctranslate2
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    ctranslate2.converters.TransformersConverter(source).convert(output, quantization="int8", force=True)


if __name__ == "__main__":
    _convert(sys.argv[1], sys.argv[2])
