"""Async client for BambooHR's REST API (v1).

The API key is the Basic-auth user name, with any password ("x" here). Every request sends
`Accept: application/json`. A 429 or 503 is retried after its Retry-After delay, up to
`max_retries` times. Timeouts, network failures and other 5xx responses are retried with
exponential backoff only for requests that are safe to repeat, because a repeated POST could add
a training record twice. Methods return the models of `assistant.hris.bamboohr.schemas`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import structlog
from pydantic import BaseModel, SecretStr, ValidationError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_random_exponential

from assistant.config import Settings
from assistant.http import OwnedHttpClient, parse_retry_after
from assistant.hris.bamboohr.exceptions import BambooHRError, BambooHRRejected, BambooHRUnavailable
from assistant.hris.bamboohr.schemas import (
    ChangedEmployees,
    CustomReport,
    EmployeeValues,
    TrainingRecord,
    TrainingRecordWrite,
    TrainingType,
    TrainingTypeWrite,
    training_list,
)

log = structlog.get_logger()

ERROR_HEADER = "X-BambooHR-Error-Message"
# Statuses BambooHR uses for rate limiting; the request was not processed, so any method may be retried.
RATE_LIMIT_STATUSES = frozenset({429, 503})
# A Retry-After longer than this is not waited for: the error goes to the caller, which can reschedule.
MAX_RETRY_AFTER = 60.0
MAX_BACKOFF = 30.0

ModelT = TypeVar("ModelT", bound=BaseModel)


def api_base_url(bamboohr_url: str) -> str:
    """Return the API root for a configured BambooHR URL, ending in "/".

    `https://<company>.bamboohr.com` and the sandbox's `http://127.0.0.1:<port>` give
    `<url>/api/v1/`. The gateway form `https://api.bamboohr.com/api/gateway.php/<company>` gives
    `<url>/v1/`. A URL that already ends in `/v1` is kept.
    """
    url = bamboohr_url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise BambooHRRejected(
            f"ASSISTANT_BAMBOOHR_URL {bamboohr_url!r} is not an http(s) URL; set it to https://<company>.bamboohr.com"
        )
    if url.endswith("/v1"):
        return url + "/"
    if "/gateway.php/" in url:
        return url + "/v1/"
    return url + "/api/v1/"


def error_from_response(method: str, path: str, response: httpx.Response) -> BambooHRError:
    """Map a non-2xx response to BambooHRUnavailable (429, 5xx) or BambooHRRejected (other statuses)."""
    status = response.status_code
    detail = response.headers.get(ERROR_HEADER) or response.reason_phrase or "no error message"
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    where = f"{method} {path}"

    if status in RATE_LIMIT_STATUSES or status >= 500:
        return BambooHRUnavailable(
            f"BambooHR is unavailable for {where} (HTTP {status}: {detail}); retry later",
            http_status=status,
            retry_after=retry_after,
        )
    if status == 401:
        return BambooHRRejected(
            f"BambooHR rejected the API key for {where} (HTTP 401: {detail}); set ASSISTANT_BAMBOOHR_API_KEY "
            "to a valid key of a user with access to the needed fields",
            http_status=status,
        )
    if status == 403:
        return BambooHRRejected(
            f"the BambooHR API key's user lacks permission for {where} (HTTP 403: {detail}); "
            "ask a BambooHR administrator to grant it",
            http_status=status,
        )
    return BambooHRRejected(f"BambooHR rejected {where} (HTTP {status}: {detail})", http_status=status)


def error_from_transport(method: str, path: str, timeout: float, exc: httpx.HTTPError) -> BambooHRUnavailable:
    if isinstance(exc, httpx.TimeoutException):
        return BambooHRUnavailable(f"BambooHR did not answer {method} {path} within {timeout:g} s; retry later")
    return BambooHRUnavailable(f"BambooHR could not be reached for {method} {path} ({type(exc).__name__}: {exc}); check ASSISTANT_BAMBOOHR_URL and the network")


class BambooHRClient(OwnedHttpClient):
    """One BambooHR company: its API root, API key and retry settings.

    Pass the application's shared `httpx.AsyncClient` as `http_client`; without it the client
    opens its own and closes it in `aclose()`.
    """

    def __init__(
        self,
        bamboohr_url: str,
        api_key: str,
        *,
        http_client: httpx.AsyncClient | None = None,
        timeout: float = 30.0,
        max_retries: int = 4,
        backoff_base: float = 0.5,
        max_retry_after: float = MAX_RETRY_AFTER,
    ) -> None:
        if not api_key:
            raise BambooHRRejected("the BambooHR API key is empty; set ASSISTANT_BAMBOOHR_API_KEY")
        self.base_url = api_base_url(bamboohr_url)
        self._auth = httpx.BasicAuth(api_key, "x")
        self._api_key = SecretStr(api_key)
        self._timeout = timeout
        self._max_retries = max(0, max_retries)
        self._max_retry_after = max_retry_after
        self._backoff = wait_random_exponential(multiplier=backoff_base, max=MAX_BACKOFF)
        super().__init__(http_client, timeout=timeout)

    @classmethod
    def from_settings(cls, settings: Settings, *, http_client: httpx.AsyncClient | None = None) -> BambooHRClient:
        """Build a client from the `ASSISTANT_BAMBOOHR_*` settings."""
        return cls(
            settings.bamboohr_url,
            settings.bamboohr_api_key.get_secret_value(),
            http_client=http_client,
            timeout=settings.bamboohr_timeout,
        )

    def __repr__(self) -> str:
        return f"BambooHRClient(base_url={self.base_url!r}, api_key='**********')"

    # --- requests ---

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> Any:
        """Send one request with retries and return its decoded JSON body (None for an empty body).

        `idempotent` defaults to True for GET, PUT and DELETE. Raises BambooHRUnavailable after
        the retries and BambooHRRejected at once.
        """
        safe_to_repeat = method in ("GET", "PUT", "DELETE") if idempotent is None else idempotent
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._max_retries + 1),
            wait=self._retry_wait,
            retry=retry_if_exception(lambda exc: self._should_retry(exc, safe_to_repeat)),
            before_sleep=lambda state: _log_retry(method, path, state),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._send(method, path, params=params, json=json)
        except BambooHRError as exc:
            log.error("bamboohr.call.failed", method=method, path=path, error=type(exc).__name__, http_status=exc.http_status)
            raise
        raise AssertionError("tenacity stops only by returning or raising")

    def _should_retry(self, exc: BaseException, safe_to_repeat: bool) -> bool:
        if not isinstance(exc, BambooHRUnavailable):
            return False
        if exc.retry_after is not None and exc.retry_after > self._max_retry_after:
            return False
        return safe_to_repeat or exc.http_status in RATE_LIMIT_STATUSES

    def _retry_wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, BambooHRUnavailable) and error.retry_after is not None:
            return error.retry_after
        return float(self._backoff(state))

    async def _send(self, method: str, path: str, *, params: dict[str, str] | None, json: Any) -> Any:
        started = time.perf_counter()
        try:
            response = await self._http.request(
                method,
                self.base_url + path,
                params=params,
                json=json,
                auth=self._auth,
                headers={"Accept": "application/json"},
                timeout=self._timeout,
            )
        except httpx.HTTPError as exc:
            raise error_from_transport(method, path, self._timeout, exc) from exc
        finally:
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            log.debug("bamboohr.call", method=method, path=path, duration_ms=duration_ms)

        if not response.is_success:
            raise error_from_response(method, path, response)
        return _decode(method, path, response)

    # --- employees ---

    async def custom_report(self, fields: Sequence[str], *, title: str = "assistant people") -> CustomReport:
        """Request a report of every employee, active or not, with the given fields.

        BambooHR leaves out fields that are unknown or hidden from the key's user without an
        error; compare the requested fields with `CustomReport.field_ids`.
        """
        payload = await self.request(
            "POST",
            "reports/custom",
            params={"format": "JSON"},
            json={"title": title, "fields": list(fields)},
            idempotent=True,
        )
        return _parse(CustomReport, payload, "POST reports/custom")

    async def get_employee(self, employee_id: str, fields: Sequence[str]) -> EmployeeValues:
        """Return one employee's fields by BambooHR employee ID."""
        path = f"employees/{_segment(employee_id)}"
        payload = await self.request("GET", path, params={"fields": ",".join(fields)})
        if not isinstance(payload, dict):
            raise BambooHRRejected(f"BambooHR responded to GET {path} with {type(payload).__name__}, not an employee object")
        try:
            return EmployeeValues.from_raw(payload)
        except ValueError as exc:
            raise BambooHRRejected(f"BambooHR responded to GET {path} with an invalid employee: {exc}") from exc

    async def changed_employees(self, since: str) -> ChangedEmployees:
        """List the employees inserted, updated or deleted at or after `since` (ISO 8601 with offset)."""
        payload = await self.request("GET", "employees/changed", params={"since": since})
        return _parse(ChangedEmployees, payload, "GET employees/changed")

    # --- training types ---

    async def list_training_types(self) -> list[TrainingType]:
        payload = await self.request("GET", "training/type")
        return _parse_list(TrainingType, payload, "GET training/type")

    async def add_training_type(self, training_type: TrainingTypeWrite) -> TrainingType:
        payload = await self.request("POST", "training/type", json=training_type.to_body())
        return _parse(TrainingType, payload, "POST training/type")

    async def update_training_type(self, type_id: int, training_type: TrainingTypeWrite) -> TrainingType:
        path = f"training/type/{type_id}"
        payload = await self.request("PUT", path, json=training_type.to_body())
        return _parse(TrainingType, payload, f"PUT {path}")

    async def delete_training_type(self, type_id: int) -> None:
        """Delete a training type; BambooHR rejects this while employees still have records of the type."""
        await self.request("DELETE", f"training/type/{type_id}")

    # --- training records ---

    async def list_training_records(self, employee_id: str, *, type_id: int | None = None) -> list[TrainingRecord]:
        """List an employee's training records, optionally of one training type."""
        path = f"training/record/employee/{_segment(employee_id)}"
        params = {"type": str(type_id)} if type_id is not None else None
        payload = await self.request("GET", path, params=params)
        return _parse_list(TrainingRecord, payload, f"GET {path}")

    async def add_training_record(self, employee_id: str, record: TrainingRecordWrite) -> TrainingRecord:
        """Add a training record to an employee; `record.type_id` is required."""
        if record.type_id is None:
            raise BambooHRRejected("a new training record needs type_id, the id of an existing training type")
        path = f"training/record/employee/{_segment(employee_id)}"
        payload = await self.request("POST", path, json=record.to_body())
        return _parse(TrainingRecord, payload, f"POST {path}")

    async def update_training_record(self, record_id: int, record: TrainingRecordWrite) -> TrainingRecord:
        path = f"training/record/{record_id}"
        payload = await self.request("PUT", path, json=record.to_body())
        return _parse(TrainingRecord, payload, f"PUT {path}")

    async def delete_training_record(self, record_id: int) -> None:
        await self.request("DELETE", f"training/record/{record_id}")


def _segment(value: str) -> str:
    return quote(str(value), safe="")


def _decode(method: str, path: str, response: httpx.Response) -> Any:
    if not response.content.strip():
        return None
    try:
        return response.json()
    except ValueError:
        content_type = response.headers.get("Content-Type", "no content type")
        raise BambooHRRejected(
            f"BambooHR responded to {method} {path} with a body that is not JSON ({content_type}); "
            "check that ASSISTANT_BAMBOOHR_URL points at the BambooHR API",
            http_status=response.status_code,
        ) from None


def _parse(model: type[ModelT], payload: Any, where: str) -> ModelT:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise BambooHRRejected(f"BambooHR responded to {where} with an unexpected body: {_first_error(exc)}") from exc


def _parse_list(model: type[ModelT], payload: Any, where: str) -> list[ModelT]:
    try:
        return [model.model_validate(item) for item in training_list(payload)]
    except (ValidationError, ValueError) as exc:
        detail = _first_error(exc) if isinstance(exc, ValidationError) else str(exc)
        raise BambooHRRejected(f"BambooHR responded to {where} with an unexpected body: {detail}") from exc


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    location = ".".join(str(part) for part in error["loc"]) or "body"
    return f"{location}: {error['msg']}"


def _log_retry(method: str, path: str, state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    wait = state.next_action.sleep if state.next_action else None
    log.warning(
        "bamboohr.call.retry",
        method=method,
        path=path,
        attempt=state.attempt_number,
        wait_seconds=wait,
        http_status=getattr(error, "http_status", None),
        error=type(error).__name__ if error else None,
    )
