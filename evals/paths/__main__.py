"""Evaluate the path engine against a BM25 baseline on real job titles and the Coursera catalogue.

Run `python -m evals.paths` from the repository root; README.md beside this file explains
the gold set, the metrics and their limits.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import math
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
from rank_bm25 import BM25Okapi
from sqlmodel import Session

from assistant.db import create_db_engine, migrate
from assistant.embeddings import Encoder, get_encoder
from assistant.paths.builder import (
    BuilderOptions,
    CourseRecord,
    IndexSearch,
    LearningHistory,
    PathInputs,
    RoleContext,
    build_path,
)
from assistant.paths.catalogue import CatalogueConfig, CatalogueCourse, CatalogueSnapshot, OnetSettings, load_coursera_csv
from assistant.paths.index import CourseIndex, MemoryEmbeddingStore, QueryEncoder, SqlEmbeddingStore
from assistant.paths.models import ItemKind
from assistant.paths.roles import RoleProfile, RoleResolver, load_occupations
from assistant.paths.skills import skill_key, skills_match

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
TOP_K = 10
# Cosine similarity at which two skill names count as the same skill in the embedding definition.
EMBEDDING_MATCH = 0.8
# Share of courses, by lowest title-to-skills similarity, treated as suspect (skills of another course).
SUSPECT_SHARE = 0.05
AS_OF = date(2026, 1, 1)


@dataclass(frozen=True)
class Query:
    title: str
    profile: RoleProfile


@dataclass
class Scores:
    ndcg_token: list[float]
    ndcg_embedding: list[float]
    coverage: list[float]
    suspect_share: list[float]


def _hr_titles(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return sorted({(row.get("Position") or "").strip() for row in csv.DictReader(handle)} - {""})


def _tokens(text: str) -> list[str]:
    return sorted(skill_key(text)) or text.lower().split()


class SkillMatcher:
    """Both relevance definitions, precomputed per required skill over the catalogue's distinct skills.

    Token: the words of one name are a subset of the other's (`assistant.paths.skills`).
    Embedding: the cosine similarity of the two names' MiniLM embeddings is at least
    EMBEDDING_MATCH.
    """

    def __init__(self, texts: CachedTexts, courses: Sequence[CatalogueCourse], required: Sequence[str]) -> None:
        taught = sorted({skill for course in courses for skill in course.skills})
        wanted = sorted(set(required))
        similarity = texts.encode(wanted) @ texts.encode(taught).T
        self._token = {name: frozenset(t for t in taught if skills_match(name, t)) for name in wanted}
        self._embedding = {
            name: frozenset(taught[j] for j in np.flatnonzero(similarity[i] >= EMBEDDING_MATCH))
            for i, name in enumerate(wanted)
        }

    def token(self, required: str, taught: Sequence[str]) -> bool:
        return not self._token[required].isdisjoint(taught)

    def embedding(self, required: str, taught: Sequence[str]) -> bool:
        return not self._embedding[required].isdisjoint(taught)


def _relevance(course: CatalogueCourse, required: Sequence[str], match: Callable[[str, Sequence[str]], bool]) -> int:
    return sum(1 for skill in required if match(skill, course.skills))


def _ndcg(ranked: Sequence[CatalogueCourse], gains: dict[int, int]) -> float:
    dcg = sum(gains.get(course.id, 0) / math.log2(position + 2) for position, course in enumerate(ranked[:TOP_K]))
    ideal = sorted(gains.values(), reverse=True)[:TOP_K]
    idcg = sum(gain / math.log2(position + 2) for position, gain in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def _coverage(ranked: Sequence[CatalogueCourse], required: Sequence[str], matcher: SkillMatcher) -> float:
    if not required:
        return 0.0
    covered = [skill for skill in required if any(matcher.token(skill, course.skills) for course in ranked[:TOP_K])]
    return len(covered) / len(required)


def engine_ranking(
    catalogue: CatalogueSnapshot, search: IndexSearch, query: Query, history: LearningHistory = LearningHistory()
) -> list[CatalogueCourse]:
    """Return the engine's recommendations in the order it chose them (maximal marginal relevance)."""
    options = BuilderOptions(max_recommended=TOP_K, require_new_coverage=False)
    inputs = PathInputs(RoleContext("eval", title=query.title), query.profile, history, AS_OF)
    plan = build_path(catalogue, CatalogueConfig(), search, inputs, options)
    recommended = [item for item in plan.items if item.kind is ItemKind.RECOMMENDED and "rank" in item.reasons]
    return [item.course for item in sorted(recommended, key=lambda item: item.reasons["rank"])]


class Bm25Baseline:
    """BM25 over each course's title, skills and subject; the query is the title plus the required skills."""

    def __init__(self, courses: Sequence[CatalogueCourse]) -> None:
        self.courses = list(courses)
        documents = [_tokens(" ".join([course.title, *course.skills, course.category])) for course in self.courses]
        self.bm25 = BM25Okapi(documents)

    def rank(self, query: Query) -> list[CatalogueCourse]:
        words = _tokens(" ".join([query.title, *(skill.name for skill in query.profile.skills)]))
        scores = self.bm25.get_scores(words)
        order = sorted(range(len(self.courses)), key=lambda i: (-scores[i], self.courses[i].id))
        return [self.courses[i] for i in order[:TOP_K]]


class CachedTexts:
    """Embeds texts through the SQLite cache, so a second run encodes nothing."""

    def __init__(self, encoder: Encoder, store: SqlEmbeddingStore) -> None:
        self.encoder = encoder
        self.store = store

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        hashes = [hashlib.sha256(text.encode("utf-8")).hexdigest() for text in texts]
        found = self.store.get_many(sorted(set(hashes)), self.encoder.name)
        missing = {h: text for h, text in zip(hashes, texts, strict=True) if h not in found}
        if missing:
            vectors = self.encoder.encode(list(missing.values()))
            fresh = dict(zip(missing, vectors, strict=True))
            self.store.put_many(fresh, self.encoder.name)
            found.update(fresh)
        return np.vstack([found[h] for h in hashes])


def suspect_courses(courses: Sequence[CatalogueCourse], texts: CachedTexts) -> set[int]:
    """Flag the courses whose title is least similar to their own skill list."""
    titles = texts.encode([course.title for course in courses])
    skills = texts.encode([", ".join(course.skills) for course in courses])
    similarity = np.einsum("ij,ij->i", titles, skills)
    cut = np.quantile(similarity, SUSPECT_SHARE)
    return {course.id for course, value in zip(courses, similarity, strict=True) if value <= cut}


def _score(
    rank: Callable[[Query], list[CatalogueCourse]],
    queries: list[Query],
    courses: Sequence[CatalogueCourse],
    matcher: SkillMatcher,
    suspects: set[int],
) -> Scores:
    scores = Scores([], [], [], [])
    for query in queries:
        required = [skill.name for skill in query.profile.skills]
        ranked = rank(query)
        token_gains = {c.id: g for c in courses if (g := _relevance(c, required, matcher.token))}
        embedding_gains = {c.id: g for c in courses if (g := _relevance(c, required, matcher.embedding))}
        scores.ndcg_token.append(_ndcg(ranked, token_gains))
        scores.ndcg_embedding.append(_ndcg(ranked, embedding_gains))
        scores.coverage.append(_coverage(ranked, required, matcher))
        scores.suspect_share.append(sum(1 for c in ranked if c.id in suspects) / max(len(ranked), 1))
    return scores


def explanation_faithfulness(
    catalogue: CatalogueSnapshot, search: IndexSearch, queries: list[Query], matcher: SkillMatcher
) -> tuple[float, float, int]:
    """Share of recommendations whose explanation names a skill the course teaches (token, embedding)."""
    token_ok = embedding_ok = total = 0
    options = BuilderOptions(max_recommended=TOP_K)
    for query in queries:
        inputs = PathInputs(RoleContext("eval", title=query.title), query.profile, LearningHistory(), AS_OF)
        for item in build_path(catalogue, CatalogueConfig(), search, inputs, options).items:
            total += 1
            named = item.covered_skills
            token_ok += any(matcher.token(skill, item.course.skills) for skill in named) and any(
                skill in item.explanation for skill in named
            )
            embedding_ok += any(matcher.embedding(skill, item.course.skills) for skill in named)
    return token_ok / max(total, 1), embedding_ok / max(total, 1), total


def repeated_completions(catalogue: CatalogueSnapshot, search: IndexSearch, queries: list[Query]) -> tuple[int, int]:
    """Mark each role's top 3 courses as completed and count how often they come back; returns (repeats, checked)."""
    repeats = checked = 0
    for query in queries:
        top = engine_ranking(catalogue, search, query)[:3]
        history = LearningHistory(records=tuple(CourseRecord(course.key, True, date(2025, 6, 1), 80.0) for course in top))
        again = {course.key for course in engine_ranking(catalogue, search, query, history)}
        inputs = PathInputs(RoleContext("eval", title=query.title), query.profile, history, AS_OF)
        path = {item.course.key for item in build_path(catalogue, CatalogueConfig(), search, inputs).items}
        checked += len(top)
        repeats += sum(1 for course in top if course.key in again or course.key in path)
    return repeats, checked


def _mean(values: list[float]) -> str:
    return f"{statistics.fmean(values):.3f}" if values else "n/a"


def _row(name: str, scores: Scores) -> str:
    return (
        f"| {name:<38} | {_mean(scores.ndcg_token):>11} | {_mean(scores.ndcg_embedding):>15} "
        f"| {_mean(scores.coverage):>11} | {_mean(scores.suspect_share):>13} |"
    )


def _header() -> str:
    return (
        f"| {'ranker':<38} | {'nDCG@10 tok':>11} | {'nDCG@10 emb≥0.8':>15} | {'coverage@10':>11} | {'suspect share':>13} |\n"
        f"|{'-' * 40}|{'-' * 13}|{'-' * 17}|{'-' * 13}|{'-' * 15}|"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.paths", description=__doc__)
    parser.add_argument("--data", type=Path, default=SHARED, help="Folder with catalogue/, roles/ and hr/ (default: ../shared/data).")
    parser.add_argument(
        "--cache", type=Path, default=Path("var") / "evals" / "paths-embeddings.db",
        help="SQLite file that keeps course embeddings between runs (created if absent).",
    )
    parser.add_argument("--min-importance", type=float, default=3.5, help="O*NET importance (1-5) a skill needs to be required.")
    args = parser.parse_args(argv)

    needed = [args.data / "catalogue" / "coursera_courses.csv", args.data / "roles" / "onet_skills.csv", args.data / "hr" / "HRDataset_v14.csv"]
    missing = [str(path) for path in needed if not path.exists()]
    if missing:
        print(f"missing data files: {', '.join(missing)}; pass --data with the shared data folder", file=sys.stderr)
        return 2

    started = time.perf_counter()
    encoder = get_encoder()
    queries = QueryEncoder(encoder)
    courses = load_coursera_csv(args.data / "catalogue" / "coursera_courses.csv")
    catalogue = CatalogueSnapshot(courses)
    index = _catalogue_index(encoder, courses, args.cache)
    search = IndexSearch(index, queries)

    onet = OnetSettings(directory=args.data / "roles", min_importance=args.min_importance)
    resolver = RoleResolver(CatalogueConfig(onet=onet), load_occupations(onet), queries, onet.min_title_similarity)
    titles = _hr_titles(args.data / "hr" / "HRDataset_v14.csv")
    profiles = [resolver.profile_for(title) for title in titles]
    gold = [Query(title, profile) for title, profile in zip(titles, profiles, strict=True) if profile.skills]

    print(f"roles: {len(gold)} of {len(titles)} HR positions matched an O*NET occupation")
    for title, profile in zip(titles, profiles, strict=True):
        similarity = f"{profile.similarity:.2f}" if profile.similarity is not None else "-"
        print(f"  {title:<32} -> {profile.name or '(no match)'} [{profile.match or '-'} {similarity}], {len(profile.skills)} skills")

    cache_engine = create_db_engine(f"sqlite:///{args.cache}")
    with Session(cache_engine) as cache_session:
        texts = CachedTexts(encoder, SqlEmbeddingStore(cache_session))
        matcher = SkillMatcher(texts, courses, [skill.name for query in gold for skill in query.profile.skills])
        suspects = suspect_courses(courses, texts)
        cache_session.commit()
    cache_engine.dispose()
    bm25 = Bm25Baseline(courses)
    engine = _score(lambda q: engine_ranking(catalogue, search, q), gold, courses, matcher, suspects)
    baseline = _score(bm25.rank, gold, courses, matcher, suspects)

    clean_courses = [course for course in courses if course.id not in suspects]
    clean_catalogue = CatalogueSnapshot(clean_courses)
    clean_search = IndexSearch(_subset_index(index, clean_courses), queries)
    clean_engine = _score(lambda q: engine_ranking(clean_catalogue, clean_search, q), gold, clean_courses, matcher, suspects)
    clean_bm25 = _score(Bm25Baseline(clean_courses).rank, gold, clean_courses, matcher, suspects)

    print()
    print(_header())
    print(_row("path engine", engine))
    print(_row("BM25 baseline", baseline))
    print(_row(f"path engine, {len(suspects)} suspect rows removed", clean_engine))
    print(_row(f"BM25, {len(suspects)} suspect rows removed", clean_bm25))

    token_share, embedding_share, explained = explanation_faithfulness(catalogue, search, gold, matcher)
    repeats, checked = repeated_completions(catalogue, search, gold)
    print()
    print(f"explanations naming a skill the course teaches: {token_share:.3f} (token match), "
          f"{embedding_share:.3f} (embedding ≥ {EMBEDDING_MATCH}) of {explained} path items")
    print(f"prior completions recommended again: {repeats} of {checked}")
    print(f"wall time {time.perf_counter() - started:.0f} s")
    return 0


def _catalogue_index(encoder: Encoder, courses: list[CatalogueCourse], cache: Path) -> CourseIndex:
    """Index the catalogue, taking vectors from the cache file and adding the ones it lacks."""
    engine = create_db_engine(f"sqlite:///{cache}")
    migrate(engine)
    index = CourseIndex(encoder)
    with Session(engine) as session:
        index.update(courses, store=SqlEmbeddingStore(session))
        session.commit()
    engine.dispose()
    return index


def _subset_index(index: CourseIndex, courses: list[CatalogueCourse]) -> CourseIndex:
    """Build an index of some of the courses from vectors already computed."""
    subset = CourseIndex(index.encoder)
    vectors = index.vectors([course.id for course in courses])
    store = MemoryEmbeddingStore()
    store.put_many({course.content_hash(): vector for course, vector in zip(courses, vectors, strict=True)}, index.encoder.name)
    subset.update(courses, store=store)
    return subset


if __name__ == "__main__":
    sys.exit(main())
