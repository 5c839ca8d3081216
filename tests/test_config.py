import pytest
from pydantic import SecretStr, ValidationError

from assistant.config import Environment, PlaceholderSecretError, Settings, describe_settings_error


def make_settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_production_rejects_placeholder_secret_key() -> None:
    settings = make_settings(environment=Environment.PRODUCTION)

    with pytest.raises(PlaceholderSecretError, match="ASSISTANT_SECRET_KEY"):
        settings.check_production_secrets()


def test_production_rejects_placeholder_moodle_token_when_moodle_is_set() -> None:
    settings = make_settings(
        environment=Environment.PRODUCTION,
        secret_key=SecretStr("a-real-secret-of-enough-length"),
        moodle_url="http://127.0.0.1:9",
        scim_token=SecretStr("scim-secret-value"),
    )

    with pytest.raises(PlaceholderSecretError, match="ASSISTANT_MOODLE_TOKEN") as raised:
        settings.check_production_secrets()
    assert "scim-secret-value" not in str(raised.value)


def test_production_accepts_real_secrets() -> None:
    settings = make_settings(
        environment=Environment.PRODUCTION,
        secret_key=SecretStr("a-real-secret-of-enough-length"),
        moodle_url="http://127.0.0.1:9",
        moodle_token=SecretStr("0123456789abcdef"),
    )

    assert settings.is_production
    assert settings.resolved_log_format == "json"


@pytest.mark.parametrize("environment", [Environment.DEMO, Environment.DEVELOPMENT])
def test_placeholders_allowed_outside_production(environment: Environment) -> None:
    settings = make_settings(environment=environment)

    assert settings.secret_key.get_secret_value() == "changethis"


def test_environment_variables_use_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_MOODLE_URL", "http://127.0.0.1:8088")
    monkeypatch.setenv("ASSISTANT_MOODLE_TOKEN", "abc")

    settings = make_settings()

    assert settings.moodle_url == "http://127.0.0.1:8088"
    assert settings.moodle_token.get_secret_value() == "abc"
    assert "abc" not in repr(settings)


def test_default_database_is_sqlite_in_data_dir(tmp_path: object) -> None:
    settings = make_settings(data_dir=tmp_path)

    assert settings.resolved_database_url == f"sqlite:///{tmp_path}/assistant.db"


def test_invalid_setting_error_names_variable_not_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_MOODLE_TIMEOUT", "abc")
    monkeypatch.setenv("ASSISTANT_MOODLE_TOKEN", "token-that-must-not-leak")

    with pytest.raises(ValidationError) as raised:
        make_settings()

    message = describe_settings_error(raised.value)
    assert message.startswith("invalid setting ASSISTANT_MOODLE_TIMEOUT:")
    assert "token-that-must-not-leak" not in message
    assert "abc" not in message
