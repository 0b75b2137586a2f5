"""Policy v2 decisions: `Policy.decide(Asked(...), totals, directory)`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from fnmatch import fnmatchcase
from textwrap import dedent

import pytest

from governance.money import Money
from governance.policy import (
    AmountOver,
    Asked,
    Decision,
    Policy,
    Requirement,
    approver_limit_refusal,
    check_directory,
    parse_policy,
)

POLICY = dedent(
    """\
    version: 1
    groups:
      finance: [U0FIN1, U0FIN2, "@finance-team"]
      sales: [U0SALES1, "@sales-team"]
      owners: [U0OWN1, "@founders"]
      board: ["@board"]
    defaults:
      approvers: [finance]
      remind_after: 2h
      escalate_after: 8h
      escalate_to: [owners]
      fresh_for: 1h
      approver_daily_limit: 5000 USD
    rules:
      - name: no-crypto
        action: payments.*
        client: "*@crypto.example"
        forbid: true
      - name: board-refunds
        action: payments.refund
        amount_over: [50000 USD, 50000 EUR, 50000 GBP]
        approvers: [board]
        approvals: 2
      - name: daily-refunds
        action: payments.refund
        daily_total_over: [2000 USD, 1500 EUR]
        approvals: 2
      - name: big-client
        action: payments.invoice
        client_daily_total_over: 3000 USD
        approvals: 2
        escalate_after: 4h
      - name: sales-asks
        action: payments.invoice
        requester: [sales, U0X1]
        approvers: [finance, sales]
        editable: true
        expires_after: 7d
    """
)


@dataclass
class FakeDirectory:
    groups: Mapping[str, frozenset[str]] = field(
        default_factory=lambda: {
            "@finance-team": frozenset({"U0FIN3", "U0FIN2"}),
            "@sales-team": frozenset({"U0SALES2"}),
            "@founders": frozenset({"U0OWN2"}),
            "@board": frozenset({"U0B1", "U0B2", "U0B3"}),
        }
    )
    asked: list[str] = field(default_factory=list)

    def members(self, handle: str) -> frozenset[str] | None:
        self.asked.append(handle)
        return self.groups.get(handle)


@dataclass
class FakeTotals:
    """Today's counted requests: (action, client, Money), plus approvals per person."""

    requests: list[tuple[str, str | None, Money]] = field(default_factory=list)
    approved: dict[tuple[str, str], int] = field(default_factory=dict)
    calls: list[tuple[str, str, str | None, str | None]] = field(default_factory=list)

    def today(
        self, action_glob: str, currency: str, client_glob: str | None, client: str | None
    ) -> int:
        self.calls.append((action_glob, currency, client_glob, client))
        return sum(
            amount.minor
            for action, email, amount in self.requests
            if fnmatchcase(action, action_glob)
            and amount.currency == currency
            and (
                client_glob is None
                or (email is not None and fnmatchcase(email.lower(), client_glob))
            )
            and (client is None or (email is not None and email.lower() == client.lower()))
        )

    def approved_today(self, user_id: str, currency: str) -> int:
        return self.approved.get((user_id, currency), 0)


@pytest.fixture(scope="module")
def policy() -> Policy:
    return parse_policy(POLICY)


def usd(dollars: int) -> Money:
    return Money(dollars * 100, "usd")


def decide(
    policy: Policy, asked: Asked, totals: FakeTotals | None = None, directory: object = "default"
) -> Decision:
    chosen = FakeDirectory() if directory == "default" else directory
    return policy.decide(asked, totals or FakeTotals(), chosen)  # type: ignore[arg-type]


# --- forbid and client ------------------------------------------------------------------


def test_a_forbid_rule_refuses_naming_the_rule_and_why(policy: Policy) -> None:
    decision = decide(policy, Asked("payments.invoice", usd(10), "U0SALES1", "Bob@Crypto.Example"))
    assert decision.forbidden
    assert decision.rule_name == "no-crypto"
    assert decision.refusal == (
        "Rule “no-crypto” forbids this: action payments.invoice matches `payments.*`; "
        "client Bob@Crypto.Example matches `*@crypto.example`."
    )
    assert decision.describe() == "forbidden by rule “no-crypto”"
    assert decision.approvers == frozenset()
    assert not decision.is_met(["U0FIN1", "U0FIN2", "U0FIN3"], "U0SALES1")
    assert not decision.can_be_met("U0SALES1")


def test_a_request_without_a_client_never_matches_a_rule_that_names_one(policy: Policy) -> None:
    assert decide(policy, Asked("payments.subscription", usd(1), "U0X9")).rule_name == "defaults"


def test_client_globs_are_case_insensitive_and_whole(policy: Policy) -> None:
    for client, rule in [
        ("a@CRYPTO.example", "no-crypto"),
        ("a@crypto.example.org", "defaults"),
        ("a@notcrypto.example", "defaults"),
    ]:
        assert decide(policy, Asked("payments.cancel", usd(1), "U0X9", client)).rule_name == rule


# --- requester --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requester", "rule"),
    [
        ("U0SALES1", "sales-asks"),  # a user ID in the group
        ("U0SALES2", "sales-asks"),  # through the Slack user group @sales-team
        ("U0X1", "sales-asks"),  # named directly
        ("U0FIN1", "defaults"),
        (None, "defaults"),  # unknown requester: a rule naming requesters never matches
    ],
)
def test_requester_matches_groups_handles_and_user_ids(
    policy: Policy, requester: str | None, rule: str
) -> None:
    asked = Asked("payments.invoice", usd(10), requester, "a@b.example")
    assert decide(policy, asked).rule_name == rule


def test_without_a_directory_handles_hold_nobody(policy: Policy) -> None:
    asked = Asked("payments.invoice", usd(10), "U0SALES2", "a@b.example")
    decision = policy.decide(asked, FakeTotals())
    assert decision.rule_name == "defaults"
    assert decision.approvers == {"U0FIN1", "U0FIN2"}
    assert "Slack user group @finance-team was not looked up (no directory): it counts nobody" in (
        decision.warnings
    )


# --- what a decision carries ------------------------------------------------------------


def test_a_decision_carries_every_term_resolved(policy: Policy) -> None:
    asked = Asked("payments.invoice", usd(10), "U0SALES1", "a@b.example")
    decision = decide(policy, asked)
    assert decision.rule_name == "sales-asks"
    assert decision.asked == asked
    assert not decision.forbidden
    assert decision.refusal is None
    assert decision.approvals_required == 1
    assert decision.approver_labels == ("finance", "sales")
    assert decision.approvers == {"U0FIN1", "U0FIN2", "U0FIN3", "U0SALES1", "U0SALES2"}
    assert decision.eligible("U0SALES1") == {"U0FIN1", "U0FIN2", "U0FIN3", "U0SALES2"}
    assert decision.expires_after == timedelta(days=7)
    assert decision.remind_after == timedelta(hours=2)
    assert decision.escalate_after == timedelta(hours=8)
    assert decision.escalate_to_labels == ("owners",)
    assert decision.escalate_to == {"U0OWN1", "U0OWN2"}
    assert decision.fresh_for == timedelta(hours=1)
    assert decision.editable
    assert decision.approver_daily_limit == AmountOver((usd(5000),))
    assert decision.describe() == "1 approval from finance or sales"
    assert decision.warnings == ()
    assert isinstance(decision, Requirement)  # every Requirement helper works on it


def test_an_unknown_handle_warns_and_counts_nobody(policy: Policy) -> None:
    directory = FakeDirectory({"@finance-team": frozenset({"U0FIN3"})})
    decision = decide(policy, Asked("jobs.watch", None, "U0X9"), directory=directory)
    assert decision.approvers == {"U0FIN1", "U0FIN2", "U0FIN3"}
    assert decision.escalate_to == {"U0OWN1"}
    assert decision.warnings == ("Slack user group @founders is unknown: it counts nobody",)


def test_a_rule_nobody_can_meet_refuses_with_a_clear_reason(policy: Policy) -> None:
    asked = Asked("payments.refund", usd(60_000), "U0FIN1")
    decision = decide(policy, asked, directory=FakeDirectory({}))
    assert decision.rule_name == "board-refunds"
    assert not decision.forbidden
    assert decision.refusal == (
        "Rule “board-refunds” needs 2 approvals from board, and nobody other than you may "
        "approve (Slack user group @board is unknown: it counts nobody)."
    )


def test_the_requester_is_left_out_when_counting_who_could_approve(policy: Policy) -> None:
    directory = FakeDirectory({"@board": frozenset({"U0B1", "U0B2"})})
    by_outsider = decide(policy, Asked("payments.refund", usd(60_000), "U0X9"), directory=directory)
    assert by_outsider.refusal is None
    by_member = decide(policy, Asked("payments.refund", usd(60_000), "U0B1"), directory=directory)
    assert by_member.refusal == (
        "Rule “board-refunds” needs 2 approvals from board, and only 1 person other than you "
        "may approve."
    )


def test_the_directory_is_asked_only_for_what_the_decision_needs(policy: Policy) -> None:
    directory = FakeDirectory()
    decide(policy, Asked("jobs.watch", None, "U0X9"), directory=directory)
    assert sorted(set(directory.asked)) == ["@finance-team", "@founders"]


# --- daily totals ---------------------------------------------------------------------


def test_daily_total_counts_todays_requests_and_this_one(policy: Policy) -> None:
    totals = FakeTotals([("payments.refund", None, usd(1200))])
    asked = Asked("payments.refund", usd(500), "U0X9")
    assert decide(policy, asked, totals).rule_name == "defaults"  # 1,700 not over 2,000
    assert ("payments.refund", "usd", None, None) in totals.calls
    totals.requests.append(("payments.refund", None, usd(300)))
    assert decide(policy, asked, totals).rule_name == "defaults"  # exactly 2,000: not over
    totals.requests.append(("payments.refund", None, Money(1, "usd")))
    assert decide(policy, asked, totals).rule_name == "daily-refunds"


def test_daily_totals_never_mix_currencies(policy: Policy) -> None:
    totals = FakeTotals([("payments.refund", None, usd(1999))])
    assert decide(policy, Asked("payments.refund", Money(100, "eur")), totals).rule_name == (
        "defaults"
    )
    assert totals.calls == [("payments.refund", "eur", None, None)]


def test_a_currency_the_daily_total_does_not_name_counts_as_over(policy: Policy) -> None:
    totals = FakeTotals()
    decision = decide(policy, Asked("payments.refund", Money(100, "gbp"), "U0X9"), totals)
    assert decision.rule_name == "daily-refunds"
    assert totals.calls == []  # no total could make it under


def test_unknown_totals_or_amount_count_as_over(policy: Policy) -> None:
    assert policy.decide(Asked("payments.refund", usd(1), "U0X9")).rule_name == "daily-refunds"
    assert decide(policy, Asked("payments.refund", None, "U0X9")).rule_name == "board-refunds"


def test_client_daily_total_counts_only_that_client(policy: Policy) -> None:
    totals = FakeTotals(
        [
            ("payments.invoice", "big@corp.example", usd(2800)),
            ("payments.invoice", "other@corp.example", usd(5000)),
        ]
    )
    small = Asked("payments.invoice", usd(100), "U0X9", "Big@Corp.example")
    assert decide(policy, small, totals).rule_name == "defaults"
    assert totals.calls[-1] == ("payments.invoice", "usd", None, "Big@Corp.example")
    bigger = Asked("payments.invoice", usd(201), "U0X9", "big@corp.example")
    decision = decide(policy, bigger, totals)
    assert decision.rule_name == "big-client"
    assert decision.escalate_after == timedelta(hours=4)
    no_client = Asked("payments.invoice", usd(100_000), "U0X9")
    assert decide(policy, no_client, totals).rule_name == "defaults"


# --- the per-approver daily limit -------------------------------------------------------


def test_approver_limit_allows_up_to_the_limit_and_no_more() -> None:
    limit = AmountOver((usd(5000), Money(400_000, "eur")))
    assert approver_limit_refusal(limit, usd(1000), 400_000) is None  # exactly 5,000
    assert approver_limit_refusal(limit, usd(1000), 400_001) == (
        "you have approved $4,000.01 today; $1,000.00 more would make $5,000.01, over your "
        "daily approval limit of $5,000.00"
    )
    assert approver_limit_refusal(limit, Money(100, "eur"), 10**9 - 1) is not None
    assert approver_limit_refusal(None, usd(10**6), 10**9) is None


def test_approver_limit_refuses_what_it_cannot_measure() -> None:
    limit = AmountOver((usd(5000),))
    assert approver_limit_refusal(limit, None, 0) == (
        "the amount is not known yet, so it cannot be shown to be within your daily approval "
        "limit of $5,000.00"
    )
    assert approver_limit_refusal(limit, Money(1, "gbp"), 0) == (
        "your daily approval limit ($5,000.00) names no limit in GBP, so you may not approve "
        "0.01 GBP"
    )


def test_the_limit_of_the_rule_a_request_was_decided_under(policy: Policy) -> None:
    assert policy.approver_daily_limit("defaults") == AmountOver((usd(5000),))
    assert policy.approver_daily_limit("sales-asks") == AmountOver((usd(5000),))
    assert policy.approver_daily_limit("gone") is None
    assert policy.terms_of("gone") is None


# --- the older API ---------------------------------------------------------------------


def test_decide_with_action_and_amount_still_gives_the_static_requirement(policy: Policy) -> None:
    requirement = policy.decide("payments.refund", usd(60_000))
    assert type(requirement) is Requirement
    assert requirement.rule_name == "board-refunds"
    assert requirement.approvers == frozenset()  # handles are only looked up by the new form
    assert policy.decide("jobs.watch", None) == policy.defaults


def test_decide_refuses_an_amount_with_an_asked(policy: Policy) -> None:
    with pytest.raises(TypeError):
        policy.decide(Asked("payments.refund"), usd(1))  # type: ignore[call-overload]


# --- checking a policy against the directory --------------------------------------------


def test_check_directory_reports_unknown_handles_and_rules_nobody_can_meet(
    policy: Policy,
) -> None:
    directory = FakeDirectory(
        {"@finance-team": frozenset({"U0FIN3"}), "@board": frozenset({"U0B1", "U0B2"})}
    )
    report = check_directory(policy, directory)
    assert [(issue.line, issue.message) for issue in report.warnings] == [
        (4, "groups.sales: Slack user group @sales-team is unknown: it counts nobody"),
        (5, "groups.owners: Slack user group @founders is unknown: it counts nobody"),
        (
            19,
            "rule `board-refunds` needs 2 approvals from board: a request made by one of them "
            "can never be approved now",
        ),
    ]
    assert report.errors == ()
    empty = check_directory(policy, FakeDirectory({}))
    assert [(issue.line, issue.message) for issue in empty.errors] == [
        (19, "rule `board-refunds` needs 2 approvals, but nobody could approve now (board)"),
    ]
    assert str(empty.errors[0]) == (
        "policy.yml:19: rule `board-refunds` needs 2 approvals, but nobody could approve now "
        "(board)"
    )


def test_check_directory_names_handles_written_directly_once() -> None:
    policy = parse_policy(
        dedent(
            """\
            version: 1
            defaults:
              approvers: [U0A1, "@ops"]
              escalate_after: 1h
              escalate_to: ["@leads"]
            rules:
              - name: from-interns
                action: payments.*
                requester: ["@interns"]
              - name: pair
                action: payments.refund
                approvals: 2
            """
        )
    )
    report = check_directory(policy, FakeDirectory({}))
    assert [(issue.line, issue.message) for issue in report.warnings] == [
        (3, "defaults: Slack user group @ops is unknown: it counts nobody"),
        (3, "defaults: Slack user group @leads is unknown: it counts nobody"),
        (
            3,
            "defaults needs 1 approval from U0A1, @ops: a request made by one of them can "
            "never be approved now",
        ),
        (3, "defaults: nobody to escalate to now (@leads)"),
        (7, "rule `from-interns`: Slack user group @interns is unknown: it counts nobody"),
    ]
    assert [(issue.line, issue.message) for issue in report.errors] == [
        (10, "rule `pair` needs 2 approvals, but only 1 person could approve now (U0A1, @ops)"),
    ]
    known = FakeDirectory(
        {"@ops": frozenset({"U0A2"}), "@leads": frozenset({"U0L"}), "@interns": frozenset()}
    )
    assert check_directory(policy, known).errors == ()


def test_the_older_form_gives_a_forbidding_rule_no_approvers() -> None:
    policy = parse_policy(
        "version: 1\ndefaults:\n  approvers: [U0A1, U0A2]\n"
        "rules:\n  - {name: never, action: payments.refund, forbid: true}\n"
    )
    requirement = policy.decide("payments.refund", usd(1))
    assert requirement.rule_name == "never"
    assert not requirement.can_be_met("U0X9")


def test_a_refusal_names_an_unknown_handle_met_earlier_while_matching() -> None:
    policy = parse_policy(
        dedent(
            """\
            version: 1
            groups:
              ops: ["@ops"]
            defaults:
              approvers: [ops]
            rules:
              - {name: from-ops, action: '*', requester: [ops]}
            """
        )
    )
    decision = policy.decide(Asked("x.y", None, "U0X9"), None, FakeDirectory({}))
    assert decision.rule_name == "defaults"
    assert decision.refusal == (
        "Rule “defaults” needs 1 approval from ops, and nobody other than you may approve "
        "(Slack user group @ops is unknown: it counts nobody)."
    )
