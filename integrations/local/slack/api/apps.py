"""Who the app is (`auth.test`) and how its Socket Mode client finds the websocket."""

from __future__ import annotations

from integrations.local.slack import workspace as ws
from integrations.local.slack.api.registry import CallContext, method
from integrations.local.slack.store import Json


@method("auth.test")
def auth_test(ctx: CallContext, args: Json) -> Json:
    return {
        "ok": True,
        "url": f"https://{ws.TEAM_DOMAIN}.slack.com/",
        "team": ws.TEAM_NAME,
        "user": ws.BOT_NAME,
        "team_id": ws.TEAM_ID,
        "user_id": ws.BOT_USER_ID,
        "bot_id": ws.BOT_ID,
        "is_enterprise_install": False,
    }


@method("apps.connections.open")
def apps_connections_open(ctx: CallContext, args: Json) -> Json:
    ws_base = "ws" + ctx.base_url.removeprefix("http")
    ticket = ctx.issue_socket_ticket()
    return {"ok": True, "url": f"{ws_base}link/?ticket={ticket}&app_id={ws.APP_ID}"}
