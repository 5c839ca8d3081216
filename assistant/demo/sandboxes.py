"""The Moodle and BambooHR sandboxes the demo runs next to the service, seeded with demo data."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from assistant.hris.bamboohr.sandbox import DEFAULT_API_KEY, create_bamboohr_sandbox
from assistant.moodle.sandbox import DEFAULT_TOKEN, create_sandbox_app
from assistant.paths.catalogue import load_coursera_csv
from assistant.servers import BackgroundServer

DEMO_DIR = Path(__file__).parent
DEMO_COURSES = DEMO_DIR / "courses.json"
DEMO_CATALOGUE = DEMO_DIR / "catalogue.yaml"

# Moodle category the Coursera courses go into (the fixture's default "Category 1").
COURSERA_CATEGORY = 1


@dataclass
class Sandboxes:
    moodle: BackgroundServer
    bamboohr: BackgroundServer
    moodle_state: Any
    bamboohr_state: Any
    moodle_token: str = DEFAULT_TOKEN
    bamboohr_api_key: str = DEFAULT_API_KEY

    def stop(self) -> None:
        self.moodle.stop()
        self.bamboohr.stop()


def start_sandboxes() -> Sandboxes:
    """Serve both sandboxes on free loopback ports; the Moodle one gets the demo courses."""
    moodle_app = create_sandbox_app()
    bamboohr_app = create_bamboohr_sandbox()
    moodle_state = moodle_app.state.sandbox
    moodle_state.add_courses(json.loads(DEMO_COURSES.read_text(encoding="utf-8"))["courses"])

    moodle = BackgroundServer(moodle_app).start()
    bamboohr = BackgroundServer(bamboohr_app).start()
    return Sandboxes(moodle, bamboohr, moodle_state, bamboohr_app.state.sandbox)


def load_coursera_catalogue(sandboxes: Sandboxes, csv_path: Path, catalogue_out: Path, *, limit: int | None) -> int:
    """Add the Coursera export to the Moodle sandbox and write a catalogue file with its skills.

    The demo's own mandatory rules stay, so onboarding courses remain on every path.
    Returns how many courses were added.
    """
    courses = load_coursera_csv(csv_path)[:limit]
    sandboxes.moodle_state.add_courses(
        [
            {
                "shortname": course.key,
                "fullname": course.title or course.key,
                "idnumber": course.key,
                "categoryid": COURSERA_CATEGORY,
                "summary": course.summary,
                "activities": [{"name": "Final assessment", "modname": "assign", "grademax": 100}],
            }
            for course in courses
        ]
    )

    config = yaml.safe_load(DEMO_CATALOGUE.read_text(encoding="utf-8"))
    for course in courses:
        entry: dict[str, Any] = {"skills": list(course.skills)}
        if course.level is not None:
            entry["level"] = course.level.value
        config["courses"][course.key] = entry
    catalogue_out.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return len(courses)
