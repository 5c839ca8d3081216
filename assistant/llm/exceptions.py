"""Errors of the language-model interface.

    LLMError                 base; never raised itself
    ├── LLMUnavailable       timeout, connection failure, 429 or 5xx; retrying later may work
    └── LLMRejected          the request or the model's output is unusable: a 4xx such as an
                             exceeded context length, or output that stayed invalid after retries
"""

from __future__ import annotations

from assistant.errors import AssistantError


class LLMError(AssistantError):
    status_code = 502


class LLMUnavailable(LLMError):
    status_code = 503


class LLMRejected(LLMError):
    status_code = 502
