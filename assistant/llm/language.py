"""A cheap guess of a message's language, for the scripted provider and question heuristics."""

from __future__ import annotations

import re

# Common function words per language; the language with the most hits wins, English on a tie.
_FUNCTION_WORDS = {
    "en": {"the", "and", "is", "are", "you", "what", "how", "do", "it", "to", "of", "i", "your", "that", "this", "was"},
    "de": {"der", "die", "das", "und", "ist", "sie", "ich", "nicht", "was", "wie", "ihr", "ihnen", "mit", "es", "haben", "sind", "wir"},
    "fr": {"le", "la", "les", "et", "est", "vous", "je", "pas", "que", "quoi", "comment", "votre", "avec", "une", "des", "nous"},
    "es": {"el", "los", "las", "y", "es", "usted", "yo", "no", "qué", "cómo", "su", "con", "una", "por", "para", "está"},
}
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)

SUPPORTED_LANGUAGES = tuple(_FUNCTION_WORDS)


def detect_language(text: str) -> str:
    """Guess en, de, fr or es from function words; return "en" when no word is known."""
    words = [word.lower() for word in _WORD.findall(text)]
    hits = {language: sum(word in vocabulary for word in words) for language, vocabulary in _FUNCTION_WORDS.items()}
    best = max(hits, key=lambda language: (hits[language], language == "en"))
    return best if hits[best] > 0 else "en"
