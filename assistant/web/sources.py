"""Access to the domain services the pages show, with a clear gap while one is missing.

The pages import each domain service here, at request time. When a service module or
one of the functions a page needs does not exist, the page shows a "not available
yet" section for that part instead of failing.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

import structlog
from sqlmodel import Session

log = structlog.get_logger()


@dataclass(frozen=True)
class Unavailable:
    """A part of a page whose domain service is not installed; the template shows `reason`."""

    feature: str
    reason: str


def import_service(module_name: str, *functions: str) -> ModuleType | None:
    """Import a domain service module; None when it or any of `functions` is missing."""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not module_name.startswith(exc.name):
            raise
        log.info("web.service.missing", module=module_name)
        return None

    missing = [name for name in functions if not hasattr(module, name)]
    if missing:
        log.info("web.service.incomplete", module=module_name, missing=missing)
        return None
    return module


def unavailable(feature: str, module_name: str) -> Unavailable:
    return Unavailable(feature, f"{feature} is not available yet: {module_name} is not installed on this server.")


def commit_before_redirect(session: Session) -> None:
    """Commit a page's writes before it responds with a redirect.

    `SessionDep` commits after the response is sent (FastAPI's default dependency
    scope), so a browser that follows the redirect at once could read the old state.
    """
    session.commit()
