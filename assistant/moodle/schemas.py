"""Typed models for what the Moodle client sends and returns.

Input models (`UserCreate`, `Enrolment`, ...) use Python names and build their own
form parameters. Output models read Moodle's JSON, ignore keys they do not name and
normalise Moodle's quirks: Unix seconds become UTC datetimes (0 means "never" and
becomes None), and grades arrive as numbers or numeric strings and become floats,
with "-" and null becoming None, never 0.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, field_validator

from assistant.moodle.exceptions import MoodleError

T = TypeVar("T")

# Moodle's default student role id; editingteacher is 3 and teacher is 4.
STUDENT_ROLE_ID = 5


def normalise_username(username: str) -> str:
    """Trim and lowercase a username the way Moodle's PARAM_USERNAME cleaning does."""
    return username.strip().lower()


def _timestamp(value: Any) -> datetime | None:
    if value in (None, 0, "0", ""):
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromtimestamp(int(value), tz=UTC)


def _grade(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    text = html.unescape(str(value)).strip().rstrip("%").strip()
    if text in ("", "-"):
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _plain_text(value: Any) -> str | None:
    if value is None:
        return None
    return html.unescape(str(value))


Timestamp = Annotated[datetime | None, BeforeValidator(_timestamp)]
GradeValue = Annotated[float | None, BeforeValidator(_grade)]
PlainText = Annotated[str | None, BeforeValidator(_plain_text)]


class MoodleModel(BaseModel):
    """Base of the response models: unknown keys are ignored, Moodle adds keys between releases."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


# --- site ---


class SiteFunction(MoodleModel):
    name: str
    version: str = ""


class SiteInfo(MoodleModel):
    sitename: str
    release: str = ""
    version: str = ""
    username: str = ""
    userid: int = 0
    siteurl: str = ""
    functions: list[SiteFunction] = Field(default_factory=list)

    @property
    def function_names(self) -> set[str]:
        return {function.name for function in self.functions}


# --- users ---


class CustomField(MoodleModel):
    shortname: str
    value: str | None = None
    type: str = "text"


class MoodleUser(MoodleModel):
    id: int
    username: str
    firstname: str = ""
    lastname: str = ""
    fullname: str = ""
    email: str = ""
    idnumber: str = ""
    department: str = ""
    institution: str = ""
    auth: str = "manual"
    suspended: bool = False
    confirmed: bool = True
    firstaccess: Timestamp = None
    lastaccess: Timestamp = None
    customfields: list[CustomField] = Field(default_factory=list)

    def custom_field(self, shortname: str) -> str | None:
        """Return the value of a custom profile field, or None when the user has none."""
        for field in self.customfields:
            if field.shortname == shortname:
                return field.value
        return None


class UserCreate(BaseModel):
    """A new Moodle account. The username is trimmed and lowercased here; the client checks its characters."""

    username: str
    firstname: str
    lastname: str
    email: str
    password: SecretStr | None = None
    # Let Moodle generate the password (and e-mail it) instead of sending one.
    create_password: bool = False
    auth: str = "manual"
    idnumber: str | None = None
    department: str | None = None
    institution: str | None = None
    city: str | None = None
    country: str | None = None
    lang: str | None = None
    timezone: str | None = None
    customfields: dict[str, str] = Field(default_factory=dict)

    @field_validator("username")
    @classmethod
    def _normalise(cls, value: str) -> str:
        return normalise_username(value)

    def to_param(self) -> dict[str, Any]:
        """Build one `users[i]` entry of core_user_create_users."""
        param: dict[str, Any] = self.model_dump(
            exclude={"password", "create_password", "customfields"}, exclude_none=True
        )
        if self.password is not None:
            param["password"] = self.password.get_secret_value()
        if self.create_password:
            param["createpassword"] = True
        if self.customfields:
            param["customfields"] = [{"type": key, "value": value} for key, value in self.customfields.items()]
        return param


class UserUpdate(BaseModel):
    """Changes to an existing account; only the fields that are set are sent."""

    id: int
    username: str | None = None
    firstname: str | None = None
    lastname: str | None = None
    email: str | None = None
    password: SecretStr | None = None
    auth: str | None = None
    idnumber: str | None = None
    department: str | None = None
    institution: str | None = None
    city: str | None = None
    suspended: bool | None = None
    customfields: dict[str, str] | None = None

    @field_validator("username")
    @classmethod
    def _normalise(cls, value: str | None) -> str | None:
        return None if value is None else normalise_username(value)

    def to_param(self) -> dict[str, Any]:
        """Build one `users[i]` entry of core_user_update_users."""
        param: dict[str, Any] = self.model_dump(exclude={"password", "customfields"}, exclude_none=True)
        if self.password is not None:
            param["password"] = self.password.get_secret_value()
        if self.customfields:
            param["customfields"] = [{"type": key, "value": value} for key, value in self.customfields.items()]
        return param


class CreatedUser(MoodleModel):
    id: int
    username: str


# --- courses ---


class Course(MoodleModel):
    id: int
    shortname: str
    fullname: str
    displayname: str = ""
    idnumber: str | None = ""
    categoryid: int = 0
    categoryname: str | None = None
    summary: str = ""
    format: str = ""
    visible: bool = True
    startdate: Timestamp = None
    enddate: Timestamp = None
    enablecompletion: bool = False
    # Only core_course_get_courses_by_field and core_course_search_courses list these.
    enrollmentmethods: list[str] | None = None


class Category(MoodleModel):
    id: int
    name: str
    idnumber: str | None = None
    description: str = ""
    parent: int = 0
    coursecount: int = 0
    visible: bool = True
    depth: int = 1
    path: str = ""


class CourseModule(MoodleModel):
    id: int
    name: str
    modname: str
    instance: int = 0
    visible: bool = True
    url: str | None = None
    # 0 none, 1 manual, 2 automatic.
    completion: int = 0


class CourseSection(MoodleModel):
    id: int
    name: str
    section: int = 0
    visible: bool = True
    summary: str = ""
    modules: list[CourseModule] = Field(default_factory=list)


class EnrolmentMethod(MoodleModel):
    id: int
    courseid: int
    type: str
    name: str = ""
    status: str | bool = True
    wsfunction: str | None = None


# --- enrolment ---


class Enrolment(BaseModel):
    user_id: int
    course_id: int
    role_id: int = STUDENT_ROLE_ID
    time_start: datetime | None = None
    time_end: datetime | None = None
    suspend: bool = False

    @property
    def key(self) -> str:
        return f"user {self.user_id} in course {self.course_id}"

    def to_param(self) -> dict[str, Any]:
        """Build one `enrolments[i]` entry of enrol_manual_enrol_users."""
        return {
            "roleid": self.role_id,
            "userid": self.user_id,
            "courseid": self.course_id,
            "timestart": self.time_start,
            "timeend": self.time_end,
            "suspend": True if self.suspend else None,
        }


class Unenrolment(BaseModel):
    user_id: int
    course_id: int
    role_id: int | None = None

    @property
    def key(self) -> str:
        return f"user {self.user_id} in course {self.course_id}"

    def to_param(self) -> dict[str, Any]:
        """Build one `enrolments[i]` entry of enrol_manual_unenrol_users."""
        return {"userid": self.user_id, "courseid": self.course_id, "roleid": self.role_id}


class UserCourse(MoodleModel):
    id: int
    shortname: str
    fullname: str
    idnumber: str | None = ""
    category: int = 0
    visible: bool = True
    enablecompletion: bool = False
    completed: bool | None = None
    # Percent 0-100; None when the course tracks no activity completion.
    progress: float | None = None
    startdate: Timestamp = None
    enddate: Timestamp = None


class Role(MoodleModel):
    roleid: int
    shortname: str = ""


class EnrolledUser(MoodleModel):
    """A participant of a course. Moodle lists suspended accounts here too, without saying so."""

    id: int
    username: str = ""
    firstname: str = ""
    lastname: str = ""
    fullname: str = ""
    email: str = ""
    idnumber: str = ""
    roles: list[Role] = Field(default_factory=list)
    customfields: list[CustomField] = Field(default_factory=list)


# --- completion ---

CompletionStatus = Literal["complete", "incomplete", "not_configured", "not_enrolled"]


class CompletionCriterion(MoodleModel):
    # Moodle's COMPLETION_CRITERIA_TYPE_*: 1 self, 2 date, 4 activity, 6 grade, 8 other course.
    type: int
    title: str = ""
    status: str = ""
    complete: bool = False
    time_completed: Timestamp = Field(default=None, alias="timecompleted")


class CourseCompletion(BaseModel):
    course_id: int
    user_id: int
    status: CompletionStatus
    # The latest criterion completion time when the course is complete (Moodle gives no course-level time).
    time_completed: datetime | None = None
    criteria: list[CompletionCriterion] = Field(default_factory=list)


class ActivityCompletion(MoodleModel):
    cmid: int
    modname: str = ""
    instance: int = 0
    # 0 incomplete, 1 complete, 2 complete with pass, 3 complete with fail.
    state: int
    time_completed: Timestamp = Field(default=None, alias="timecompleted")
    tracking: int = 0
    overridden_by: int | None = Field(default=None, alias="overrideby")

    @property
    def is_complete(self) -> bool:
        return self.state in (1, 2)


# --- grades ---


class GradeItem(MoodleModel):
    id: int
    itemname: PlainText = None
    itemtype: str
    itemmodule: str | None = None
    cmid: int | None = None
    grade: GradeValue = Field(default=None, alias="graderaw")
    grade_formatted: PlainText = Field(default=None, alias="gradeformatted")
    grade_min: GradeValue = Field(default=None, alias="grademin")
    grade_max: GradeValue = Field(default=None, alias="grademax")
    percentage: GradeValue = Field(default=None, alias="percentageformatted")
    range_formatted: PlainText = Field(default=None, alias="rangeformatted")
    date_graded: Timestamp = Field(default=None, alias="gradedategraded")
    hidden: bool = Field(default=False, alias="gradeishidden")
    feedback: PlainText = None


class UserGrades(BaseModel):
    course_id: int
    user_id: int
    items: list[GradeItem] = Field(default_factory=list)
    # The course total (itemtype "course"); None when Moodle returned none.
    course_total: GradeItem | None = None


class CourseGrade(MoodleModel):
    course_id: int = Field(alias="courseid")
    grade: GradeValue = None
    raw_grade: GradeValue = Field(default=None, alias="rawgrade")


class CourseTotal(BaseModel):
    """One user's course total, or why there is none. An unavailable grade is None, never 0."""

    user_id: int
    course_id: int
    status: Literal["graded", "not_graded", "unavailable"]
    grade: float | None = None
    grade_max: float | None = None
    reason: str | None = None


# --- cohorts ---


class Cohort(MoodleModel):
    id: int
    name: str
    idnumber: str = ""
    description: str = ""
    visible: bool = True


class CohortCreate(BaseModel):
    name: str
    idnumber: str
    description: str = ""
    visible: bool = True
    # "system" or a course category given by "id" or "idnumber" in category_value.
    category_type: Literal["system", "id", "idnumber"] = "system"
    category_value: str = ""

    def to_param(self) -> dict[str, Any]:
        """Build one `cohorts[i]` entry of core_cohort_create_cohorts."""
        return {
            "categorytype": {"type": self.category_type, "value": self.category_value},
            "name": self.name,
            "idnumber": self.idnumber,
            "description": self.description,
            "visible": self.visible,
        }


class CohortMember(BaseModel):
    """A user to add to a cohort; each side is given by id or by idnumber / username."""

    cohort_type: Literal["id", "idnumber"] = "idnumber"
    cohort_value: str
    user_type: Literal["id", "idnumber", "username"] = "username"
    user_value: str

    @field_validator("user_value")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @property
    def key(self) -> str:
        return f"{self.user_type}={self.user_value} in cohort {self.cohort_type}={self.cohort_value}"

    def to_param(self) -> dict[str, Any]:
        """Build one `members[i]` entry of core_cohort_add_cohort_members."""
        user_value = normalise_username(self.user_value) if self.user_type == "username" else self.user_value
        return {
            "cohorttype": {"type": self.cohort_type, "value": self.cohort_value},
            "usertype": {"type": self.user_type, "value": user_value},
        }


# --- batches ---


class ItemFailure(BaseModel):
    """One input item Moodle did not apply; `index` is its position in the input sequence."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: int
    key: str
    error: MoodleError
    reason: str

    @property
    def retryable(self) -> bool:
        return self.error.retryable


class BatchResult(BaseModel, Generic[T]):
    """The outcome of a batch call: what Moodle applied and, per item, what it did not."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    succeeded: list[T] = Field(default_factory=list)
    failed: list[ItemFailure] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed
