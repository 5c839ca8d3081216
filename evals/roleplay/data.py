"""Loading the AnnoMI and CaSiNo corpora as roleplay transcripts.

In AnnoMI the therapist is the learner and the client the persona. In CaSiNo each
dialogue gives two transcripts, one with each participant as the learner. Deal
actions (Submit-Deal, Accept-Deal, Reject-Deal, Walk-Away) are not speech and are left out.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from assistant.roleplay.transcript import LEARNER, PERSONA, Turn

SHARED_CONVERSATIONS = Path(__file__).resolve().parents[3] / "shared" / "data" / "conversations"
DEAL_ACTIONS = {"Submit-Deal", "Accept-Deal", "Reject-Deal", "Walk-Away"}
CASINO_FILES = ("casino_train.json", "casino_valid.json", "casino_test.json")

SATISFACTION = {
    "Extremely dissatisfied": 1,
    "Slightly dissatisfied": 2,
    "Undecided": 3,
    "Slightly satisfied": 4,
    "Extremely satisfied": 5,
}
LIKENESS = {"Extremely dislike": 1, "Slightly dislike": 2, "Undecided": 3, "Slightly like": 4, "Extremely like": 5}


class DataMissing(FileNotFoundError):
    """A corpus file is absent; the eval skips the part that needs it."""


@dataclass(frozen=True)
class AnnoMITranscript:
    transcript_id: str
    high_quality: bool
    turns: list[Turn]


@dataclass(frozen=True)
class Utterance:
    """A therapist utterance with the expert's question label: "open", "closed" or None for no question."""

    text: str
    question: str | None


@dataclass(frozen=True)
class NegotiationSide:
    dialogue_id: int
    agent: str
    turns: list[Turn]
    partner_satisfaction: int
    partner_likeness: int
    points: int


def _require(path: Path) -> Path:
    if not path.exists():
        raise DataMissing(f"{path} is absent; copy the shared conversation corpora there or pass --data-dir")
    return path


def _merge(turns: list[tuple[str, str]]) -> list[Turn]:
    """Number utterances as turns, joining consecutive utterances of one speaker into one turn."""
    merged: list[list[str]] = []
    for speaker, text in turns:
        if merged and merged[-1][0] == speaker:
            merged[-1][1] += " " + text
        else:
            merged.append([speaker, text])
    return [Turn(n, speaker, text) for n, (speaker, text) in enumerate(merged, start=1)]  # type: ignore[arg-type]


def load_annomi(data_dir: Path) -> tuple[list[AnnoMITranscript], list[Utterance]]:
    """Return AnnoMI's transcripts and its labelled therapist utterances."""
    rows = list(csv.DictReader(_require(data_dir / "AnnoMI-full.csv").open(encoding="utf-8")))
    by_transcript: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        by_transcript[row["transcript_id"]].append(row)

    transcripts = []
    for transcript_id, utterances in sorted(by_transcript.items(), key=lambda item: int(item[0])):
        ordered = sorted(utterances, key=lambda row: int(row["utterance_id"]))
        pairs = [(LEARNER if row["interlocutor"] == "therapist" else PERSONA, row["utterance_text"].strip()) for row in ordered]
        pairs = [(speaker, text) for speaker, text in pairs if text]
        transcripts.append(AnnoMITranscript(transcript_id, ordered[0]["mi_quality"] == "high", _merge(pairs)))

    labelled = [
        Utterance(row["utterance_text"], row["question_subtype"] if row["question_exists"] == "True" else None)
        for row in rows
        if row["interlocutor"] == "therapist"
    ]
    return transcripts, labelled


def load_casino(data_dir: Path) -> list[NegotiationSide]:
    """Return one transcript per dialogue side, with the partner's ratings of the outcome and of that side."""
    sides = []
    for name in CASINO_FILES:
        for dialogue in json.loads(_require(data_dir / name).read_text(encoding="utf-8")):
            sides.extend(_sides(dialogue))
    return sides


def _sides(dialogue: dict) -> list[NegotiationSide]:
    info = dialogue["participant_info"]
    speech = [(entry["id"], entry["text"].strip()) for entry in dialogue["chat_logs"] if entry["text"] not in DEAL_ACTIONS]
    sides = []
    for agent, partner in (("mturk_agent_1", "mturk_agent_2"), ("mturk_agent_2", "mturk_agent_1")):
        turns = _merge([(LEARNER if speaker == agent else PERSONA, text) for speaker, text in speech if text])
        outcomes = info[partner]["outcomes"]
        sides.append(
            NegotiationSide(
                dialogue_id=dialogue["dialogue_id"],
                agent=agent,
                turns=turns,
                partner_satisfaction=SATISFACTION[outcomes["satisfaction"]],
                partner_likeness=LIKENESS[outcomes["opponent_likeness"]],
                points=int(info[agent]["outcomes"]["points_scored"]),
            )
        )
    return sides
