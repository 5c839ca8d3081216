"""The persona guard: replies that break character are regenerated and never reach the learner."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest
from structlog.testing import capture_logs

from assistant.llm import ChatMessage
from assistant.llm.scripted import ScriptedChat
from assistant.roleplay import persona
from assistant.roleplay.guard import check_reply, strip_own_label
from assistant.roleplay.persona import MAX_REGENERATIONS, generate_reply, stream_chunks
from assistant.roleplay.prompting import persona_messages
from assistant.roleplay.scenarios import Scenario
from assistant.roleplay.transcript import Turn
from tests.roleplay.fakes import ListLLM

NAME = "Dana Whitfield"


@pytest.mark.parametrize(
    ("reply", "reasons"),
    [
        ("As an AI language model, I don't have depots.", ["ai_admission"]),
        ("I'm just an AI, but I can help you practise.", ["ai_admission"]),
        ("Als KI habe ich keine Meinung dazu.", ["ai_admission"]),
        ("En tant qu'IA, je ne peux pas répondre.", ["ai_admission"]),
        ("Soy una inteligencia artificial.", ["ai_admission"]),
        ("As your coach, I'd say you asked good questions.", ["coaching"]),
        ("You should ask me about the penalties next.", ["coaching"]),
        ("Tip: ask more open questions.", ["coaching"]),
        ("Sie sollten fragen, was mich stört.", ["coaching"]),
        ("We use spreadsheets.\nLearner: That sounds hard. What does it cost?", ["role_swap"]),
        ("Sales rep: Let me show you our tool.", ["role_swap"]),
        ("", ["empty"]),
    ],
)
def test_check_reply_flags_breaks(reply: str, reasons: list[str]) -> None:
    assert check_reply(reply, persona_name=NAME) == reasons


@pytest.mark.parametrize(
    "reply",
    [
        "Right now each depot keeps its own spreadsheet.",
        "Great question, honestly nobody has measured it.",
        "Dana: We tried a tool two years ago.",
        "You could ask our IT team, but they're swamped.",
        "My CFO will want numbers before anything else.",
    ],
)
def test_check_reply_passes_in_character_replies(reply: str) -> None:
    assert check_reply(reply, persona_name=NAME) == []


def test_strip_own_label() -> None:
    assert strip_own_label('Dana: "We use spreadsheets."', NAME) == "We use spreadsheets."
    assert strip_own_label("**Dana Whitfield:** Fine.", NAME) == "Fine."
    assert strip_own_label("Learner: hi", NAME) == "Learner: hi"


def _messages(scenario: Scenario, text: str) -> list[ChatMessage]:
    return persona_messages(scenario, [Turn(1, "persona", scenario.opening_line), Turn(2, "learner", text)])


async def test_break_is_regenerated(scenarios: Mapping[str, Scenario]) -> None:
    scenario = scenarios["sales-discovery-call"]
    llm = ListLLM(["As an AI, I have no depots.", "We plan docks in spreadsheets."])

    reply = await generate_reply(llm, scenario, _messages(scenario, "How do you plan docks?"), learner_turn=1, attempt_id="a1")

    assert reply.text == "We plan docks in spreadsheets."
    assert reply.regenerations == 1
    assert reply.fallback_used is False
    assert reply.guard_reasons == ["ai_admission"]
    assert llm.calls[1][-1]["role"] == "system"
    assert "broke character" in llm.calls[1][-1]["content"]


async def test_persistent_break_sends_fallback(scenarios: Mapping[str, Scenario], fresh_logger: Callable[[object], None]) -> None:
    fresh_logger(persona)
    scenario = scenarios["sales-discovery-call"]
    llm = ListLLM(["As your coach, you should ask about costs."])

    with capture_logs() as logs:
        reply = await generate_reply(llm, scenario, _messages(scenario, "Hi"), learner_turn=1, attempt_id="a1")

    assert reply.fallback_used is True
    assert reply.text in scenario.fallback_lines
    assert "coach" not in reply.text
    assert reply.regenerations == MAX_REGENERATIONS
    assert len(llm.calls) == MAX_REGENERATIONS + 1
    assert [entry["event"] for entry in logs].count("roleplay.guard.rejected") == MAX_REGENERATIONS + 1
    assert any(entry["event"] == "roleplay.guard.fallback" for entry in logs)


async def test_scripted_persona_answers_in_german(scenarios: Mapping[str, Scenario]) -> None:
    scenario = scenarios["sales-discovery-call"].model_copy(
        update={"scripted": scenarios["sales-discovery-call"].scripted.model_copy(update={"lines": [{"en": "Spreadsheets.", "de": "Tabellen."}]})}
    )

    reply = await generate_reply(ScriptedChat(), scenario, _messages(scenario, "Wie planen Sie die Rampen und was kostet das?"), learner_turn=1, attempt_id="a1")

    assert reply.text == "Tabellen."


def test_persona_prompt_sets_language_and_stays_in_character(scenarios: Mapping[str, Scenario]) -> None:
    system = _messages(scenarios["unhappy-customer"], "Hello")[0]["content"]

    assert "Answer in the language of the other person's last message." in system
    assert "You are Priya Natarajan" in system
    assert "Never say or suggest that you are an AI" in system
    assert "Script: unhappy-customer" in system


def test_stream_chunks_rebuild_reply() -> None:
    text = "  We tried a tool,\nand nobody used it.  "

    chunks = stream_chunks(text)

    assert len(chunks) == 8
    assert "".join(chunks) == text


class TestTrimToSentence:
    def test_cut_reply_ends_at_last_full_sentence(self) -> None:
        from assistant.roleplay.persona import trim_to_sentence

        assert trim_to_sentence("We lose a day a week. The invoices go out late and") == "We lose a day a week."

    def test_complete_reply_is_unchanged(self) -> None:
        from assistant.roleplay.persona import trim_to_sentence

        assert trim_to_sentence("  Why would I pay more?  ") == "Why would I pay more?"

    def test_reply_without_sentence_end_is_kept(self) -> None:
        from assistant.roleplay.persona import trim_to_sentence

        assert trim_to_sentence("well I am not sure") == "well I am not sure"
