"""The interface every delivery target implements, and its outcome and error types.

A target receives a batch of at most `max_batch` items and returns one outcome per
item. Delivering the same item twice must leave one record in the target: targets look
up the idempotency key (or their natural key) before they add anything. A failure
that concerns the whole batch may be raised as `TargetUnavailable` (retryable) or
`TargetRejected` (not retryable); the worker then applies it to every item.

Adding an HR system means one module here with one class. A SuccessFactors target
would set `max_batch = 10` for ExternalLearningEvents (NOTE: that limit comes from the
project's requirements and is not checked against SAP's API reference) and map the
per-record status list of each response to outcomes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from assistant.results.schemas import CompletionPayload, RoleplayPayload


class TargetError(Exception):
    """A delivery failed; `retryable` is true when the same delivery may succeed later."""

    retryable = False

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class TargetUnavailable(TargetError):
    """The target timed out, was unreachable, rate-limited (429) or failed (5xx)."""

    retryable = True


class TargetRejected(TargetError):
    """The target refused the record (other 4xx or a bad payload); retrying rarely helps."""


@dataclass(frozen=True)
class DeliveryItem:
    outbox_id: int
    key: str
    # Attempt number, counting this one; 1 on the first delivery.
    attempt: int
    payload: CompletionPayload | RoleplayPayload


@dataclass(frozen=True)
class DeliveryOutcome:
    outbox_id: int
    delivered: bool
    retryable: bool = True
    error: str | None = None
    # Seconds the target asked us to wait (Retry-After), if it did.
    retry_after: float | None = None
    # Id of the record in the target, such as a BambooHR training record id.
    external_id: str | None = None

    @classmethod
    def success(cls, item: DeliveryItem, external_id: str | None = None) -> DeliveryOutcome:
        return cls(outbox_id=item.outbox_id, delivered=True, external_id=external_id)

    @classmethod
    def failure(cls, item: DeliveryItem, error: TargetError) -> DeliveryOutcome:
        return cls(
            outbox_id=item.outbox_id,
            delivered=False,
            retryable=error.retryable,
            error=f"{type(error).__name__}: {error.message}",
            retry_after=error.retry_after,
        )


@runtime_checkable
class ResultTarget(Protocol):
    # Short lowercase name stored on outbox rows, such as "bamboohr".
    name: str
    # Maximum items per `deliver` call.
    max_batch: int

    async def deliver(self, items: Sequence[DeliveryItem]) -> list[DeliveryOutcome]:
        """Deliver the items and return one outcome per item, in any order."""
        ...


