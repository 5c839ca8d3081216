"""The scim2-server protocol service, adjusted for what identity providers send.

Most deviations are handled by the scim2-models policy in `schemas.py`. This module
handles what needs the raw JSON:

- Microsoft Entra ID sends the manager as a bare string (`"value": "<manager id>"` on
  the path `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager`), where
  RFC 7643 §4.3 defines a complex attribute with a `value` sub-attribute.
- A POST or PUT without employeeNumber gets an error that names employeeNumber, rather
  than the model's report of a missing extension.
"""

from __future__ import annotations

import json
from typing import Any

from scim2_models import Context, InvalidValueException, Resource, ResponseParameters
from scim2_server.responses import ScimResponse
from scim2_server.service import ModelT, ScimService

from assistant.scim.mapping import MISSING_EMPLOYEE_NUMBER, SCIM_ATTRIBUTE
from assistant.scim.schemas import ENTERPRISE_USER_SCHEMA

_MANAGER_PATHS = {"manager", f"{ENTERPRISE_USER_SCHEMA}:manager".lower()}
_RESOURCE_CONTEXTS = {Context.RESOURCE_CREATION_REQUEST, Context.RESOURCE_REPLACEMENT_REQUEST}


class IdentityProviderService(ScimService):
    """ScimService that accepts a bare-string manager and returns the resource after every PATCH."""

    def read_body(
        self,
        model: type[ModelT],
        body: bytes,
        content_type: str | None,
        scim_ctx: Context,
    ) -> ModelT:
        self.ensure_json(content_type)
        payload = _decode(body)
        if payload is None:
            return super().read_body(model, body, content_type, scim_ctx)

        if scim_ctx in _RESOURCE_CONTEXTS:
            _require_employee_number(payload)
        wrap_bare_manager(payload)
        return super().read_body(model, json.dumps(payload).encode(), content_type, scim_ctx)

    def patch_response(
        self,
        base_url: str,
        resource: Resource[Any],
        response_parameters: ResponseParameters[Any],
    ) -> ScimResponse:
        """Respond with 200 and the resource, which RFC 7644 §3.5.2 allows as well as 204.

        scim2-server responds 204 by default. A client that reads the updated user from the
        response, as IdP connectors commonly do, gets it this way.
        """
        return self.resource_response(
            self.publish(base_url, resource),
            Context.RESOURCE_REPLACEMENT_RESPONSE,
            response_parameters,
        )


def wrap_bare_manager(payload: dict[str, Any]) -> None:
    """Wrap every bare-string manager of a resource or a PatchOp as `{"value": ...}`, in place."""
    operations = _operations(payload)
    if operations is None:
        _wrap_in_resource(payload)
        return
    for operation in operations:
        _wrap_in_operation(operation)


def _decode(body: bytes) -> dict[str, Any] | None:
    """Return the JSON object of a body, or None so that validation reports what is wrong with it."""
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _require_employee_number(payload: dict[str, Any]) -> None:
    """Reject a user without employeeNumber, naming the attribute, before the model reports the missing extension."""
    extension = next(
        (value for key, value in payload.items() if key.lower() == ENTERPRISE_USER_SCHEMA.lower()),
        None,
    )
    number = extension.get("employeeNumber") if isinstance(extension, dict) else None
    if isinstance(number, str) and number.strip():
        return
    if number is not None and not isinstance(number, str):
        raise InvalidValueException(
            detail=f"{SCIM_ATTRIBUTE['employee_id']} must be a string, not {type(number).__name__}: "
            "send it quoted so that leading zeros survive"
        )
    raise InvalidValueException(detail=MISSING_EMPLOYEE_NUMBER)


def _operations(payload: dict[str, Any]) -> list[Any] | None:
    for key, value in payload.items():
        if key.lower() == "operations" and isinstance(value, list):
            return value
    return None


def _wrap_in_operation(operation: Any) -> None:
    if not isinstance(operation, dict):
        return
    path = operation.get("path")
    value = operation.get("value")
    if isinstance(path, str) and path.lower() in _MANAGER_PATHS and isinstance(value, str):
        operation["value"] = {"value": value}
    elif path is None and isinstance(value, dict):
        _wrap_in_resource(value)


def _wrap_in_resource(values: dict[str, Any]) -> None:
    """Wrap the manager in a resource or a path-less PATCH value, whether keyed by path or nested in the extension."""
    for key, value in values.items():
        if key.lower() in _MANAGER_PATHS and isinstance(value, str):
            values[key] = {"value": value}
        elif key.lower() == ENTERPRISE_USER_SCHEMA.lower() and isinstance(value, dict):
            _wrap_in_resource(value)

