"""The course embeddings cache and the FAISS index built from it.

Vectors are cached by the SHA-256 of the embedded text and the model name, so a
course is encoded again only when its text changes or the model does. The index is an
`IndexIDMap2(IndexFlatIP)` over L2-normalised vectors, so inner product is cosine
similarity, keyed by course id. `CourseIndex.update` adds new courses, replaces
changed ones and removes deleted ones; `save` writes the index and its id-to-hash map
under the data folder.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import faiss
import numpy as np
import structlog
from sqlmodel import Session, col, select

from assistant.embeddings import Encoder
from assistant.paths.catalogue import CatalogueCourse
from assistant.paths.models import PathEmbedding

log = structlog.get_logger()

INDEX_FILE = "courses.faiss"
MAP_FILE = "courses.json"
# Extra hits fetched per query so that ties at the cut-off are broken by course id, not by FAISS order.
TIE_MARGIN = 8


class EmbeddingStore(Protocol):
    """Vectors by (content hash, model)."""

    def get_many(self, hashes: Sequence[str], model: str) -> dict[str, np.ndarray]: ...

    def put_many(self, vectors: dict[str, np.ndarray], model: str) -> None: ...


class MemoryEmbeddingStore:
    """An embedding store that lives as long as the process, for evals and benchmarks."""

    def __init__(self) -> None:
        self._vectors: dict[tuple[str, str], np.ndarray] = {}

    def get_many(self, hashes: Sequence[str], model: str) -> dict[str, np.ndarray]:
        return {h: self._vectors[(h, model)] for h in hashes if (h, model) in self._vectors}

    def put_many(self, vectors: dict[str, np.ndarray], model: str) -> None:
        for content_hash, vector in vectors.items():
            self._vectors[(content_hash, model)] = vector


class SqlEmbeddingStore:
    """The `paths_embedding` table, read and written in the caller's session (flushes only).

    Using the caller's session keeps the cache in the caller's transaction; on SQLite a
    second connection would wait for the caller's write lock.
    """

    # Hashes per SELECT ... IN (...), below SQLite's and PostgreSQL's parameter limits.
    CHUNK = 500

    def __init__(self, session: Session) -> None:
        self._session = session

    def get_many(self, hashes: Sequence[str], model: str) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(hashes), self.CHUNK):
            chunk = list(hashes[start : start + self.CHUNK])
            query = select(PathEmbedding).where(PathEmbedding.model == model, col(PathEmbedding.content_hash).in_(chunk))
            for row in self._session.exec(query):
                found[row.content_hash] = np.frombuffer(row.vector, dtype="<f4").astype(np.float32)
        return found

    def put_many(self, vectors: dict[str, np.ndarray], model: str) -> None:
        if not vectors:
            return
        existing = set(self.get_many(list(vectors), model))
        for content_hash, vector in vectors.items():
            if content_hash in existing:
                continue
            data = np.asarray(vector, dtype="<f4").tobytes()
            self._session.add(PathEmbedding(content_hash=content_hash, model=model, dimension=len(vector), vector=data))
        self._session.flush()


@dataclass(frozen=True)
class IndexUpdate:
    """Counts of one `CourseIndex.update`: courses added, changed, removed and unchanged, and texts encoded."""

    added: int
    changed: int
    removed: int
    unchanged: int
    encoded: int


class CourseIndex:
    """Course vectors in FAISS, kept in step with a catalogue by `update`."""

    def __init__(self, encoder: Encoder, store: EmbeddingStore | None = None, *, directory: Path | None = None) -> None:
        self.encoder = encoder
        self.store = store
        self.directory = directory
        self._hashes: dict[int, str] = {}
        self._index: faiss.IndexIDMap2 | None = None

    @property
    def size(self) -> int:
        return len(self._hashes)

    def _new_index(self, dimension: int) -> faiss.IndexIDMap2:
        return faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))

    def load(self) -> bool:
        """Read the saved index; return False (and start empty) when there is none or it is for another model."""
        if self.directory is None:
            return False
        index_path = self.directory / INDEX_FILE
        map_path = self.directory / MAP_FILE
        if not index_path.exists() or not map_path.exists():
            return False

        saved = json.loads(map_path.read_text(encoding="utf-8"))
        if saved.get("model") != self.encoder.name:
            log.info("paths.index.model_changed", saved=saved.get("model"), model=self.encoder.name)
            return False

        index = faiss.read_index(str(index_path))
        hashes = {int(course_id): content_hash for course_id, content_hash in saved["hashes"].items()}
        if index.ntotal != len(hashes):
            log.warning("paths.index.inconsistent", vectors=index.ntotal, courses=len(hashes))
            return False
        self._index = index
        self._hashes = hashes
        return True

    def save(self) -> None:
        """Write the index and its id-to-hash map atomically; without a folder, do nothing."""
        if self.directory is None or self._index is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        index_tmp = self.directory / (INDEX_FILE + ".tmp")
        map_tmp = self.directory / (MAP_FILE + ".tmp")
        faiss.write_index(self._index, str(index_tmp))
        payload = {"model": self.encoder.name, "hashes": {str(k): v for k, v in sorted(self._hashes.items())}}
        map_tmp.write_text(json.dumps(payload), encoding="utf-8")
        os.replace(index_tmp, self.directory / INDEX_FILE)
        os.replace(map_tmp, self.directory / MAP_FILE)

    def update(self, courses: Iterable[CatalogueCourse], *, store: EmbeddingStore | None = None) -> IndexUpdate:
        """Bring the index in line with `courses`: embed new and changed texts, drop missing ids.

        Vectors are looked up in and added to `store`, else the index's own store; with
        neither, every new or changed text is encoded.
        """
        wanted = {course.id: course for course in sorted(courses, key=lambda course: course.id)}
        wanted_hashes = {course_id: course.content_hash() for course_id, course in wanted.items()}

        removed = [course_id for course_id in self._hashes if course_id not in wanted]
        changed = [cid for cid, h in wanted_hashes.items() if cid in self._hashes and self._hashes[cid] != h]
        added = [course_id for course_id in wanted if course_id not in self._hashes]
        unchanged = len(wanted) - len(changed) - len(added)

        to_embed = sorted(changed + added)
        texts = {cid: wanted[cid].index_text() for cid in to_embed}
        vectors, encoded = self._vectors_for(texts, wanted_hashes, store or self.store or MemoryEmbeddingStore())

        self._apply(removed=removed + changed, vectors=vectors)
        for course_id in removed:
            del self._hashes[course_id]
        for course_id in to_embed:
            self._hashes[course_id] = wanted_hashes[course_id]

        result = IndexUpdate(len(added), len(changed), len(removed), unchanged, encoded)
        log.info(
            "paths.index.updated",
            added=result.added,
            changed=result.changed,
            removed=result.removed,
            unchanged=result.unchanged,
            encoded=result.encoded,
        )
        return result

    def _vectors_for(
        self, texts: dict[int, str], hashes: dict[int, str], store: EmbeddingStore
    ) -> tuple[dict[int, np.ndarray], int]:
        """Return a vector per course id, from the store where it has one, encoding the rest."""
        model = self.encoder.name
        cached = store.get_many(sorted({hashes[cid] for cid in texts}), model)

        missing: dict[str, str] = {}
        for course_id, text in texts.items():
            if hashes[course_id] not in cached:
                missing.setdefault(hashes[course_id], text)

        if missing:
            encoded = self.encoder.encode(list(missing.values()))
            fresh = {content_hash: encoded[i] for i, content_hash in enumerate(missing)}
            store.put_many(fresh, model)
            cached.update(fresh)

        vectors = {course_id: cached[hashes[course_id]] for course_id in texts}
        return vectors, len(missing)

    def _apply(self, *, removed: list[int], vectors: dict[int, np.ndarray]) -> None:
        if self._index is None:
            dimension = len(next(iter(vectors.values()))) if vectors else self.encoder.dimension
            if not dimension:
                return
            self._index = self._new_index(dimension)
        if removed:
            self._index.remove_ids(np.asarray(sorted(removed), dtype=np.int64))
        if vectors:
            ids = np.asarray(sorted(vectors), dtype=np.int64)
            matrix = np.vstack([vectors[int(course_id)] for course_id in ids]).astype(np.float32)
            self._index.add_with_ids(matrix, ids)

    def search(self, queries: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
        """Return, per query row, up to k (course id, cosine similarity) pairs, best first, ties by id."""
        if self._index is None or self.size == 0 or len(queries) == 0:
            return [[] for _ in range(len(queries))]
        fetch = min(self.size, k + TIE_MARGIN)
        scores, ids = self._index.search(np.ascontiguousarray(queries, dtype=np.float32), fetch)

        results: list[list[tuple[int, float]]] = []
        for row_scores, row_ids in zip(scores, ids, strict=True):
            hits = [(int(i), round(float(s), 6)) for i, s in zip(row_ids, row_scores, strict=True) if i >= 0]
            hits.sort(key=lambda hit: (-hit[1], hit[0]))
            results.append(hits[:k])
        return results

    def vectors(self, course_ids: Sequence[int]) -> np.ndarray:
        """Return the stored vectors of the given course ids, one row each."""
        if self._index is None or not course_ids:
            return np.zeros((0, self.encoder.dimension), dtype=np.float32)
        return np.vstack([self._index.reconstruct(int(course_id)) for course_id in course_ids])

    def contains(self, course_id: int) -> bool:
        return course_id in self._hashes


class QueryEncoder:
    """Embeds query texts (skills, role titles) and keeps each vector for the life of the object."""

    def __init__(self, encoder: Encoder, *, max_entries: int = 50_000) -> None:
        self.encoder = encoder
        self.max_entries = max_entries
        self._cache: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        missing = list(dict.fromkeys(text for text in texts if text not in self._cache))
        if missing:
            if len(self._cache) + len(missing) > self.max_entries:
                self._cache.clear()
            for text, vector in zip(missing, self.encoder.encode(missing), strict=True):
                self._cache[text] = vector
        if not texts:
            return np.zeros((0, self.encoder.dimension), dtype=np.float32)
        return np.vstack([self._cache[text] for text in texts])
