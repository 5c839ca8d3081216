"""Run every eval (`evals.paths`, `evals.roleplay`), each in its own process, printing their tables."""

from __future__ import annotations

import subprocess
import sys

EVALS = ("evals.paths", "evals.roleplay")


def main() -> int:
    failed = []
    for module in EVALS:
        print(f"\n=== python -m {module}", flush=True)
        if subprocess.run([sys.executable, "-m", module]).returncode != 0:
            failed.append(module)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
