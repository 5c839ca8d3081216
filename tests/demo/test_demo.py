"""The demo's full cycle against the sandboxes, as `assistant demo --no-serve` runs it."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from assistant.demo.cycle import DemoOptions
from assistant.demo.runner import run_demo
from assistant.errors import InvalidInput
from tests.support import free_port


@pytest.mark.slow
def test_demo_cycle_reaches_hr(tmp_path: Path) -> None:
    lines: list[str] = []
    options = DemoOptions(data_dir=tmp_path / "demo", port=free_port())

    summary = run_demo(options, say=lines.append, serve=False)

    assert summary.provisioned == {"create": 7, "skip": 1}
    assert summary.paths_built == 7
    assert summary.path_failures == 0
    assert summary.enrolments > 0
    assert summary.replanned == 2
    assert summary.roleplay["score"] is not None
    assert summary.completions_collected >= 2
    assert summary.dead_letters == 0
    assert summary.training_records >= 2
    assert any(line.startswith("6/6") for line in lines)
    assert list((tmp_path / "demo" / "exports").glob("*.csv"))


def test_demo_rejects_taken_port(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        with pytest.raises(InvalidInput, match=f"port {port} on 127.0.0.1 is in use"):
            run_demo(DemoOptions(data_dir=tmp_path / "demo", port=port), say=lambda _: None, serve=False)
