"""Time the path engine on the 3,404-course Coursera catalogue.

Run with `python -m benchmarks.paths [--people N] [--requests N]`. Steps, each timed:
1. embed the catalogue into a fresh index with the SQLite embedding cache (cold);
2. the same update again with nothing changed, then with 1 % of the titles changed;
3. single path builds for HR job titles resolved through O*NET, with small random
   histories (p50 and p95 of the build alone, after one warm-up build per title);
4. a new-hire path request for N people through `process_request`, with the catalogue
   and the people in a SQLite database in a temporary folder and no Moodle.
The script prints the figures, the peak resident memory and the machine's CPU count.
It reads ../shared/data and writes only to a temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import dataclasses
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from sqlmodel import Session

from assistant.config import Settings
from assistant.db import create_db_engine, migrate
from assistant.embeddings import get_encoder
from assistant.logging import configure_logging
from assistant.paths.builder import CourseRecord, LearningHistory, PathInputs, RoleContext
from assistant.paths.catalogue import CatalogueConfig, CatalogueSnapshot, OnetSettings, load_coursera_csv
from assistant.paths.engine import PathEngine
from assistant.paths.index import CourseIndex, SqlEmbeddingStore
from assistant.paths.sync import store_catalogue
from assistant.paths.tasks import create_request, process_request
from assistant.people.schemas import PersonRecord
from assistant.people.service import upsert_person

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
AS_OF = date(2026, 1, 1)


def _hr_titles(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return sorted({(row.get("Position") or "").strip() for row in csv.DictReader(handle)} - {""})


def _peak_mib() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def embed_catalogue(engine, courses, encoder) -> CourseIndex:  # type: ignore[no-untyped-def]
    index = CourseIndex(encoder)
    with Session(engine) as session:
        started = time.perf_counter()
        result = index.update(courses, store=SqlEmbeddingStore(session))
        session.commit()
        cold = time.perf_counter() - started
    print(f"cold embed: {result.encoded} courses in {cold:.1f} s = {result.encoded / cold:.1f} courses/s")

    with Session(engine) as session:
        started = time.perf_counter()
        result = index.update(courses, store=SqlEmbeddingStore(session))
        print(f"re-run, nothing changed: {time.perf_counter() - started:.3f} s, {result.encoded} encoded")

    changed = list(courses)
    for position in random.Random(7).sample(range(len(courses)), k=len(courses) // 100):
        changed[position] = dataclasses.replace(changed[position], title=changed[position].title + " (2026 edition)")
    with Session(engine) as session:
        started = time.perf_counter()
        result = index.update(changed, store=SqlEmbeddingStore(session))
        session.commit()
        print(f"re-run, 1 % changed: {time.perf_counter() - started:.2f} s, {result.changed} changed, {result.encoded} encoded")
    index.update(courses)
    return index


def single_builds(paths: PathEngine, snapshot: CatalogueSnapshot, titles: list[str], requests: int) -> None:
    rng = random.Random(11)
    keys = [course.key for course in snapshot.courses]
    for title in titles:
        paths.build(snapshot, PathInputs(RoleContext("warm", title=title), paths.roles.profile_for(title), LearningHistory(), AS_OF))

    timings = []
    for number in range(requests):
        title = rng.choice(titles)
        records = tuple(CourseRecord(key, True, date(2025, 6, 1), rng.uniform(40, 100)) for key in rng.sample(keys, 3))
        inputs = PathInputs(RoleContext(f"B{number}", title=title), paths.roles.profile_for(title), LearningHistory(records), AS_OF)
        started = time.perf_counter()
        paths.build(snapshot, inputs)
        timings.append(time.perf_counter() - started)
    cuts = statistics.quantiles(timings, n=100)
    print(f"single path build over {requests} requests: p50 {cuts[49] * 1000:.0f} ms, p95 {cuts[94] * 1000:.0f} ms")


def new_hire_batch(engine, paths: PathEngine, titles: list[str], people: int) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(3)
    with Session(engine) as session:
        for number in range(people):
            record = PersonRecord(employee_id=f"NH{number:05d}", job_title=rng.choice(titles), department="New hires", hire_date=date(2026, 1, 15))
            upsert_person(session, record, source="benchmark")
        session.commit()

    request = create_request(engine, [f"NH{number:05d}" for number in range(people)], enrol=False)
    started = time.perf_counter()
    finished = asyncio.run(process_request(engine, paths, request.id, moodle=None, as_of=AS_OF))
    elapsed = time.perf_counter() - started
    built = sum(1 for outcome in finished.outcomes.values() if outcome["status"] == "built")
    print(f"new-hire batch: {people} people in {elapsed:.1f} s ({people / elapsed:.1f} people/s), {built} paths built, status {finished.status}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.paths", description="Time the path engine on the Coursera catalogue.")
    parser.add_argument("--people", type=int, default=1000, help="People in the new-hire batch.")
    parser.add_argument("--requests", type=int, default=200, help="Single path builds timed for p50 and p95.")
    parser.add_argument("--data", type=Path, default=SHARED, help="Folder with catalogue/, roles/ and hr/.")
    args = parser.parse_args(argv)
    if not (args.data / "catalogue" / "coursera_courses.csv").exists():
        print(f"{args.data}/catalogue/coursera_courses.csv not found; pass --data with the shared data folder", file=sys.stderr)
        return 2

    configure_logging(level="WARNING")
    print(f"CPUs (os.cpu_count): {os.cpu_count()}, load average before the run: {os.getloadavg()[0]:.1f}")
    courses = load_coursera_csv(args.data / "catalogue" / "coursera_courses.csv")
    titles = _hr_titles(args.data / "hr" / "HRDataset_v14.csv")
    encoder = get_encoder()

    with tempfile.TemporaryDirectory() as folder:
        engine = create_db_engine(f"sqlite:///{folder}/bench.db")
        migrate(engine)
        index = embed_catalogue(engine, courses, encoder)

        config = CatalogueConfig(onet=OnetSettings(directory=args.data / "roles"))
        paths = PathEngine.create(Settings(data_dir=Path(folder)), encoder=encoder, config=config)
        paths.index = index
        with Session(engine) as session:
            store_catalogue(session, courses)
            session.commit()
            snapshot = paths.snapshot(session)
        single_builds(paths, snapshot, titles, args.requests)
        new_hire_batch(engine, paths, titles, args.people)
        engine.dispose()

    print(f"peak resident memory: {_peak_mib():.0f} MiB, load average after the run: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
