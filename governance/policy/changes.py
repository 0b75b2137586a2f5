"""What changed between two versions of a policy, in lines a person can read.

Used when the file changes under a running bot: the log (and the channel) say who
was added to a group, which rule now asks for what, rather than just a new digest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

from governance.policy.durations import format_duration
from governance.policy.model import AmountOver, Policy, Requirement, Rule
from governance.policy.rules import MATCH_KEYS
from governance.policy.sections import REQUIREMENT_KEYS

NONE = "none"


def describe_changes(old: Policy, new: Policy) -> list[str]:
    """Groups, then defaults, then rules; an empty list when the meaning is unchanged."""
    return [*_groups(old, new), *_defaults(old, new), *_rules(old, new)]


def _groups(old: Policy, new: Policy) -> list[str]:
    before, after = _members(old), _members(new)
    lines: list[str] = []
    for name in before.keys() - after.keys():
        lines.append(f"group `{name}` removed (it was {_listed(before[name])})")
    for name in after:
        if name not in before:
            lines.append(f"group `{name}` added: {_listed(after[name])}")
            continue
        added, removed = after[name] - before[name], before[name] - after[name]
        parts = []
        if added:
            parts.append(f"added {_listed(added)}")
        if removed:
            parts.append(f"removed {_listed(removed)}")
        if parts:
            lines.append(f"group `{name}`: {'; '.join(parts)}")
    return sorted(lines)


def _members(policy: Policy) -> dict[str, frozenset[str]]:
    return {
        name: group.user_ids | frozenset(group.handles)
        for name, group in policy.group_definitions().items()
    }


def _listed(members: frozenset[str]) -> str:
    return ", ".join(sorted(members)) or "nobody"


def _defaults(old: Policy, new: Policy) -> list[str]:
    changes = _changed(_terms(old.defaults), _terms(new.defaults), REQUIREMENT_KEYS)
    return [f"defaults: {changes}"] if changes else []


def _rules(old: Policy, new: Policy) -> list[str]:
    before = {rule.name: rule for rule in old.rules}
    after = {rule.name: rule for rule in new.rules}
    lines = [f"rule `{rule.name}` removed" for rule in old.rules if rule.name not in after]
    lines += [
        f"rule `{rule.name}` added at position {position} (line {rule.line}): {_summary(rule)}"
        for position, rule in enumerate(new.rules, 1)
        if rule.name not in before
    ]
    kept_before = [rule.name for rule in old.rules if rule.name in after]
    kept_after = [rule.name for rule in new.rules if rule.name in before]
    if kept_before != kept_after:
        lines.append(f"rules reordered: {', '.join(kept_before)} → {', '.join(kept_after)}")
    for name in kept_after:
        first, second = before[name], after[name]
        # Terms a rule leaves to the defaults change with them, and are reported there.
        keys = [
            *MATCH_KEYS,
            "forbid",
            *(key for key in REQUIREMENT_KEYS if key in first.written | second.written),
        ]
        changes = _changed(_rule_values(first), _rule_values(second), keys)
        if changes:
            lines.append(f"rule `{name}`: {changes}")
    return lines


def _changed(before: Mapping[str, str], after: Mapping[str, str], keys: Sequence[str]) -> str:
    parts = [
        f"{key} {before.get(key, NONE)} → {after.get(key, NONE)}"
        for key in keys
        if before.get(key, NONE) != after.get(key, NONE)
    ]
    return "; ".join(parts)


def _summary(rule: Rule) -> str:
    values = _rule_values(rule)
    keys = [*MATCH_KEYS, "forbid"] if rule.forbid else [*MATCH_KEYS, "approvals", "approvers"]
    return ", ".join(f"{key} {values[key]}" for key in keys if values.get(key, NONE) != NONE)


def _rule_values(rule: Rule) -> dict[str, str]:
    values = {
        "action": rule.action,
        "amount_over": _amounts(rule.amount_over),
        "client": rule.client or NONE,
        "requester": ", ".join(rule.requester) if rule.requester else NONE,
        "daily_total_over": _amounts(rule.daily_total_over),
        "client_daily_total_over": _amounts(rule.client_daily_total_over),
        "forbid": "yes" if rule.forbid else NONE,
    }
    return {**values, **_terms(rule.requirement)}


def _terms(terms: Requirement) -> dict[str, str]:
    def duration(value: timedelta | None) -> str:
        return NONE if value is None else format_duration(value)

    return {
        "approvers": ", ".join(terms.approver_labels),
        "approvals": str(terms.approvals_required),
        "expires_after": format_duration(terms.expires_after),
        "remind_after": duration(terms.remind_after),
        "escalate_after": duration(terms.escalate_after),
        "escalate_to": ", ".join(terms.escalate_to_labels) or NONE,
        "fresh_for": duration(terms.fresh_for),
        "editable": "yes" if terms.editable else "no",
        "approver_daily_limit": _amounts(terms.approver_daily_limit),
    }


def _amounts(over: AmountOver | None) -> str:
    return NONE if over is None else over.amounts()
