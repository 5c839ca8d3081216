from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.config import Settings
from assistant.results.targets.registry import (
    ResultsConfigError,
    build_targets,
    configured_target_names,
)


def _settings(tmp_path: Path, **values: Any) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, **values)  # type: ignore[call-arg]


class TestConfiguredTargets:
    def test_defaults_follow_configured_urls(self, tmp_path: Path) -> None:
        settings = _settings(
            tmp_path,
            bamboohr_url="http://127.0.0.1:1",
            webhook_url="http://127.0.0.1:2/hook",
            webhook_secret="s3cret-value",
        )

        assert configured_target_names(settings) == ["bamboohr", "webhook"]

    def test_nothing_configured_means_no_target(self, tmp_path: Path) -> None:
        assert configured_target_names(_settings(tmp_path)) == []

    def test_explicit_list_is_normalised(self, tmp_path: Path) -> None:
        settings = _settings(tmp_path, results_targets=" CSV, csv ")

        assert configured_target_names(settings) == ["csv"]

    def test_unknown_target_is_rejected(self, tmp_path: Path) -> None:
        with pytest.raises(ResultsConfigError, match=r"unknown targets \['keka'\]"):
            configured_target_names(_settings(tmp_path, results_targets="csv,keka"))

    def test_webhook_needs_secret(self, tmp_path: Path) -> None:
        settings = _settings(
            tmp_path, results_targets="webhook", webhook_url="http://127.0.0.1:2/hook"
        )

        with pytest.raises(ResultsConfigError, match="ASSISTANT_WEBHOOK_SECRET"):
            configured_target_names(settings)


class TestBuildTargets:
    async def test_builds_each_named_target(self, tmp_path: Path) -> None:
        settings = _settings(
            tmp_path,
            results_targets="bamboohr,csv,webhook",
            bamboohr_url="http://127.0.0.1:1",
            bamboohr_api_key="key",
            webhook_url="http://127.0.0.1:2/hook",
            webhook_secret="s3cret-value",
        )

        async with httpx.AsyncClient() as client:
            targets = build_targets(settings, http_client=client)

        assert [(target.name, target.max_batch) for target in targets] == [
            ("bamboohr", 10),
            ("csv", 500),
            ("webhook", 1),
        ]

    async def test_mapping_names_bamboohr_id_field(self, tmp_path: Path) -> None:
        mapping = tmp_path / "mapping.yaml"
        mapping.write_text(
            "sources:\n  bamboohr:\n    fields:\n      employee_id: employeeNumber\n      given_name: firstName\n",
            encoding="utf-8",
        )
        settings = _settings(
            tmp_path,
            results_targets="bamboohr",
            bamboohr_url="http://127.0.0.1:1",
            bamboohr_api_key="key",
            mapping_file=mapping,
        )

        async with httpx.AsyncClient() as client:
            [target] = build_targets(settings, http_client=client)

        assert target._employee_id_field == "employeeNumber"  # type: ignore[attr-defined]
