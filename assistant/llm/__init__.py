"""One interface to language models: an OpenAI-compatible endpoint, the bundled local model, or scripts.

Callers depend on the `LLM` protocol and get an instance from `get_llm(settings)`.
"""

from assistant.llm.base import DEFAULT_MAX_TOKENS, DEFAULT_SEED, LLM, ChatMessage, ChatResult, Usage
from assistant.llm.exceptions import LLMError, LLMRejected, LLMUnavailable
from assistant.llm.factory import LLMConfigurationError, attach_llm, get_llm, llm_readiness_check

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "DEFAULT_SEED",
    "LLM",
    "ChatMessage",
    "ChatResult",
    "LLMConfigurationError",
    "LLMError",
    "LLMRejected",
    "LLMUnavailable",
    "Usage",
    "attach_llm",
    "get_llm",
    "llm_readiness_check",
]
