"""The service's one settings object, read once from the environment and `.env`.

Every variable carries the `ASSISTANT_` prefix, for example `ASSISTANT_MOODLE_URL`.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values that mean "nobody set this yet". In production they stop start-up.
PLACEHOLDER_SECRETS = frozenset({"", "changethis", "change-me", "changeme", "secret", "demo"})


class Environment(StrEnum):
    DEVELOPMENT = "development"
    DEMO = "demo"
    PRODUCTION = "production"


class LLMProvider(StrEnum):
    AUTO = "auto"
    OPENAI = "openai"
    LOCAL = "local"
    SCRIPTED = "scripted"


class EmbeddingProvider(StrEnum):
    LOCAL = "local"
    OPENAI = "openai"


class PlaceholderSecretError(Exception):
    """A secret that production needs is still a placeholder value."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ASSISTANT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    # --- Frame ---
    environment: Environment = Environment.DEVELOPMENT
    # "console" or "json"; empty picks json in production and console elsewhere.
    log_format: str = ""
    log_level: str = "INFO"
    # Folder for the SQLite file, the FAISS index, CSV exports and other local state.
    data_dir: Path = Path("var")
    # SQLAlchemy URL; empty means a SQLite file inside data_dir.
    database_url: str = ""
    # Signs session cookies and CSRF tokens.
    secret_key: SecretStr = SecretStr("changethis")

    # --- Moodle ---
    moodle_url: str = ""
    moodle_token: SecretStr = SecretStr("")
    # Seconds per call. A batch of 100 users took about 0.6 s on a two-core Moodle 5.1 site, and 3 s at p95 under load.
    moodle_timeout: float = 30.0
    moodle_max_concurrency: int = 4
    moodle_batch_size: int = 100
    moodle_max_retries: int = 4
    # Shortname of the custom profile field that mirrors the employee ID.
    moodle_employeeid_field: str = "employeeid"

    # --- HR sources and targets ---
    # YAML file with field mappings, canonical values, ownership and the account policy.
    mapping_file: Path | None = None
    bamboohr_url: str = ""
    bamboohr_api_key: SecretStr = SecretStr("")
    bamboohr_timeout: float = 30.0
    # Bearer token that SCIM clients (Okta, Entra ID) present at /scim/v2.
    scim_token: SecretStr = SecretStr("")
    # Share of active users one run may suspend before it needs --force (0.10 = 10 %).
    max_suspend_share: float = 0.10
    webhook_url: str = ""
    webhook_secret: SecretStr = SecretStr("")
    # Comma-separated targets that receive results: bamboohr, csv, webhook. Empty means
    # bamboohr and webhook when their URLs are set; csv writes under data_dir/exports.
    results_targets: str = ""

    # Where background jobs run: "inline" in the serving process, or "postgres" on the
    # procrastinate queue that `assistant worker` processes take jobs from (needs PostgreSQL).
    job_queue: str = "inline"

    # --- Scheduler of `assistant serve`: minutes between runs of each stage; 0 turns it off ---
    # HR pull and provisioning from BambooHR (needs ASSISTANT_BAMBOOHR_URL and ASSISTANT_MOODLE_URL).
    schedule_sync_minutes: float = 0.0
    # Collecting completions, grades and roleplay scores.
    schedule_collect_minutes: float = 0.0
    # Delivering the results outbox to HR.
    schedule_deliver_minutes: float = 0.0

    # --- Learning paths ---
    catalogue_file: Path | None = None
    embedding_provider: EmbeddingProvider = EmbeddingProvider.LOCAL
    embedding_model: str = "all-MiniLM-L6-v2"
    embedding_url: str = ""
    embedding_api_key: SecretStr = SecretStr("")
    # Grades are percentages; below the first a reinforcement course is added, above the second
    # the next fundamentals course on that skill is skipped.
    reinforce_below: float = 60.0
    skip_ahead_above: float = 90.0

    # --- Language models ---
    llm_provider: LLMProvider = LLMProvider.AUTO
    llm_url: str = ""
    llm_model: str = ""
    llm_api_key: SecretStr = SecretStr("")
    # Seconds for one model call.
    llm_timeout: float = 60.0
    llm_max_retries: int = 2

    # --- Roleplay ---
    # Folder of scenario YAML files; empty uses the scenarios bundled in prompts/scenarios.
    roleplay_scenarios_dir: Path | None = None

    # --- Web sign-in (OpenID Connect) ---
    oidc_discovery_url: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: SecretStr = SecretStr("")
    # ID-token claim holding the employee ID; empty matches the `email` claim against people's e-mail.
    oidc_employee_id_claim: str = ""
    # Employee IDs that get the admin role when they sign in on the web, as a JSON list.
    admin_employee_ids: list[str] = []

    @field_validator("job_queue")
    @classmethod
    def _check_job_queue(cls, value: str) -> str:
        if value not in ("inline", "postgres"):
            raise ValueError(f"ASSISTANT_JOB_QUEUE must be 'inline' or 'postgres', not {value!r}")
        return value

    @property
    def is_demo(self) -> bool:
        return self.environment is Environment.DEMO

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'assistant.db'}"

    @property
    def resolved_log_format(self) -> str:
        if self.log_format:
            return self.log_format
        return "json" if self.is_production else "console"

    def check_production_secrets(self) -> None:
        """Raise PlaceholderSecretError when production runs with a placeholder secret.

        A plain method rather than a pydantic validator, because pydantic's errors echo
        every input value, secrets included.
        """
        if not self.is_production:
            return

        # Only secrets whose feature is switched on must be real.
        required = {"secret_key": self.secret_key}
        if self.moodle_url:
            required["moodle_token"] = self.moodle_token
        if self.bamboohr_url:
            required["bamboohr_api_key"] = self.bamboohr_api_key
        if self.webhook_url:
            required["webhook_secret"] = self.webhook_secret

        weak = [name for name, value in required.items() if value.get_secret_value() in PLACEHOLDER_SECRETS]
        if weak:
            names = ", ".join(f"ASSISTANT_{name.upper()}" for name in weak)
            raise PlaceholderSecretError(f"{names} must be set to a real secret in production")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the settings, read from the environment on first use and checked for placeholder secrets."""
    settings = Settings()
    settings.check_production_secrets()
    return settings


def describe_settings_error(exc: ValidationError) -> str:
    """Name each invalid setting by its environment variable, without echoing any value."""
    lines = []
    for error in exc.errors(include_input=False, include_url=False):
        name = "_".join(str(part) for part in error["loc"]).upper()
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"invalid setting ASSISTANT_{name}: {message}")
    return "\n".join(lines)
