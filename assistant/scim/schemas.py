"""SCIM resource models and the service description published at /scim/v2.

The models are the scim2-models `User` and `EnterpriseUser` with three changes that
let real identity providers through:

- `emails.value` is plain text. pydantic's e-mail check rejects reserved domains such
  as `.local`, which Okta and on-premises directories use. The person record still
  validates the address that becomes the person's e-mail.
- `manager.value` and `manager.$ref` are optional. Microsoft Entra ID and Okta send
  only the manager's id, and RFC 7643 §4.3 calls both sub-attributes RECOMMENDED.
- `employeeNumber` is required, because it is the employee ID that links a SCIM user
  to the canonical person record.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field
from scim2_models import (
    URN,
    AuthenticationScheme,
    Bulk,
    CaseExact,
    ChangePassword,
    ComplexAttribute,
    Email,
    EnterpriseUser,
    ETag,
    Filter,
    Patch,
    Reference,
    Required,
    ResourceType,
    ScimPolicy,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
    User,
)
from scim2_models.resources.enterprise_user import Manager
from scim2_models.resources.resource import AnyExtension

ENTERPRISE_USER_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

# Maximum page size of a search, and the page size when a request gives no count.
MAX_RESULTS = 200


class UserEmail(Email):
    value: str | None = None
    """E-mail address of the user, any text with one @ (checked by the person record)."""


class UserManager(Manager):
    value: Annotated[str | None, CaseExact.true] = None
    """The id of the manager's SCIM resource, or the manager's employee ID."""

    # "User" is the name of the referenced resource type, as in scim2-models' own Manager.
    ref: Annotated[Reference["User"] | None, Required.false] = Field(  # type: ignore[type-arg]  # noqa: UP037
        None, serialization_alias="$ref", validation_alias="$ref"
    )
    """The URI of the manager's SCIM resource."""


class EmployeeExtension(EnterpriseUser):
    __schema__ = URN(ENTERPRISE_USER_SCHEMA)

    employee_number: Annotated[str | None, Required.true] = None
    """The employee ID, kept as text so that leading zeros survive."""

    manager: UserManager | None = None
    """The user's manager."""


class ScimUser(User[AnyExtension]):
    # The entries are UserEmail, a subclass of Email, so the override narrows the type.
    emails: list[UserEmail] | None = None  # type: ignore[assignment]
    """E-mail addresses of the user."""

    Emails: ClassVar[type[ComplexAttribute]] = UserEmail


# The resource served at /Users: the core User schema with the enterprise extension.
UserResource = ScimUser[EmployeeExtension]


def service_provider_config() -> ServiceProviderConfig:
    """Describe the protocol features this service supports (RFC 7643 §5)."""
    return ServiceProviderConfig(
        documentation_uri=None,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=True),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="Bearer token",
                description="A static bearer token set in ASSISTANT_SCIM_TOKEN.",
                primary=True,
            )
        ],
    )


def identity_provider_policy() -> ScimPolicy:
    """Accept the deviations from RFC 7644 that Microsoft Entra ID and Okta are known to send.

    - A PATCH path filter that matches no entry, such as `emails[type eq "work"].value`
      on a user without a work address, creates the entry instead of failing with
      noTarget (RFC 7644 §3.5.2.3 requires noTarget on replace).
    - A `remove` carrying a `value` removes the entries the value selects.
    - Attributes of schemas this service does not know are dropped instead of rejected,
      so an IdP that maps extra attributes can still provision users.
    """
    return ScimPolicy(
        unknown=ScimPolicy.Unknown.ignore,
        remove_value_as_filter=ScimPolicy.RemoveValue.apply,
        unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
    )


def build_provider() -> ScimProvider:
    """Describe the service: the User resource type with its enterprise extension."""
    resource_type = ResourceType.from_resource(UserResource)
    # The extension carries employeeNumber, so a User must have it. The model keeps it
    # optional so that the storage can reject a missing employeeNumber by name.
    for extension in resource_type.schema_extensions or []:
        extension.required = True
    return ScimProvider(
        models=[ScimUser, EmployeeExtension],
        resource_types=[resource_type],
        config=service_provider_config(),
        policy=identity_provider_policy(),
    )
