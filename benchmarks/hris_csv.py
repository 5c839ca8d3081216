"""Time reading a large HR CSV export and importing it into SQLite, then re-importing it unchanged.

Run with `python -m benchmarks.hris_csv [--rows N]`. The export is generated in memory with
the dirt real exports carry: a byte-order mark, semicolons, "Last, First" names, trailing
spaces, two-digit years, leading-zero IDs, duplicate rows and a shifted row every 1,000 rows.
Names and addresses are made up. The script prints the wall time of each step, rows per
second and the machine's CPU count.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path

from assistant.db import create_db_engine, migrate, session_scope
from assistant.hris.csv_source import read_csv_people
from assistant.hris.service import import_batch, source_fields
from assistant.logging import configure_logging
from assistant.people.mapping import MappingConfig, SourceMapping
from assistant.people.models import PersonStatus

DEPARTMENTS = ["Production       ", "IT/IS", "Sales", "Admin Offices", "Software Engineering"]
STATUSES = ["Active", "Active", "Active", "Voluntarily Terminated"]


def _config() -> MappingConfig:
    mapping = SourceMapping(
        fields={
            "employee_id": "EmpID",
            "full_name": "Employee_Name",
            "email": "Email",
            "department": "Department",
            "manager_employee_id": "ManagerID",
            "hire_date": "DateofHire",
            "status": "EmploymentStatus",
        },
        name_format="last_comma_first",
        date_formats=["%m/%d/%Y", "%m/%d/%y"],
        status_map={"Active": PersonStatus.ACTIVE, "Voluntarily Terminated": PersonStatus.LEAVER},
        extra={"zip": "Zip"},
    )
    return MappingConfig(sources={"csv": mapping}, canonical={"department": {name.strip(): [] for name in DEPARTMENTS}})


def generate_export(rows: int, *, seed: int = 1) -> bytes:
    """Build a semicolon CSV export of `rows` data rows."""
    generator = random.Random(seed)
    lines = ["EmpID;Employee_Name;Email;Department;ManagerID;DateofHire;EmploymentStatus;Zip"]
    for number in range(1, rows + 1):
        employee_id = f"{number:06d}"
        manager = f"{generator.randint(1, max(1, number // 10)):06d}" if number > 10 else ""
        hired = f"{generator.randint(1, 12)}/{generator.randint(1, 28)}/{generator.choice(['98', '2005', '2019', '11'])}"
        line = (
            f'{employee_id};"Family{number}, Given{number}  ";given{number}@example.invalid ;'
            f"{generator.choice(DEPARTMENTS)};{manager};{hired};{generator.choice(STATUSES)};0{generator.randint(1000, 9999)}"
        )
        if number % 1000 == 0:
            line = line.rsplit(";", 1)[0]
        lines.append(line)
        if number % 500 == 0:
            lines.append(line)
    return ("\ufeff" + "\n".join(lines) + "\n").encode("utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000, help="Data rows in the generated export.")
    rows = parser.parse_args().rows
    # One info line per person would dominate the timing.
    configure_logging(level="WARNING")

    data = generate_export(rows)
    config = _config()

    started = time.perf_counter()
    batch = read_csv_people(data, config)
    read_seconds = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as folder:
        engine = create_db_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        migrate(engine)
        fields = source_fields(config.source("csv"))
        timings = []
        for _ in range(2):
            started = time.perf_counter()
            with session_scope(engine) as session:
                report = import_batch(session, batch, source="csv", fields=fields)
            timings.append((time.perf_counter() - started, report.counts()))
        engine.dispose()

    print(f"cpus: {os.cpu_count()}")
    print(f"export: {len(data) / 1e6:.1f} MB, {rows} data rows plus duplicates")
    print(f"read: {read_seconds:.2f} s ({rows / read_seconds:,.0f} rows/s), accepted {len(batch.records)}, rejected {len(batch.rejected)}, warnings {len(batch.warnings)}")
    for label, (seconds, counts) in zip(("first import", "re-import"), timings, strict=True):
        print(f"{label}: {seconds:.2f} s ({len(batch.records) / seconds:,.0f} people/s) {counts}")


if __name__ == "__main__":
    main()
