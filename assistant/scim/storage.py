"""The scim2-server storage that keeps SCIM users in SQL and writes through to person records.

Each write to a SCIM user also creates or updates the linked person record in the same
transaction, through `assistant.people.service.upsert_person` with source "scim". The
storage lists the employee IDs whose person record changed in
`changed_employee_ids`, so that the caller can sync them to Moodle after the commit.
"""

from __future__ import annotations

import unicodedata
import uuid
from typing import Any, cast

import structlog
from scim2_models import (
    InvalidValueException,
    Meta,
    NotFoundException,
    Resource,
    ResourceType,
    ResponseParameters,
    ScimFilter,
    SearchRequest,
    UniquenessException,
)
from scim2_models.path import CompareOperator, Comparison, LogicalExpr, LogicalOperator
from scim2_server.storage import ScimStorage, SearchPage
from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from assistant.people.models import Person
from assistant.people.service import get_person, upsert_person
from assistant.scim.mapping import (
    MAPPED_FIELDS,
    MISSING_EMPLOYEE_NUMBER,
    SCIM_ATTRIBUTE,
    build_record,
    employee_number,
    person_values,
    status_values,
)
from assistant.scim.models import ScimUserRecord, utcnow
from assistant.scim.schemas import ENTERPRISE_USER_SCHEMA, UserResource

log = structlog.get_logger()

SOURCE = "scim"

_KNOWN_SCHEMAS = {str(UserResource.__schema__).lower(), ENTERPRISE_USER_SCHEMA.lower()}


class ConcurrentWrite(Exception):
    """Another request changed the SCIM user between this request's read and write.

    The router retries the whole request, so the client never sees this error.
    """


def user_name_key(user_name: str) -> str:
    """Return the form userName is compared in, because SCIM userName is not case-exact (RFC 7643 §4.1.1).

    It is the NFC-normalised lowercase that scim2-models' filters compare with, so that
    the uniqueness check and `userName eq` filters agree.
    """
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", user_name.strip()).lower())


def etag(record: ScimUserRecord) -> str:
    return f'W/"{record.version}"'


class PersonStorage(ScimStorage):
    """SCIM users in the `scim_user` table, each linked to a person record by employee ID.

    Search filters run in two steps. Equality on userName, externalId or id, alone or
    inside an `and`, narrows the rows in SQL. scim2-models then evaluates the whole
    filter on the remaining resources, so every filter that it can parse works.

    `lock_rows` locks the user when reading it: `SELECT ... FOR UPDATE` on PostgreSQL,
    the database write lock on SQLite. The router sets it for PUT, PATCH and DELETE.
    Each update also checks that the version it read is still stored, and raises
    ConcurrentWrite if not.
    """

    def __init__(self, session: Session, *, lock_rows: bool = False) -> None:
        self.session = session
        self.lock_rows = lock_rows
        self.changed_employee_ids: list[str] = []

    # -- ScimStorage ----------------------------------------------------

    def get(
        self,
        resource_type: ResourceType,
        resource_id: str,
        *,
        response_parameters: ResponseParameters[Any] | None = None,
    ) -> Resource[Any]:
        return to_resource(self._load(resource_id))

    def search(
        self,
        resource_types: list[ResourceType],
        search_request: SearchRequest[Any],
        *,
        position: Any = None,
    ) -> SearchPage:
        start = search_request.start_index_0 or 0
        count = search_request.count
        query = select(ScimUserRecord).order_by(col(ScimUserRecord.created_at), col(ScimUserRecord.id))

        if search_request.filter is None:
            total = self.session.exec(select(func.count()).select_from(ScimUserRecord)).one()
            page = query.offset(start)
            if count is not None:
                page = page.limit(count)
            return SearchPage(total, [to_resource(record) for record in self.session.exec(page)])

        scim_filter = ScimFilter[UserResource](str(search_request.filter))
        narrowing = _narrowing_conditions(scim_filter.ast)
        if narrowing:
            query = query.where(*narrowing)

        # NOTE: a filter that does not narrow in SQL loads every SCIM user to evaluate it.
        found: list[Resource[Any]] = []
        for record in self.session.exec(query):
            resource = to_resource(record)
            if scim_filter.match(resource):
                found.append(resource)
        stop = None if count is None else start + count
        return SearchPage(len(found), found[start:stop])

    def create(self, resource_type: ResourceType, resource: Resource[Any]) -> Resource[Any]:
        user = cast(UserResource, resource)
        employee_id = _require_employee_number(user)
        user_name = _require_user_name(user)
        self._check_user_name_free(user_name, owner_id=None)
        self._check_employee_id_free(employee_id, owner_id=None)

        self._write_person(employee_id, previous=None, current=user)
        record = ScimUserRecord(
            id=str(uuid.uuid4()),
            employee_id=employee_id,
            user_name=user_name,
            user_name_key=user_name_key(user_name),
            external_id=user.external_id,
            resource=_stored_json(user),
        )
        self.session.add(record)
        self._flush()

        log.info("scim.user.created", scim_id=record.id, employee_id=employee_id)
        return to_resource(record)

    def update(
        self,
        resource_type: ResourceType,
        resource: Resource[Any],
        *,
        expected_version: str | None = None,
    ) -> Resource[Any]:
        user = cast(UserResource, resource)
        record = self._load(cast(str, user.id))
        _check_version(record, expected_version)
        employee_id = _require_employee_number(user)
        user_name = _require_user_name(user)
        self._check_user_name_free(user_name, owner_id=record.id)
        self._check_employee_id_free(employee_id, owner_id=record.id)

        previous = None if employee_id != record.employee_id else to_resource(record)
        if previous is None:
            log.warning("scim.user.relinked", scim_id=record.id, employee_id=employee_id, previous_employee_id=record.employee_id)
        self._write_person(employee_id, previous=previous, current=user)

        values = {
            "employee_id": employee_id,
            "user_name": user_name,
            "user_name_key": user_name_key(user_name),
            "external_id": user.external_id,
            "resource": _stored_json(user),
            "version": record.version + 1,
            "updated_at": utcnow(),
        }
        self._write_guarded(record, values)

        log.info("scim.user.updated", scim_id=record.id, employee_id=employee_id, version=record.version)
        return to_resource(record)

    def delete(
        self,
        resource_type: ResourceType,
        resource_id: str,
        *,
        expected_version: str | None = None,
    ) -> None:
        record = self._load(resource_id)
        _check_version(record, expected_version)

        # RFC 7644 §3.6: the resource is gone for SCIM, but HR keeps the person as a leaver.
        self._apply_person(record.employee_id, status_values(get_person(self.session, record.employee_id), False))
        self.session.delete(record)
        self._flush()
        log.info("scim.user.deleted", scim_id=resource_id, employee_id=record.employee_id)

    # -- Reads ----------------------------------------------------------

    def _load(self, resource_id: str) -> ScimUserRecord:
        query = select(ScimUserRecord).where(ScimUserRecord.id == resource_id)
        if self.lock_rows:
            self._lock_for_write(resource_id)
            query = query.with_for_update()
        record = self.session.exec(query).first()
        if record is None:
            raise NotFoundException(detail=f"User {resource_id!r} not found")
        return record

    def _lock_for_write(self, resource_id: str) -> None:
        """On SQLite, take the database write lock before reading, as FOR UPDATE does on PostgreSQL.

        SQLite ignores FOR UPDATE. A no-op UPDATE as the first statement opens the write
        transaction, waiting up to the busy timeout for other writers, so the rows read
        afterwards cannot change before this request commits.
        """
        if self.session.get_bind().dialect.name != "sqlite":
            return
        statement = (
            update(ScimUserRecord)
            .where(col(ScimUserRecord.id) == resource_id)
            .values(version=ScimUserRecord.version)
            .execution_options(synchronize_session=False)
        )
        self.session.execute(statement)

    def _check_user_name_free(self, user_name: str, *, owner_id: str | None) -> None:
        query = select(ScimUserRecord.id).where(ScimUserRecord.user_name_key == user_name_key(user_name))
        holder = self.session.exec(query).first()
        if holder is not None and holder != owner_id:
            raise UniquenessException(
                detail=f"userName {user_name!r} is already used by User {holder} (compared case-insensitively)"
            )

    def _check_employee_id_free(self, employee_id: str, *, owner_id: str | None) -> None:
        query = select(ScimUserRecord.id).where(ScimUserRecord.employee_id == employee_id)
        holder = self.session.exec(query).first()
        if holder is not None and holder != owner_id:
            raise UniquenessException(
                detail=f"{SCIM_ATTRIBUTE['employee_id']} {employee_id!r} is already linked to User {holder}"
            )

    def _manager_employee_id(self, value: str | None) -> str | None:
        """Resolve manager.value: a SCIM user id becomes that user's employee ID, and any other value is taken as an employee ID."""
        if value is None:
            return None
        query = select(ScimUserRecord.employee_id).where(ScimUserRecord.id == value)
        return self.session.exec(query).first() or value

    # -- Writes ---------------------------------------------------------

    def _write_person(self, employee_id: str, *, previous: UserResource | None, current: UserResource) -> None:
        """Write the SCIM attributes that changed since `previous` to the person record.

        With no `previous` (a new link), every attribute the user carries is written,
        so a person that HR created keeps the fields the IdP leaves out.
        """
        person = get_person(self.session, employee_id)
        new_values = person_values(current)
        new_values["manager_employee_id"] = self._manager_employee_id(new_values["manager_employee_id"])

        if previous is None:
            changes = {name: value for name, value in new_values.items() if value is not None or person is None}
            if current.active is not None or person is None:
                changes.update(status_values(person, current.active is not False))
        else:
            old_values = person_values(previous)
            old_values["manager_employee_id"] = self._manager_employee_id(old_values["manager_employee_id"])
            changes = {name: new_values[name] for name in MAPPED_FIELDS if new_values[name] != old_values[name]}
            if current.active is not None and current.active != previous.active:
                changes.update(status_values(person, current.active))

        self._apply_person(employee_id, changes, person=person)

    def _apply_person(self, employee_id: str, changes: dict[str, Any], *, person: Person | None = None) -> None:
        person = person or get_person(self.session, employee_id)
        if person is not None and not changes:
            return

        record = build_record(employee_id, person, changes)
        result = upsert_person(self.session, record, source=SOURCE, fields=None if person is None else changes)
        if result.action != "unchanged":
            self.changed_employee_ids.append(employee_id)

    def _write_guarded(self, record: ScimUserRecord, values: dict[str, Any]) -> None:
        """Update the row only if its version is still the one read, else raise ConcurrentWrite."""
        statement = (
            update(ScimUserRecord)
            .where(col(ScimUserRecord.id) == record.id, col(ScimUserRecord.version) == record.version)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        try:
            result = self.session.execute(statement)
        except IntegrityError as exc:
            raise _uniqueness_error(exc) from exc
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise ConcurrentWrite(record.id)
        for name, value in values.items():
            setattr(record, name, value)

    def _flush(self) -> None:
        try:
            self.session.flush()
        except IntegrityError as exc:
            raise _uniqueness_error(exc) from exc


def to_resource(record: ScimUserRecord) -> UserResource:
    """Rebuild the SCIM resource from a stored row, with id and meta from the row."""
    user = UserResource.model_validate(record.resource)
    user.id = record.id
    user.meta = Meta(
        resource_type="User",
        created=record.created_at,
        last_modified=record.updated_at,
        version=etag(record),
    )
    return user


def _stored_json(user: UserResource) -> dict[str, Any]:
    """Return the resource as stored: never the password, and without id and meta, which come from the row.

    `schemas` keeps only the URNs this service defines, because attributes of unknown
    schemas are dropped on input.
    """
    stored = user.model_copy(deep=True)
    stored.password = None
    data = stored.model_dump(mode="json", exclude={"id", "meta"})
    data["schemas"] = [urn for urn in data.get("schemas", []) if urn.lower() in _KNOWN_SCHEMAS]
    return data


def _require_employee_number(user: UserResource) -> str:
    employee_id = employee_number(user)
    if employee_id is None:
        raise InvalidValueException(detail=MISSING_EMPLOYEE_NUMBER)
    return employee_id


def _require_user_name(user: UserResource) -> str:
    user_name = (user.user_name or "").strip()
    if not user_name:
        raise InvalidValueException(detail="userName is required and must not be blank")
    if len(user_name) > 320:
        raise InvalidValueException(detail=f"userName is {len(user_name)} characters long; the maximum is 320")
    return user_name


def _check_version(record: ScimUserRecord, expected_version: str | None) -> None:
    """Raise ConcurrentWrite when the stored version is not the one the handler read.

    The handler passes the version it read earlier in the same request, and a client's
    If-Match was already checked against that version (412 on mismatch). A difference
    here means another request wrote in between, so the whole request is retried.
    """
    if expected_version is not None and expected_version != etag(record):
        raise ConcurrentWrite(record.id)


def _uniqueness_error(exc: IntegrityError) -> UniquenessException:
    # Reached only when a concurrent request took the value after the checks above.
    return UniquenessException(detail="userName or employeeNumber was taken by a concurrent request. Retry the request.")


def _narrowing_conditions(node: Any) -> list[ColumnElement[bool]]:
    """Return SQL conditions that every resource matching the filter satisfies.

    Only equality on userName, externalId and id narrows. Other filters return no
    condition and are left to scim2-models.
    """
    if isinstance(node, LogicalExpr) and node.op == LogicalOperator.and_:
        return [condition for term in node.terms for condition in _narrowing_conditions(term)]
    if not isinstance(node, Comparison) or node.op != CompareOperator.eq or not isinstance(node.value, str):
        return []
    if node.attr_path.sub_attr is not None:
        return []

    attribute = node.attr_path.attr.lower()
    if attribute == "username":
        return [col(ScimUserRecord.user_name_key) == user_name_key(node.value)]
    if attribute == "externalid":
        return [col(ScimUserRecord.external_id) == node.value]
    if attribute == "id":
        return [col(ScimUserRecord.id) == node.value]
    return []
