"""The reader's learned models and their weights file.

Every model in ``weights.json`` names the features it was trained on, in order; loading checks them
against the code's feature lists, so a renamed, added or reordered feature is a clear error instead
of a silently misaligned model. Retrain with ``benchmarks/train_answer.py``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from rag.errors import RagError
from rag.reader.features import ABSTAIN_FEATURES, CROSS_SCRIPT_FEATURES, SENTENCE_FEATURES

WEIGHTS_FILE = Path(__file__).with_name("weights.json")
#: Which feature list each model of the weights file must have been trained on.
MODEL_FEATURES = {
    "sentence": SENTENCE_FEATURES,
    "sentence_cross": SENTENCE_FEATURES,
    "abstain": ABSTAIN_FEATURES,
    "abstain_cross": CROSS_SCRIPT_FEATURES,
}


class WeightsError(RagError):
    """The weights file does not fit this code (retrain with benchmarks/train_answer.py)."""


@dataclass(frozen=True)
class Model:
    """A standardised linear score, or a one-hidden-layer (tanh) one when ``hidden_w`` is set;
    a decision model also carries the threshold below which the reader abstains."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray  # never 0: the trainer floors it
    weights: np.ndarray
    bias: float
    hidden_w: np.ndarray | None = None
    hidden_b: np.ndarray | None = None
    threshold: float | None = None

    @classmethod
    def from_dict(cls, data: dict, name: str = "model") -> Model:
        def array(value) -> np.ndarray:
            return np.asarray(value, dtype=np.float32)

        hidden = data.get("hidden")
        model = cls(tuple(data["features"]), array(data["mean"]), array(data["scale"]), array(data["weights"]),
                    float(data["bias"]), None if hidden is None else array(hidden["W"]),
                    None if hidden is None else array(hidden["b"]), data.get("threshold"))
        width = model.hidden_w.shape[1] if model.hidden_w is not None else len(model.features)
        if len(model.mean) != len(model.features) or len(model.weights) != width:
            raise WeightsError(f"the {name} model's arrays do not match its {len(model.features)} feature names")
        return model

    def to_dict(self) -> dict:
        data = {"features": list(self.features), "mean": self.mean.tolist(), "scale": self.scale.tolist(),
                "weights": self.weights.tolist(), "bias": self.bias}
        if self.hidden_w is not None:
            data["hidden"] = {"W": self.hidden_w.tolist(), "b": self.hidden_b.tolist()}
        if self.threshold is not None:
            data["threshold"] = self.threshold
        return data

    def score(self, features: np.ndarray) -> np.ndarray | float:
        """The raw score of one feature row, or of each row of a matrix."""
        x = (features - self.mean) / self.scale
        if self.hidden_w is not None:
            x = np.tanh(x @ self.hidden_w + self.hidden_b)
        return x @ self.weights + self.bias

    def probability(self, features: np.ndarray) -> float:
        return sigmoid(float(self.score(features)))


@dataclass(frozen=True)
class Weights:
    sentence: Model  # ranks candidate sentences, same script as the corpus
    sentence_cross: Model  # the same for cross-script questions (English over Chinese)
    abstain: Model  # P(the quote answers the question), same script
    abstain_cross: Model
    meaning: Model | None  # P(the question is made of words at all), over the question's vector
    meaning_threshold: float
    meaning_model: str | None  # the embedding model the meaning probe was fitted on
    background: np.ndarray | None = None  # general-knowledge sentence vectors (features.QuestionSignals)
    background_model: str | None = None  # the embedding model that made them


def read_weights(path: Path) -> Weights:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise WeightsError(f"cannot read the reader's weights {path}: {error}") from error
    models = {}
    for name, expected in MODEL_FEATURES.items():
        if name not in data:
            raise WeightsError(f"the weights file {path} has no {name!r} model; retrain with benchmarks/train_answer.py")
        model = Model.from_dict(data[name], name)
        if model.features != expected:
            raise WeightsError(
                f"the {name!r} model in {path} was trained on features {list(model.features)}, but the code "
                f"computes {list(expected)}; retrain with benchmarks/train_answer.py")
        models[name] = model
    meaning = data.get("meaning")
    bank = data.get("background")
    background = None
    if bank:
        try:
            # float16 on disk; float32 in memory, or each question would convert all of it (~7 ms)
            background = np.load(Path(path).with_name(bank["file"]), allow_pickle=False).astype(np.float32)
        except (OSError, ValueError) as error:
            raise WeightsError(f"cannot read the reader's background bank next to {path}: {error}") from error
        if background.shape != (bank["sentences"], bank["dimension"]):
            raise WeightsError(f"the background bank next to {path} has shape {background.shape}, "
                               f"the weights file says ({bank['sentences']}, {bank['dimension']}); retrain")
    return Weights(**models, meaning=Model.from_dict(meaning, "meaning") if meaning else None,
                   meaning_threshold=float(meaning.get("threshold", 0.5)) if meaning else 0.0,
                   meaning_model=meaning.get("embedding_model") if meaning else None,
                   background=background, background_model=bank.get("embedding_model") if bank else None)


@lru_cache(maxsize=1)
def load_weights() -> Weights:
    return read_weights(WEIGHTS_FILE)


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(x, 60.0), -60.0)))
