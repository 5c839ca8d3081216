"""Sending many items through Moodle's all-or-nothing batch functions.

`core_user_create_users`, `core_user_update_users` and `enrol_manual_enrol_users` roll
back the whole call when one item is bad. `apply_in_batches` sends chunks of
`batch_size`, and when Moodle rejects a chunk it splits it into halves, recursively,
until every good item went through and every bad item has its own error. Retryable
failures are retried by the client before they reach this module, so they are not split.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import structlog

from assistant.moodle.exceptions import MoodleConfigError, MoodleError, MoodleRejected, MoodleUnavailable
from assistant.moodle.schemas import BatchResult, ItemFailure

log = structlog.get_logger()

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")

# An input item with its position in the caller's sequence.
Indexed = tuple[int, ItemT]


@dataclass
class ChunkOutcome(Generic[ResultT]):
    """What one accepted call applied, by input index, and the items Moodle warned about."""

    succeeded: list[tuple[int, ResultT]] = field(default_factory=list)
    failed: list[ItemFailure] = field(default_factory=list)


SendChunk = Callable[[list[Indexed[ItemT]]], Awaitable[ChunkOutcome[ResultT]]]
ExplainFailure = Callable[[Indexed[ItemT], MoodleError], Awaitable[ItemFailure]]


async def apply_in_batches(
    items: Sequence[Indexed[ItemT]],
    *,
    batch_size: int,
    send: SendChunk[ItemT, ResultT],
    explain: ExplainFailure[ItemT],
    key: Callable[[ItemT], str],
) -> BatchResult[ResultT]:
    """Send `items` in chunks, concurrently, and collect per-item results in input order.

    A chunk that Moodle rejects is split until each bad item fails alone; `explain`
    turns that item's error into an `ItemFailure`. When Moodle stays unavailable after
    the client's retries, that chunk and every chunk not yet sent fail with the
    `MoodleUnavailable` error, so the caller can retry exactly those items later.
    A `MoodleConfigError` (invalid token, missing function) is raised, because no item can pass.
    """
    run = _BatchRun(send=send, explain=explain, key=key)
    chunks = [list(items[start : start + batch_size]) for start in range(0, len(items), batch_size)]
    await asyncio.gather(*(run.send_splitting(chunk) for chunk in chunks))

    result: BatchResult[ResultT] = BatchResult()
    result.succeeded = [value for _, value in sorted(run.outcome.succeeded, key=lambda pair: pair[0])]
    result.failed = sorted(run.outcome.failed, key=lambda failure: failure.index)
    return result


@dataclass
class _BatchRun(Generic[ItemT, ResultT]):
    send: SendChunk[ItemT, ResultT]
    explain: ExplainFailure[ItemT]
    key: Callable[[ItemT], str]
    outcome: ChunkOutcome[ResultT] = field(default_factory=ChunkOutcome)
    unavailable: MoodleUnavailable | None = None

    async def send_splitting(self, chunk: list[Indexed[ItemT]]) -> None:
        if self.unavailable is not None:
            self._fail_unavailable(chunk, self.unavailable)
            return

        try:
            outcome = await self.send(chunk)
        except MoodleConfigError:
            raise
        except MoodleUnavailable as exc:
            self.unavailable = exc
            self._fail_unavailable(chunk, exc)
            return
        except MoodleRejected as exc:
            await self._split(chunk, exc)
            return

        self.outcome.succeeded.extend(outcome.succeeded)
        self.outcome.failed.extend(outcome.failed)

    async def _split(self, chunk: list[Indexed[ItemT]], exc: MoodleRejected) -> None:
        if len(chunk) == 1:
            self.outcome.failed.append(await self.explain(chunk[0], exc))
            return

        log.info("moodle.batch.split", function=exc.function, size=len(chunk), errorcode=exc.errorcode)
        middle = len(chunk) // 2
        await self.send_splitting(chunk[:middle])
        await self.send_splitting(chunk[middle:])

    def _fail_unavailable(self, chunk: list[Indexed[ItemT]], exc: MoodleUnavailable) -> None:
        reason = f"not applied because Moodle is unavailable: {exc.message}"
        for index, item in chunk:
            self.outcome.failed.append(ItemFailure(index=index, key=self.key(item), error=exc, reason=reason))
