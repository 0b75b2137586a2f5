"""`explain`: every rule in order, matched or not and why; what applies and what it requires."""

from __future__ import annotations

from textwrap import dedent

from governance.money import Money
from governance.policy import Asked, explain, format_explanation, parse_policy

POLICY = dedent(
    """\
    version: 1
    groups:
      finance: [U0FIN1, U0FIN2, U0FIN3]
      sales: [U0SALES1]
      owners: [U0OWN1, "@founders"]
    defaults:
      approvers: [finance]
      remind_after: 2h
      escalate_after: 8h
      escalate_to: [owners]
    rules:
      - name: no-crypto
        action: payments.*
        client: "*@crypto.example"
        forbid: true
      - name: parliament
        action: payments.refund
        amount_over: 10000 USD
        approvals: 2
      - name: daily-refunds
        action: payments.refund
        daily_total_over: 2000 USD
        approvals: 2
        fresh_for: 1h
      - name: sales-asks
        action: payments.*
        requester: [sales]
        editable: true
        approver_daily_limit: 5000 USD
    """
)
POLICY_OBJECT = parse_policy(POLICY)


class Totals:
    def __init__(self, so_far: int) -> None:
        self.so_far = so_far

    def today(
        self, action_glob: str, currency: str, client_glob: str | None, client: str | None
    ) -> int:
        return self.so_far

    def approved_today(self, user_id: str, currency: str) -> int:
        return 0


class Directory:
    def members(self, handle: str) -> frozenset[str] | None:
        return frozenset({"U0OWN2"}) if handle == "@founders" else None


def usd(dollars: int) -> Money:
    return Money(dollars * 100, "usd")


def test_every_rule_is_listed_with_each_reason() -> None:
    asked = Asked("payments.refund", usd(500), "U0SALES1", "ann@shop.example")
    explanation = explain(POLICY_OBJECT, asked, Totals(120_000), Directory())
    assert [(v.rule.name, v.matched, v.applies) for v in explanation.verdicts] == [
        ("no-crypto", False, False),
        ("parliament", False, False),
        ("daily-refunds", False, False),
        ("sales-asks", True, True),
    ]
    assert [check.text for check in explanation.verdicts[0].checks] == [
        "action payments.refund matches `payments.*`",
        "client ann@shop.example does not match `*@crypto.example`",
    ]
    assert [check.text for check in explanation.verdicts[1].checks] == [
        "action payments.refund matches `payments.refund`",
        "amount $500.00 not over $10,000.00",
    ]
    assert [check.text for check in explanation.verdicts[2].checks] == [
        "action payments.refund matches `payments.refund`",
        "today's total $1,200.00 + this $500.00 = $1,700.00 not over $2,000.00",
    ]
    assert explanation.applied is not None
    assert explanation.applied.name == "sales-asks"
    assert explanation.decision.rule_name == "sales-asks"


def test_the_plain_text_rendering() -> None:
    asked = Asked("payments.refund", usd(500), "U0FIN1", "ann@shop.example")
    text = format_explanation(explain(POLICY_OBJECT, asked, Totals(190_000), Directory()))
    assert text == dedent(
        """\
        Request: payments.refund, $500.00, by U0FIN1, for client ann@shop.example
        Rules, in order (the first that matches applies):
          1. no-crypto (line 12): not matched
               ✓ action payments.refund matches `payments.*`
               ✗ client ann@shop.example does not match `*@crypto.example`
          2. parliament (line 16): not matched
               ✓ action payments.refund matches `payments.refund`
               ✗ amount $500.00 not over $10,000.00
          3. daily-refunds (line 20): matched: applies
               ✓ action payments.refund matches `payments.refund`
               ✓ today's total $1,900.00 + this $500.00 = $2,400.00 over $2,000.00
          4. sales-asks (line 25): not matched
               ✓ action payments.refund matches `payments.*`
               ✗ requester U0FIN1 is not in sales
        Applies: rule `daily-refunds` (line 20)
        Requires: 2 approvals from finance
          May approve: finance (U0FIN1, U0FIN2, U0FIN3) (not U0FIN1, who asked)
          Expires after: 1d
          Reminder: after 2h to approvers who have not decided
          Escalation: after 8h to owners (U0OWN1, U0OWN2)
          Fresh for: 1h (approved but not run within it: re-confirm)
          Editable: no
          Approver daily limit: none
        """
    )


def test_a_later_rule_that_also_matches_says_which_applies() -> None:
    asked = Asked("payments.refund", usd(20_000), "U0SALES1")
    text = format_explanation(explain(POLICY_OBJECT, asked, Totals(0), Directory()))
    assert "  2. parliament (line 16): matched: applies\n" in text
    assert "  3. daily-refunds (line 20): matched, but rule `parliament` above applies\n" in text
    assert "       ✓ amount $20,000.00 over $10,000.00\n" in text
    assert "       ✗ no client, and the rule names client `*@crypto.example`\n" in text


def test_forbidden_requests_say_so_instead_of_requirements() -> None:
    asked = Asked("payments.invoice", usd(5), "U0SALES1", "x@crypto.example")
    text = format_explanation(explain(POLICY_OBJECT, asked, Totals(0), Directory()))
    assert text.splitlines()[-1] == (
        "Forbidden: Rule “no-crypto” forbids this: action payments.invoice matches "
        "`payments.*`; client x@crypto.example matches `*@crypto.example`."
    )


def test_defaults_without_totals_or_directory_say_what_was_unknown() -> None:
    text = format_explanation(explain(POLICY_OBJECT, Asked("jobs.watch")))
    lines = text.splitlines()
    assert lines[0] == "Request: jobs.watch, amount not known"
    assert "Applies: the defaults (no rule matched)" in lines
    assert "  Escalation: after 8h to owners (U0OWN1)" in lines
    assert "Note: today's totals were not given; a rule counting them matches." in lines
    assert lines[-1] == (
        "Warning: Slack user group @founders was not looked up (no directory): it counts nobody"
    )


def test_editable_and_approver_limit_are_shown() -> None:
    asked = Asked("payments.invoice", usd(5), "U0SALES1")
    text = format_explanation(explain(POLICY_OBJECT, asked, Totals(0), Directory()))
    assert "  Editable: yes\n" in text
    assert "  Approver daily limit: $5,000.00 per approver per day\n" in text
    assert "  ✓ requester U0SALES1 is in sales\n" in text
    assert "  May approve: finance (U0FIN1, U0FIN2, U0FIN3)\n" in text


def test_a_refusal_is_shown_under_the_requirement() -> None:
    policy = parse_policy('version: 1\ngroups:\n  ops: ["@ops"]\ndefaults:\n  approvers: [ops]\n')
    text = format_explanation(explain(policy, Asked("jobs.watch", None, "U0X1"), None, Directory()))
    assert "The policy has no rules: the defaults apply to everything." in text
    assert "  May approve: ops (nobody now)\n" in text
    assert (
        "Refused: Rule “defaults” needs 1 approval from ops, and nobody other than you may "
        "approve (Slack user group @ops is unknown: it counts nobody).\n"
    ) in text


def test_a_requester_named_by_user_id() -> None:
    policy = parse_policy(
        "version: 1\ndefaults:\n  approvers: [U0A1, U0A2]\n"
        "rules:\n  - {name: ann, action: '*', requester: [U0ANN]}\n"
    )
    explanation = explain(policy, Asked("x.y", None, "U0ANN"))
    assert [check.text for check in explanation.verdicts[0].checks] == [
        "action x.y matches `*`",
        "requester U0ANN is named",
    ]
    assert (
        format_explanation(explain(policy, Asked("x.y"))).count(
            "✗ requester not known, and the rule names U0ANN"
        )
        == 1
    )
