"""Why a request gets the requirement it does: every rule in order, matched or not, and why.

`explain(policy, Asked(...))` is what `empire policy explain` prints, through
`format_explanation`; it tries every condition of every rule (where `decide` stops at
the first that fails), so each line says what would have had to differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from governance.policy.durations import format_duration
from governance.policy.model import (
    Asked,
    Check,
    Decision,
    Directory,
    Policy,
    Resolver,
    Rule,
    Totals,
    evaluate,
)


@dataclass(frozen=True)
class RuleVerdict:
    rule: Rule
    matched: bool
    applies: bool  # the first rule that matched
    checks: tuple[Check, ...]  # every condition the rule sets, in the order tried


@dataclass(frozen=True)
class Explanation:
    asked: Asked
    verdicts: tuple[RuleVerdict, ...]
    applied: Rule | None  # None: the defaults
    decision: Decision
    # Each approver label as written, with the user IDs it means now.
    approvers_by_label: tuple[tuple[str, frozenset[str]], ...]
    escalate_to_by_label: tuple[tuple[str, frozenset[str]], ...]
    totals_known: bool
    directory_known: bool


def explain(
    policy: Policy,
    asked: Asked,
    totals: Totals | None = None,
    directory: Directory | None = None,
) -> Explanation:
    resolver = policy.resolver(directory)
    verdicts: list[RuleVerdict] = []
    applied: Rule | None = None
    for rule in policy.rules:
        matched, checks = evaluate(rule, asked, totals, resolver, exhaustive=True)
        applies = matched and applied is None
        if applies:
            applied = rule
        verdicts.append(RuleVerdict(rule, matched, applies, checks))
    decision = policy.decide(asked, totals, directory)
    return Explanation(
        asked=asked,
        verdicts=tuple(verdicts),
        applied=applied,
        decision=decision,
        approvers_by_label=_by_label(resolver, decision.approver_labels),
        escalate_to_by_label=_by_label(resolver, decision.escalate_to_labels),
        totals_known=totals is not None,
        directory_known=directory is not None,
    )


def _by_label(
    resolver: Resolver, labels: tuple[str, ...]
) -> tuple[tuple[str, frozenset[str]], ...]:
    return tuple((label, resolver.label(label)) for label in labels)


def format_explanation(explanation: Explanation) -> str:
    """Plain text for the CLI: the request, each rule, then what applies and requires."""
    lines = [f"Request: {_asked(explanation.asked)}"]
    if explanation.verdicts:
        lines.append("Rules, in order (the first that matches applies):")
    else:
        lines.append("The policy has no rules: the defaults apply to everything.")
    for number, verdict in enumerate(explanation.verdicts, 1):
        state = _state(explanation, verdict)
        lines.append(f"  {number}. {verdict.rule.name} (line {verdict.rule.line}): {state}")
        lines.extend(
            f"       {'✓' if check.passed else '✗'} {check.text}" for check in verdict.checks
        )
    rule = explanation.applied
    lines.append(
        "Applies: the defaults (no rule matched)"
        if rule is None
        else f"Applies: rule `{rule.name}` (line {rule.line})"
    )
    lines.extend(_requires(explanation))
    if not explanation.totals_known and _uses_totals(explanation):
        lines.append("Note: today's totals were not given; a rule counting them matches.")
    lines.extend(f"Warning: {warning}" for warning in explanation.decision.warnings)
    return "\n".join(lines) + "\n"


def _asked(asked: Asked) -> str:
    parts = [asked.action]
    parts.append("amount not known" if asked.amount is None else asked.amount.format())
    if asked.requester is not None:
        parts.append(f"by {asked.requester}")
    if asked.client is not None:
        parts.append(f"for client {asked.client}")
    return ", ".join(parts)


def _state(explanation: Explanation, verdict: RuleVerdict) -> str:
    if verdict.applies:
        return "matched: applies"
    if not verdict.matched:
        return "not matched"
    above = explanation.applied.name if explanation.applied is not None else "a rule"
    return f"matched, but rule `{above}` above applies"


def _requires(explanation: Explanation) -> list[str]:
    decision = explanation.decision
    if decision.forbidden:
        return [f"Forbidden: {decision.refusal}"]
    lines = [f"Requires: {decision.describe()}"]
    if decision.refusal is not None:
        lines.append(f"Refused: {decision.refusal}")
    who = _people(explanation.approvers_by_label)
    requester = decision.asked.requester if decision.asked else None
    if requester is not None and requester in decision.approvers:
        who += f" (not {requester}, who asked)"
    lines.append(f"  May approve: {who}")
    lines.append(f"  Expires after: {format_duration(decision.expires_after)}")
    lines.append(
        f"  Reminder: {_after(decision.remind_after)}"
        + ("" if decision.remind_after is None else " to approvers who have not decided")
    )
    if decision.escalate_after is None:
        lines.append("  Escalation: none")
    else:
        lines.append(
            f"  Escalation: after {format_duration(decision.escalate_after)} to "
            f"{_people(explanation.escalate_to_by_label)}"
        )
    fresh = decision.fresh_for
    lines.append(
        "  Fresh for: not limited"
        if fresh is None
        else f"  Fresh for: {format_duration(fresh)} (approved but not run within it: re-confirm)"
    )
    lines.append(f"  Editable: {'yes' if decision.editable else 'no'}")
    limit = decision.approver_daily_limit
    lines.append(
        "  Approver daily limit: none"
        if limit is None
        else f"  Approver daily limit: {limit.amounts()} per approver per day"
    )
    return lines


def _after(duration: timedelta | None) -> str:
    return "none" if duration is None else f"after {format_duration(duration)}"


def _people(by_label: tuple[tuple[str, frozenset[str]], ...]) -> str:
    """`finance (U0FIN1, U0FIN2), U0X`; a group that is nobody now says so."""
    parts = []
    for label, ids in by_label:
        if ids == {label}:
            parts.append(label)
        elif ids:
            parts.append(f"{label} ({', '.join(sorted(ids))})")
        else:
            parts.append(f"{label} (nobody now)")
    return ", ".join(parts) or "nobody"


def _uses_totals(explanation: Explanation) -> bool:
    return any(
        verdict.rule.daily_total_over is not None
        or verdict.rule.client_daily_total_over is not None
        for verdict in explanation.verdicts
    )
