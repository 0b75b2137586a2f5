"""`/empire policy`: the rules in force, or why a given request would need what it needs."""

from __future__ import annotations

from bot.escape import escape_mrkdwn
from governance.money import Money
from governance.policy import Asked, Directory, Policy, Rule, Totals, explain, format_explanation
from governance.policy.terms import one_of

EXPLANATION_MAX = 2800  # a Slack message's text is cut at 4,000; room for the rest


def policy_overview(policy: Policy) -> str:
    lines = [
        f"*Policy in force* (digest `{policy.digest[:12]}`); the first rule that matches applies:"
    ]
    for number, rule in enumerate(policy.rules, 1):
        lines.append(
            f"{number}. *{escape_mrkdwn(rule.name, 80)}* — {_matching(rule)} → {_needs(rule)}"
        )
    lines.append(f"Otherwise (defaults) → {escape_mrkdwn(policy.defaults.describe(), 200)}")
    lines.append("Ask `/empire policy payments.refund 12000` to see which rule applies and why.")
    return "\n".join(lines)


def policy_explanation(
    policy: Policy,
    action: str,
    amount: Money | None,
    requester: str,
    totals: Totals | None,
    directory: Directory | None,
) -> str:
    text = format_explanation(explain(policy, Asked(action, amount, requester), totals, directory))
    text = text.replace("`", "'")[:EXPLANATION_MAX]
    return f"```{escape_mrkdwn(text)}```"


def _matching(rule: Rule) -> str:
    parts = [f"`{escape_mrkdwn(rule.action, 80)}`"]
    if rule.amount_over:
        parts.append(rule.amount_over.describe())
    if rule.client:
        parts.append(f"client `{escape_mrkdwn(rule.client, 80)}`")
    if rule.requester:
        parts.append("asked by " + escape_mrkdwn(one_of(rule.requester), 120))
    if rule.daily_total_over:
        parts.append("today's total " + rule.daily_total_over.describe())
    if rule.client_daily_total_over:
        parts.append("a client's total today " + rule.client_daily_total_over.describe())
    return ", ".join(parts)


def _needs(rule: Rule) -> str:
    if rule.forbid:
        return "*forbidden*"
    terms = rule.requirement
    text = escape_mrkdwn(terms.describe(), 200)
    if terms.editable:
        text += ", editable"
    return text
