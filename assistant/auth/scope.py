"""Extraction of the employees a request names, and the check that the caller may see each of them."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import Request
from sqlmodel import Session

from assistant.auth.exceptions import OutOfScope
from assistant.auth.models import Role
from assistant.auth.principal import Principal
from assistant.auth.rules import Rule
from assistant.people.service import is_manager_of


def is_subject_field(name: str, rule: Rule) -> bool:
    """Tell whether a path, query or body field carries employee IDs."""
    return (
        name in ("employee_id", "employee_ids")
        or name.endswith(("_employee_id", "_employee_ids"))
        or name in rule.subject_params
    )


def _values(value: Any) -> Iterator[str]:
    if isinstance(value, str | int):
        yield str(value)
    elif isinstance(value, list | tuple):
        for item in value:
            if isinstance(item, str | int):
                yield str(item)


async def _json_body(request: Request) -> dict[str, Any]:
    if request.method in ("GET", "HEAD", "OPTIONS", "DELETE"):
        return {}
    if "json" not in request.headers.get("content-type", ""):
        return {}
    try:
        body = json.loads(await request.body() or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        # The route's own validation responds with 422 to a malformed body.
        return {}
    return body if isinstance(body, dict) else {}


async def request_fields(request: Request) -> list[tuple[str, Any]]:
    """List (name, value) of the path parameters, query parameters and top-level JSON body fields."""
    fields: list[tuple[str, Any]] = list(request.path_params.items())
    fields.extend(request.query_params.multi_items())
    fields.extend((await _json_body(request)).items())
    return fields


def named_employees(fields: Iterable[tuple[str, Any]], rule: Rule) -> list[str]:
    """Return the employee IDs in the subject fields, in request order, without repeats."""
    found: dict[str, None] = {}
    for name, value in fields:
        if is_subject_field(name, rule):
            for employee_id in _values(value):
                found.setdefault(employee_id, None)
    return list(found)


def can_see(session: Session, principal: Principal, employee_id: str) -> bool:
    """Tell whether the caller may see this employee's paths, sessions and scores."""
    if not principal.is_scoped or employee_id == principal.employee_id:
        return True
    if principal.role is Role.LEARNER:
        return False
    return is_manager_of(session, principal.employee_id, employee_id)


def check_scope(session: Session, principal: Principal, employee_ids: Iterable[str]) -> None:
    """Raise OutOfScope naming the first employee the caller may not see."""
    for employee_id in employee_ids:
        if can_see(session, principal, employee_id):
            continue
        if principal.role is Role.LEARNER:
            raise OutOfScope(
                f"employee {employee_id!r} is out of scope: a learner sees only their own records "
                f"(employee {principal.employee_id!r})"
            )
        raise OutOfScope(
            f"employee {employee_id!r} is out of scope: manager {principal.employee_id!r} sees only "
            "themselves and their direct and indirect reports"
        )


def check_self_fields(principal: Principal, fields: Iterable[tuple[str, Any]], rule: Rule) -> None:
    """Raise OutOfScope when a field that must name the caller names someone else."""
    if not principal.is_scoped:
        return
    for name, value in fields:
        if name not in rule.self_params:
            continue
        for employee_id in _values(value):
            if employee_id != principal.employee_id:
                raise OutOfScope(
                    f"field {name!r} must be your own employee ID {principal.employee_id!r}, "
                    f"not {employee_id!r}"
                )
