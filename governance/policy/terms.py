"""What a request needs, what was asked, and what the caller must supply to decide.

`Requirement` is what the file says (static: groups resolved to the user IDs written in
the file). `Decision` is a `Requirement` resolved for one request: Slack user groups
looked up, the requester and client taken into account, and any refusal spelt out.
The engine stays pure: today's totals and user-group members come through the
`Totals` and `Directory` protocols the caller implements.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from governance.money import Money

DEFAULTS_NAME = "defaults"  # `rule_name` of a requirement no rule matched


class Directory(Protocol):
    """Who is in a Slack user group now."""

    def members(self, handle: str) -> frozenset[str] | None:
        """User IDs of the user group `handle` (written with its `@`); None if unknown."""
        ...


class Totals(Protocol):
    """Today's (UTC day) money, for rolling limits. All amounts in minor units.

    "Counted" requests are those approved (executed or not) or still pending today;
    the request being decided is never counted: the engine adds it itself.
    """

    def today(
        self, action_glob: str, currency: str, client_glob: str | None, client: str | None
    ) -> int:
        """Total in `currency` of counted requests whose action matches `action_glob`.

        When `client_glob` is given, only requests whose client email matches it
        (fnmatch, case-insensitive); when `client` is given, only that client's
        requests (email compared case-insensitively).
        """
        ...

    def approved_today(self, user_id: str, currency: str) -> int:
        """Total in `currency` of the requests `user_id` has approved today."""
        ...


@dataclass(frozen=True)
class Asked:
    """The facts a rule can match on."""

    action: str
    amount: Money | None = None  # None: not known yet (counts as over every threshold)
    requester: str | None = None  # Slack user ID
    client: str | None = None  # the client's email


@dataclass(frozen=True)
class AmountOver:
    """An amount threshold: at most one limit per currency."""

    limits: tuple[Money, ...]

    def limit_in(self, currency: str) -> Money | None:
        return next((limit for limit in self.limits if limit.currency == currency), None)

    def is_exceeded_by(self, amount: Money | None) -> bool:
        # An unknown amount, or one in a currency no limit names, cannot be shown to be
        # under the threshold, so it is treated as over it: the stricter rule applies.
        if amount is None:
            return True
        limit = self.limit_in(amount.currency)
        return limit is None or amount.minor > limit.minor

    def implies(self, other: AmountOver | None) -> bool:
        """True when every amount over `self` is also over `other`."""
        if other is None:
            return True
        ours = {limit.currency: limit.minor for limit in self.limits}
        return all(
            limit.currency in ours and ours[limit.currency] >= limit.minor for limit in other.limits
        )

    def amounts(self) -> str:
        """`$10,000.00 or 9,000.00 EUR`."""
        return " or ".join(limit.format() for limit in self.limits)

    def describe(self) -> str:
        return "over " + self.amounts()


def approver_limit_refusal(
    limit: AmountOver | None, amount: Money | None, approved_today: int
) -> str | None:
    """Why an approver may not approve `amount` on top of `approved_today`, or None.

    `approved_today` is what they approved today in `amount`'s currency (minor units,
    this request excluded): see `Totals.approved_today`. Like every threshold, an
    unknown amount or a currency the limit does not name cannot be shown to be within
    it, so it is refused.
    """
    if limit is None:
        return None
    if amount is None:
        return (
            "the amount is not known yet, so it cannot be shown to be within your "
            f"daily approval limit of {limit.amounts()}"
        )
    cap = limit.limit_in(amount.currency)
    if cap is None:
        return (
            f"your daily approval limit ({limit.amounts()}) names no limit in "
            f"{amount.currency.upper()}, so you may not approve {amount.format()}"
        )
    total = approved_today + amount.minor
    if total <= cap.minor:
        return None
    so_far = Money(approved_today, amount.currency).format()
    return (
        f"you have approved {so_far} today; {amount.format()} more would make "
        f"{Money(total, amount.currency).format()}, over your daily approval limit of "
        f"{cap.format()}"
    )


@dataclass(frozen=True)
class Requirement:
    """What a request needs before it may run: how many of whom, and for how long."""

    rule_name: str
    approvals_required: int
    approvers: frozenset[str]  # Slack user IDs, groups resolved
    expires_after: timedelta
    approver_labels: tuple[str, ...] = ()  # group names and user IDs as the file wrote them
    remind_after: timedelta | None = None  # DM the approvers who have not decided
    escalate_after: timedelta | None = None  # then ask `escalate_to` as well
    escalate_to: frozenset[str] = frozenset()  # Slack user IDs, groups resolved
    escalate_to_labels: tuple[str, ...] = ()
    fresh_for: timedelta | None = None  # approved but not run within this: re-confirm
    editable: bool = False  # cards get an Edit button
    approver_daily_limit: AmountOver | None = None  # per approver, per UTC day

    def may_approve(self, user_id: str, requester_id: str) -> bool:
        return user_id != requester_id and user_id in self.approvers

    def eligible(self, requester_id: str) -> frozenset[str]:
        """The people whose approval counts for a request by `requester_id`."""
        return self.approvers - {requester_id}

    def can_be_met(self, requester_id: str) -> bool:
        return len(self.eligible(requester_id)) >= self.approvals_required

    def counted(self, approved_by: Iterable[str], requester_id: str) -> frozenset[str]:
        """The distinct people among `approved_by` whose approval counts."""
        return frozenset(approved_by) & self.eligible(requester_id)

    def is_met(self, approved_by: Iterable[str], requester_id: str) -> bool:
        return len(self.counted(approved_by, requester_id)) >= self.approvals_required

    def describe(self) -> str:
        """`2 approvals from finance`, `1 approval from finance or sales`."""
        count = self.approvals_required
        noun = "approval" if count == 1 else "approvals"
        labels = self.approver_labels or tuple(sorted(self.approvers))
        return f"{count} {noun} from {one_of(labels)}"


@dataclass(frozen=True)
class Decision(Requirement):
    """A `Requirement` for one request: user groups looked up, refusals spelt out.

    A forbidden decision has no approvers, so `is_met` is never true for it.
    """

    asked: Asked | None = None
    forbidden: bool = False
    # Why the request must be refused before any card (forbidden, or too few people
    # other than the requester may approve); None when a card may be posted.
    refusal: str | None = None
    # Problems met while deciding, e.g. a Slack user group the directory does not know.
    warnings: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.forbidden:
            return f"forbidden by rule “{self.rule_name}”"
        return super().describe()


def one_of(labels: Iterable[str]) -> str:
    """`a`, `a or b`, `a, b or c`; `nobody` for none."""
    items = tuple(labels)
    if not items:
        return "nobody"
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " or " + items[-1]
