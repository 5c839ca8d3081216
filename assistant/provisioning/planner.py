"""Turn people, account links and Moodle's current users into a plan, without side effects.

People are matched on the employee ID stored as Moodle's `idnumber`, never on name.
A Moodle user without an idnumber is linked by e-mail only when exactly one user has
that address. Several users with the same idnumber are a conflict that a person must
resolve, so the plan leaves them alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from assistant.errors import InvalidInput
from assistant.moodle.schemas import MoodleUser, UserCreate, UserUpdate
from assistant.people.mapping import MappingConfig
from assistant.people.models import Person
from assistant.provisioning.models import LinkedBy, ProvisioningAccount
from assistant.provisioning.policy import clean_username
from assistant.provisioning.schemas import FieldChange, PlanAction, PlanItem

CUSTOM_FIELD_PREFIX = "profile_field_"
# The Moodle field that carries the employee ID. HR always owns it, because it is the matching key.
IDNUMBER = "idnumber"
SUSPENDED = "suspended"

# Moodle user fields the client can send when it creates or updates an account.
_CREATE_FIELDS = frozenset(UserCreate.model_fields) - {"username", "password", "create_password", "auth", "customfields"}
_UPDATE_FIELDS = frozenset(UserUpdate.model_fields) - {"id", "username", "password", "auth", "suspended", "customfields"}
# Moodle user fields that core_user_get_users_by_field returns and the client reads.
_READ_FIELDS = frozenset(MoodleUser.model_fields)
# Moodle rejects a new user without these.
_REQUIRED_FOR_CREATE = ("firstname", "lastname", "email")


class MappingNotUsable(InvalidInput):
    """The mapping names a Moodle field that the Moodle client cannot write."""


@dataclass
class MoodleState:
    """The Moodle users a plan looked at, indexed by the keys the planner matches on."""

    by_idnumber: dict[str, list[MoodleUser]] = field(default_factory=dict)
    by_id: dict[int, MoodleUser] = field(default_factory=dict)
    by_email: dict[str, list[MoodleUser]] = field(default_factory=dict)

    def add(self, users: Iterable[MoodleUser]) -> None:
        """Index users, ignoring any already indexed under the same Moodle id."""
        for user in users:
            if user.id in self.by_id:
                continue
            self.by_id[user.id] = user
            if user.idnumber:
                self.by_idnumber.setdefault(user.idnumber, []).append(user)
            if user.email:
                self.by_email.setdefault(user.email.strip().lower(), []).append(user)


@dataclass(frozen=True)
class Target:
    """The Moodle field values HR expects for one employee, and the subset of fields HR owns."""

    values: dict[str, str]
    owned: frozenset[str]


@dataclass
class PlannedItem:
    """A plan item together with what applying it needs and what it verified."""

    item: PlanItem
    target: Target | None = None
    # Values Moodle already has that equal HR's; stored as pushed once the item is applied.
    verified: dict[str, str] = field(default_factory=dict)
    # Whether the matched Moodle user was suspended when the plan was made.
    moodle_suspended: bool = False


def values_hash(values: Mapping[str, str]) -> str:
    return hashlib.sha256(json.dumps(dict(values), sort_keys=True).encode("utf-8")).hexdigest()


def check_mapping(mapping: MappingConfig) -> list[str]:
    """Raise MappingNotUsable for mapped fields Moodle cannot store; return warnings for update-only gaps."""
    unknown = sorted(set(mapping.moodle.fields) - _CREATE_FIELDS)
    if unknown:
        raise MappingNotUsable(
            f"moodle.fields maps {unknown}, which the Moodle client cannot write; use Moodle user fields "
            f"{sorted(_CREATE_FIELDS)} or moodle.custom_fields for profile fields"
        )

    # NOTE: the client's UserUpdate lacks some fields that UserCreate has (such as city), so
    # those are set when an account is created and never updated afterwards.
    create_only = sorted(
        name for name, person_field in mapping.moodle.fields.items() if name not in _UPDATE_FIELDS and _hr_owns(mapping, name, person_field)
    )
    return [f"Moodle field {name} is set on create only: the Moodle client cannot update it" for name in create_only]


def target_for(person: Person, mapping: MappingConfig) -> Target:
    """Build the Moodle field values HR wants for a person, and the set of them HR owns."""
    policy = mapping.moodle
    values: dict[str, str] = {IDNUMBER: person.employee_id}
    owned = {IDNUMBER}

    for moodle_field, person_field in policy.fields.items():
        values[moodle_field] = _as_text(getattr(person, person_field))
        if _hr_owns(mapping, moodle_field, person_field):
            owned.add(moodle_field)

    if not values.get("email") and policy.email_fallback:
        values["email"] = policy.email_fallback.format(employee_id=clean_username(person.employee_id))

    for shortname, person_field in policy.custom_fields.items():
        name = CUSTOM_FIELD_PREFIX + shortname
        values[name] = _as_text(getattr(person, person_field))
        if _hr_owns(mapping, shortname, name, person_field):
            owned.add(name)

    return Target(values=values, owned=frozenset(owned))


def _hr_owns(mapping: MappingConfig, *names: str) -> bool:
    return all(mapping.owner_of(name) == "hr" for name in names)


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _same(field_name: str, left: str, right: str) -> bool:
    if field_name == "email":
        return left.strip().casefold() == right.strip().casefold()
    return left.strip() == right.strip()


def current_value(user: MoodleUser, field_name: str, account: ProvisioningAccount | None) -> str | None:
    """Return Moodle's value of a field, or the value last pushed when Moodle's reply omits the field.

    A custom field that Moodle omits and the service never pushed is empty. None means
    the value is unknown: the client does not read that field and the service never pushed it.
    """
    if field_name in _READ_FIELDS:
        return str(getattr(user, field_name) or "")

    pushed = account.pushed_values.get(field_name) if account is not None else None
    if not field_name.startswith(CUSTOM_FIELD_PREFIX):
        return None if pushed is None else str(pushed)

    value = user.custom_field(field_name.removeprefix(CUSTOM_FIELD_PREFIX))
    if value is not None:
        return value
    # Moodle leaves out custom fields without data. NOTE: a value cleared in Moodle
    # therefore reads as the last pushed value and is not restored until HR changes it.
    return "" if pushed is None else str(pushed)


def _diff(target: Target, user: MoodleUser, account: ProvisioningAccount | None) -> tuple[list[FieldChange], dict[str, str]]:
    """Compare HR's owned values with Moodle's: return the changes to write and the values that already match."""
    changes: list[FieldChange] = []
    verified: dict[str, str] = {}
    for name in sorted(target.owned):
        wanted = target.values[name]
        current = current_value(user, name, account)
        if current is not None and _same(name, current, wanted):
            verified[name] = wanted
            continue
        if current is None and not wanted:
            # Moodle's value is unknown and HR has none: writing an empty value would be a guess.
            continue
        if not _can_update(name):
            continue
        changes.append(FieldChange(field=name, before=current, after=wanted))
    return changes, verified


def _can_update(field_name: str) -> bool:
    return field_name.startswith(CUSTOM_FIELD_PREFIX) or field_name in _UPDATE_FIELDS


def _new_item(person: Person | None, employee_id: str, action: PlanAction, **fields: object) -> PlanItem:
    return PlanItem(
        employee_id=employee_id,
        action=action,
        display_name=person.display_name if person else "",
        department=person.department if person else None,
        **fields,  # type: ignore[arg-type]
    )


def _describe_users(users: list[MoodleUser]) -> str:
    return ", ".join(str(user.id) for user in sorted(users, key=lambda user: user.id))


@dataclass(frozen=True)
class _Match:
    user: MoodleUser | None = None
    link: LinkedBy | None = None
    problem: PlanAction | None = None
    reason: str | None = None


def match_user(employee_id: str, email: str | None, account: ProvisioningAccount | None, state: MoodleState) -> _Match:
    """Find the employee's Moodle user: by idnumber, then by the linked id, then by a unique e-mail."""
    by_idnumber = state.by_idnumber.get(employee_id, [])
    if len(by_idnumber) > 1:
        reason = f"idnumber {employee_id} is on Moodle users {_describe_users(by_idnumber)}; keep one and clear the others"
        return _Match(problem=PlanAction.CONFLICT, reason=reason)

    linked = state.by_id.get(account.moodle_user_id) if account else None
    if by_idnumber:
        found = by_idnumber[0]
        if linked is not None and linked.id != found.id:
            reason = (
                f"employee is linked to Moodle user {linked.id}, but idnumber {employee_id} is on "
                f"Moodle user {found.id}; keep one account"
            )
            return _Match(problem=PlanAction.CONFLICT, reason=reason)
        return _Match(user=found, link=None if linked is not None else LinkedBy.IDNUMBER)

    if linked is not None:
        # The linked user lost its idnumber in Moodle; the update restores it.
        return _Match(user=linked)

    return _match_by_email(employee_id, email, state)


def _match_by_email(employee_id: str, email: str | None, state: MoodleState) -> _Match:
    if not email:
        return _Match()

    candidates = state.by_email.get(email.strip().lower(), [])
    if not candidates:
        return _Match()
    if len(candidates) > 1:
        reason = f"no idnumber match, and e-mail {email} is on Moodle users {_describe_users(candidates)}; set idnumber {employee_id} on the right one"
        return _Match(problem=PlanAction.AMBIGUOUS, reason=reason)

    candidate = candidates[0]
    if candidate.idnumber:
        reason = (
            f"no idnumber match, and e-mail {email} belongs to Moodle user {candidate.id} with idnumber "
            f"{candidate.idnumber}; fix the e-mail in HR or in Moodle"
        )
        return _Match(problem=PlanAction.AMBIGUOUS, reason=reason)
    return _Match(user=candidate, link=LinkedBy.EMAIL)


def plan_person(
    person: Person,
    account: ProvisioningAccount | None,
    state: MoodleState,
    mapping: MappingConfig,
    *,
    missing_from_source: bool = False,
) -> PlannedItem:
    """Plan one employee. `missing_from_source` marks an employee absent from a complete source."""
    match = match_user(person.employee_id, person.email, account, state)
    if match.problem is not None:
        return PlannedItem(_new_item(person, person.employee_id, match.problem, reason=match.reason))

    target = target_for(person, mapping)
    leaving = missing_from_source or not person.is_active
    if match.user is None:
        return _plan_without_user(person, target, leaving=leaving, missing_from_source=missing_from_source)

    planned = _plan_matched(person, match.user, match.link, account, target, mapping, leaving=leaving, missing_from_source=missing_from_source)
    planned.moodle_suspended = match.user.suspended
    return planned


def _plan_matched(
    person: Person,
    user: MoodleUser,
    link: LinkedBy | None,
    account: ProvisioningAccount | None,
    target: Target,
    mapping: MappingConfig,
    *,
    leaving: bool,
    missing_from_source: bool,
) -> PlannedItem:
    common = {"moodle_user_id": user.id, "username": user.username, "link": link}
    hr_owns_suspension = mapping.owner_of(SUSPENDED) == "hr"
    if leaving and hr_owns_suspension:
        return _plan_leaver(person, user, target, common, missing_from_source=missing_from_source)

    changes, verified = _diff(target, user, account)
    if user.suspended and hr_owns_suspension and not leaving:
        changes.append(FieldChange(field=SUSPENDED, before="1", after="0"))
        item = _new_item(person, person.employee_id, PlanAction.REACTIVATE, changes=changes, **common)
        return PlannedItem(item, target, verified)

    action = PlanAction.UPDATE if changes else PlanAction.UNCHANGED
    item = _new_item(person, person.employee_id, action, changes=changes, **common)
    return PlannedItem(item, target, verified)


def _plan_without_user(person: Person, target: Target, *, leaving: bool, missing_from_source: bool) -> PlannedItem:
    if leaving:
        reason = "missing from the source and has no Moodle account" if missing_from_source else "leaver without a Moodle account; not created"
        return PlannedItem(_new_item(person, person.employee_id, PlanAction.SKIP, reason=reason))

    missing = [name for name in _REQUIRED_FOR_CREATE if not target.values.get(name)]
    if missing:
        reason = f"Moodle requires {', '.join(missing)} to create an account; fill them in HR"
        return PlannedItem(_new_item(person, person.employee_id, PlanAction.INVALID, reason=reason))

    changes = [FieldChange(field=name, after=value) for name, value in sorted(target.values.items()) if value]
    return PlannedItem(_new_item(person, person.employee_id, PlanAction.CREATE, changes=changes), target)


def _plan_leaver(
    person: Person,
    user: MoodleUser,
    target: Target,
    common: dict[str, object],
    *,
    missing_from_source: bool,
) -> PlannedItem:
    if user.suspended:
        return PlannedItem(_new_item(person, person.employee_id, PlanAction.UNCHANGED, **common), target)

    if missing_from_source:
        reason = "missing from a source that lists every employee"
    elif person.termination_date:
        reason = f"leaver since {person.termination_date.isoformat()}"
    else:
        reason = "leaver"
    changes = [FieldChange(field=SUSPENDED, before="0", after="1")]
    item = _new_item(person, person.employee_id, PlanAction.SUSPEND, changes=changes, reason=reason, **common)
    return PlannedItem(item, target)


def plan_orphan(account: ProvisioningAccount, state: MoodleState) -> PlannedItem:
    """Plan a linked account whose employee is absent from both a complete source and the people table."""
    user = state.by_id.get(account.moodle_user_id)
    if user is None:
        reason = f"linked Moodle user {account.moodle_user_id} no longer exists"
        return PlannedItem(PlanItem(employee_id=account.employee_id, action=PlanAction.SKIP, reason=reason))
    if user.suspended:
        item = PlanItem(employee_id=account.employee_id, action=PlanAction.UNCHANGED, moodle_user_id=user.id, username=user.username)
        return PlannedItem(item, moodle_suspended=True)

    item = PlanItem(
        employee_id=account.employee_id,
        action=PlanAction.SUSPEND,
        moodle_user_id=user.id,
        username=user.username,
        changes=[FieldChange(field=SUSPENDED, before="0", after="1")],
        reason="missing from a source that lists every employee",
    )
    return PlannedItem(item)


def resolve_shared_users(planned: Sequence[PlannedItem], accounts: Mapping[str, ProvisioningAccount]) -> None:
    """Turn items into conflicts when they claim a Moodle user that another employee claims or is linked to.

    This happens when someone moves an idnumber between users in Moodle. Changing either
    account could give one employee's account to another, so both are left alone.
    """
    owners = {account.moodle_user_id: account.employee_id for account in accounts.values()}
    claims: dict[int, list[PlannedItem]] = {}
    for entry in planned:
        if entry.item.moodle_user_id is not None and entry.item.action not in (PlanAction.CONFLICT, PlanAction.AMBIGUOUS):
            claims.setdefault(entry.item.moodle_user_id, []).append(entry)

    for user_id, claimants in claims.items():
        employees = sorted({entry.item.employee_id for entry in claimants})
        owner = owners.get(user_id)
        if owner is not None and owner not in employees:
            employees.append(owner)
        if len(employees) < 2:
            continue
        reason = f"Moodle user {user_id} matches employees {', '.join(employees)}; fix its idnumber in Moodle"
        for entry in claimants:
            entry.item.action = PlanAction.CONFLICT
            entry.item.reason = reason
            entry.item.changes = []
            entry.item.link = None


def count_actions(items: Iterable[PlanItem]) -> dict[str, int]:
    """Count items per action, with every action present, plus "failed" for items Moodle rejected."""
    counts = {action.value: 0 for action in PlanAction}
    counts["failed"] = 0
    for item in items:
        counts[item.action.value] += 1
        if item.outcome == "failed":
            counts["failed"] += 1
    return counts


def active_linked_users(planned: Iterable[PlannedItem], state: MoodleState) -> int:
    """Count Moodle users in the plan that are active and matched to an employee."""
    user_ids = {entry.item.moodle_user_id for entry in planned if entry.item.moodle_user_id is not None}
    return sum(1 for user_id in user_ids if user_id in state.by_id and not state.by_id[user_id].suspended)
