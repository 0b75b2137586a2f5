"""manifest.yml is a valid Slack app manifest that routes everything to `/slack/events`."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
REQUEST_URL = "https://your-host.example.com/slack/events"
# The bot scope each Web API call needs; a call in the code needs its scope in the manifest.
SCOPE_OF_CALL = {
    "chat_postMessage": "chat:write",
    "chat_update": "chat:write",
    "chat_delete": "chat:write",
    "chat_postEphemeral": "chat:write",
    "users_info": "users:read",
    "usergroups_list": "usergroups:read",
    "usergroups_users_list": "usergroups:read",
    "conversations_open": "im:write",
    "files_upload_v2": "files:write",
}


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "manifest.yml").read_text())
    return loaded


def test_validates_against_slack_schema(manifest: dict[str, Any]) -> None:
    schema = json.loads((ROOT / "tests/data/slack-app-manifest.schema.json").read_text())
    jsonschema.validate(manifest, schema)


def test_names_the_app(manifest: dict[str, Any]) -> None:
    assert manifest["display_information"]["name"] == "Business Empire"
    assert manifest["features"]["bot_user"]["display_name"]


def test_empire_command_posts_to_slack_events(manifest: dict[str, Any]) -> None:
    (command,) = [c for c in manifest["features"]["slash_commands"] if c["command"] == "/empire"]
    assert command["url"] == REQUEST_URL
    for word in ("help", "invoice", "refund"):
        assert word in command["usage_hint"]


def test_interactivity_posts_to_slack_events(manifest: dict[str, Any]) -> None:
    interactivity = manifest["settings"]["interactivity"]
    assert interactivity == {"is_enabled": True, "request_url": REQUEST_URL}


def test_http_mode_without_token_rotation(manifest: dict[str, Any]) -> None:
    assert manifest["settings"]["socket_mode_enabled"] is False
    assert manifest["settings"]["token_rotation_enabled"] is False
    assert "SLACK_APP_TOKEN" in (ROOT / "manifest.yml").read_text()


def test_requests_the_scopes_the_bot_needs(manifest: dict[str, Any]) -> None:
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    expected = {"commands", "chat:write", "users:read", "usergroups:read", "im:write"}
    assert expected | {"files:write"} <= scopes


def test_every_web_api_call_in_the_code_has_its_scope(manifest: dict[str, Any]) -> None:
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    call = re.compile(r"\.(" + "|".join(SCOPE_OF_CALL) + r")\(")
    used = {
        match
        for package in ("bot", "integrations")
        for source in (ROOT / package).rglob("*.py")
        for match in call.findall(source.read_text())
    }
    missing = {SCOPE_OF_CALL[name] for name in used} - scopes
    assert not missing, f"manifest.yml lacks bot scopes {sorted(missing)}"
