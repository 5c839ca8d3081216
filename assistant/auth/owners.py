"""Lookups from a resource id in a route's path to the employee who owns the resource.

Each domain is imported inside its function, because auth sits below the domains in
the import order and must work in an app that mounts only some of them.
"""

from __future__ import annotations

from sqlmodel import Session


def roleplay_session_learner(session: Session, session_id: str) -> str | None:
    """Return the learner of a roleplay session, or None when there is no such session."""
    from assistant.roleplay import service as roleplay

    return roleplay.session_learner(session, session_id)


def path_owner(session: Session, path_id: str) -> str | None:
    """Return the employee a learning path belongs to, or None when there is no such path."""
    from assistant.paths import service as paths

    return paths.path_owner(session, path_id)
