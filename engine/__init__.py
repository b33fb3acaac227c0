"""The voiceprint engine: audio in, VAD, quality gate, models, embeddings, scoring, labeling, store.

No Qt and no HTTP here. The public API is re-exported lazily so that ``import engine.errors``
stays cheap (torch loads only when a model is used).
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "Engine": "engine.facade",
    "VerifyResult": "engine.facade",
    "IdentifyResult": "engine.facade",
    "Candidate": "engine.facade",
    "EmbeddingResult": "engine.embedder",
    "EngineConfig": "engine.config",
    "ModelConfig": "engine.config",
    "QualityConfig": "engine.config",
    "Waveform": "engine.waveform",
    "Voiceprint": "engine.gallery",
    "MemoryGallery": "engine.gallery",
    "load_audio": "engine.audio",
    "load_model": "engine.models",
}

# A literal list, so that linters, type checkers and IDEs can read the public API statically;
# tests/engine/test_public_api.py keeps it equal to the keys of _EXPORTS.
__all__ = [
    "Candidate",
    "EmbeddingResult",
    "Engine",
    "EngineConfig",
    "IdentifyResult",
    "MemoryGallery",
    "ModelConfig",
    "QualityConfig",
    "VerifyResult",
    "Voiceprint",
    "Waveform",
    "load_audio",
    "load_model",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'engine' has no attribute {name!r}")
