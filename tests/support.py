"""Test helpers: real-world data paths and live loopback servers."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.servers import BackgroundServer, free_port

SHARED_DIR = Path(__file__).resolve().parents[1].parent / "shared"

__all__ = ["LiveServer", "free_port", "shared_path"]


def shared_path(*parts: str) -> Path:
    """Return a path under ../shared, or skip the test when that file is absent."""
    path = SHARED_DIR.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent; this test reads the shared real-world data set")
    return path


class LiveServer(BackgroundServer):
    """An ASGI app served by uvicorn on 127.0.0.1 in a background thread: `with LiveServer(app) as server:`."""
