"""Run every benchmark of the project, each in its own process, and print one table.

Each benchmark prints its own figures as it goes; the closing table lists every run
with its wall time, exit status and the lines that carry its figures. Options after
`--only` pick benchmarks by name. Benchmarks that read ../shared/data skip with a
message when it is absent.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time
from dataclasses import dataclass

# name -> (module, arguments): the issue-sized runs, each a few minutes at most on two cores.
BENCHMARKS: dict[str, tuple[str, list[str]]] = {
    "moodle users": ("benchmarks.moodle_users", ["--users", "10000"]),
    "hr csv import": ("benchmarks.hris_csv", ["--rows", "10000"]),
    "sync": ("benchmarks.sync", ["--people", "10000"]),
    "scim": ("benchmarks.scim", []),
    "paths": ("benchmarks.paths", []),
    "roleplay": ("benchmarks.roleplay", []),
    "write-back": ("benchmarks.writeback", []),
}

# Output lines kept in the closing table per benchmark.
KEPT_LINES = 12


@dataclass
class Outcome:
    name: str
    seconds: float
    returncode: int
    lines: list[str]


def _run(name: str, module: str, arguments: list[str]) -> Outcome:
    print(f"\n=== {name}: python -m {module} {' '.join(arguments)}", flush=True)
    started = time.monotonic()
    process = subprocess.run([sys.executable, "-m", module, *arguments], capture_output=True, text=True)
    seconds = time.monotonic() - started
    print(process.stdout, end="", flush=True)
    if process.returncode != 0:
        print(process.stderr[-4000:], file=sys.stderr)
    figures = [line for line in process.stdout.splitlines() if any(char.isdigit() for char in line)]
    return Outcome(name, seconds, process.returncode, figures[-KEPT_LINES:])


def _print_table(outcomes: list[Outcome]) -> None:
    cores = os.cpu_count()
    print(f"\n## Benchmarks, {dt.date.today().isoformat()}, {cores} cores\n")
    print("| benchmark | wall (s) | exit | figures |")
    print("|---|---|---|---|")
    for outcome in outcomes:
        figures = "<br>".join(line.strip().replace("|", "/") for line in outcome.lines) or "-"
        print(f"| {outcome.name} | {outcome.seconds:.0f} | {outcome.returncode} | {figures} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="*", choices=sorted(BENCHMARKS), help="Benchmarks to run (default: all).")
    args = parser.parse_args()

    names = args.only or list(BENCHMARKS)
    outcomes = [_run(name, *BENCHMARKS[name]) for name in names]
    _print_table(outcomes)
    return 0 if all(outcome.returncode == 0 for outcome in outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
