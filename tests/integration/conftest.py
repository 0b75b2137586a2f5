"""Fixtures of the tests that drive the fake Stripe server with the real SDK.

`fake` is the fake Stripe server; a module may define its own `fake` (the Slack tests do).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stripe

from integrations.local.stripe.server import FakeStripe, run_fake_stripe


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK's back-off between retries, shortened so retry tests stay quick."""
    monkeypatch.setattr(stripe.HTTPClient, "INITIAL_DELAY", 0.01)
    monkeypatch.setattr(stripe.HTTPClient, "MAX_DELAY", 0.02)


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    with run_fake_stripe() as running:
        yield running
