"""Role profiles: the skills a job title requires, with weights.

A title resolves in this order:
1. a role in the catalogue file, by its name or an alias;
2. an O*NET occupation whose title has the same words (plural or not);
3. the O*NET occupation whose title embedding is nearest, when the cosine similarity
   reaches `onet.min_title_similarity`.
Before matching, seniority words ("Sr.", "II", "Lead") are removed and common
abbreviations ("DBA", "BI", "IT") are spelled out. An occupation contributes its skills
whose O*NET importance reaches `onet.min_importance` (weight = importance / 5) and its
most listed tool categories (weight 0.4 to 0.8, see `_technology_skills`).
"""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import structlog

from assistant.errors import InvalidInput
from assistant.paths.catalogue import CatalogueConfig, Level, OnetSettings
from assistant.paths.index import QueryEncoder
from assistant.paths.skills import skill_key

log = structlog.get_logger()

ONET_FILES = ("onet_occupations.csv", "onet_skills.csv", "onet_technology_skills.csv")

# Abbreviations common in job titles, spelled out so that they match O*NET titles.
TITLE_ABBREVIATIONS = {
    "sr": "senior",
    "jr": "junior",
    "dba": "database administrator",
    "bi": "business intelligence",
    "it": "information technology",
    "hr": "human resources",
    "cio": "chief information officer",
    "cto": "chief technology officer",
    "ceo": "chief executive",
    "cfo": "chief financial officer",
    "coo": "chief operating officer",
    "vp": "vice president",
    "mgr": "manager",
    "qa": "quality assurance",
    "db": "database",
}
SENIOR_WORDS = frozenset({"senior", "lead", "principal", "staff", "head", "chief", "director", "manager", "iii", "iv"})
JUNIOR_WORDS = frozenset({"junior", "trainee", "intern", "apprentice", "assistant", "associate", "i"})
# Seniority words, which describe the grade of a job but not the job itself.
GRADE_WORDS = frozenset({"senior", "junior", "lead", "principal", "staff", "trainee", "intern", "i", "ii", "iii", "iv"})


class OnetDataMissing(InvalidInput):
    """The configured O*NET folder lacks one of the files."""


@dataclass(frozen=True)
class RoleSkill:
    name: str
    weight: float
    # "skill" for O*NET skills and configured skills, "technology" for O*NET tool categories.
    kind: str = "skill"


@dataclass(frozen=True)
class RoleProfile:
    """The skills a title requires and how the title was matched."""

    title: str
    skills: tuple[RoleSkill, ...]
    # configured, onet, or none when nothing matched.
    source: str
    name: str | None = None
    occupation_code: str | None = None
    match: str | None = None
    similarity: float | None = None

    def weights(self) -> dict[str, float]:
        return {skill.name: skill.weight for skill in self.skills}

    def describe(self) -> dict[str, object]:
        return {
            "source": self.source,
            "name": self.name,
            "occupation_code": self.occupation_code,
            "match": self.match,
            "similarity": self.similarity,
        }


@dataclass(frozen=True)
class Occupation:
    code: str
    title: str
    skills: tuple[RoleSkill, ...]


def normalise_title(title: str) -> str:
    """Lower-case a job title, spell out abbreviations and drop punctuation."""
    words = re.findall(r"[a-z0-9+#]+", title.lower())
    expanded = [TITLE_ABBREVIATIONS.get(word, word) for word in words]
    return " ".join(expanded)


def title_without_grade(title: str) -> str:
    """Return the normalised title without seniority words ("Senior BI Developer" -> "business intelligence developer")."""
    words = [word for word in normalise_title(title).split() if word not in GRADE_WORDS]
    return " ".join(words) or normalise_title(title)


def seniority_of(title: str | None) -> Level:
    """Guess the level of courses that suits a title: advanced for senior and management titles."""
    if not title:
        return Level.INTRODUCTORY
    words = set(normalise_title(title).split())
    if words & SENIOR_WORDS or "ii" in words:
        return Level.ADVANCED if words & SENIOR_WORDS else Level.INTERMEDIATE
    if words & JUNIOR_WORDS:
        return Level.INTRODUCTORY
    return Level.INTERMEDIATE


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _technology_skills(rows: list[dict[str, str]], settings: OnetSettings) -> list[RoleSkill]:
    """Pick an occupation's tool categories by how many example tools O*NET lists for each.

    O*NET rates no importance for tools, so the number of listed examples replaces it.
    Categories need at least `min_technology_examples` examples. The largest come first,
    at most `max_technology_skills` of them, weighted 0.4 plus 0.4 times their share of
    the largest.
    """
    counts = Counter(row["Commodity Title"].strip() for row in rows if row.get("Commodity Title"))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ranked = [(name, count) for name, count in ranked if count >= settings.min_technology_examples]
    ranked = ranked[: settings.max_technology_skills]
    if not ranked:
        return []
    top = ranked[0][1]
    return [RoleSkill(name, round(0.4 + 0.4 * count / top, 3), "technology") for name, count in ranked]


def load_occupations(settings: OnetSettings) -> list[Occupation]:
    """Read the O*NET files and return every occupation with its required skills."""
    missing = [name for name in ONET_FILES if not (settings.directory / name).exists()]
    if missing:
        raise OnetDataMissing(
            f"O*NET folder {settings.directory} lacks {', '.join(missing)}; fix onet.directory in the catalogue "
            "file or remove the onet section to use configured roles only"
        )

    skills: dict[str, list[RoleSkill]] = defaultdict(list)
    for row in _read_csv(settings.directory / "onet_skills.csv"):
        if row["Scale ID"] != "IM" or row.get("Recommend Suppress") == "Y":
            continue
        importance = float(row["Data Value"])
        if importance >= settings.min_importance:
            skills[row["O*NET-SOC Code"]].append(RoleSkill(row["Element Name"], round(importance / 5, 3)))

    technology: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in _read_csv(settings.directory / "onet_technology_skills.csv"):
        technology[row["O*NET-SOC Code"]].append(row)

    occupations = []
    for row in _read_csv(settings.directory / "onet_occupations.csv"):
        code = row["O*NET-SOC Code"]
        own = sorted(skills.get(code, []), key=lambda skill: (-skill.weight, skill.name))
        tools = _technology_skills(technology.get(code, []), settings)
        occupations.append(Occupation(code, row["Title"].strip(), tuple(own + tools)))
    return occupations


@dataclass
class RoleResolver:
    """Turns job titles into role profiles; keeps every resolved title for the life of the object."""

    config: CatalogueConfig
    occupations: list[Occupation] = field(default_factory=list)
    queries: QueryEncoder | None = None
    min_title_similarity: float = 0.55
    # Why O*NET matching is off although the catalogue file asks for it; None when it is on or not asked for.
    unavailable: str | None = field(default=None, init=False)
    _cache: dict[str, RoleProfile] = field(default_factory=dict, init=False)
    _occupation_vectors: np.ndarray | None = field(default=None, init=False)
    _by_words: dict[frozenset[str], Occupation] = field(default_factory=dict, init=False)
    _by_code: dict[str, Occupation] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        for occupation in self.occupations:
            self._by_code[occupation.code] = occupation
            self._by_words.setdefault(skill_key(normalise_title(occupation.title)), occupation)

    @classmethod
    def from_config(cls, config: CatalogueConfig, queries: QueryEncoder | None) -> RoleResolver:
        """Build a resolver; without an `onet` section or its files only configured roles resolve."""
        if config.onet is None:
            log.info("paths.roles.onet_absent")
            return cls(config, [], queries)
        try:
            occupations = load_occupations(config.onet)
        except OnetDataMissing as exc:
            log.warning("paths.roles.onet_missing", directory=str(config.onet.directory), error=exc.message)
            resolver = cls(config, [], queries)
            resolver.unavailable = exc.message
            return resolver
        log.info("paths.roles.onet_loaded", occupations=len(occupations))
        return cls(config, occupations, queries, config.onet.min_title_similarity)

    def profile_for(self, title: str | None) -> RoleProfile:
        """Return the profile of a job title; a title that matches nothing gets an empty profile."""
        title = (title or "").strip()
        if title not in self._cache:
            self._cache[title] = self._resolve(title)
        return self._cache[title]

    def _resolve(self, title: str) -> RoleProfile:
        if not title:
            return RoleProfile(title, (), "none")

        configured = self._configured(title)
        if configured is not None:
            return configured

        occupation = self._by_words.get(skill_key(title_without_grade(title)))
        if occupation is not None:
            return self._from_occupation(title, occupation, "exact", 1.0)
        return self._nearest_occupation(title)

    def _configured(self, title: str) -> RoleProfile | None:
        wanted = title_without_grade(title)
        for name, role in sorted(self.config.roles.items()):
            names = [name, *role.aliases]
            if not any(normalise_title(candidate) in (normalise_title(title), wanted) for candidate in names):
                continue
            skills = [RoleSkill(skill, weight) for skill, weight in role.skills.items()]
            occupation = self._occupation_named(role.occupation) if role.occupation else None
            if occupation is not None:
                known = {skill_key(skill.name) for skill in skills}
                skills += [skill for skill in occupation.skills if skill_key(skill.name) not in known]
            match = "name" if normalise_title(name) in (normalise_title(title), wanted) else "alias"
            return RoleProfile(
                title, tuple(skills), "configured", name, occupation.code if occupation else None, match, 1.0
            )
        return None

    def _occupation_named(self, reference: str) -> Occupation | None:
        if reference in self._by_code:
            return self._by_code[reference]
        occupation = self._by_words.get(skill_key(normalise_title(reference)))
        if occupation is None:
            log.warning("paths.roles.occupation_unknown", occupation=reference)
        return occupation

    def _nearest_occupation(self, title: str) -> RoleProfile:
        if not self.occupations or self.queries is None:
            return RoleProfile(title, (), "none")

        vectors = self._titles_matrix()
        query = self.queries.encode([title_without_grade(title)])[0]
        scores = vectors @ query
        best = int(np.argmax(scores))
        similarity = round(float(scores[best]), 4)
        if similarity < self.min_title_similarity:
            log.info("paths.roles.unmatched", similarity=similarity)
            return RoleProfile(title, (), "none", similarity=similarity)
        return self._from_occupation(title, self.occupations[best], "similarity", similarity)

    def _titles_matrix(self) -> np.ndarray:
        if self._occupation_vectors is None:
            assert self.queries is not None
            self._occupation_vectors = self.queries.encode([occ.title for occ in self.occupations])
        return self._occupation_vectors

    def _from_occupation(self, title: str, occupation: Occupation, match: str, similarity: float) -> RoleProfile:
        return RoleProfile(title, occupation.skills, "onet", occupation.title, occupation.code, match, similarity)

    def resolve_many(self, titles: Sequence[str]) -> list[RoleProfile]:
        return [self.profile_for(title) for title in titles]
