import json
import logging

import pytest
import structlog

from assistant.logging import configure_logging


def test_json_logs_redact_secrets_and_personal_data(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(log_format="json", level="INFO")
    log = structlog.get_logger("test")

    log.info("moodle.call.done", function="core_user_create_users", token="s3cr3t", email="ana@example.test", employee_id="00042")

    line = capsys.readouterr().err.strip().splitlines()[-1]
    event = json.loads(line)
    assert event["event"] == "moodle.call.done"
    assert event["token"] == "[redacted]"
    assert event["email"] == "[redacted]"
    assert event["employee_id"] == "00042"
    assert "s3cr3t" not in line


def test_stdlib_loggers_share_the_renderer(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(log_format="json", level="INFO")

    logging.getLogger("uvicorn").info("server started")

    event = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert event["event"] == "server started"
