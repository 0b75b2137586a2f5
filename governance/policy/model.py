"""A loaded policy: who must approve what, decided by the first rule that matches."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from fnmatch import fnmatchcase

from governance.money import Money
from governance.policy.issues import PolicyIssue

DEFAULTS_NAME = "defaults"  # `rule_name` of a requirement no rule matched


@dataclass(frozen=True)
class AmountOver:
    """A rule's amount threshold: at most one limit per currency."""

    limits: tuple[Money, ...]

    def is_exceeded_by(self, amount: Money | None) -> bool:
        # An unknown amount, or one in a currency no limit names, cannot be shown to be
        # under the threshold, so it is treated as over it: the stricter rule applies.
        if amount is None:
            return True
        for limit in self.limits:
            if limit.currency == amount.currency:
                return amount.minor > limit.minor
        return True

    def implies(self, other: AmountOver | None) -> bool:
        """True when every amount over `self` is also over `other`."""
        if other is None:
            return True
        ours = {limit.currency: limit.minor for limit in self.limits}
        return all(
            limit.currency in ours and ours[limit.currency] >= limit.minor for limit in other.limits
        )

    def describe(self) -> str:
        return "over " + " or ".join(limit.format() for limit in self.limits)


@dataclass(frozen=True)
class Requirement:
    """What a request needs before it may run: how many of whom, and for how long."""

    rule_name: str
    approvals_required: int
    approvers: frozenset[str]  # Slack user IDs, groups resolved
    expires_after: timedelta
    approver_labels: tuple[str, ...] = ()  # group names and user IDs as the file wrote them

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
        return f"{count} {noun} from {_one_of(labels)}"


def _one_of(labels: tuple[str, ...]) -> str:
    if not labels:
        return "nobody"
    if len(labels) == 1:
        return labels[0]
    return ", ".join(labels[:-1]) + " or " + labels[-1]


@dataclass(frozen=True)
class Rule:
    name: str
    action: str  # fnmatch glob on the dotted action name, e.g. `payments.*`
    requirement: Requirement  # defaults already filled in
    amount_over: AmountOver | None = None
    line: int = 0  # where the rule starts in the file, for people reading explanations

    def matches(self, action: str, amount: Money | None) -> bool:
        if not fnmatchcase(action, self.action):
            return False
        return self.amount_over is None or self.amount_over.is_exceeded_by(amount)


@dataclass(frozen=True)
class Policy:
    groups: Mapping[str, frozenset[str]]
    defaults: Requirement
    rules: tuple[Rule, ...]
    digest: str  # SHA-256 hex of the file's bytes: which policy a decision was made under
    warnings: tuple[PolicyIssue, ...] = ()

    def rule_for(self, action: str, amount: Money | None) -> Rule | None:
        """The first rule that matches, or None when the defaults apply."""
        return next((rule for rule in self.rules if rule.matches(action, amount)), None)

    def decide(self, action: str, amount: Money | None) -> Requirement:
        rule = self.rule_for(action, amount)
        return self.defaults if rule is None else rule.requirement
