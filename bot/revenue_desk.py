"""`/empire revenue`: the figures answered at once, the chart uploaded right after.

The figures come from the ledger while Slack waits; drawing and uploading the chart takes
longer, so it is queued in the outbox and drawn by the Slack worker from the same ledger
at the same moment (`as of`), so chart and figures agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.revenue_chart import render_revenue_chart
from bot.revenue_view import revenue_blocks, revenue_text
from governance.revenue import RevenueReport, month_period, revenue_report
from storage import outbox
from storage.db import read_only


@dataclass(frozen=True)
class ChartFile:
    filename: str
    content: bytes
    title: str


class RevenueDesk:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        wake: Callable[[], None],
        clock: Callable[[], datetime],
    ) -> None:
        self._sessions = sessions
        self._reads = read_only(sessions)
        self._wake = wake
        self._now = clock

    def answer(self, period: str, command: dict[str, Any]) -> dict[str, Any]:
        now = self._now()
        report = self._report(period, now)
        if not report.is_empty:
            with self._sessions.begin() as session:
                outbox.enqueue(
                    session,
                    outbox.CHART,
                    {
                        "period": period,
                        "at": now.isoformat(),
                        "channel": command.get("channel_id"),
                        "user_id": command.get("user_id"),
                    },
                )
            self._wake()
        return {"text": revenue_text(report), "blocks": revenue_blocks(report)}

    def charts(self, body: dict[str, Any]) -> list[ChartFile]:
        """One PNG per currency of the report the answer showed."""
        report = self._report(str(body["period"]), datetime.fromisoformat(str(body["at"])))
        label = report.period.label
        return [
            ChartFile(
                f"revenue-{report.period.start:%Y-%m}-{figures.currency}.png",
                render_revenue_chart(report, figures.currency),
                f"Revenue — {label} ({figures.currency.upper()})",
            )
            for figures in report.currencies
        ]

    def _report(self, period: str, now: datetime) -> RevenueReport:
        with self._reads.begin() as session:
            return revenue_report(session, month_period(period, now), now)
