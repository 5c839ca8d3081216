"""An in-memory Moodle site that serves Moodle's REST web services on loopback, for tests and demos."""

from __future__ import annotations

from assistant.moodle.sandbox.app import DEFAULT_TOKEN, create_sandbox_app
from assistant.moodle.sandbox.state import Fault, SandboxState

__all__ = ["DEFAULT_TOKEN", "Fault", "SandboxState", "create_sandbox_app"]
