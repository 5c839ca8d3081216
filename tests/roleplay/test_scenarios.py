"""Loading and validating scenario files, and matching them to roles."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml

from assistant.roleplay.scenarios import BUNDLED_SCENARIOS_DIR, Scenario, ScenarioError, load_scenario, load_scenarios, suitable_scenarios

REQUIRED = {"sales-discovery-call", "price-objection", "unhappy-customer", "new-manager-feedback", "motivational-interviewing"}


def _write(tmp_path: Path, name: str, data: object) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _valid_data() -> dict:
    return yaml.safe_load((BUNDLED_SCENARIOS_DIR / "price-objection.yaml").read_text(encoding="utf-8"))


def test_bundled_scenarios_load(scenarios: Mapping[str, Scenario]) -> None:
    assert REQUIRED <= set(scenarios)
    for scenario in scenarios.values():
        assert scenario.rubric.criteria
        assert scenario.fallback_lines
        assert 0 <= scenario.rubric.pass_mark <= 100


def test_mi_rubric_follows_mi_practice(scenarios: Mapping[str, Scenario]) -> None:
    ids = {criterion.id for criterion in scenarios["motivational-interviewing"].rubric.criteria}

    assert ids == {"open-questions", "reflections", "avoids-righting-reflex", "evokes-change-talk", "partnership"}


def test_scale_criteria_describe_every_level(scenarios: Mapping[str, Scenario]) -> None:
    for scenario in scenarios.values():
        for criterion in scenario.rubric.criteria:
            if criterion.kind == "scale_1_5":
                assert set(criterion.levels) == {"1", "2", "3", "4", "5"}, (scenario.id, criterion.id)


def test_invalid_weight_names_file_and_field(tmp_path: Path) -> None:
    data = _valid_data()
    data["rubric"]["criteria"][0]["weight"] = 0
    path = _write(tmp_path, "price-objection", data)

    with pytest.raises(ScenarioError, match=r"price-objection\.yaml: rubric\.criteria\.0\.weight: Input should be greater than 0"):
        load_scenario(path)


def test_missing_field_names_it(tmp_path: Path) -> None:
    data = _valid_data()
    del data["persona"]["agrees_when"]
    path = _write(tmp_path, "price-objection", data)

    with pytest.raises(ScenarioError, match=r"persona\.agrees_when: Field required"):
        load_scenario(path)


def test_unknown_field_is_rejected(tmp_path: Path) -> None:
    data = _valid_data()
    data["persona"]["mood"] = "grumpy"

    with pytest.raises(ScenarioError, match=r"persona\.mood: Extra inputs are not permitted"):
        load_scenario(_write(tmp_path, "price-objection", data))


def test_scale_without_all_levels_is_rejected(tmp_path: Path) -> None:
    data = _valid_data()
    del data["rubric"]["criteria"][0]["levels"][3]

    with pytest.raises(ScenarioError, match="needs levels 1, 2, 3, 4 and 5"):
        load_scenario(_write(tmp_path, "price-objection", data))


def test_unknown_metric_is_rejected(tmp_path: Path) -> None:
    data = _valid_data()
    data["rubric"]["criteria"][0]["metric"]["name"] = "charisma"

    with pytest.raises(ScenarioError, match="unknown metric 'charisma'"):
        load_scenario(_write(tmp_path, "price-objection", data))


def test_invalid_regex_is_rejected(tmp_path: Path) -> None:
    data = _valid_data()
    data["suits"]["titles"] = ["re:(unclosed"]

    with pytest.raises(ScenarioError, match=r"suits\.titles: Value error, invalid regular expression"):
        load_scenario(_write(tmp_path, "price-objection", data))


def test_duplicate_criterion_ids_are_rejected(tmp_path: Path) -> None:
    data = _valid_data()
    data["rubric"]["criteria"][1]["id"] = data["rubric"]["criteria"][0]["id"]

    with pytest.raises(ScenarioError, match="repeated: explores-objection"):
        load_scenario(_write(tmp_path, "price-objection", data))


def test_id_must_match_file_name(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="must equal the file name"):
        load_scenario(_write(tmp_path, "renamed", _valid_data()))


def test_broken_yaml_names_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("id: [unclosed\n", encoding="utf-8")

    with pytest.raises(ScenarioError, match=r"broken\.yaml: invalid YAML"):
        load_scenario(path)


def test_empty_folder_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="contains no .yaml files"):
        load_scenarios(tmp_path)


@pytest.mark.parametrize(
    ("department", "title", "expected"),
    [
        ("Sales", "Area Sales Manager", True),
        ("sales", "area sales manager", True),
        ("Production", "Area Sales Manager", False),
        ("Sales", "Production Technician I", False),
        (None, None, False),
    ],
)
def test_suits_matches_department_and_title(scenarios: Mapping[str, Scenario], department: str | None, title: str | None, expected: bool) -> None:
    assert scenarios["price-objection"].suits.matches(department, title) is expected


def test_suits_regex_pattern(scenarios: Mapping[str, Scenario]) -> None:
    suits = scenarios["new-manager-feedback"].suits

    assert suits.matches("Production", "Team Lead, Assembly")
    assert suits.matches("IT/IS", "IT Manager - DB")
    assert not suits.matches("IT/IS", "Network Engineer")


def test_suitable_scenarios_for_production_technician(scenarios: Mapping[str, Scenario]) -> None:
    found = suitable_scenarios(scenarios, department="Production", title="Production Technician I")

    assert [scenario.id for scenario in found] == ["safety-check-in"]


def test_no_scenario_suits_network_engineer(scenarios: Mapping[str, Scenario]) -> None:
    assert suitable_scenarios(scenarios, department="IT/IS", title="Network Engineer") == []
