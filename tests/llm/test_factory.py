"""Choosing the provider from settings, and the readiness check."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from structlog.testing import capture_logs

from assistant.config import LLMProvider, Settings
from assistant.llm import LLMConfigurationError, factory, get_llm, llm_readiness_check
from assistant.llm.local import local_model_available


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_auto_with_url_picks_openai(fresh_logger: Callable[[object], None]) -> None:
    fresh_logger(factory)
    with capture_logs() as logs:
        llm = get_llm(_settings(llm_url="http://127.0.0.1:9/v1", llm_model="tiny"))

    assert (llm.provider, llm.model) == ("openai", "tiny")
    selected = [entry for entry in logs if entry["event"] == "llm.provider.selected"]
    assert selected == [{"event": "llm.provider.selected", "provider": "openai", "model": "tiny", "configured": "auto", "log_level": "info"}]


def test_auto_without_url_picks_local_model_or_scripts() -> None:
    llm = get_llm(_settings())

    expected = "local" if local_model_available() else "scripted"
    assert llm.provider == expected


def test_explicit_scripted() -> None:
    assert get_llm(_settings(llm_provider=LLMProvider.SCRIPTED)).provider == "scripted"


def test_openai_without_url_is_rejected() -> None:
    with pytest.raises(LLMConfigurationError, match="ASSISTANT_LLM_URL must be set"):
        get_llm(_settings(llm_provider=LLMProvider.OPENAI))


def test_openai_without_model_is_rejected() -> None:
    with pytest.raises(LLMConfigurationError, match="ASSISTANT_LLM_MODEL"):
        get_llm(_settings(llm_provider=LLMProvider.OPENAI, llm_url="http://127.0.0.1:9/v1"))


async def test_readiness_check_names_provider_and_model() -> None:
    check = llm_readiness_check(get_llm(_settings(llm_provider=LLMProvider.SCRIPTED)))

    assert check.name == "llm"
    assert await check.probe() == "scripted scripted-v1"
