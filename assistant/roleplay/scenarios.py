"""Roleplay scenarios: YAML files under `prompts/scenarios/`, validated on load.

A file that does not validate raises `ScenarioError` naming the file and the field,
for example `sales-discovery.yaml: rubric.criteria.0.weight: Input should be greater than 0`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from assistant.errors import AssistantError
from assistant.llm.scripted import PersonaScript
from assistant.roleplay.metrics import METRIC_NAMES

# NOTE: prompts/ sits beside the package, not in it, so this path exists in a source
# checkout or an editable install only. A wheel install needs ASSISTANT_ROLEPLAY_SCENARIOS_DIR.
BUNDLED_SCENARIOS_DIR = Path(__file__).resolve().parents[2] / "prompts" / "scenarios"

_SLUG = r"^[a-z0-9][a-z0-9-]*$"
REGEX_PREFIX = "re:"


class ScenarioError(AssistantError):
    """A scenario file is missing, unreadable or invalid."""

    status_code = 500


class ScenarioNotFound(AssistantError):
    status_code = 404


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _pattern_matches(pattern: str, value: str) -> bool:
    """Match a glob (`Sales*`) or, with the `re:` prefix, a regular expression; both ignore case."""
    if pattern.startswith(REGEX_PREFIX):
        return re.search(pattern[len(REGEX_PREFIX) :], value, re.IGNORECASE) is not None
    return fnmatch.fnmatchcase(value.lower(), pattern.lower())


class Suits(_Strict):
    """Roles the scenario is meant for. A person suits when department and title both match, and an empty list matches anything."""

    departments: list[str] = Field(default_factory=list)
    titles: list[str] = Field(default_factory=list)

    @field_validator("departments", "titles")
    @classmethod
    def _check_patterns(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            if not pattern.startswith(REGEX_PREFIX):
                continue
            try:
                re.compile(pattern[len(REGEX_PREFIX) :])
            except re.error as exc:
                raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from exc
        return patterns

    def matches(self, department: str | None, title: str | None) -> bool:
        department_ok = not self.departments or any(_pattern_matches(p, (department or "").strip()) for p in self.departments)
        title_ok = not self.titles or any(_pattern_matches(p, (title or "").strip()) for p in self.titles)
        return department_ok and title_ok


class Persona(_Strict):
    name: str = Field(min_length=1)
    role: str = Field(min_length=1)
    situation: str = Field(min_length=1)
    personality: str = Field(min_length=1)
    hidden_goals: list[str] = Field(min_length=1)
    objections: list[str] = Field(default_factory=list)
    agrees_when: str = Field(min_length=1)


class EndConditions(_Strict):
    # Learner messages after which the session closes.
    max_turns: int = Field(ge=1, le=60)
    # Phrases that, found in a persona reply (case-insensitive), mean the persona agreed and the session closes.
    agreement_phrases: list[str] = Field(default_factory=list)


class Limits(_Strict):
    # Characters one learner message may have.
    max_turn_chars: int = Field(default=4000, ge=20, le=50_000)
    # Estimated tokens of conversation history sent with each persona call (the persona prompt comes on top).
    history_tokens: int = Field(default=1500, ge=200, le=100_000)
    # Tokens one persona reply may have; a spoken turn of two to four sentences.
    reply_tokens: int = Field(default=120, ge=16, le=4000)


class MetricTarget(_Strict):
    """Maps a conversation metric to 0..1: `weak_at` gives 0, `good_at` gives 1, linear between, clipped."""

    name: str
    weak_at: float
    good_at: float
    # Share of the criterion's offline result that comes from the metric; the rest from example similarity.
    weight: float = Field(default=0.5, ge=0.0, le=1.0)

    @field_validator("name")
    @classmethod
    def _check_name(cls, name: str) -> str:
        if name not in METRIC_NAMES:
            raise ValueError(f"unknown metric {name!r}; expected one of {', '.join(METRIC_NAMES)}")
        return name

    @model_validator(mode="after")
    def _check_range(self) -> MetricTarget:
        if self.weak_at == self.good_at:
            raise ValueError("weak_at and good_at must differ")
        return self

    def normalise(self, value: float) -> float:
        share = (value - self.weak_at) / (self.good_at - self.weak_at)
        return min(1.0, max(0.0, share))


def _level_key(key: object) -> str:
    if isinstance(key, bool):
        return "yes" if key else "no"
    return str(key)


class Criterion(_Strict):
    id: str = Field(pattern=_SLUG)
    description: str = Field(min_length=1)
    weight: float = Field(gt=0)
    kind: Literal["yes_no", "scale_1_5"]
    # For scale_1_5: what each level 1..5 looks like. For yes_no: optional "yes" and "no" descriptions.
    levels: dict[str, str] = Field(default_factory=dict)
    good_examples: list[str] = Field(min_length=1)
    weak_examples: list[str] = Field(min_length=1)
    metric: MetricTarget | None = None

    @field_validator("levels", mode="before")
    @classmethod
    def _levels_as_text(cls, levels: object) -> object:
        # YAML reads `1:` keys as integers, and (YAML 1.1, as PyYAML implements it) `yes:` and `no:` as booleans.
        if isinstance(levels, dict):
            return {_level_key(key): value for key, value in levels.items()}
        return levels

    @model_validator(mode="after")
    def _check_levels(self) -> Criterion:
        expected = {"1", "2", "3", "4", "5"} if self.kind == "scale_1_5" else {"yes", "no"}
        if self.kind == "scale_1_5" and set(self.levels) != expected:
            raise ValueError(f"a scale_1_5 criterion needs levels 1, 2, 3, 4 and 5; got {sorted(self.levels)}")
        if self.kind == "yes_no" and not set(self.levels) <= expected:
            raise ValueError(f"a yes_no criterion takes only the levels 'yes' and 'no'; got {sorted(self.levels)}")
        return self

    @property
    def max_score(self) -> int:
        return 5 if self.kind == "scale_1_5" else 1

    @property
    def min_score(self) -> int:
        return 1 if self.kind == "scale_1_5" else 0

    def fraction(self, score: float) -> float:
        """Map a raw score (0/1 or 1..5) to 0..1."""
        return (score - self.min_score) / (self.max_score - self.min_score)


class Rubric(_Strict):
    pass_mark: float = Field(ge=0, le=100)
    criteria: list[Criterion] = Field(min_length=1)

    @field_validator("criteria")
    @classmethod
    def _unique_ids(cls, criteria: list[Criterion]) -> list[Criterion]:
        ids = [criterion.id for criterion in criteria]
        duplicates = sorted({identifier for identifier in ids if ids.count(identifier) > 1})
        if duplicates:
            raise ValueError(f"criterion ids must be unique; repeated: {', '.join(duplicates)}")
        return criteria

    @property
    def total_weight(self) -> float:
        return sum(criterion.weight for criterion in self.criteria)


class Scenario(_Strict):
    id: str = Field(pattern=_SLUG)
    title: str = Field(min_length=1)
    version: int = Field(ge=1)
    # Language the persona opens in; the persona then follows the learner's language.
    language: str = Field(default="en", min_length=2, max_length=8)
    suits: Suits
    persona: Persona
    learner_brief: str = Field(min_length=1)
    opening_line: str = Field(min_length=1)
    end: EndConditions
    limits: Limits = Field(default_factory=Limits)
    # In-character lines sent when every generated reply broke character.
    fallback_lines: list[str] = Field(min_length=1)
    rubric: Rubric
    scripted: PersonaScript

    def agreement_reached(self, persona_reply: str) -> bool:
        lowered = persona_reply.lower()
        return any(phrase.lower() in lowered for phrase in self.end.agreement_phrases)

    def criterion(self, criterion_id: str) -> Criterion:
        for criterion in self.rubric.criteria:
            if criterion.id == criterion_id:
                return criterion
        raise KeyError(criterion_id)


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "(top level)"
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"


def load_scenario(path: Path) -> Scenario:
    """Read and validate one scenario file; raise `ScenarioError` naming the file and field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot be read ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: invalid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: expected a mapping of scenario fields at the top level")

    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(f"{path.name}: {_describe(exc)}") from exc
    if scenario.id != path.stem:
        raise ScenarioError(f"{path.name}: id {scenario.id!r} must equal the file name without .yaml ({path.stem!r})")
    return scenario


def load_scenarios(directory: Path) -> dict[str, Scenario]:
    """Load every `*.yaml` in `directory`, keyed by id."""
    if not directory.is_dir():
        raise ScenarioError(f"scenario folder {directory} does not exist; set ASSISTANT_ROLEPLAY_SCENARIOS_DIR")
    scenarios = {path.stem: load_scenario(path) for path in sorted(directory.glob("*.yaml"))}
    if not scenarios:
        raise ScenarioError(f"scenario folder {directory} contains no .yaml files")
    return scenarios


@lru_cache(maxsize=4)
def cached_scenarios(directory: Path) -> Mapping[str, Scenario]:
    """Load a folder's scenarios once per process; restart to pick up edits."""
    return load_scenarios(directory)


def suitable_scenarios(scenarios: Mapping[str, Scenario], *, department: str | None, title: str | None) -> list[Scenario]:
    """List the scenarios meant for this department and job title, ordered by id."""
    return [scenario for _, scenario in sorted(scenarios.items()) if scenario.suits.matches(department, title)]
