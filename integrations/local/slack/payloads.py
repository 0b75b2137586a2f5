"""What Slack sends to an app's request URL: slash commands, button clicks, modal submissions.

Each builder returns a `SlackRequest`: the payload dict (what a Socket Mode envelope
carries) and the form body Slack posts over HTTP, ready to be signed:

    request = slash_command("invoice ann@client.example 1500 Logo", user_id="U0SALES1")
    body, headers = request.signed(SIGNING_SECRET)
    httpx.post(f"{base}/slack/events", content=body, headers=headers)
    fake.socket_send(request.envelope_type, request.payload)   # the same over Socket Mode

Signatures follow Slack: `X-Slack-Signature` is `v0=` + HMAC-SHA256 of `v0:{timestamp}:{body}`
under the signing secret, and requests older than five minutes are to be refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from integrations.local.slack import workspace as ws

Json = dict[str, Any]

SIGNING_SECRET = ws.SIGNING_SECRET
STALE_AFTER_SECONDS = 5 * 60
# Port 9 (discard) on loopback refuses at once: a reply the test forgot to route to the
# fake (`fake.response_url(key)`) fails loudly instead of leaving the machine.
UNROUTED_RESPONSE_URL = f"http://127.0.0.1:9/commands/{ws.TEAM_ID}/1/unrouted"
_FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class SlackRequest:
    payload: Json
    body: str
    envelope_type: str  # the Socket Mode envelope this payload travels in

    def signed(
        self, secret: str = SIGNING_SECRET, *, timestamp: int | None = None
    ) -> tuple[bytes, dict[str, str]]:
        return signed(self.body, secret, timestamp=timestamp)

    def forged(self, secret: str = SIGNING_SECRET) -> tuple[bytes, dict[str, str]]:
        return forged(self.body, secret)

    def stale(self, secret: str = SIGNING_SECRET) -> tuple[bytes, dict[str, str]]:
        return stale(self.body, secret)


def signature(body: str, secret: str, timestamp: int) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed(body: str, secret: str, *, timestamp: int | None = None) -> tuple[bytes, dict[str, str]]:
    """The body bytes and the headers Slack would send with them."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return body.encode(), {
        "Content-Type": _FORM,
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": signature(body, secret, timestamp),
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    }


def forged(body: str, secret: str) -> tuple[bytes, dict[str, str]]:
    """Current timestamp, but signed with a secret that is not the app's."""
    return signed(body, secret + "-forged")


def stale(body: str, secret: str) -> tuple[bytes, dict[str, str]]:
    """Correctly signed, but older than Slack's five-minute window (a replay)."""
    return signed(body, secret, timestamp=int(time.time()) - STALE_AFTER_SECONDS - 60)


def new_trigger_id() -> str:
    return f"{secrets.randbelow(10**11)}.{secrets.randbelow(10**9)}.{secrets.token_hex(16)}"


def slash_command(
    text: str,
    *,
    user_id: str,
    channel_id: str = ws.APPROVALS_CHANNEL,
    command: str = "/empire",
    response_url: str = UNROUTED_RESPONSE_URL,
    trigger_id: str | None = None,
    team_id: str = ws.TEAM_ID,
) -> SlackRequest:
    payload = {
        "token": ws.VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": ws.TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": "approvals" if channel_id == ws.APPROVALS_CHANNEL else "general",
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": ws.APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or new_trigger_id(),
    }
    return SlackRequest(payload, urlencode(payload), "slash_commands")


def block_action(
    action_id: str,
    value: str,
    *,
    user_id: str,
    channel_id: str = ws.APPROVALS_CHANNEL,
    message_ts: str | None = None,
    response_url: str = UNROUTED_RESPONSE_URL,
    trigger_id: str | None = None,
    block_id: str | None = None,
    message: Mapping[str, Any] | None = None,
) -> SlackRequest:
    """A button click on a message. Pass the stored `message` (`fake.message(…)`) to have
    the block id, label and `message_ts` taken from the button actually on it."""
    ts = message_ts or (message or {}).get("ts")
    if not ts:
        raise ValueError("block_action needs message_ts or a message with a ts")
    shown = dict(message) if message is not None else _bare_message(ts)
    button = _find_button(shown, action_id) or {}
    action: Json = {
        "action_id": action_id,
        "block_id": block_id or button.get("_block_id", "actions"),
        "text": button.get("text", {"type": "plain_text", "text": action_id, "emoji": True}),
        "value": value,
        "type": "button",
        "action_ts": f"{time.time():.6f}",
    }
    if "style" in button:
        action["style"] = button["style"]
    payload: Json = {
        "type": "block_actions",
        "user": _user(user_id),
        "api_app_id": ws.APP_ID,
        "token": ws.VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        },
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {"id": ws.TEAM_ID, "domain": ws.TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": "approvals"},
        "message": shown,
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [action],
    }
    return _interactive(payload)


def view_submission(
    callback_id: str,
    private_metadata: str,
    values: Mapping[str, Mapping[str, Any]],
    *,
    user_id: str,
    view: Mapping[str, Any] | None = None,
    trigger_id: str | None = None,
) -> SlackRequest:
    """A modal submitted. `values` is `{block_id: {action_id: value}}`; a plain string
    stands for a text input's value. Pass the opened `view` (`fake.views[-1]`) to submit
    that very modal (its id, blocks and title)."""
    opened = dict(view or {})
    view_id = opened.get("id", "V0SUBMITTED")
    state = {
        block_id: {
            action_id: (
                {"type": "plain_text_input", "value": entry} if isinstance(entry, str) else entry
            )
            for action_id, entry in actions.items()
        }
        for block_id, actions in values.items()
    }
    submitted: Json = {
        "id": view_id,
        "team_id": ws.TEAM_ID,
        "type": "modal",
        "blocks": opened.get("blocks", []),
        "private_metadata": private_metadata,
        "callback_id": callback_id,
        "state": {"values": state},
        "hash": opened.get("hash", f"{int(time.time())}.submitted"),
        "title": opened.get("title", {"type": "plain_text", "text": "Business Empire"}),
        "clear_on_close": False,
        "notify_on_close": False,
        "close": opened.get("close"),
        "submit": opened.get("submit"),
        "previous_view_id": None,
        "root_view_id": opened.get("root_view_id", view_id),
        "app_id": ws.APP_ID,
        "external_id": opened.get("external_id", ""),
        "app_installed_team_id": ws.TEAM_ID,
        "bot_id": ws.BOT_ID,
    }
    payload: Json = {
        "type": "view_submission",
        "team": {"id": ws.TEAM_ID, "domain": ws.TEAM_DOMAIN},
        "user": _user(user_id),
        "api_app_id": ws.APP_ID,
        "token": ws.VERIFICATION_TOKEN,
        "trigger_id": trigger_id or new_trigger_id(),
        "view": submitted,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return _interactive(payload)


def _interactive(payload: Json) -> SlackRequest:
    # Interactivity arrives as a form with one field, `payload`, holding JSON.
    return SlackRequest(payload, urlencode({"payload": json.dumps(payload)}), "interactive")


def _user(user_id: str) -> Json:
    name = user_id.lower()
    return {"id": user_id, "username": name, "name": name, "team_id": ws.TEAM_ID}


def _bare_message(ts: str) -> Json:
    return {
        "type": "message",
        "user": ws.BOT_USER_ID,
        "bot_id": ws.BOT_ID,
        "app_id": ws.APP_ID,
        "team": ws.TEAM_ID,
        "ts": ts,
        "text": "",
        "blocks": [],
    }


def _find_button(message: Mapping[str, Any], action_id: str) -> Json | None:
    """The element with `action_id` in the message's blocks, tagged with its block id."""
    for block in message.get("blocks") or []:
        elements = block.get("elements", [])
        if block.get("accessory"):
            elements = [*elements, block["accessory"]]
        for element in elements:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return {**element, "_block_id": block.get("block_id", "actions")}
    return None
