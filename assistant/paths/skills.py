"""Skill names compared by their words.

Catalogues and role profiles spell the same skill differently ("Negotiation" and
"Negotiation Skills", "Writing" and "Business Writing", "Spreadsheet software" and
"Spreadsheet Software"). A skill's key is its set of content words: lower-cased, split
on anything but letters, digits, "+" and "#", with filler words dropped and a plural
"s" removed. Two skills match when their keys are equal, or when the words of one are
a subset of the other's and the smaller has two words or more, or the larger at most
two. The last condition stops one generic word ("Development", "Planning") from
matching every long name that contains it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

# Words that carry no skill of their own ("skills", "basics") or only join others.
FILLER_WORDS = frozenset(
    {
        "a", "an", "and", "the", "of", "for", "in", "on", "to", "with", "using", "&",
        "skill", "skills", "basic", "basics", "fundamental", "fundamentals", "introduction", "intro",
        "software", "tool", "tools",
    }
)

_WORD = re.compile(r"[a-z0-9+#]+")
# Spellings joined before splitting, so that "Data base management" matches "Database Management".
_JOINED_PHRASES = {"data base": "database", "e-mail": "email", "web site": "website"}


def _singular(word: str) -> str:
    # Only the plain plural: "systems" -> "system", but keep "analysis", "business", "ios".
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "is", "us", "os")):
        return word[:-1]
    return word


@lru_cache(maxsize=65536)
def skill_key(skill: str) -> frozenset[str]:
    """Return the content words of a skill name; empty when it has none."""
    text = skill.lower()
    for phrase, joined in _JOINED_PHRASES.items():
        text = text.replace(phrase, joined)
    words = _WORD.findall(text)
    return frozenset(_singular(word) for word in words if word not in FILLER_WORDS)


def skills_match(first: str, second: str) -> bool:
    """Tell whether two skill names name the same skill, or one names a part of the other."""
    return _keys_match(skill_key(first), skill_key(second))


def _keys_match(first: frozenset[str], second: frozenset[str]) -> bool:
    if not first or not second:
        return False
    smaller, larger = (first, second) if len(first) <= len(second) else (second, first)
    if not smaller <= larger:
        return False
    return smaller == larger or len(smaller) >= 2 or len(larger) <= 2


def matching_skills(wanted: Iterable[str], offered: Iterable[str]) -> list[str]:
    """List the wanted skills that at least one offered skill matches, in the order given."""
    offered_keys = [key for key in map(skill_key, offered) if key]
    matched = []
    for skill in wanted:
        key = skill_key(skill)
        if key and any(_keys_match(key, other) for other in offered_keys):
            matched.append(skill)
    return matched


def split_skill_list(text: str) -> list[str]:
    """Split a comma-separated skill list, trimmed, without blanks or repeats."""
    seen: set[str] = set()
    skills: list[str] = []
    for part in text.split(","):
        skill = part.strip()
        if skill and skill.lower() not in seen:
            seen.add(skill.lower())
            skills.append(skill)
    return skills
