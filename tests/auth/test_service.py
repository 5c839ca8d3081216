from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from assistant.auth.exceptions import InvalidRole, TokenNotFound
from assistant.auth.models import ApiToken, Role
from assistant.auth.service import (
    SHOWN_PREFIX_LENGTH,
    create_token,
    find_active_token,
    hash_token,
    list_tokens,
    parse_role,
    revoke_token,
)
from assistant.errors import InvalidInput


class TestCreateToken:
    def test_raw_token_is_not_stored(self, engine: Engine, session: Session) -> None:
        _, raw = create_token(session, role=Role.MANAGER, employee_id="2000", name="laptop")
        session.commit()

        with engine.connect() as connection:
            rows = connection.execute(text("SELECT * FROM auth_api_token")).all()
        stored = " ".join(str(value) for row in rows for value in row)

        assert len(rows) == 1
        assert raw not in stored
        assert hash_token(raw) in stored

    def test_hash_is_sha256_hex(self, session: Session) -> None:
        token, raw = create_token(session, role=Role.LEARNER, employee_id="2001")

        assert token.token_hash == hash_token(raw)
        assert len(token.token_hash) == 64
        assert token.prefix == raw[:SHOWN_PREFIX_LENGTH]

    def test_tokens_are_unique_and_long(self, session: Session) -> None:
        raws = {create_token(session, role=Role.ADMIN, employee_id="1000")[1] for _ in range(20)}

        assert len(raws) == 20
        assert all(len(raw) >= 40 for raw in raws)

    def test_empty_employee_id_is_rejected(self, session: Session) -> None:
        with pytest.raises(InvalidInput, match="employee ID is empty"):
            create_token(session, role=Role.ADMIN, employee_id="  ")


class TestFindActiveToken:
    def test_finds_by_raw_token(self, session: Session) -> None:
        token, raw = create_token(session, role=Role.MANAGER, employee_id="2000")

        found = find_active_token(session, raw)

        assert found is not None
        assert found.id == token.id
        assert found.last_used_at is not None

    def test_unknown_token_is_none(self, session: Session) -> None:
        create_token(session, role=Role.MANAGER, employee_id="2000")

        assert find_active_token(session, "ast_not-a-real-token") is None

    def test_revoked_token_is_none(self, session: Session) -> None:
        token, raw = create_token(session, role=Role.MANAGER, employee_id="2000")
        assert token.id is not None

        revoke_token(session, token.id)

        assert find_active_token(session, raw) is None


class TestListAndRevoke:
    def test_list_hides_revoked_by_default(self, session: Session) -> None:
        active, _ = create_token(session, role=Role.ADMIN, employee_id="1000")
        revoked, _ = create_token(session, role=Role.LEARNER, employee_id="2001")
        assert revoked.id is not None
        revoke_token(session, revoked.id)

        assert [token.id for token in list_tokens(session)] == [active.id]
        assert [token.id for token in list_tokens(session, include_revoked=True)] == [active.id, revoked.id]

    def test_revoke_twice_keeps_first_time(self, session: Session) -> None:
        token, _ = create_token(session, role=Role.ADMIN, employee_id="1000")
        assert token.id is not None
        first = revoke_token(session, token.id).revoked_at

        second = revoke_token(session, token.id).revoked_at

        assert first is not None
        assert second == first

    def test_revoke_unknown_id_names_it(self, session: Session) -> None:
        with pytest.raises(TokenNotFound, match="no API token with id 404"):
            revoke_token(session, 404)


class TestParseRole:
    @pytest.mark.parametrize("value", ["admin", "Manager", " learner ", "PROVISIONING"])
    def test_accepts_any_case(self, value: str) -> None:
        assert parse_role(value).value == value.strip().lower()

    def test_unknown_role_lists_allowed(self) -> None:
        with pytest.raises(InvalidRole, match="invalid role 'owner'; use one of: admin, provisioning, manager, learner"):
            parse_role("owner")


def test_model_round_trips(session: Session) -> None:
    token, _ = create_token(session, role=Role.PROVISIONING, employee_id="9000", name="sync job")
    session.commit()
    session.expunge_all()

    loaded = session.get(ApiToken, token.id)

    assert loaded is not None
    assert loaded.role == "provisioning"
    assert loaded.name == "sync job"
    assert loaded.created_at.tzinfo is not None
