"""Usernames and passwords for new Moodle accounts, following the mapping's account policy."""

from __future__ import annotations

import re
import secrets
import string
import unicodedata
from collections.abc import Iterator

from assistant.people.mapping import MoodleAccountPolicy

# Moodle's PARAM_USERNAME without extendedusernamechars allows lowercase letters, digits and _ - . @.
_USERNAME_INVALID = re.compile(r"[^a-z0-9_\-@.]")
# Length of Moodle's user.username column.
USERNAME_MAX_LENGTH = 100
# Suffix numbers tried for a username that is already taken, before the username is reported as unusable.
MAX_USERNAME_SUFFIX = 99

# One alphabet per rule of Moodle's default password policy: at least one lowercase letter,
# uppercase letter, digit and non-alphanumeric character, in 8 or more characters.
_PASSWORD_CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits, "!#$%&*+-=?@^_~")
PASSWORD_LENGTH = 20


def clean_username(text: str) -> str:
    """Lowercase the text, fold accents to ASCII and drop the characters Moodle rejects in usernames."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _USERNAME_INVALID.sub("", folded.strip().lower())[:USERNAME_MAX_LENGTH]


def is_valid_username(username: str) -> bool:
    return bool(username) and len(username) <= USERNAME_MAX_LENGTH and not _USERNAME_INVALID.search(username)


def base_username(policy: MoodleAccountPolicy, *, employee_id: str, email: str | None) -> str:
    """Derive the preferred username from the employee ID or the e-mail's local part.

    Falls back to the employee ID when the e-mail is missing or its local part has no
    usable character, so every person gets a username.
    """
    source = employee_id
    if policy.username_rule == "email_local_part" and email and "@" in email:
        local_part = clean_username(email.rsplit("@", 1)[0])
        if local_part:
            source = local_part

    cleaned = clean_username(source)
    if not cleaned:
        # An ID made only of characters Moodle rejects still needs a stable, unique name.
        cleaned = "id" + employee_id.encode("utf-8").hex()
    return clean_username(policy.username_prefix + cleaned)


def username_candidates(base: str) -> Iterator[str]:
    """Yield the base username, then base_2, base_3 and so on, always in the same order."""
    yield base
    for number in range(2, MAX_USERNAME_SUFFIX + 1):
        suffix = f"_{number}"
        yield base[: USERNAME_MAX_LENGTH - len(suffix)] + suffix


def generate_password(length: int = PASSWORD_LENGTH) -> str:
    """Return a random password from the OS CSPRNG with at least one character of every policy class."""
    if length < len(_PASSWORD_CLASSES):
        raise ValueError(f"password length {length} is too short to contain all {len(_PASSWORD_CLASSES)} classes")

    alphabet = "".join(_PASSWORD_CLASSES)
    characters = [secrets.choice(chars) for chars in _PASSWORD_CLASSES]
    characters += [secrets.choice(alphabet) for _ in range(length - len(characters))]

    secrets.SystemRandom().shuffle(characters)
    return "".join(characters)
