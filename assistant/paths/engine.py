"""The long-lived parts of the path engine: catalogue file, encoder, index and role resolver.

One `PathEngine` serves a process and loads the embedding model and the O*NET files
once. `snapshot` reads the synced catalogue from the database and keeps the index in
step with it. Only courses whose text changed are embedded again.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import structlog
from sqlalchemy.engine import Engine
from sqlalchemy import func
from sqlmodel import Session, col, select

from assistant.config import Settings
from assistant.embeddings import Encoder, get_encoder
from assistant.paths.builder import BuilderOptions, IndexSearch, PathInputs, PathPlan, build_path
from assistant.paths.catalogue import CatalogueConfig, CatalogueCourse, CatalogueSnapshot, Level, load_catalogue_config
from assistant.paths.index import CourseIndex, QueryEncoder, SqlEmbeddingStore
from assistant.paths.models import PathCourse
from assistant.paths.roles import RoleResolver

log = structlog.get_logger()

INDEX_FOLDER = "paths"


def course_from_row(row: PathCourse) -> CatalogueCourse:
    return CatalogueCourse(
        id=row.id,
        key=row.shortname,
        title=row.fullname,
        summary=row.summary,
        category=row.category_name,
        idnumber=row.idnumber,
        skills=tuple(row.skills),
        level=Level(row.level) if row.level else None,
        prerequisites=tuple(row.prerequisites),
        validity_months=row.validity_months,
        tags=tuple(row.tags),
    )


@dataclass
class PathEngine:
    config: CatalogueConfig
    index: CourseIndex
    roles: RoleResolver
    queries: QueryEncoder
    options: BuilderOptions
    _snapshot: CatalogueSnapshot | None = field(default=None, init=False)
    _marker: tuple[object, ...] = field(default=(), init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    @classmethod
    def create(
        cls,
        settings: Settings,
        *,
        encoder: Encoder | None = None,
        config: CatalogueConfig | None = None,
    ) -> PathEngine:
        """Load the catalogue file, the encoder, the saved index and the role data."""
        if config is None:
            config = load_catalogue_config(settings.catalogue_file) if settings.catalogue_file else CatalogueConfig()
        encoder = encoder or get_encoder()
        queries = QueryEncoder(encoder)
        index = CourseIndex(encoder, directory=settings.data_dir / INDEX_FOLDER)
        index.load()
        options = BuilderOptions(
            max_recommended=config.paths.max_recommended,
            reinforce_below=settings.reinforce_below,
            skip_ahead_above=settings.skip_ahead_above,
        )
        roles = RoleResolver.from_config(config, queries)
        return cls(config, index, roles, queries, options)

    def snapshot(self, session: Session) -> CatalogueSnapshot:
        """Return the active catalogue and bring the index in line with it when it changed.

        A sync stamps every row it adds, changes or deactivates, so the row count and the
        latest stamp tell whether the cached snapshot is still current.
        """
        marker = tuple(session.exec(select(func.count(), func.max(PathCourse.synced_at))).one())
        with self._lock:
            if self._snapshot is not None and marker == self._marker:
                return self._snapshot

            rows = session.exec(select(PathCourse).where(col(PathCourse.active)).order_by(col(PathCourse.id))).all()
            courses = [course_from_row(row) for row in rows]
            self.index.update(courses, store=SqlEmbeddingStore(session))
            self.index.save()
            self._snapshot = CatalogueSnapshot(courses)
            self._marker = marker
            return self._snapshot

    def build(self, snapshot: CatalogueSnapshot, inputs: PathInputs) -> PathPlan:
        search = IndexSearch(self.index, self.queries)
        return build_path(snapshot, self.config, search, inputs, self.options)


# One engine per database engine and process: the model and the O*NET files load once.
_ENGINES: dict[int, PathEngine] = {}
_ENGINES_LOCK = threading.Lock()


def path_engine_for(settings: Settings, engine: Engine) -> PathEngine:
    """Return this process's path engine for the database, creating it on first use."""
    with _ENGINES_LOCK:
        paths = _ENGINES.get(id(engine))
        if paths is None:
            paths = PathEngine.create(settings)
            _ENGINES[id(engine)] = paths
        return paths


def install_path_engine(engine: Engine, paths: PathEngine) -> None:
    """Use `paths` for this database from now on (tests and tools that build their own)."""
    with _ENGINES_LOCK:
        _ENGINES[id(engine)] = paths
