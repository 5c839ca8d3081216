"""OpenID Connect sign-in against the company's identity provider, through authlib.

The provider is registered from `oidc_discovery_url`, `oidc_client_id` and
`oidc_client_secret`. authlib keeps the state and nonce in the session and checks
the ID token's signature, issuer, audience, expiry and nonce. The person is then
found by the `oidc_employee_id_claim` claim when it is set, else by a verified
`email` claim matched against people's e-mail.
"""

from __future__ import annotations

from typing import Any

import structlog
from authlib.integrations.starlette_client import OAuth
from sqlmodel import Session, func, select

from assistant.auth.exceptions import SignInFailed
from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.people.models import Person

log = structlog.get_logger()

PROVIDER = "idp"
SCOPES = "openid email profile"


class SignInNotConfigured(AssistantError):
    status_code = 503


def build_oauth(settings: Settings) -> OAuth | None:
    """Register the identity provider; None when no discovery URL is configured."""
    if not settings.oidc_discovery_url:
        return None

    oauth = OAuth()
    oauth.register(
        name=PROVIDER,
        server_metadata_url=settings.oidc_discovery_url,
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret.get_secret_value(),
        client_kwargs={"scope": SCOPES},
    )
    return oauth


def require_client(oauth: OAuth | None) -> Any:
    """Return the registered provider client; raise SignInNotConfigured without one."""
    if oauth is None:
        raise SignInNotConfigured(
            "OpenID Connect sign-in is not configured; set ASSISTANT_OIDC_DISCOVERY_URL, "
            "ASSISTANT_OIDC_CLIENT_ID and ASSISTANT_OIDC_CLIENT_SECRET"
        )
    return oauth.create_client(PROVIDER)


def _person_by_email(session: Session, claims: dict[str, Any]) -> Person | None:
    email = claims.get("email")
    if not isinstance(email, str) or not email:
        raise SignInFailed("sign-in failed: the identity provider sent no e-mail claim")
    if claims.get("email_verified") is False:
        raise SignInFailed("sign-in failed: the identity provider marks this e-mail address as not verified")

    query = select(Person).where(func.lower(Person.email) == email.strip().lower())
    return session.exec(query).first()


def _person_by_claim(session: Session, claims: dict[str, Any], claim: str) -> Person | None:
    value = claims.get(claim)
    if value is None or str(value).strip() == "":
        raise SignInFailed(f"sign-in failed: the identity provider sent no {claim!r} claim")
    return session.exec(select(Person).where(Person.employee_id == str(value).strip())).first()


def person_for_claims(session: Session, settings: Settings, claims: dict[str, Any]) -> Person:
    """Return the active person the ID-token claims name; raise SignInFailed naming what is missing."""
    claim = settings.oidc_employee_id_claim
    person = _person_by_claim(session, claims, claim) if claim else _person_by_email(session, claims)
    matched_on = f"the {claim!r} claim" if claim else "the e-mail address"

    if person is None:
        log.info("auth.oidc.no_person", subject=str(claims.get("sub", "")), matched_on=claim or "email")
        raise SignInFailed(
            f"sign-in failed: no employee matches {matched_on} from the identity provider; "
            "ask HR to record it on your employee record"
        )
    if not person.is_active:
        raise SignInFailed(f"sign-in failed: employee {person.employee_id!r} is not active in HR data")
    return person
