"""Target selection from the settings, and construction of the selected targets."""

from __future__ import annotations

import httpx

from assistant.config import Settings
from assistant.errors import InvalidInput
from assistant.results.targets.base import ResultTarget

TARGET_NAMES = ("bamboohr", "csv", "webhook")


class ResultsConfigError(InvalidInput):
    """The results targets in the settings are invalid or incomplete."""


def configured_target_names(settings: Settings) -> list[str]:
    """Return the target names from ASSISTANT_RESULTS_TARGETS, or the defaults when it is empty.

    Raises ResultsConfigError for an unknown name or a target whose settings are missing.
    """
    if not settings.results_targets.strip():
        names = [
            name
            for name, url in (
                ("bamboohr", settings.bamboohr_url),
                ("webhook", settings.webhook_url),
            )
            if url
        ]
    else:
        names = []
        for raw in settings.results_targets.split(","):
            name = raw.strip().lower()
            if name and name not in names:
                names.append(name)

    unknown = [name for name in names if name not in TARGET_NAMES]
    if unknown:
        raise ResultsConfigError(
            f"ASSISTANT_RESULTS_TARGETS names unknown targets {unknown}; use some of {list(TARGET_NAMES)}"
        )
    if "bamboohr" in names and not settings.bamboohr_url:
        raise ResultsConfigError(
            "target bamboohr needs ASSISTANT_BAMBOOHR_URL and ASSISTANT_BAMBOOHR_API_KEY"
        )
    if "webhook" in names and not (
        settings.webhook_url and settings.webhook_secret.get_secret_value()
    ):
        raise ResultsConfigError(
            "target webhook needs ASSISTANT_WEBHOOK_URL and ASSISTANT_WEBHOOK_SECRET"
        )
    return names


def build_targets(settings: Settings, *, http_client: httpx.AsyncClient) -> list[ResultTarget]:
    """Build the configured targets; they share `http_client`, which the caller closes."""
    targets: list[ResultTarget] = []
    for name in configured_target_names(settings):
        targets.append(_build(name, settings, http_client))
    return targets


def _build(name: str, settings: Settings, http_client: httpx.AsyncClient) -> ResultTarget:
    if name == "csv":
        from assistant.results.targets.csv_export import CsvExportTarget

        return CsvExportTarget(settings.data_dir / "exports")

    if name == "webhook":
        from assistant.results.targets.webhook import WebhookTarget

        return WebhookTarget(
            settings.webhook_url,
            settings.webhook_secret.get_secret_value(),
            http_client=http_client,
        )

    from assistant.hris.bamboohr.client import BambooHRClient
    from assistant.people.mapping import load_mapping
    from assistant.results.targets.bamboohr import BAMBOOHR_ID_FIELD, BambooHRTarget

    # The mapping file names the BambooHR field that contains HR's employee ID.
    bamboohr_source = load_mapping(settings.mapping_file).sources.get("bamboohr")
    id_field = bamboohr_source.fields["employee_id"] if bamboohr_source else BAMBOOHR_ID_FIELD
    client = BambooHRClient.from_settings(settings, http_client=http_client)
    return BambooHRTarget(client, employee_id_field=id_field)
