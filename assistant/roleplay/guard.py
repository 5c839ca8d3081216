"""The persona guard: finds replies that break character before the learner sees them.

Three kinds of break are recognised, in English, German, French and Spanish: admitting
to be an AI or a language model, coaching the learner, and speaking as the learner (a
speaker label other than the persona's, or a line scripted for the other side). The
patterns catch the usual phrasings; a paraphrase they miss reaches the learner.
"""

from __future__ import annotations

import re
from typing import Literal

GuardReason = Literal["empty", "ai_admission", "coaching", "role_swap"]

_AI_ADMISSION = re.compile(
    r"\bas an? (ai|a\.i\.|artificial intelligence|language model|llm|chatbot|assistant)\b"
    r"|\bi(?:'m| am) (?:just |only |not a human,? )?(?:an? )?(?:ai|a\.i\.|artificial intelligence|(?:large )?language model|llm|chatbot|virtual assistant|ai assistant|computer program|bot)\b"
    r"|\b(?:large )?language model\b|\bopenai\b|\bi(?:'m| am) not (?:a )?real (?:person|human)\b"
    r"|\b(?:this|the) (?:role-?play|simulation|exercise)\b|\bsystem prompt\b|\bmy instructions\b"
    r"|\bals (?:eine? )?(?:ki|künstliche intelligenz|sprachmodell)\b|\bich bin (?:nur )?(?:eine? )?(?:ki|künstliche intelligenz|sprachmodell|chatbot)\b|\bsprachmodell\b"
    r"|\ben tant qu'(?:ia|intelligence artificielle|assistant)\b|\bje suis (?:une? )?(?:ia|intelligence artificielle|modèle de langage|chatbot)\b|\bmodèle de langage\b"
    r"|\bcomo (?:una? )?(?:ia|inteligencia artificial|modelo de lenguaje)\b|\bsoy (?:una? )?(?:ia|inteligencia artificial|modelo de lenguaje|chatbot)\b|\bmodelo de lenguaje\b",
    re.IGNORECASE,
)
_COACHING = re.compile(
    r"\bas your (?:coach|trainer|tutor|mentor)\b|\byou should (?:ask|try asking)\b|\byou could try asking\b"
    r"|\btry asking\b|\ba (?:good|better) (?:question|approach|response) (?:would be|is|to ask)\b|\bnext time,? (?:you|try)\b"
    r"|\b(?:tip|hint|feedback|coaching note)\s*:|\byour (?:score|performance|technique) (?:is|was)\b|\bin this (?:scenario|exercise)\b"
    r"|\bthe learner\b|\bwell done,? you (?:used|asked|showed)\b"
    r"|\bals (?:ihr|dein) (?:coach|trainer)\b|\bsie (?:sollten|könnten) (?:fragen|sagen)\b|\bdu solltest (?:fragen|sagen)\b"
    r"|\ben tant que (?:coach|formateur)\b|\bvous (?:devriez|pourriez) (?:demander|dire)\b"
    r"|\bcomo (?:tu|su) (?:coach|entrenador)\b|\b(?:deberías|debería) (?:preguntar|decir)\b",
    re.IGNORECASE,
)
# A line that opens with a speaker label ("Learner:", "User:", "Salesperson:").
_SPEAKER_LABEL = re.compile(r"^\s*\**\s*([\w .'-]{1,40}?)\s*\**\s*:\s", re.MULTILINE)
_OTHER_SIDE_LABELS = {
    "learner", "user", "you", "me", "human", "assistant", "ai", "customer service", "salesperson", "sales rep",
    "manager", "nurse", "counselor", "counsellor", "interviewer", "agent", "support", "buyer", "seller", "trainee",
    "lernender", "nutzer", "benutzer", "apprenant", "utilisateur", "aprendiz", "usuario",
}


def strip_own_label(reply: str, persona_name: str) -> str:
    """Remove a leading "<persona name>:" label and surrounding quotes, which models add but learners need not see."""
    text = reply.strip()
    for name in (persona_name, persona_name.split()[0]):
        label = re.match(rf"^\**\s*{re.escape(name)}\s*\**\s*:\s*\**\s*", text, re.IGNORECASE)
        if label:
            text = text[label.end() :]
            break
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"“”":
        text = text[1:-1].strip()
    return text


def _speaks_for_other_side(reply: str, persona_name: str) -> bool:
    own_names = {persona_name.lower(), persona_name.split()[0].lower()}
    for match in _SPEAKER_LABEL.finditer(reply):
        label = match.group(1).strip().lower()
        if label in own_names:
            continue
        if label in _OTHER_SIDE_LABELS:
            return True
    return False


def check_reply(reply: str, *, persona_name: str) -> list[GuardReason]:
    """List the ways a persona reply breaks character; an empty list means it may be sent."""
    if not reply.strip():
        return ["empty"]

    reasons: list[GuardReason] = []
    if _AI_ADMISSION.search(reply):
        reasons.append("ai_admission")
    if _COACHING.search(reply):
        reasons.append("coaching")
    if _speaks_for_other_side(reply, persona_name):
        reasons.append("role_swap")
    return reasons
