"""Slack listeners: ack, parse, hand to the service layer, answer. Nothing else."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from bot.replies import Replies
from governance.policy import Directory, Policy
from governance.service import Governance


class RevenueAnswers(Protocol):
    def answer(self, period: str, command: dict[str, Any]) -> dict[str, Any]:
        """The `ack` arguments answering `/empire revenue <period>`; the chart follows."""
        ...


@dataclass(frozen=True)
class ListenerDeps:
    governance: Governance
    replies: Replies
    wake: Callable[..., None]  # Workers.wake: the names of loops with new work
    currency: str
    approvals_channel: str
    reads: sessionmaker[Session]  # read-only: the registry and the ledger
    revenue: RevenueAnswers
    clock: Callable[[], datetime]
    policy: Callable[[], Policy]  # the policy in force now
    directory: Directory | None  # Slack user groups, as last looked up
