"""Slack listeners: ack, parse, hand to the service layer, answer. Nothing else."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.replies import Replies
from governance.service import Governance


@dataclass(frozen=True)
class ListenerDeps:
    governance: Governance
    replies: Replies
    wake: Callable[..., None]  # Workers.wake: the names of loops with new work
    currency: str
    approvals_channel: str
