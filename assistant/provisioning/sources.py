"""HR sources that sync runs build on their own: CSV text sent to the API, and BambooHR from settings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from assistant.config import Settings
from assistant.errors import InvalidInput
from assistant.hris.csv_source import read_csv_people
from assistant.hris.source import HRSource, SourceBatch
from assistant.people.mapping import MappingConfig


class CsvTextSource:
    """A CSV export received as text (for example in an API request), read with the mapping's `csv` source."""

    def __init__(self, text: str, mapping: MappingConfig, *, name: str = "csv") -> None:
        self.name = name
        self._data = text.encode("utf-8")
        self._mapping = mapping

    async def fetch_people(self) -> SourceBatch:
        return await asyncio.to_thread(read_csv_people, self._data, self._mapping, source=self.name)

    async def fetch_changed(self, since: str | None) -> SourceBatch:
        """Read the whole text: an export has no change feed, so `since` is ignored."""
        return await self.fetch_people()


@asynccontextmanager
async def open_bamboohr_source(settings: Settings, mapping: MappingConfig) -> AsyncIterator[HRSource]:
    """Open the BambooHR source from `ASSISTANT_BAMBOOHR_*` and close its client afterwards.

    Raises InvalidInput when BambooHR is not configured.
    """
    from assistant.hris.bamboohr.client import BambooHRClient
    from assistant.hris.bamboohr.source import BambooHRSource

    if not settings.bamboohr_url:
        raise InvalidInput("source bamboohr needs ASSISTANT_BAMBOOHR_URL and ASSISTANT_BAMBOOHR_API_KEY to be set")
    async with BambooHRClient.from_settings(settings) as client:
        yield BambooHRSource(client, mapping)
