"""Shared test setup: never talk to a real AWS account."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"

for name, value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_METRICS_NAMESPACE": "failbridge",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}.items():
    os.environ[name] = value
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)


def load_event(name: str) -> dict[str, Any]:
    """A recorded sample event from events/."""
    return json.loads((EVENTS / name).read_text())


@pytest.fixture
def event_loader():
    return load_event
