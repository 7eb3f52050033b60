"""The fast default engine for the bundled model: CTranslate2 int8 weights + the `tokenizers` library.

At run time it needs only numpy, ``ctranslate2`` and ``tokenizers``: no torch, no transformers. It
reproduces what the sentence-transformers folder does (``rag.convert``): the model's own prompts
("query: " / "passage: "), ``tokenizer.json`` truncated to the model's maximum length, mean pooling
over every token, L2 normalization. Measured on this machine (BENCHMARKS.md, "Encoder engines"):
cosine to the sentence-transformers fp32 vectors ≥ 0.998, a single query ~3× faster, the process
~1/3 of the memory and imported in 0.1 s instead of ~6 s.

The int8 folder is made once, from the converted sentence-transformers folder, into the user's cache:
in a child process (the converter imports torch and transformers and peaks at ~1.7 GB; none of it
should stay in a process that only wants to answer questions), into a temporary folder beside the
target, with a marker file written last and a rename, under the same kind of lock as ``rag.convert``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag import config
from rag.convert import file_lock
from rag.errors import ModelError

if TYPE_CHECKING:
    from rag.embed import ModelSource

#: The engine's name in index manifests and the vector cache.
ENGINE = "ctranslate2-int8"
#: Bump when the folder layout or the pooling changes: old folders are rebuilt, cached vectors unused.
ENGINE_VERSION = 1
MARKER = "rag-ct2.json"
#: Texts per forward pass. Sorted by length first, so a batch holds texts of about the same length
#: and pads little. Larger batches were no faster on 2 cores (BENCHMARKS.md).
BATCH_SIZE = 32


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
    if read_marker(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(target.parent / f".{target.name}.lock"):
        if read_marker(target):  # another process finished while we waited
            return target
        if announce:
            print("preparing the fast int8 engine for the bundled model (once, ~15 s)…", file=sys.stderr,
                  flush=True)
        _convert_atomically(source, target)
    return target


def _convert_atomically(source: Path, target: Path) -> None:
    building = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        result = subprocess.run([sys.executable, "-m", "rag.ct2", str(source), str(building)],
                                capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        if result.returncode != 0:
            lines = (result.stderr or result.stdout).strip().splitlines()
            raise ModelError(f"cannot convert {source} for the int8 engine: "
                             f"{lines[-1] if lines else 'the converter failed'}")
        shutil.copy2(source / "tokenizer.json", building / "tokenizer.json")
        meta = {"engine_version": ENGINE_VERSION, "source": str(source), **sentence_transformers_setup(source)}
        (building / MARKER).write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
        if target.exists():  # an unfinished or outdated folder
            shutil.rmtree(target)
        os.replace(building, target)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise


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


class CT2Embedder:
    """Float32, L2-normalized vectors from the int8 model; the same interface as the
    sentence-transformers embedder in ``rag.embed``."""

    engine = ENGINE

    def __init__(self, source: ModelSource, folder: Path, threads: int = 0) -> None:
        import ctranslate2
        import tokenizers

        meta = read_marker(folder)
        if meta is None:
            raise ModelError(f"{folder} is not a finished int8 model folder")
        self.source, self.name, self.folder = source, source.name, folder
        self.dim = int(meta["dim"])
        self.max_seq_length = int(meta["max_seq_length"])
        self.prompts: dict[str, str] = meta["prompts"]
        # threads=0 lets CTranslate2 use every core (2 here); OMP_WAIT_POLICY=PASSIVE (rag/__init__)
        # keeps its OpenMP threads from spinning against a busy neighbour, as for torch.
        self.encoder = ctranslate2.Encoder(str(folder), device="cpu", compute_type="int8", intra_threads=threads)
        self.tokenizer = tokenizers.Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(self.max_seq_length)  # keeps </s>, as sentence-transformers does
        self.tokenizer.no_padding()

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
        ids = [encoding.ids for encoding in self.tokenizer.encode_batch([prompt + t for t in texts])]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            batch = [ids[i] for i in rows]
            hidden = np.asarray(self.encoder.forward_batch(batch).last_hidden_state, dtype=np.float32)
            lengths = np.array([len(b) for b in batch], dtype=np.float32)
            mask = np.arange(hidden.shape[1])[None, :] < lengths[:, None]
            pooled = (hidden * mask[..., None]).sum(axis=1) / np.maximum(lengths, 1e-9)[:, None]
            out[rows] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return out

    def info(self) -> dict[str, Any]:
        return {"model": self.name, "engine": self.engine, "path": str(self.folder), "dimension": self.dim,
                "max_seq_length": self.max_seq_length, "converted_from_bundled": self.source.bundled,
                "source_weights": self.source.source_weights, "device": "cpu"}


def _convert(source: str, output: str) -> None:
    """Run in the child process: the sentence-transformers folder's BertModel → int8 CTranslate2."""
    import ctranslate2
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    ctranslate2.converters.TransformersConverter(source).convert(output, quantization="int8", force=True)


if __name__ == "__main__":
    _convert(sys.argv[1], sys.argv[2])
