"""Slack user groups (`@finance-team`) as the policy's `Directory`, cached.

A decision is made while Slack waits for its answer, so it never calls Slack: it reads
what the last refresh found. `refresh()` runs in the background (and once before
serving); a group Slack no longer knows, or a refresh that fails, keeps the members last
seen only until the next successful refresh says otherwise.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)


class SlackDirectory:
    def __init__(self, client: WebClient) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._members: dict[str, frozenset[str]] = {}  # handle with its `@` -> user IDs

    def members(self, handle: str) -> frozenset[str] | None:
        with self._lock:
            return self._members.get(handle.lower())

    def refresh(self, handles: Iterable[str]) -> int:
        """Look up the groups the policy names; returns how many Slack knows."""
        wanted = {handle.lower() for handle in handles}
        if not wanted:
            return 0
        try:
            listed = self._client.usergroups_list(include_disabled=False)
            found: dict[str, frozenset[str]] = {}
            for group in listed.get("usergroups") or []:
                handle = "@" + str(group.get("handle", "")).lower()
                if handle in wanted:
                    users = self._client.usergroups_users_list(usergroup=group["id"])
                    found[handle] = frozenset(str(u) for u in users.get("users") or [])
        except (SlackApiError, OSError) as exc:
            log.warning("Slack user groups could not be read; keeping the last known: %s", exc)
            return len(self._members)
        with self._lock:
            self._members = found
        return len(found)
