"""What the fake Slack workspace remembers: messages, views, files, users and every call made.

The server thread writes and the test thread reads, so everything goes through `lock`.
Messages and views are kept as the JSON objects Slack itself returns, so a test can hand a
stored message straight to a payload builder (the `message` of a `block_actions` payload).
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from integrations.local.slack import workspace as ws

Json = dict[str, Any]

_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


@dataclass(frozen=True)
class ApiCall:
    method: str
    args: Json
    token: str | None


@dataclass
class UploadedFile:
    id: str
    filename: str
    length: int
    title: str | None = None
    content: bytes = b""
    channel_id: str | None = None
    initial_comment: str | None = None
    completed: bool = False


@dataclass(frozen=True)
class ResponseUrlPost:
    key: str
    body: Json
    ts: str = ""  # when it arrived, as a message timestamp (to place it among messages)


@dataclass(frozen=True)
class ResponseUrlTarget:
    """The message a response URL acts on (`replace_original`, `delete_original`)."""

    channel: str | None
    message_ts: str | None


@dataclass
class SlackStore:
    known_channels: set[str] | None = None
    users: dict[str, Json] = field(default_factory=dict)
    usergroups: dict[str, Json] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    calls: list[ApiCall] = field(default_factory=list)
    messages: dict[str, list[Json]] = field(default_factory=dict)
    views: dict[str, Json] = field(default_factory=dict)
    view_triggers: dict[str, str] = field(
        default_factory=dict
    )  # view id: the trigger that opened it
    ephemerals: list[Json] = field(default_factory=list)
    files: dict[str, UploadedFile] = field(default_factory=dict)
    response_posts: list[ResponseUrlPost] = field(default_factory=list)
    response_targets: dict[str, ResponseUrlTarget] = field(default_factory=dict)
    direct_channels: dict[str, str] = field(default_factory=dict)
    _last_ts_micros: int = 0
    _serial: int = 0

    def clear(self) -> None:
        """Forget what happened; keep who exists (users, groups, channels)."""
        with self.lock:
            self.calls.clear()
            self.messages.clear()
            self.views.clear()
            self.view_triggers.clear()
            self.ephemerals.clear()
            self.files.clear()
            self.response_posts.clear()
            self.response_targets.clear()
            self.direct_channels.clear()

    def next_ts(self) -> str:
        """A message timestamp as Slack writes it; strictly increasing, so unique."""
        with self.lock:
            micros = max(time.time_ns() // 1000, self._last_ts_micros + 1)
            self._last_ts_micros = micros
            return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def new_id(self, prefix: str) -> str:
        with self.lock:
            self._serial += 1
            return f"{prefix}0{self._serial:08X}"

    @staticmethod
    def new_hash() -> str:
        return f"{int(time.time())}.{uuid.uuid4().hex[:8]}"

    def resolve_channel(self, channel: str) -> str | None:
        """The channel a message to `channel` lands in; a user ID means that user's DM."""
        if _USER_ID.match(channel):
            return self.direct_channel(channel)
        if channel in self.direct_channels.values():
            return channel
        if self.known_channels is not None:
            return channel if channel in self.known_channels else None
        return channel if _CHANNEL_ID.match(channel) else None

    def direct_channel(self, user_id: str) -> str:
        if user_id not in self.direct_channels:
            self.direct_channels[user_id] = self.new_id("D")
        return self.direct_channels[user_id]

    def find_message(self, channel: str, ts: str) -> Json | None:
        return next((m for m in self.messages.get(channel, []) if m["ts"] == ts), None)


def user_object(user_id: str, overrides: Mapping[str, Any]) -> Json:
    """A `users.info` user; `overrides` wins, and its `profile` is merged into the default."""
    name = str(overrides.get("name", user_id.lower()))
    real_name = str(overrides.get("real_name", name.replace(".", " ").title()))
    profile: Json = {
        "real_name": real_name,
        "real_name_normalized": real_name,
        "display_name": name,
        "display_name_normalized": name,
        "email": f"{name}@empire.example",
        "image_48": f"https://avatars.example/{user_id}_48.png",
        "team": ws.TEAM_ID,
    }
    profile.update(overrides.get("profile", {}))
    user: Json = {
        "id": user_id,
        "team_id": ws.TEAM_ID,
        "name": name,
        "deleted": False,
        "color": "9f69e7",
        "real_name": real_name,
        "tz": "Europe/London",
        "tz_label": "Greenwich Mean Time",
        "tz_offset": 0,
        "is_admin": False,
        "is_owner": False,
        "is_primary_owner": False,
        "is_restricted": False,
        "is_ultra_restricted": False,
        "is_bot": False,
        "is_app_user": False,
        "updated": 1_700_000_000,
    }
    user.update({k: v for k, v in overrides.items() if k != "profile"})
    user["profile"] = profile
    return user


def bot_user_object() -> Json:
    return user_object(
        ws.BOT_USER_ID,
        {
            "name": ws.BOT_NAME,
            "real_name": "Business Empire",
            "is_bot": True,
            "profile": {"bot_id": ws.BOT_ID, "email": None},
        },
    )


def users_by_id(users: Mapping[str, Mapping[str, Any]] | Iterable[str]) -> dict[str, Json]:
    overrides = users if isinstance(users, Mapping) else {user_id: {} for user_id in users}
    known = {ws.BOT_USER_ID: bot_user_object()}
    known.update({user_id: user_object(user_id, extra) for user_id, extra in overrides.items()})
    return known


def usergroups_by_handle(groups: Mapping[str, Iterable[str]]) -> dict[str, Json]:
    """User groups keyed by handle (`finance-team`), each with the `S…` id Slack gives it."""
    result: dict[str, Json] = {}
    for number, (handle, members) in enumerate(groups.items(), start=1):
        users = list(members)
        result[handle] = {
            "id": f"S0{number:08d}",
            "team_id": ws.TEAM_ID,
            "is_usergroup": True,
            "name": handle.replace("-", " ").title(),
            "description": "",
            "handle": handle,
            "is_external": False,
            "date_create": 1_700_000_000,
            "date_update": 1_700_000_000,
            "date_delete": 0,
            "auto_type": None,
            "created_by": ws.BOT_USER_ID,
            "updated_by": ws.BOT_USER_ID,
            "deleted_by": None,
            "prefs": {"channels": [], "groups": []},
            "user_count": len(users),
            "users": users,
        }
    return result
