"""Modal submissions: the Deny reason, then the decision; an Edit, then the new card."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.blocks.modals import edited_values
from bot.card_view import parse_button_value
from bot.listeners import ListenerDeps
from bot.workers import PREPARE, SLACK
from governance.errors import ClickRefused, InvalidEdit, RequestNotFound
from governance.requests import State


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

    @app.view("edit_request")
    def edit_request(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        try:
            request_id, shown_hash = parse_button_value(view.get("private_metadata", ""))
        except ValueError:
            ack()  # not a form of ours: nothing to save
            return
        values = edited_values(view)
        try:
            state = deps.governance.edit(
                request_id, body["user"]["id"], shown_hash, values, deps.currency
            )
        except InvalidEdit as exc:
            ack(response_action="errors", errors={exc.field: str(exc)})
            return
        except (ClickRefused, RequestNotFound) as exc:
            first = next(iter(values), "")
            ack(response_action="errors", errors={first: str(exc)})
            return
        ack()
        deps.wake(PREPARE if state is State.RECEIVED else SLACK, SLACK)
