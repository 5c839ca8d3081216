"""Creating, listing, revoking and checking API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import structlog
from sqlmodel import Session, col, select

from assistant.auth.exceptions import InvalidRole, TokenNotFound
from assistant.auth.models import ApiToken, Role, utcnow
from assistant.errors import InvalidInput

log = structlog.get_logger()

# Raw tokens look like `ast_<43 URL-safe characters>`: 32 random bytes, 256 bits.
TOKEN_PREFIX = "ast_"
TOKEN_BYTES = 32
# Characters of the raw token kept in clear, so that lists can show which token is which.
SHOWN_PREFIX_LENGTH = 12
# `last_used_at` is written at most this often per token, to keep reads from writing.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_token(raw_token: str) -> str:
    """Return the hex SHA-256 of a raw token, the only form the database stores."""
    return hashlib.sha256(raw_token.encode("utf-8")).hexdigest()


def parse_role(value: str) -> Role:
    """Return the role named by `value`; raise InvalidRole naming the allowed roles."""
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise InvalidRole(value, [role.value for role in Role]) from None


def create_token(session: Session, *, role: Role, employee_id: str, name: str = "") -> tuple[ApiToken, str]:
    """Store a new token and return the row with the raw token, which is not stored anywhere."""
    employee_id = employee_id.strip()
    if not employee_id:
        raise InvalidInput("employee ID is empty; every token belongs to an employee ID")

    raw_token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    token = ApiToken(
        name=name.strip(),
        role=role.value,
        employee_id=employee_id,
        token_hash=hash_token(raw_token),
        prefix=raw_token[:SHOWN_PREFIX_LENGTH],
    )
    session.add(token)
    session.flush()

    log.info("auth.token.created", token_id=token.id, role=role.value, employee_id=employee_id)
    return token, raw_token


def list_tokens(session: Session, *, include_revoked: bool = False) -> list[ApiToken]:
    query = select(ApiToken).order_by(col(ApiToken.id))
    if not include_revoked:
        query = query.where(col(ApiToken.revoked_at).is_(None))
    return list(session.exec(query))


def revoke_token(session: Session, token_id: int) -> ApiToken:
    """Mark the token revoked; revoking twice keeps the first revocation time."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise TokenNotFound(token_id)

    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
        log.info("auth.token.revoked", token_id=token_id, employee_id=token.employee_id)
    return token


def find_active_token(session: Session, raw_token: str) -> ApiToken | None:
    """Return the unrevoked token whose hash matches, recording its use; None when there is none.

    The lookup is by hash, so the comparison never touches the raw token's bytes.
    """
    token = session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(raw_token))).first()
    if token is None or token.revoked_at is not None:
        return None

    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
        session.flush()
    return token
