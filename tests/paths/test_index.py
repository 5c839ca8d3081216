"""The embeddings cache and the incremental FAISS index."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from sqlmodel import Session

from assistant.paths.catalogue import CatalogueCourse
from assistant.paths.index import CourseIndex, MemoryEmbeddingStore, SqlEmbeddingStore
from tests.paths.conftest import COURSES, CountingEncoder


def _renamed(course: CatalogueCourse, title: str) -> CatalogueCourse:
    return dataclasses.replace(course, title=title)


class TestIncrementalUpdate:
    def test_first_update_embeds_every_course(self, counting_encoder: CountingEncoder) -> None:
        index = CourseIndex(counting_encoder, MemoryEmbeddingStore())

        result = index.update(COURSES)

        assert result.added == len(COURSES)
        assert result.encoded == len(COURSES)
        assert counting_encoder.texts == len(COURSES)
        assert index.size == len(COURSES)

    def test_unchanged_catalogue_embeds_nothing(self, counting_encoder: CountingEncoder) -> None:
        index = CourseIndex(counting_encoder, MemoryEmbeddingStore())
        index.update(COURSES)
        before = counting_encoder.texts

        result = index.update(COURSES)

        assert result.unchanged == len(COURSES)
        assert counting_encoder.texts == before

    def test_only_changed_course_is_embedded_again(self, counting_encoder: CountingEncoder) -> None:
        index = CourseIndex(counting_encoder, MemoryEmbeddingStore())
        index.update(COURSES)
        before = counting_encoder.texts
        changed = [_renamed(course, "Negotiation Masterclass") if course.key == "NEG-201" else course for course in COURSES]

        result = index.update(changed)

        assert (result.changed, result.added, result.removed, result.encoded) == (1, 0, 0, 1)
        assert counting_encoder.texts == before + 1
        best = index.search(counting_encoder.encode(["Negotiation Masterclass"]), 1)[0][0]
        assert best[0] == 5

    def test_removed_course_leaves_index(self, counting_encoder: CountingEncoder) -> None:
        index = CourseIndex(counting_encoder, MemoryEmbeddingStore())
        index.update(COURSES)

        result = index.update([course for course in COURSES if course.key != "SQL-301"])

        assert result.removed == 1
        assert not index.contains(13)
        hits = index.search(counting_encoder.encode(["Database Performance Tuning"]), len(COURSES))[0]
        assert 13 not in [course_id for course_id, _ in hits]

    def test_text_seen_before_comes_from_cache(self, counting_encoder: CountingEncoder) -> None:
        store = MemoryEmbeddingStore()
        CourseIndex(counting_encoder, store).update(COURSES)
        before = counting_encoder.texts

        CourseIndex(counting_encoder, store).update(COURSES)

        assert counting_encoder.texts == before


def test_saved_index_loads_without_encoding(tmp_path: Path, counting_encoder: CountingEncoder) -> None:
    first = CourseIndex(counting_encoder, MemoryEmbeddingStore(), directory=tmp_path)
    first.update(COURSES)
    first.save()
    before = counting_encoder.texts

    second = CourseIndex(counting_encoder, MemoryEmbeddingStore(), directory=tmp_path)
    assert second.load()
    result = second.update(COURSES)

    assert result.unchanged == len(COURSES)
    assert counting_encoder.texts == before
    query = counting_encoder.encode(["negotiation"])
    assert first.search(query, 5) == second.search(query, 5)


def test_same_inputs_give_same_index(counting_encoder: CountingEncoder) -> None:
    forward = CourseIndex(counting_encoder, MemoryEmbeddingStore())
    forward.update(COURSES)
    backward = CourseIndex(counting_encoder, MemoryEmbeddingStore())
    backward.update(list(reversed(COURSES)))
    queries = counting_encoder.encode(["sql", "selling", "security"])

    assert forward.search(queries, 10) == backward.search(queries, 10)
    assert np.array_equal(forward.vectors([2, 3]), backward.vectors([2, 3]))


def test_sql_store_round_trips_vectors(session: Session, counting_encoder: CountingEncoder) -> None:
    CourseIndex(counting_encoder).update(COURSES, store=SqlEmbeddingStore(session))
    session.commit()
    before = counting_encoder.texts

    store = SqlEmbeddingStore(session)
    index = CourseIndex(counting_encoder)
    index.update(COURSES, store=store)

    assert counting_encoder.texts == before
    cached = store.get_many([COURSES[0].content_hash()], counting_encoder.name)
    assert np.allclose(cached[COURSES[0].content_hash()], counting_encoder.encode([COURSES[0].index_text()])[0], atol=1e-6)
