"""The REST API built for tests: a real database, the standard policy, a token."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from bot.api import tokens
from bot.api.app import ApiDeps, build_api
from bot.web import stripe_webhook_endpoint
from bot.workers import SLACK, Loop, Workers
from governance.policy import Policy
from governance.service import Governance
from tests.fakes.gateway import MemoryGateway
from tests.policies import standard_policy

with warnings.catch_warnings():  # Starlette would rather its test client ran on httpx2
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

__all__ = ["Api", "TestClient", "build_test_api"]

PEPPER = b"test-pepper-" + b"p" * 32
WEBHOOK_SECRET = "whsec_api_tests"
ALL_SCOPES = tuple(tokens.SCOPES)


@dataclass
class Api:
    app: FastAPI
    sessions: sessionmaker[Session]
    governance: Governance
    woken: list[str] = field(default_factory=list)

    def token(self, name: str = "crm", scopes: tuple[str, ...] = ALL_SCOPES) -> tokens.Created:
        with self.sessions.begin() as session:
            return tokens.create(session, PEPPER, name, scopes)

    def headers(self, created: tokens.Created, **more: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {created.token}", **more}


def build_test_api(
    sessions: sessionmaker[Session], policy: Policy | None = None, **kwargs: Any
) -> Api:
    chosen = policy or standard_policy()
    governance = Governance(sessions, lambda: chosen, **kwargs)
    woken: list[str] = []
    webhook = stripe_webhook_endpoint(
        sessions, WEBHOOK_SECRET, MemoryGateway(), Workers([Loop(SLACK, lambda: 0, 1.0)])
    )
    deps = ApiDeps(
        sessions,
        governance,
        PEPPER,
        "usd",
        lambda *names: woken.extend(names),
        stripe_webhook=webhook,
    )
    return Api(build_api(deps), sessions, governance, woken)
