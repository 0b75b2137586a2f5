"""A loaded policy: who must approve what, decided by the first rule that matches.

`Policy.decide(Asked(...), totals, directory)` gives the `Decision` for one request;
the older `Policy.decide(action, amount)` still gives the static `Requirement`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from types import MappingProxyType
from typing import overload

from governance.money import Money
from governance.policy.issues import PolicyIssue
from governance.policy.terms import (
    DEFAULTS_NAME,
    AmountOver,
    Asked,
    Decision,
    Directory,
    Requirement,
    Totals,
    one_of,
)

__all__ = [
    "DEFAULTS_NAME",
    "AmountOver",
    "Asked",
    "Check",
    "Decision",
    "Directory",
    "Group",
    "Policy",
    "Requirement",
    "Resolver",
    "Rule",
    "Totals",
    "evaluate",
]

HANDLE_PREFIX = "@"


@dataclass(frozen=True)
class Group:
    """A named list of people: Slack user IDs, and Slack user groups looked up when used."""

    name: str
    user_ids: frozenset[str]
    handles: tuple[str, ...] = ()  # `@finance-team`, as written
    line: int = 0


@dataclass(frozen=True)
class Rule:
    name: str
    action: str  # fnmatch glob on the dotted action name, e.g. `payments.*`
    requirement: Requirement  # defaults already filled in
    amount_over: AmountOver | None = None
    line: int = 0  # where the rule starts in the file, for people reading explanations
    client: str | None = None  # glob on the client's email, lower-cased
    requester: tuple[str, ...] | None = None  # group names, user IDs (and handles)
    daily_total_over: AmountOver | None = None
    client_daily_total_over: AmountOver | None = None
    forbid: bool = False
    written: frozenset[str] = frozenset()  # the keys the file wrote on this rule

    def matches(self, action: str, amount: Money | None) -> bool:
        """Whether the rule matches `action` and `amount` alone (no requester, no client)."""
        matched, _ = evaluate(self, Asked(action, amount), None, Resolver({}, None))
        return matched


@dataclass(frozen=True)
class Check:
    """One condition of a rule, tried on a request: `amount $500.00 not over $10,000.00`."""

    key: str  # the rule's key: action, amount_over, client …
    passed: bool
    text: str


class Resolver:
    """Resolves group names, user IDs and `@handles` to user IDs, noting unknown handles."""

    def __init__(self, groups: Mapping[str, Group], directory: Directory | None) -> None:
        self.groups = groups
        self.directory = directory
        self.unknown: dict[str, None] = {}  # handles that counted nobody, in order met

    def handle(self, handle: str) -> frozenset[str]:
        members = None if self.directory is None else self.directory.members(handle)
        if members is None:
            self.unknown.setdefault(handle)
            return frozenset()
        return frozenset(members)

    def label(self, label: str) -> frozenset[str]:
        group = self.groups.get(label)
        if group is not None:
            found = set(group.user_ids)
            for handle in group.handles:
                found |= self.handle(handle)
            return frozenset(found)
        if label.startswith(HANDLE_PREFIX):
            return self.handle(label)
        return frozenset({label})

    def labels(self, labels: Iterable[str]) -> frozenset[str]:
        found: set[str] = set()
        for label in labels:
            found |= self.label(label)
        return frozenset(found)

    def unknown_in(self, labels: Iterable[str]) -> list[str]:
        """The handles behind `labels` (resolved already) that counted nobody."""
        handles: list[str] = []
        for label in labels:
            group = self.groups.get(label)
            handles += group.handles if group is not None else [label]
        return [handle for handle in dict.fromkeys(handles) if handle in self.unknown]

    def problems(self, handles: Iterable[str] | None = None) -> tuple[str, ...]:
        """A sentence for each unknown handle (of `handles`, or all met so far)."""
        chosen = self.unknown if handles is None else [h for h in handles if h in self.unknown]
        if self.directory is None:
            return tuple(
                f"Slack user group {handle} was not looked up (no directory): it counts nobody"
                for handle in chosen
            )
        return tuple(f"Slack user group {handle} is unknown: it counts nobody" for handle in chosen)


def evaluate(
    rule: Rule,
    asked: Asked,
    totals: Totals | None,
    resolver: Resolver,
    *,
    exhaustive: bool = False,
) -> tuple[bool, tuple[Check, ...]]:
    """Whether `rule` matches `asked`, and each condition tried, in order.

    Stops at the first condition that fails unless `exhaustive` (for explanations),
    so a rule whose action does not match never asks for today's totals.
    """
    checks: list[Check] = []
    for condition in _CONDITIONS:
        check = condition(rule, asked, totals, resolver)
        if check is None:
            continue
        checks.append(check)
        if not check.passed and not exhaustive:
            break
    return all(check.passed for check in checks), tuple(checks)


def _action(rule: Rule, asked: Asked, totals: Totals | None, resolver: Resolver) -> Check:
    if fnmatchcase(asked.action, rule.action):
        return Check("action", True, f"action {asked.action} matches `{rule.action}`")
    return Check("action", False, f"action {asked.action} does not match `{rule.action}`")


def _client(rule: Rule, asked: Asked, totals: Totals | None, resolver: Resolver) -> Check | None:
    if rule.client is None:
        return None
    if asked.client is None:
        return Check("client", False, f"no client, and the rule names client `{rule.client}`")
    if fnmatchcase(asked.client.lower(), rule.client):
        return Check("client", True, f"client {asked.client} matches `{rule.client}`")
    return Check("client", False, f"client {asked.client} does not match `{rule.client}`")


def _requester(rule: Rule, asked: Asked, totals: Totals | None, resolver: Resolver) -> Check | None:
    if rule.requester is None:
        return None
    named = one_of(rule.requester)
    if asked.requester is None:
        return Check("requester", False, f"requester not known, and the rule names {named}")
    for label in rule.requester:
        if asked.requester in resolver.label(label):
            where = "is named" if label == asked.requester else f"is in {label}"
            return Check("requester", True, f"requester {asked.requester} {where}")
    return Check("requester", False, f"requester {asked.requester} is not in {named}")


def _amount(rule: Rule, asked: Asked, totals: Totals | None, resolver: Resolver) -> Check | None:
    over = rule.amount_over
    if over is None:
        return None
    amount = asked.amount
    if amount is None:
        return Check("amount_over", True, f"amount not known yet: counts as {over.describe()}")
    limit = over.limit_in(amount.currency)
    if limit is None:
        return Check(
            "amount_over",
            True,
            f"amount {amount.format()} is in {amount.currency.upper()}, which "
            f"`amount_over` ({over.amounts()}) does not name: counts as over",
        )
    if amount.minor > limit.minor:
        return Check("amount_over", True, f"amount {amount.format()} over {limit.format()}")
    return Check("amount_over", False, f"amount {amount.format()} not over {limit.format()}")


def _daily(rule: Rule, asked: Asked, totals: Totals | None, resolver: Resolver) -> Check | None:
    if rule.daily_total_over is None:
        return None
    return _rolling(
        "daily_total_over", rule.daily_total_over, rule, asked, totals, None, "today's total"
    )


def _client_daily(
    rule: Rule, asked: Asked, totals: Totals | None, resolver: Resolver
) -> Check | None:
    over = rule.client_daily_total_over
    if over is None:
        return None
    if asked.client is None:
        return Check("client_daily_total_over", False, "no client, so no client's total to count")
    label = f"{asked.client}'s total today"
    return _rolling("client_daily_total_over", over, rule, asked, totals, asked.client, label)


def _rolling(
    key: str,
    over: AmountOver,
    rule: Rule,
    asked: Asked,
    totals: Totals | None,
    client: str | None,
    label: str,
) -> Check:
    """Today's total so far, plus this request, strictly over the limit in its currency."""
    amount = asked.amount
    if amount is None:
        return Check(key, True, f"amount not known yet: {label} counts as {over.describe()}")
    limit = over.limit_in(amount.currency)
    if limit is None:
        return Check(
            key,
            True,
            f"amount {amount.format()} is in {amount.currency.upper()}, which `{key}` "
            f"({over.amounts()}) does not name: counts as over",
        )
    if totals is None:
        return Check(key, True, f"{label} not known: counts as over {limit.format()}")
    so_far = totals.today(rule.action, amount.currency, rule.client, client)
    total = so_far + amount.minor
    verdict = "over" if total > limit.minor else "not over"
    text = (
        f"{label} {Money(so_far, amount.currency).format()} + this {amount.format()} = "
        f"{Money(total, amount.currency).format()} {verdict} {limit.format()}"
    )
    return Check(key, total > limit.minor, text)


# Cheap conditions first: a rule whose action does not match never asks for totals.
_CONDITIONS = (_action, _client, _requester, _amount, _daily, _client_daily)


def _empty_groups() -> Mapping[str, Group]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Policy:
    groups: Mapping[str, frozenset[str]]  # the user IDs each group lists (not its handles)
    defaults: Requirement
    rules: tuple[Rule, ...]
    digest: str  # SHA-256 hex of the file's bytes: which policy a decision was made under
    warnings: tuple[PolicyIssue, ...] = ()
    group_defs: Mapping[str, Group] = field(default_factory=_empty_groups)  # with handles
    defaults_line: int = 0
    defaults_written: frozenset[str] = frozenset()  # the keys the file wrote in defaults

    def rule_for(self, action: str, amount: Money | None) -> Rule | None:
        """The first rule matching `action` and `amount` alone, or None for the defaults."""
        return next((rule for rule in self.rules if rule.matches(action, amount)), None)

    def rule_named(self, name: str) -> Rule | None:
        return next((rule for rule in self.rules if rule.name == name), None)

    def terms_of(self, rule_name: str) -> Requirement | None:
        """The static terms of the rule called `rule_name` (`defaults` included)."""
        if rule_name == DEFAULTS_NAME:
            return self.defaults
        rule = self.rule_named(rule_name)
        return None if rule is None else rule.requirement

    def approver_daily_limit(self, rule_name: str) -> AmountOver | None:
        """The per-approver daily limit of the rule a request was decided under."""
        terms = self.terms_of(rule_name)
        return None if terms is None else terms.approver_daily_limit

    def resolver(self, directory: Directory | None = None) -> Resolver:
        return Resolver(self.group_definitions(), directory)

    def group_definitions(self) -> Mapping[str, Group]:
        """Every group with its user IDs and Slack user-group handles."""
        if self.group_defs:
            return self.group_defs
        # A Policy built without definitions (e.g. in tests): its groups, no handles.
        return {name: Group(name, ids) for name, ids in self.groups.items()}

    @overload
    def decide(self, asked: str, amount: Money | None, /) -> Requirement: ...

    @overload
    def decide(
        self,
        asked: Asked,
        totals: Totals | None = None,
        directory: Directory | None = None,
    ) -> Decision: ...

    def decide(
        self,
        asked: Asked | str,
        totals: Totals | Money | None = None,
        directory: Directory | None = None,
    ) -> Requirement:
        """The `Decision` for `asked`.

        The older form `decide(action, amount)` gives the static `Requirement` of the
        first rule matching action and amount alone: rules naming a client or requesters
        never match, rolling totals count as over, a forbidding rule has no approvers.
        """
        if isinstance(asked, str):
            amount = totals if isinstance(totals, Money) else None
            rule = self.rule_for(asked, amount)
            if rule is None:
                return self.defaults
            if rule.forbid:  # this form cannot say "forbidden": nobody may approve instead
                return replace(rule.requirement, approvers=frozenset(), approver_labels=())
            return rule.requirement
        if isinstance(totals, Money):
            raise TypeError("decide(Asked, …) takes Totals, not an amount")
        return self._decide(asked, totals, directory)

    def first_match(
        self, asked: Asked, totals: Totals | None, resolver: Resolver
    ) -> tuple[Rule | None, tuple[Check, ...]]:
        for rule in self.rules:
            matched, checks = evaluate(rule, asked, totals, resolver)
            if matched:
                return rule, checks
        return None, ()

    def _decide(self, asked: Asked, totals: Totals | None, directory: Directory | None) -> Decision:
        resolver = self.resolver(directory)
        rule, checks = self.first_match(asked, totals, resolver)
        terms = self.defaults if rule is None else rule.requirement
        if rule is not None and rule.forbid:
            because = "; ".join(check.text for check in checks)
            return Decision(
                rule_name=rule.name,
                approvals_required=terms.approvals_required,
                approvers=frozenset(),
                expires_after=terms.expires_after,
                asked=asked,
                forbidden=True,
                refusal=f"Rule “{rule.name}” forbids this: {because}.",
                warnings=resolver.problems(),
            )
        approvers = resolver.labels(terms.approver_labels)
        missing = resolver.unknown_in(terms.approver_labels)
        escalate_to = resolver.labels(terms.escalate_to_labels)
        decision = Decision(
            rule_name=terms.rule_name,
            approvals_required=terms.approvals_required,
            approvers=approvers,
            expires_after=terms.expires_after,
            approver_labels=terms.approver_labels,
            remind_after=terms.remind_after,
            escalate_after=terms.escalate_after,
            escalate_to=escalate_to,
            escalate_to_labels=terms.escalate_to_labels,
            fresh_for=terms.fresh_for,
            editable=terms.editable,
            approver_daily_limit=terms.approver_daily_limit,
            asked=asked,
            warnings=resolver.problems(),
        )
        refusal = _too_few(decision, asked.requester, resolver.problems(missing))
        if refusal is None:
            return decision
        return replace(decision, refusal=refusal)


def _too_few(decision: Decision, requester: str | None, problems: tuple[str, ...]) -> str | None:
    """Why too few people may approve for the request to ever be approved, or None."""
    able = decision.approvers if requester is None else decision.eligible(requester)
    if len(able) >= decision.approvals_required:
        return None
    count = len(able)
    people = "nobody" if count == 0 else f"only {count} {'person' if count == 1 else 'people'}"
    others = "could approve" if requester is None else "other than you may approve"
    note = f" ({'; '.join(problems)})" if problems else ""
    return f"Rule “{decision.rule_name}” needs {decision.describe()}, and {people} {others}{note}."
