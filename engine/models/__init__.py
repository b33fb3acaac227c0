"""Speaker-embedding models: the registry, the loader and the model protocol."""

from engine.models.base import EmbeddingModel
from engine.models.loader import load_model
from engine.models.registry import MODELS, ModelSpec, get_spec, known_ids

__all__ = ["MODELS", "EmbeddingModel", "ModelSpec", "get_spec", "known_ids", "load_model"]
