"""Modals: `views.open` and `views.update`."""

from __future__ import annotations

from integrations.local.slack import workspace as ws
from integrations.local.slack.api.registry import (
    CallContext,
    SlackMethodError,
    blocks_arg,
    method,
    required,
)
from integrations.local.slack.store import Json, SlackStore


def view_object(view_id: str, view: Json) -> Json:
    """The view as Slack returns it: what the app sent plus the ids and state Slack adds."""
    return {
        "id": view_id,
        "team_id": ws.TEAM_ID,
        "type": view.get("type", "modal"),
        "blocks": view.get("blocks", []),
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "state": {"values": {}},
        "hash": SlackStore.new_hash(),
        "title": view.get("title"),
        "clear_on_close": bool(view.get("clear_on_close", False)),
        "notify_on_close": bool(view.get("notify_on_close", False)),
        "close": view.get("close"),
        "submit": view.get("submit"),
        "previous_view_id": None,
        "root_view_id": view_id,
        "app_id": ws.APP_ID,
        "external_id": view.get("external_id", ""),
        "app_installed_team_id": ws.TEAM_ID,
        "bot_id": ws.BOT_ID,
    }


def _modal(args: Json) -> Json:
    view = required(args, "view")
    if not isinstance(view, dict) or view.get("type") != "modal":
        raise SlackMethodError("invalid_arguments", "[ERROR] must provide a modal view")
    for field in ("title", "blocks"):
        if field not in view:
            raise SlackMethodError("invalid_arguments", f"[ERROR] missing required field: {field}")
    blocks_arg(view)
    return view


@method("views.open")
def views_open(ctx: CallContext, args: Json) -> Json:
    trigger_id = str(required(args, "trigger_id"))
    view = view_object(ctx.store.new_id("V"), _modal(args))
    ctx.store.views[view["id"]] = view
    ctx.store.view_triggers[view["id"]] = trigger_id
    return {"ok": True, "view": view}


@method("views.update")
def views_update(ctx: CallContext, args: Json) -> Json:
    view_id, external_id = args.get("view_id"), args.get("external_id")
    if not view_id and not external_id:
        raise SlackMethodError("invalid_arguments", "[ERROR] missing view_id or external_id")
    current = next(
        (
            view
            for view in ctx.store.views.values()
            if view["id"] == view_id or (external_id and view["external_id"] == external_id)
        ),
        None,
    )
    if current is None:
        raise SlackMethodError("not_found")
    if args.get("hash") and args["hash"] != current["hash"]:
        raise SlackMethodError("hash_conflict")
    updated = view_object(current["id"], _modal(args))
    updated["root_view_id"] = current["root_view_id"]
    ctx.store.views[current["id"]] = updated
    return {"ok": True, "view": updated}
