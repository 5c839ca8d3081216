"""People from a CSV export, read the way real HR exports need.

Without a configured encoding the file is decoded as UTF-8, dropping a byte-order mark, and
otherwise as Windows-1252. A byte that cannot be decoded raises an error naming its line, so
U+FFFD never reaches a name. The delimiter is `,`, `;` or TAB, detected from the header unless
configured. Records follow RFC 4180, so a quoted field may contain line breaks. Headers and
values are trimmed, including no-break spaces, and every value stays text, so "00042" keeps its
leading zeros.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Collection, Iterator
from datetime import date
from pathlib import Path

import structlog

from assistant.errors import InvalidInput
from assistant.hris.records import BatchBuilder
from assistant.hris.source import SourceBatch
from assistant.people.mapping import MappingConfig, SourceMapping
from assistant.people.schemas import clean_text

log = structlog.get_logger()

CANDIDATE_DELIMITERS = (",", ";", "\t")
# Tried when the bytes are not UTF-8: what Excel writes as "CSV" on Western-European Windows.
FALLBACK_ENCODING = "cp1252"


class CsvFileInvalid(InvalidInput):
    """The CSV file as a whole cannot be read: wrong encoding, missing columns or broken quoting."""


def decode_csv(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """Decode the file's bytes and return (text, encoding used).

    Without a configured encoding, UTF-8 is tried first and Windows-1252 second. Both are strict,
    so a byte that neither can decode raises CsvFileInvalid naming its line and value.
    """
    candidates = [encoding] if encoding else ["utf-8", FALLBACK_ENCODING]
    failure: UnicodeDecodeError | None = None

    for candidate in candidates:
        codec = "utf-8-sig" if candidate.replace("_", "-").lower() in ("utf-8", "utf8") else candidate
        try:
            return data.decode(codec), candidate
        except UnicodeDecodeError as exc:
            failure = failure or exc

    assert failure is not None
    bad_byte = data[failure.start]
    line = data.count(b"\n", 0, failure.start) + 1
    tried = " or ".join(candidates)
    raise CsvFileInvalid(
        f"the file cannot be decoded as {tried}: byte 0x{bad_byte:02X} at line {line} (offset {failure.start}); "
        "save it as UTF-8 or set the source's encoding in the mapping"
    )


def detect_delimiter(text: str) -> str:
    """Pick the candidate delimiter that splits the header line into the most columns; ties go to the comma."""
    header_line = text.split("\n", 1)[0].rstrip("\r")
    best, best_count = ",", 1
    for delimiter in CANDIDATE_DELIMITERS:
        count = len(next(csv.reader([header_line], delimiter=delimiter), []))
        if count > best_count:
            best, best_count = delimiter, count
    return best


def _records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Yield (line number where the record starts, values) for each non-blank record."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    next_line = 1
    try:
        for values in reader:
            start = next_line
            next_line = reader.line_num + 1
            if any(value.strip() for value in values):
                yield start, values
    except csv.Error as exc:
        raise CsvFileInvalid(f"the file is not valid CSV at line {reader.line_num}: {exc}") from exc


def _column_indexes(header: list[str], mapping: SourceMapping) -> dict[str, int]:
    """Return source column -> position for every column the mapping names, matching names trimmed and then case-insensitively."""
    cleaned = [clean_text(name) or "" for name in header]
    wanted = {*mapping.fields.values(), *mapping.extra.values()}
    indexes: dict[str, int] = {}
    missing: list[str] = []

    for column in sorted(wanted):
        positions = [index for index, name in enumerate(cleaned) if name == column]
        if not positions:
            positions = [index for index, name in enumerate(cleaned) if name.casefold() == column.casefold()]
        if len(positions) > 1:
            raise CsvFileInvalid(f"the header names column {column!r} {len(positions)} times; rename the copies")
        if not positions:
            missing.append(column)
            continue
        indexes[column] = positions[0]

    if missing:
        found = ", ".join(repr(name) for name in cleaned)
        raise CsvFileInvalid(
            f"the header lacks the mapped column(s) {', '.join(repr(name) for name in missing)}; "
            f"the header has {found}. Fix the column names under the source's fields or extra in the mapping"
        )
    return indexes


def read_csv_people(
    data: bytes,
    config: MappingConfig,
    *,
    source: str = "csv",
    known_employee_ids: Collection[str] = (),
    today: date | None = None,
) -> SourceBatch:
    """Read people from CSV bytes with the named source's mapping.

    Raises CsvFileInvalid when the file as a whole is unreadable. A row that is not (wrong
    number of values, an invalid value, a duplicate) is rejected with its line number and
    reason while the other rows go on.
    """
    mapping = config.source(source)
    text, encoding = decode_csv(data, mapping.encoding)
    delimiter = mapping.delimiter or detect_delimiter(text)
    records = _records(text, delimiter)

    header_row = next(records, None)
    if header_row is None:
        raise CsvFileInvalid("the file is empty; it needs a header row naming the columns")
    _, header = header_row
    indexes = _column_indexes(header, mapping)

    builder = BatchBuilder(config, mapping, known_employee_ids=known_employee_ids, today=today)
    if encoding != (mapping.encoding or "utf-8"):
        builder.warn(f"the file is not UTF-8; it was read as {encoding}")

    for line, values in records:
        row = {column: values[index] if index < len(values) else None for column, index in indexes.items()}
        if len(values) != len(header):
            builder.reject_row(
                line,
                clean_text(row.get(mapping.fields["employee_id"])),
                f"the row has {len(values)} values but the header has {len(header)} columns, "
                "so its values are probably shifted",
            )
            continue
        builder.add_row(line, row)

    batch = builder.build(complete=mapping.complete)
    log.info(
        "hris.csv.read",
        source=source,
        rows=builder.rows_read,
        accepted=len(batch.records),
        rejected=len(batch.rejected),
        warnings=len(batch.warnings),
        delimiter=delimiter,
        encoding=encoding,
    )
    return batch


class CsvSource:
    """An HR source backed by one CSV file; every pull reads the whole file."""

    def __init__(
        self,
        path: Path,
        config: MappingConfig,
        *,
        name: str = "csv",
        known_employee_ids: Collection[str] = (),
    ) -> None:
        self.path = path
        self.config = config
        self.name = name
        self.known_employee_ids = known_employee_ids

    async def fetch_people(self) -> SourceBatch:
        return await asyncio.to_thread(self._read)

    async def fetch_changed(self, since: str | None) -> SourceBatch:
        """Read the whole file: an export has no change feed, so `since` is ignored."""
        return await self.fetch_people()

    def _read(self) -> SourceBatch:
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise CsvFileInvalid(f"cannot read {self.path}: {exc.strerror or exc}") from exc
        try:
            return read_csv_people(data, self.config, source=self.name, known_employee_ids=self.known_employee_ids)
        except CsvFileInvalid as exc:
            raise CsvFileInvalid(f"{self.path}: {exc.message}") from exc
