"""Ephemeral answers queued for delivery, for refusals decided outside a service call."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from bot.workers import SLACK
from storage import outbox


class Replies:
    def __init__(self, sessions: sessionmaker[Session], wake: Callable[..., None]) -> None:
        self._sessions = sessions
        self._wake = wake

    def ephemeral(self, response_url: str | None, text: str) -> None:
        if not response_url:
            return
        with self._sessions.begin() as session:
            outbox.reply(session, {"response_url": response_url}, text)
        self._wake(SLACK)
