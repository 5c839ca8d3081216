"""The access rule of every route, keyed on HTTP method and path template.

`authorize` looks up `(method, route.path)` here on every request. A route without a
rule is rejected with 403, and the authorization-matrix test fails until one is added,
so a new route is never open by accident.

Scoping applies to managers and learners. A learner may name only themselves, and a
manager themselves and their direct and indirect reports (HR manager chain). Admins
and the provisioning role are not scoped, but the provisioning role reaches only the
routes that list it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session

from assistant.auth import owners
from assistant.auth.models import Role

# Returns the employee who owns the resource named by a path parameter, or None when
# there is no such resource (the route then responds with 404 itself).
OwnerLookup = Callable[[Session, str], str | None]

ADMIN = Role.ADMIN
PROVISIONING = Role.PROVISIONING
MANAGER = Role.MANAGER
LEARNER = Role.LEARNER


@dataclass(frozen=True)
class Owner:
    """A path parameter that names a resource, and how to find the employee it belongs to."""

    param: str
    lookup: OwnerLookup
    # True when only the owner may act (sending a turn); False when the owner's managers may too.
    owner_only: bool = False


@dataclass(frozen=True)
class Rule:
    """Access rule of one route.

    `public` routes need no sign-in. `delegated` routes check a credential of their own
    (the SCIM bearer token), so this layer lets every request through to them.
    `self_params` name request fields that a manager or learner may fill only with
    their own employee ID (the author of a review note). `require_subject` makes a
    manager or learner name an employee, so that a list route cannot return everyone.
    """

    roles: frozenset[Role] = frozenset()
    public: bool = False
    delegated: str = ""
    owner: Owner | None = None
    self_params: tuple[str, ...] = ()
    require_subject: bool = False
    # Extra request field names that carry employee IDs, besides `employee_id` and `*_employee_id`.
    subject_params: tuple[str, ...] = ()


def public() -> Rule:
    return Rule(public=True)


def allow(*roles: Role, **options: object) -> Rule:
    return Rule(roles=frozenset(roles), **options)  # type: ignore[arg-type]


SIGNED_IN = frozenset(Role)
# A learner's roleplay session: their managers may read it, only the learner may talk in it.
SESSION_OWNER = Owner("session_id", owners.roleplay_session_learner)
SESSION_OWNER_ONLY = Owner("session_id", owners.roleplay_session_learner, owner_only=True)
PATH_OWNER = Owner("path_id", owners.path_owner)

RULES: dict[tuple[str, str], Rule] = {
    # --- Frame ---
    ("GET", "/healthz"): public(),
    ("GET", "/readyz"): public(),
    ("GET", "/openapi.json"): public(),
    # --- Sign-in ---
    ("GET", "/auth/login"): public(),
    ("GET", "/auth/oidc"): public(),
    ("GET", "/auth/callback"): public(),
    ("GET", "/auth/dev"): public(),
    ("POST", "/auth/dev"): public(),
    ("POST", "/auth/logout"): public(),
    ("GET", "/auth/me"): allow(*SIGNED_IN),
    ("GET", "/static"): public(),
    # --- Roleplay ---
    ("GET", "/roleplay/scenarios"): allow(ADMIN, MANAGER, LEARNER),
    ("POST", "/roleplay/sessions"): allow(ADMIN, MANAGER, LEARNER, self_params=("employee_id",)),
    ("GET", "/roleplay/sessions/{session_id}"): allow(ADMIN, MANAGER, LEARNER, owner=SESSION_OWNER),
    ("POST", "/roleplay/sessions/{session_id}/turns"): allow(ADMIN, MANAGER, LEARNER, owner=SESSION_OWNER_ONLY),
    ("POST", "/roleplay/sessions/{session_id}/end"): allow(ADMIN, MANAGER, LEARNER, owner=SESSION_OWNER_ONLY),
    ("POST", "/roleplay/sessions/{session_id}/reviews"): allow(
        ADMIN, MANAGER, owner=SESSION_OWNER, self_params=("reviewer_employee_id",)
    ),
    ("GET", "/roleplay/attempts"): allow(ADMIN, MANAGER, LEARNER, require_subject=True),
    # --- Sync ---
    ("POST", "/sync/preview"): allow(ADMIN, PROVISIONING),
    ("POST", "/sync/runs"): allow(ADMIN, PROVISIONING),
    ("GET", "/sync/runs/{run_id}"): allow(ADMIN, PROVISIONING),
    ("GET", "/sync/runs/{run_id}/audit"): allow(ADMIN, PROVISIONING),
    # --- Learning paths ---
    ("POST", "/paths/requests"): allow(ADMIN, PROVISIONING),
    ("GET", "/paths/requests/{request_id}"): allow(ADMIN, PROVISIONING),
    ("GET", "/people/{employee_id}/path"): allow(ADMIN, MANAGER, LEARNER),
    ("GET", "/people/{employee_id}/path/versions"): allow(ADMIN, MANAGER, LEARNER),
    ("GET", "/paths/{path_id}"): allow(ADMIN, MANAGER, LEARNER, owner=PATH_OWNER),
    ("GET", "/managers/{employee_id}/team/paths"): allow(ADMIN, MANAGER),
    ("POST", "/paths/{path_id}/recompute"): allow(ADMIN, PROVISIONING, MANAGER, owner=PATH_OWNER),
    # --- Results ---
    ("GET", "/results/outbox"): allow(ADMIN),
    ("GET", "/results/outbox/counts"): allow(ADMIN),
    ("POST", "/results/outbox/{item_id}/retry"): allow(ADMIN),
    ("GET", "/results/certifications/{employee_id}"): allow(ADMIN, MANAGER, LEARNER),
    ("GET", "/results/compliance"): allow(ADMIN),
    ("GET", "/results/compliance.csv"): allow(ADMIN),
    # --- Pages ---
    ("GET", "/"): allow(*SIGNED_IN),
    ("GET", "/learn/path"): allow(*SIGNED_IN),
    ("GET", "/learn/roleplay"): allow(*SIGNED_IN),
    ("POST", "/learn/roleplay"): allow(*SIGNED_IN),
    ("GET", "/learn/roleplay/{session_id}"): allow(
        ADMIN, MANAGER, LEARNER, owner=SESSION_OWNER
    ),
    ("GET", "/team"): allow(ADMIN, MANAGER),
    ("GET", "/team/{employee_id}"): allow(ADMIN, MANAGER),
    ("GET", "/team/sessions/{session_id}"): allow(
        ADMIN, MANAGER, owner=SESSION_OWNER
    ),
    ("POST", "/team/sessions/{session_id}/note"): allow(
        ADMIN, MANAGER, owner=SESSION_OWNER
    ),
    ("GET", "/admin"): allow(ADMIN),
    ("GET", "/admin/sync"): allow(ADMIN),
    ("POST", "/admin/sync/preview"): allow(ADMIN),
    ("POST", "/admin/sync/apply"): allow(ADMIN),
    ("GET", "/admin/outbox"): allow(ADMIN),
    ("POST", "/admin/outbox/{item_id}/retry"): allow(ADMIN),
    ("GET", "/admin/compliance"): allow(ADMIN),
}


# Path prefixes whose routes check a credential of their own. Every SCIM route, the
# catch-all included, authenticates with ASSISTANT_SCIM_TOKEN before doing anything.
DELEGATED_PREFIXES = {"/scim/v2/": "SCIM bearer token (ASSISTANT_SCIM_TOKEN)"}


def rule_for(method: str, path: str) -> Rule | None:
    """Return the rule of a route; HEAD falls back to the GET rule as Starlette serves it so."""
    for prefix, credential in DELEGATED_PREFIXES.items():
        if path.startswith(prefix):
            return Rule(delegated=credential)

    rule = RULES.get((method, path))
    if rule is None and method == "HEAD":
        rule = RULES.get(("GET", path))
    return rule
