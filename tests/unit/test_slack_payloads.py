"""The request builders sign and shape requests the way Slack does, as slack_sdk and Bolt see it."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs

from slack_bolt import App, BoltResponse
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.request import BoltRequest
from slack_bolt.request.payload_utils import (
    is_block_actions,
    is_slash_command,
    is_view_submission,
    to_action,
    to_command,
)
from slack_sdk.signature import SignatureVerifier

from integrations.local.slack import payloads as sp
from integrations.local.slack import workspace as ws

SECRET = "unit-test-secret"


def verifies(body: bytes, headers: dict[str, str], secret: str = SECRET) -> bool:
    return SignatureVerifier(secret).is_valid_request(body, headers)


def to_bolt(body: bytes, headers: dict[str, str]) -> BoltRequest:
    bolt_headers: dict[str, str | Sequence[str]] = dict(headers)
    return BoltRequest(body=body.decode(), headers=bolt_headers)


def bolt_request(request: sp.SlackRequest) -> BoltRequest:
    return to_bolt(*request.signed(SECRET))


def test_signed_request_verifies() -> None:
    body, headers = sp.signed("command=%2Fempire&text=help", SECRET)
    assert verifies(body, headers)
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_signature_matches_slack_sdk() -> None:
    timestamp = int(time.time())
    expected = SignatureVerifier(SECRET).generate_signature(timestamp=str(timestamp), body="a=1")
    assert sp.signature("a=1", SECRET, timestamp) == expected


def test_forged_signature_does_not_verify() -> None:
    assert not verifies(*sp.forged("text=help", SECRET))


def test_stale_timestamp_does_not_verify() -> None:
    body, headers = sp.stale("text=help", SECRET)
    assert int(headers["X-Slack-Request-Timestamp"]) < time.time() - 5 * 60
    assert not verifies(body, headers)


def test_other_secret_does_not_verify() -> None:
    assert not verifies(*sp.signed("text=help", SECRET), secret="another-secret")


def test_slash_command_parses_like_bolt_parses_it() -> None:
    request = sp.slash_command(
        "invoice ann+x@client.example 1,500.00 Logo & brand", user_id="U0SALES1"
    )
    parsed = bolt_request(request)
    assert is_slash_command(parsed.body)
    command = to_command(parsed.body)
    assert command is not None
    assert command["text"] == "invoice ann+x@client.example 1,500.00 Logo & brand"
    assert command["command"] == "/empire"
    assert command["user_id"] == "U0SALES1"
    assert command["channel_id"] == ws.APPROVALS_CHANNEL
    assert parsed.context.team_id == ws.TEAM_ID
    assert parsed.context.user_id == "U0SALES1"
    assert request.envelope_type == "slash_commands"


def test_slash_command_payload_is_the_form() -> None:
    request = sp.slash_command("help", user_id="U1", response_url="http://127.0.0.1:1/r")
    form = {k: v[0] for k, v in parse_qs(request.body).items()}
    assert form == request.payload
    assert form["response_url"] == "http://127.0.0.1:1/r"
    assert form["trigger_id"]


def test_block_action_takes_the_button_from_the_message() -> None:
    message = {
        "ts": "1700000000.000100",
        "text": "Refund request #7",
        "blocks": [
            {
                "type": "actions",
                "block_id": "decision",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "approve",
                        "text": {"type": "plain_text", "text": "Approve"},
                        "style": "primary",
                        "value": "7",
                    }
                ],
            }
        ],
    }
    parsed = bolt_request(sp.block_action("approve", "7", user_id="U0FIN1", message=message))
    assert is_block_actions(parsed.body)
    action = to_action(parsed.body)
    assert action is not None
    assert (action["action_id"], action["block_id"]) == ("approve", "decision")
    clicked = parsed.body["actions"][0]
    assert clicked["value"] == "7"
    assert clicked["text"]["text"] == "Approve"
    assert parsed.body["container"]["message_ts"] == "1700000000.000100"
    assert parsed.body["message"]["text"] == "Refund request #7"
    assert parsed.context.user_id == "U0FIN1"
    assert parsed.context.channel_id == ws.APPROVALS_CHANNEL


def test_view_submission_carries_values_and_metadata() -> None:
    request = sp.view_submission(
        "deny_reason", '{"request": 7}', {"reason": {"text": "Wrong amount"}}, user_id="U0FIN2"
    )
    parsed = bolt_request(request)
    assert is_view_submission(parsed.body)
    view = parsed.body["view"]
    assert view["callback_id"] == "deny_reason"
    assert json.loads(view["private_metadata"]) == {"request": 7}
    assert view["state"]["values"]["reason"]["text"] == {
        "type": "plain_text_input",
        "value": "Wrong amount",
    }
    assert request.envelope_type == "interactive"


def _app(seen: list[dict[str, Any]]) -> App:
    app = App(
        signing_secret=SECRET,
        authorize=lambda **_: AuthorizeResult(
            enterprise_id=None,
            team_id=ws.TEAM_ID,
            bot_token=ws.BOT_TOKEN,
            bot_id=ws.BOT_ID,
            bot_user_id=ws.BOT_USER_ID,
        ),
        process_before_response=True,
    )

    @app.command("/empire")
    def empire(ack: Any, command: dict[str, Any]) -> None:
        seen.append(command)
        ack()

    return app


def test_bolt_app_accepts_signed_and_refuses_forged() -> None:
    seen: list[dict[str, Any]] = []
    app = _app(seen)
    request = sp.slash_command("help", user_id="U1")

    def dispatch(signed: tuple[bytes, dict[str, str]]) -> BoltResponse:
        return app.dispatch(to_bolt(*signed))

    assert dispatch(request.signed(SECRET)).status == 200
    assert dispatch(request.forged(SECRET)).status == 401
    assert dispatch(request.stale(SECRET)).status == 401
    assert [c["text"] for c in seen] == ["help"]
