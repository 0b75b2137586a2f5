"""People and conversations: `users.info`, `usergroups.*`, `conversations.open`."""

from __future__ import annotations

from integrations.local.slack.api.registry import CallContext, SlackMethodError, method, required
from integrations.local.slack.store import Json


@method("users.info")
def users_info(ctx: CallContext, args: Json) -> Json:
    user = ctx.store.users.get(str(args.get("user") or ""))
    if user is None:
        raise SlackMethodError("user_not_found")
    return {"ok": True, "user": user}


@method("usergroups.list")
def usergroups_list(ctx: CallContext, args: Json) -> Json:
    with_users = str(args.get("include_users", "")).lower() in ("1", "true")
    groups = [
        group if with_users else {k: v for k, v in group.items() if k != "users"}
        for group in ctx.store.usergroups.values()
    ]
    return {"ok": True, "usergroups": groups}


@method("usergroups.users.list")
def usergroups_users_list(ctx: CallContext, args: Json) -> Json:
    group_id = required(args, "usergroup")
    group = next((g for g in ctx.store.usergroups.values() if g["id"] == group_id), None)
    if group is None:
        raise SlackMethodError("no_such_subteam")
    return {"ok": True, "users": list(group["users"])}


@method("conversations.open")
def conversations_open(ctx: CallContext, args: Json) -> Json:
    users = sorted(user for user in str(args.get("users") or "").split(",") if user)
    if not users:
        raise SlackMethodError("users_list_not_supplied")
    key = ",".join(users)
    already_open = key in ctx.store.direct_channels
    if not already_open:
        # One person: a DM (`D…`); several: a group DM (`G…`).
        ctx.store.direct_channels[key] = ctx.store.new_id("D" if len(users) == 1 else "G")
    response: Json = {"ok": True, "channel": {"id": ctx.store.direct_channels[key]}}
    if already_open:
        response.update({"no_op": True, "already_open": True})
    return response
