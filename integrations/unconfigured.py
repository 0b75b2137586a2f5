"""A payment gateway for a bot started without STRIPE_API_KEY: every call says so."""

from __future__ import annotations

from typing import Any, NoReturn

from governance.ports import RejectedError

REASON = "payments are not configured: set STRIPE_API_KEY"


class UnconfiguredGateway:
    def __getattr__(self, name: str) -> Any:
        def refuse(*_args: Any, **_kwargs: Any) -> NoReturn:
            raise RejectedError(REASON)

        return refuse
