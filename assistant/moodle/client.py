"""Async client for Moodle's REST web services.

Every call is a form-encoded POST to `<site>/webservice/rest/server.php` with `wstoken`,
`wsfunction` and `moodlewsrestformat=json`; the token travels only in the POST body.
Calls are limited to `max_concurrency` in flight per client, and calls that fail with
`MoodleUnavailable` are retried with exponential backoff and full jitter, honouring
Retry-After. Methods return the models of `assistant.moodle.schemas`.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit
from xml.etree import ElementTree

import httpx
import structlog
from pydantic import SecretStr
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_random_exponential

from assistant.config import Settings
from assistant.http import OwnedHttpClient, parse_retry_after
from assistant.moodle.batches import ChunkOutcome, Indexed, apply_in_batches
from assistant.moodle.exceptions import (
    MoodleBadResponse,
    MoodleConfigError,
    MoodleError,
    MoodleNoManualEnrolment,
    MoodleNotFound,
    MoodleRejected,
    MoodleUnavailable,
    MoodleWeakPassword,
    error_from_moodle,
)
from assistant.moodle.forms import flatten
from assistant.moodle.schemas import (
    ActivityCompletion,
    BatchResult,
    Category,
    Cohort,
    CohortCreate,
    CohortMember,
    CompletionCriterion,
    Course,
    CourseCompletion,
    CourseGrade,
    CourseSection,
    CourseTotal,
    CreatedUser,
    EnrolledUser,
    Enrolment,
    EnrolmentMethod,
    GradeItem,
    ItemFailure,
    MoodleUser,
    SiteInfo,
    Unenrolment,
    UserCourse,
    UserCreate,
    UserGrades,
    UserUpdate,
    normalise_username,
)

log = structlog.get_logger()

REST_PATH = "/webservice/rest/server.php"

# Every web service function the service calls; `missing_functions` checks them at start-up.
REQUIRED_FUNCTIONS: tuple[str, ...] = (
    "core_webservice_get_site_info",
    "core_user_create_users",
    "core_user_update_users",
    "core_user_get_users_by_field",
    "core_user_get_users",
    "core_user_delete_users",
    "core_course_get_courses",
    "core_course_get_courses_by_field",
    "core_course_get_categories",
    "core_course_get_contents",
    "core_course_search_courses",
    "core_enrol_get_course_enrolment_methods",
    "enrol_manual_enrol_users",
    "enrol_manual_unenrol_users",
    "core_enrol_get_users_courses",
    "core_enrol_get_enrolled_users",
    "core_completion_get_course_completion_status",
    "core_completion_get_activities_completion_status",
    "gradereport_user_get_grade_items",
    "gradereport_overview_get_course_grades",
    "core_cohort_create_cohorts",
    "core_cohort_add_cohort_members",
    "core_cohort_get_cohorts",
)

# Moodle's PARAM_USERNAME without $CFG->extendedusernamechars: lowercase letters,
# digits, underscore, hyphen, at sign and full stop. The column stores at most 100 characters.
USERNAME_PATTERN = re.compile(r"[a-z0-9_.@-]+")
USERNAME_MAX_LENGTH = 100

# A Retry-After longer than this is not waited for inside a call: the error goes to the
# caller (a job can be rescheduled), so no request hangs for minutes.
MAX_RETRY_AFTER = 60.0
MAX_BACKOFF = 30.0

# HTTP statuses that mean the URL or the web server set-up is wrong, not the input.
CONFIG_STATUSES = frozenset({301, 302, 303, 307, 308, 401, 403, 404, 405, 407, 410})

# Completion errors that report a status rather than a failure.
COMPLETION_STATUS_BY_ERRORCODE = {
    "nocriteriaset": "not_configured",
    "completionnotenabled": "not_configured",
    "usernotenroled": "not_enrolled",
}


class MoodleClient(OwnedHttpClient):
    """One Moodle site: a token, a concurrency limit and retry settings.

    Pass the application's shared `httpx.AsyncClient` as `http_client`; without it the
    client opens its own and closes it in `aclose()`.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        http_client: httpx.AsyncClient | None = None,
        timeout: float = 30.0,
        max_concurrency: int = 4,
        max_retries: int = 4,
        batch_size: int = 100,
        backoff_base: float = 0.5,
    ) -> None:
        _check_settings(base_url, token, timeout=timeout, max_concurrency=max_concurrency, batch_size=batch_size)
        self.base_url = base_url.rstrip("/")
        self._endpoint = self.base_url + REST_PATH
        self._token = SecretStr(token)
        self._timeout = timeout
        self._max_retries = max(0, max_retries)
        self.batch_size = batch_size
        self._backoff = wait_random_exponential(multiplier=backoff_base, max=MAX_BACKOFF)
        self._semaphore = asyncio.Semaphore(max_concurrency)
        super().__init__(http_client, timeout=timeout)

    @classmethod
    def from_settings(cls, settings: Settings, *, http_client: httpx.AsyncClient | None = None) -> MoodleClient:
        """Build a client from `ASSISTANT_MOODLE_*` settings."""
        return cls(
            settings.moodle_url,
            settings.moodle_token.get_secret_value(),
            http_client=http_client,
            timeout=settings.moodle_timeout,
            max_concurrency=settings.moodle_max_concurrency,
            max_retries=settings.moodle_max_retries,
            batch_size=settings.moodle_batch_size,
        )

    def __repr__(self) -> str:
        return f"MoodleClient(base_url={self.base_url!r}, token='**********')"

    # --- raw calls ---

    async def call(self, function: str, params: Mapping[str, Any] | None = None) -> Any:
        """Call a web service function and return its decoded JSON (None for Moodle's `null`).

        Raises a `MoodleError` subclass; `MoodleUnavailable` only after the retries.
        """
        return await self._call(function, params or {})

    async def _call(
        self,
        function: str,
        params: Mapping[str, Any],
        *,
        before_retry: Callable[[MoodleUnavailable], Awaitable[Mapping[str, Any] | None]] | None = None,
    ) -> Any:
        # `before_retry` may rewrite the parameters between attempts, or return None when
        # nothing is left to send (see `create_users`).
        form = flatten(params)
        last_error: MoodleUnavailable | None = None
        async for attempt in self._retrying(function):
            with attempt:
                if last_error is not None and before_retry is not None:
                    new_params = await before_retry(last_error)
                    if new_params is None:
                        return None
                    form = flatten(new_params)
                try:
                    return await self._post(function, form)
                except MoodleUnavailable as exc:
                    last_error = exc
                    raise
        raise AssertionError("tenacity stops only by returning or raising")

    def _retrying(self, function: str) -> AsyncRetrying:
        return AsyncRetrying(
            stop=stop_after_attempt(self._max_retries + 1),
            wait=self._retry_wait,
            retry=retry_if_exception(_is_retryable),
            before_sleep=lambda state: _log_retry(function, state),
            reraise=True,
        )

    def _retry_wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, MoodleUnavailable) and error.retry_after is not None:
            return error.retry_after
        return float(self._backoff(state))

    async def _post(self, function: str, form: list[tuple[str, str]]) -> Any:
        fields = [("wstoken", self._token.get_secret_value()), ("wsfunction", function), ("moodlewsrestformat", "json")]
        body = urlencode([*fields, *form])
        started = time.perf_counter()
        outcome = "ok"
        try:
            async with self._semaphore:
                response = await self._send(function, body)
            return _decode_response(function, response)
        except MoodleError as exc:
            outcome = type(exc).__name__
            raise
        finally:
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            log.debug("moodle.call", function=function, duration_ms=duration_ms, outcome=outcome)

    async def _send(self, function: str, body: str) -> httpx.Response:
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        try:
            return await self._http.post(self._endpoint, content=body, headers=headers, timeout=self._timeout)
        except httpx.HTTPError as exc:
            raise _transport_error(function, self.base_url, self._timeout, exc) from exc

    # --- site ---

    async def get_site_info(self) -> SiteInfo:
        """Return the site name, release, version and the functions the token may call."""
        return SiteInfo.model_validate(await self._call("core_webservice_get_site_info", {}))

    async def missing_functions(self, required: Iterable[str] = REQUIRED_FUNCTIONS) -> list[str]:
        """Return the required functions the token's service does not offer, in the given order."""
        available = (await self.get_site_info()).function_names
        return [function for function in required if function not in available]

    # --- users ---

    async def create_users(self, users: Sequence[UserCreate]) -> BatchResult[CreatedUser]:
        """Create accounts in batches; each bad user fails alone with a reason, the rest are created.

        Usernames are checked locally first. After a timeout the usernames of the batch are
        looked up before the retry, because Moodle may have committed the batch.
        """
        valid, invalid = _check_usernames(users)
        result = await apply_in_batches(
            valid, batch_size=self.batch_size, send=self._create_chunk, explain=self._explain_create_failure,
            key=lambda user: user.username,
        )
        result.failed = sorted([*result.failed, *invalid], key=lambda failure: failure.index)
        log.info("moodle.create_users.done", created=len(result.succeeded), failed=len(result.failed))
        return result

    async def _create_chunk(self, chunk: list[Indexed[UserCreate]]) -> ChunkOutcome[CreatedUser]:
        pending = list(chunk)
        outcome: ChunkOutcome[CreatedUser] = ChunkOutcome()

        async def skip_committed(error: MoodleUnavailable) -> Mapping[str, Any] | None:
            nonlocal pending
            if error.may_have_committed:
                pending = await self._drop_existing_users(pending, outcome)
            return {"users": [user.to_param() for _, user in pending]} if pending else None

        payload = await self._call(
            "core_user_create_users", {"users": [user.to_param() for _, user in pending]}, before_retry=skip_committed
        )
        created = {entry.username: entry for entry in (CreatedUser.model_validate(raw) for raw in payload or [])}
        for index, user in pending:
            if user.username in created:
                outcome.succeeded.append((index, created[user.username]))
                continue
            error = MoodleBadResponse(
                f"Moodle accepted core_user_create_users but returned no id for {user.username}; look the user up",
                function="core_user_create_users",
            )
            outcome.failed.append(ItemFailure(index=index, key=user.username, error=error, reason=error.message))
        return outcome

    async def _drop_existing_users(
        self, pending: list[Indexed[UserCreate]], outcome: ChunkOutcome[CreatedUser]
    ) -> list[Indexed[UserCreate]]:
        # A timed-out batch may have been committed; users found now count as created.
        found = await self.get_users_by_field("username", [user.username for _, user in pending])
        existing = {user.username: user.id for user in found}
        for index, user in pending:
            if user.username in existing:
                outcome.succeeded.append((index, CreatedUser(id=existing[user.username], username=user.username)))
        log.warning("moodle.create_users.recovered_after_timeout", found=len(existing), pending=len(pending))
        return [(index, user) for index, user in pending if user.username not in existing]

    async def _explain_create_failure(self, item: Indexed[UserCreate], error: MoodleError) -> ItemFailure:
        index, user = item
        return ItemFailure(index=index, key=user.username, error=error, reason=await self._create_reason(user, error))

    async def _create_reason(self, user: UserCreate, error: MoodleError) -> str:
        # In production Moodle gives the same generic message for every invalid field,
        # so look up the two conflicts that cause most rejections.
        if isinstance(error, MoodleWeakPassword):
            return error.message
        if error.debuginfo:
            return f"{error.message}: {error.debuginfo}"
        if error.errorcode != "invalidparameter":
            return error.message

        by_username = await self.get_users_by_field("username", [user.username])
        if by_username:
            return f"username {user.username} already exists in Moodle (user id {by_username[0].id})"
        by_email = await self.get_users_by_field("email", [user.email])
        if by_email:
            return f"the e-mail address is already used by Moodle user id {by_email[0].id}"
        return (
            "Moodle rejected the user (invalidparameter): check that the e-mail address is valid "
            "and that every required field is set"
        )

    async def update_users(self, users: Sequence[UserUpdate]) -> BatchResult[UserUpdate]:
        """Update accounts in batches; Moodle's per-user warnings (unknown id) become failures."""
        return await apply_in_batches(
            list(enumerate(users)), batch_size=self.batch_size, send=self._update_chunk,
            explain=_explain_failure(lambda user: f"user {user.id}"), key=lambda user: f"user {user.id}",
        )

    async def _update_chunk(self, chunk: list[Indexed[UserUpdate]]) -> ChunkOutcome[UserUpdate]:
        payload = await self._call("core_user_update_users", {"users": [user.to_param() for _, user in chunk]})
        warnings = _warnings(payload)
        outcome: ChunkOutcome[UserUpdate] = ChunkOutcome()
        for index, user in chunk:
            warning = next((w for w in warnings if str(w.get("itemid")) == str(user.id)), None)
            if warning is None:
                outcome.succeeded.append((index, user))
                continue
            error = _warning_error("core_user_update_users", warning)
            outcome.failed.append(ItemFailure(index=index, key=f"user {user.id}", error=error, reason=error.message))
        return outcome

    async def suspend_user(self, user_id: int) -> None:
        """Suspend an account; raises MoodleNotFound for an unknown id."""
        await self._update_one(UserUpdate(id=user_id, suspended=True))

    async def unsuspend_user(self, user_id: int) -> None:
        """Lift an account's suspension; raises MoodleNotFound for an unknown id."""
        await self._update_one(UserUpdate(id=user_id, suspended=False))

    async def _update_one(self, user: UserUpdate) -> None:
        result = await self.update_users([user])
        if result.failed:
            raise result.failed[0].error

    async def get_users_by_field(
        self, field: Literal["id", "idnumber", "username", "email"], values: Sequence[str | int]
    ) -> list[MoodleUser]:
        """Return the users whose field matches one of the values (usernames are normalised first).

        Moodle cannot search custom profile fields here; idnumber is not unique, so one
        value can match several users.
        """
        if not values:
            return []
        cleaned = [_clean_lookup_value(field, value) for value in values]
        chunks = [cleaned[start : start + self.batch_size] for start in range(0, len(cleaned), self.batch_size)]
        payloads = await asyncio.gather(
            *(self._call("core_user_get_users_by_field", {"field": field, "values": chunk}) for chunk in chunks)
        )
        return [MoodleUser.model_validate(raw) for payload in payloads for raw in payload or []]

    async def get_users(self, criteria: Mapping[str, str]) -> list[MoodleUser]:
        """Return the users matching every criterion (keys such as idnumber, username, email, auth)."""
        entries = [
            {"key": key, "value": normalise_username(value) if key == "username" else value}
            for key, value in criteria.items()
        ]
        payload = await self._call("core_user_get_users", {"criteria": entries})
        warnings = _warnings(payload)
        if warnings:
            raise _warning_error("core_user_get_users", warnings[0])
        return [MoodleUser.model_validate(raw) for raw in payload.get("users", [])]

    async def delete_users(self, user_ids: Sequence[int]) -> None:
        """Delete accounts; all-or-nothing per call, raises MoodleNotFound when one id is unknown."""
        for start in range(0, len(user_ids), self.batch_size):
            await self._call("core_user_delete_users", {"userids": list(user_ids[start : start + self.batch_size])})

    # --- courses ---

    async def get_courses(self, ids: Sequence[int] | None = None) -> list[Course]:
        """Return courses by id, or every course when `ids` is None; the site's front page is left out."""
        if ids is not None and not ids:
            return []
        params = {"options": {"ids": list(ids)}} if ids else {}
        payload = await self._call("core_course_get_courses", params)
        return [Course.model_validate(raw) for raw in payload if not _is_front_page(raw)]

    async def get_courses_by_field(self, field: str, value: str | int) -> list[Course]:
        """Return courses whose field (id, ids, shortname, idnumber, category) matches value."""
        payload = await self._call("core_course_get_courses_by_field", {"field": field, "value": value})
        return [Course.model_validate(raw) for raw in payload.get("courses", []) if not _is_front_page(raw)]

    async def get_categories(self) -> list[Category]:
        return [Category.model_validate(raw) for raw in await self._call("core_course_get_categories", {})]

    async def get_course_contents(self, course_id: int) -> list[CourseSection]:
        """Return the course's sections with their activities (course modules)."""
        payload = await self._call("core_course_get_contents", {"courseid": course_id})
        return [CourseSection.model_validate(raw) for raw in payload]

    async def search_courses(self, text: str) -> list[Course]:
        """Return the courses whose names or summary match the search text."""
        params = {"criterianame": "search", "criteriavalue": text}
        payload = await self._call("core_course_search_courses", params)
        return [Course.model_validate(raw) for raw in payload.get("courses", [])]

    async def get_enrolment_methods(self, course_id: int) -> list[EnrolmentMethod]:
        """Return the enrolment instances Moodle describes for the course.

        NOTE: Moodle lists only methods whose plugin implements `get_enrol_info` (self
        and guest enrolment), not manual enrolment; use `has_manual_enrolment` for that.
        """
        payload = await self._call("core_enrol_get_course_enrolment_methods", {"courseid": course_id})
        return [EnrolmentMethod.model_validate(raw) for raw in payload]

    async def has_manual_enrolment(self, course_id: int) -> bool:
        """Return whether the course has an enabled manual enrolment method; raises MoodleNotFound for an unknown course."""
        courses = await self.get_courses_by_field("id", course_id)
        if not courses:
            raise MoodleNotFound(f"Moodle has no course with id {course_id}", function="core_course_get_courses_by_field")
        return "manual" in (courses[0].enrollmentmethods or [])

    # --- enrolment ---

    async def enrol_users(self, enrolments: Sequence[Enrolment]) -> BatchResult[Enrolment]:
        """Enrol users through manual enrolment, in batches; enrolling twice is harmless."""
        return await apply_in_batches(
            list(enumerate(enrolments)), batch_size=self.batch_size,
            send=self._enrolment_sender("enrol_manual_enrol_users"),
            explain=_explain_enrolment_failure, key=lambda item: item.key,
        )

    async def unenrol_users(self, unenrolments: Sequence[Unenrolment]) -> BatchResult[Unenrolment]:
        """Remove manual enrolments, in batches."""
        return await apply_in_batches(
            list(enumerate(unenrolments)), batch_size=self.batch_size,
            send=self._enrolment_sender("enrol_manual_unenrol_users"),
            explain=_explain_failure(lambda item: item.key), key=lambda item: item.key,
        )

    def _enrolment_sender(self, function: str) -> Callable[[list[Indexed[Any]]], Awaitable[ChunkOutcome[Any]]]:
        async def send(chunk: list[Indexed[Any]]) -> ChunkOutcome[Any]:
            # Both functions return `null` on success.
            await self._call(function, {"enrolments": [item.to_param() for _, item in chunk]})
            return ChunkOutcome(succeeded=list(chunk))

        return send

    async def get_user_courses(self, user_id: int) -> list[UserCourse]:
        """Return the courses the user is enrolled in, with completion and progress."""
        payload = await self._call("core_enrol_get_users_courses", {"userid": user_id})
        return [UserCourse.model_validate(raw) for raw in payload]

    async def get_enrolled_users(self, course_id: int) -> list[EnrolledUser]:
        """Return a course's participants; suspended accounts are included and not marked."""
        payload = await self._call("core_enrol_get_enrolled_users", {"courseid": course_id})
        return [EnrolledUser.model_validate(raw) for raw in payload]

    # --- completion ---

    async def get_course_completion(self, course_id: int, user_id: int) -> CourseCompletion:
        """Return the user's completion of the course.

        A course without completion criteria gives "not_configured" and a user who is not
        enrolled gives "not_enrolled"; neither raises. `time_completed` is the latest
        criterion time, because Moodle reports no course-level time.
        """
        params = {"courseid": course_id, "userid": user_id}
        try:
            payload = await self._call("core_completion_get_course_completion_status", params)
        except MoodleRejected as exc:
            status = COMPLETION_STATUS_BY_ERRORCODE.get(exc.errorcode or "")
            if status is None:
                raise
            return CourseCompletion(course_id=course_id, user_id=user_id, status=status)  # type: ignore[arg-type]

        raw = payload["completionstatus"]
        criteria = [CompletionCriterion.model_validate(entry) for entry in raw.get("completions", [])]
        completed = bool(raw.get("completed"))
        times = [criterion.time_completed for criterion in criteria if criterion.time_completed]
        return CourseCompletion(
            course_id=course_id,
            user_id=user_id,
            status="complete" if completed else "incomplete",
            time_completed=max(times) if completed and times else None,
            criteria=criteria,
        )

    async def get_activities_completion(self, course_id: int, user_id: int) -> list[ActivityCompletion]:
        """Return the completion state of every tracked activity of the course for the user."""
        params = {"courseid": course_id, "userid": user_id}
        payload = await self._call("core_completion_get_activities_completion_status", params)
        return [ActivityCompletion.model_validate(raw) for raw in payload.get("statuses", [])]

    # --- grades ---

    async def get_grade_items(self, course_id: int, user_id: int) -> UserGrades:
        """Return the user's grade items in the course and the course total.

        NOTE: without `mod/<module>:view` for the token's user, Moodle silently returns
        only the course total.
        """
        params = {"courseid": course_id, "userid": user_id}
        payload = await self._call("gradereport_user_get_grade_items", params)
        entries = payload.get("usergrades", [])
        items = [GradeItem.model_validate(raw) for entry in entries[:1] for raw in entry.get("gradeitems", [])]
        total = next((item for item in items if item.itemtype == "course"), None)
        others = [item for item in items if item.itemtype != "course"]
        return UserGrades(course_id=course_id, user_id=user_id, items=others, course_total=total)

    async def get_course_totals(self, course_id: int, user_ids: Sequence[int]) -> list[CourseTotal]:
        """Return each user's course total; one user's error marks only that user "unavailable".

        Raises only `MoodleConfigError`, which no other user would escape either.
        """
        return list(await asyncio.gather(*(self._course_total(course_id, user_id) for user_id in user_ids)))

    async def _course_total(self, course_id: int, user_id: int) -> CourseTotal:
        try:
            grades = await self.get_grade_items(course_id, user_id)
        except MoodleConfigError:
            raise
        except MoodleError as exc:
            log.warning("moodle.grades.unavailable", course_id=course_id, user_id=user_id, error=type(exc).__name__)
            return CourseTotal(user_id=user_id, course_id=course_id, status="unavailable", reason=exc.message)

        total = grades.course_total
        if total is None or total.grade is None:
            return CourseTotal(user_id=user_id, course_id=course_id, status="not_graded")
        return CourseTotal(
            user_id=user_id, course_id=course_id, status="graded", grade=total.grade, grade_max=total.grade_max
        )

    async def get_course_grades_overview(self, user_id: int) -> list[CourseGrade]:
        """Return the user's course totals in every enrolled course ("-" becomes None)."""
        payload = await self._call("gradereport_overview_get_course_grades", {"userid": user_id})
        return [CourseGrade.model_validate(raw) for raw in payload.get("grades", [])]

    # --- cohorts ---

    async def create_cohorts(self, cohorts: Sequence[CohortCreate]) -> list[Cohort]:
        """Create cohorts in one call; Moodle rejects the whole call when one is invalid."""
        payload = await self._call("core_cohort_create_cohorts", {"cohorts": [c.to_param() for c in cohorts]})
        return [Cohort.model_validate(raw) for raw in payload]

    async def add_cohort_members(self, members: Sequence[CohortMember]) -> BatchResult[CohortMember]:
        """Add users to cohorts; an unknown user or cohort fails only its own item."""
        return await apply_in_batches(
            list(enumerate(members)), batch_size=self.batch_size, send=self._add_members_chunk,
            explain=_explain_failure(lambda member: member.key), key=lambda member: member.key,
        )

    async def _add_members_chunk(self, chunk: list[Indexed[CohortMember]]) -> ChunkOutcome[CohortMember]:
        params = {"members": [member.to_param() for _, member in chunk]}
        warnings = _warnings(await self._call("core_cohort_add_cohort_members", params))
        outcome: ChunkOutcome[CohortMember] = ChunkOutcome()
        for index, member in chunk:
            warning = next((w for w in warnings if _warning_names_member(w, member)), None)
            if warning is None:
                outcome.succeeded.append((index, member))
                continue
            error = _warning_error("core_cohort_add_cohort_members", warning)
            outcome.failed.append(ItemFailure(index=index, key=member.key, error=error, reason=error.message))
        return outcome

    async def get_cohorts(self, ids: Sequence[int] | None = None) -> list[Cohort]:
        """Return cohorts by id, or every cohort the token's user can see when `ids` is None."""
        if ids is not None and not ids:
            return []
        params = {"cohortids": list(ids)} if ids else {}
        return [Cohort.model_validate(raw) for raw in await self._call("core_cohort_get_cohorts", params)]


# --- helpers: settings and input ---


def _check_settings(base_url: str, token: str, *, timeout: float, max_concurrency: int, batch_size: int) -> None:
    if not base_url:
        raise ValueError("no Moodle site is configured: set ASSISTANT_MOODLE_URL (or pass --url) to the site root")
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"invalid Moodle URL {base_url!r}: expected the site root, such as https://moodle.example.org")
    if parts.query:
        raise ValueError("the Moodle URL must not carry a query string: the token goes in the POST body")
    if not token:
        raise ValueError("the Moodle token is empty: set ASSISTANT_MOODLE_TOKEN to the web service token")
    if timeout <= 0 or max_concurrency < 1 or batch_size < 1:
        raise ValueError(
            f"invalid Moodle client settings: timeout={timeout} must be > 0, "
            f"max_concurrency={max_concurrency} and batch_size={batch_size} must be >= 1"
        )


def _check_usernames(users: Sequence[UserCreate]) -> tuple[list[Indexed[UserCreate]], list[ItemFailure]]:
    valid: list[Indexed[UserCreate]] = []
    invalid: list[ItemFailure] = []
    for index, user in enumerate(users):
        reason = _username_problem(user.username)
        if reason is None:
            valid.append((index, user))
            continue
        error = MoodleRejected(reason, function="core_user_create_users", errorcode="invalidusername")
        invalid.append(ItemFailure(index=index, key=user.username, error=error, reason=reason))
    return valid, invalid


def _username_problem(username: str) -> str | None:
    if not username:
        return "the username is empty"
    if len(username) > USERNAME_MAX_LENGTH:
        return f"the username has {len(username)} characters; Moodle allows at most {USERNAME_MAX_LENGTH}"
    if not USERNAME_PATTERN.fullmatch(username):
        bad = "".join(sorted({char for char in username if not USERNAME_PATTERN.fullmatch(char)}))
        return (
            f"the username {username!r} contains characters Moodle does not allow ({bad!r}); "
            "use lowercase letters, digits and _ - @ . only, for example a username derived from the employee id"
        )
    return None


def _clean_lookup_value(field: str, value: str | int) -> str | int:
    if field == "username":
        return normalise_username(str(value))
    if isinstance(value, str):
        return value.strip()
    return value


def _is_front_page(raw: Mapping[str, Any]) -> bool:
    return raw.get("format") == "site" or raw.get("id") == 1


# --- helpers: responses and errors ---


def _is_retryable(error: BaseException) -> bool:
    if not isinstance(error, MoodleUnavailable):
        return False
    return error.retry_after is None or error.retry_after <= MAX_RETRY_AFTER


def _log_retry(function: str, state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    delay = state.next_action.sleep if state.next_action else None
    log.warning(
        "moodle.call.retry",
        function=function,
        attempt=state.attempt_number,
        delay_s=round(delay, 3) if delay is not None else None,
        error=type(error).__name__,
        errorcode=getattr(error, "errorcode", None),
        detail=getattr(error, "message", None),
    )


def _transport_error(function: str, base_url: str, timeout: float, exc: httpx.HTTPError) -> MoodleError:
    """Map an httpx failure to a Moodle error; the caller chains it with `from exc`."""
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        return MoodleUnavailable(f"connecting to Moodle at {base_url} timed out", function=function)
    if isinstance(exc, httpx.TimeoutException):
        return MoodleUnavailable(
            f"Moodle did not respond to {function} within {timeout:g} s (timed out); the call may still have been applied",
            function=function,
            may_have_committed=True,
        )
    if isinstance(exc, httpx.ConnectError):
        return MoodleUnavailable(f"could not connect to Moodle at {base_url}: {exc}", function=function)
    if isinstance(exc, httpx.UnsupportedProtocol):
        return MoodleConfigError(f"invalid Moodle URL {base_url}: {exc}", function=function)
    if isinstance(exc, httpx.TransportError):
        return MoodleUnavailable(
            f"the connection to Moodle failed during {function}: {type(exc).__name__}",
            function=function,
            may_have_committed=True,
        )
    return MoodleBadResponse(f"HTTP error during {function}: {type(exc).__name__}", function=function)


def _decode_response(function: str, response: httpx.Response) -> Any:
    """Return the JSON of a successful response, or raise the error it carries whatever its HTTP status."""
    _raise_for_status(function, response)

    text = response.text
    if text.lstrip().startswith("<"):
        raise _xml_error(function, response)
    try:
        payload = json.loads(text)
    except ValueError as exc:
        raise MoodleBadResponse(
            f"Moodle responded to {function} with a body that is not JSON ({response.headers.get('content-type', 'no content type')}, "
            f"{len(text)} characters): check that the URL points to Moodle and that no proxy rewrites the response",
            function=function,
        ) from exc

    if isinstance(payload, dict) and ("exception" in payload or "errorcode" in payload):
        raise error_from_moodle(
            function=function,
            exception=_str_or_none(payload.get("exception")),
            errorcode=_str_or_none(payload.get("errorcode")),
            message=_str_or_none(payload.get("message")),
            debuginfo=_str_or_none(payload.get("debuginfo")),
        )
    return payload


def _raise_for_status(function: str, response: httpx.Response) -> None:
    status = response.status_code
    if status < 300:
        return
    if status == 429 or status >= 500:
        raise MoodleUnavailable(
            f"Moodle responded to {function} with HTTP {status}",
            function=function,
            status_code=503,
            retry_after=parse_retry_after(response.headers.get("retry-after")),
            may_have_committed=status not in (429, 503),
        )
    if status in CONFIG_STATUSES:
        raise MoodleConfigError(
            f"Moodle responded to {function} with HTTP {status}: check that ASSISTANT_MOODLE_URL is the site root "
            "and that web services and the REST protocol are enabled",
            function=function,
        )
    raise MoodleRejected(f"Moodle responded to {function} with HTTP {status}", function=function)


def _xml_error(function: str, response: httpx.Response) -> MoodleError:
    # Moodle responds in XML when moodlewsrestformat is missing or a proxy drops it.
    try:
        root = ElementTree.fromstring(response.text.strip())
    except ElementTree.ParseError as exc:
        return MoodleBadResponse(f"Moodle responded to {function} with malformed XML: {exc}", function=function)
    if root.tag != "EXCEPTION":
        return MoodleBadResponse(f"Moodle responded to {function} in XML, not JSON", function=function)
    return error_from_moodle(
        function=function,
        exception=root.get("class"),
        errorcode=root.findtext("ERRORCODE"),
        message=root.findtext("MESSAGE"),
        debuginfo=root.findtext("DEBUGINFO"),
    )


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _warnings(payload: Any) -> list[dict[str, Any]]:
    if isinstance(payload, dict):
        return list(payload.get("warnings") or [])
    return []


def _warning_error(function: str, warning: Mapping[str, Any]) -> MoodleError:
    code = str(warning.get("warningcode", ""))
    message = str(warning.get("message", ""))
    if code in {"invaliduserid", "2", "1"}:
        return MoodleNotFound(f"Moodle warned on {function} ({code}): {message}", function=function, errorcode=code)
    return MoodleRejected(f"Moodle warned on {function} ({code}): {message}", function=function, errorcode=code)


def _warning_names_member(warning: Mapping[str, Any], member: CohortMember) -> bool:
    # Moodle's cohort warnings name the item only in the message: "user username=x not exists".
    message = str(warning.get("message", "")) + " "
    user = member.to_param()["usertype"]
    user_named = f"user {user['type']}={user['value']} " in message
    cohort_named = f"cohort {member.cohort_type}={member.cohort_value} " in message
    return user_named or cohort_named


async def _explain_enrolment_failure(item: Indexed[Enrolment], error: MoodleError) -> ItemFailure:
    index, enrolment = item
    if isinstance(error, MoodleNoManualEnrolment):
        # Name the course from the input: Moodle's message may not carry the id.
        reason = (
            f"manual enrolment missing in course {enrolment.course_id}: ask the Moodle administrator "
            "to add the 'Manual enrolments' method to the course"
        )
        return ItemFailure(index=index, key=enrolment.key, error=error, reason=reason)
    return await _explain_failure(lambda value: value.key)(item, error)


def _explain_failure(key: Callable[[Any], str]) -> Callable[[Indexed[Any], MoodleError], Awaitable[ItemFailure]]:
    async def explain(item: Indexed[Any], error: MoodleError) -> ItemFailure:
        index, value = item
        reason = f"{error.message}: {error.debuginfo}" if error.debuginfo else error.message
        return ItemFailure(index=index, key=key(value), error=error, reason=reason)

    return explain
