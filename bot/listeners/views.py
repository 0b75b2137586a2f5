"""The Deny modal's submission: the reason, then the decision."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.card_view import parse_button_value
from bot.listeners import ListenerDeps
from bot.workers import SLACK
from governance.errors import ClickRefused, RequestNotFound


def register(app: App, deps: ListenerDeps) -> None:
    @app.view("deny_reason")
    def deny_reason(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        try:
            request_id, shown_hash = parse_button_value(view.get("private_metadata", ""))
        except ValueError:
            ack(response_action="errors", errors={"reason": "This form is not ours."})
            return
        reason = (
            view.get("state", {}).get("values", {}).get("reason", {}).get("reason", {}).get("value")
            or ""
        ).strip()
        if not reason:
            ack(response_action="errors", errors={"reason": "Say why the request is denied."})
            return
        try:
            deps.governance.deny(request_id, body["user"]["id"], shown_hash, reason)
        except (ClickRefused, RequestNotFound) as exc:
            ack(response_action="errors", errors={"reason": str(exc)})
            return
        ack()
        deps.wake(SLACK)
