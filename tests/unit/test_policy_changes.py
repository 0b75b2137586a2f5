"""`describe_changes`: what an edit of the policy file changed, in readable lines."""

from __future__ import annotations

from textwrap import dedent

from governance.policy import describe_changes, parse_policy

BEFORE = dedent(
    """\
    version: 1
    groups:
      finance: [U0FIN1, U0FIN2, U0FIN3]
      sales: [U0SALES1]
    defaults:
      approvers: [finance]
      expires_after: 24h
    rules:
      - name: parliament
        action: payments.refund
        amount_over: 10000 USD
        approvals: 2
      - name: invoices
        action: payments.*
        approvers: [finance, sales]
    """
)


def changes(after: str, before: str = BEFORE) -> list[str]:
    return describe_changes(parse_policy(before), parse_policy(after))


def test_no_change_in_meaning_gives_no_lines() -> None:
    assert changes(BEFORE + "# a comment\n") == []
    assert changes(BEFORE.replace("24h", "1d")) == []


def test_group_members_added_and_removed() -> None:
    after = BEFORE.replace("[U0FIN1, U0FIN2, U0FIN3]", '[U0FIN1, U0FIN4, "@finance-team"]')
    assert changes(after) == [
        "group `finance`: added @finance-team, U0FIN4; removed U0FIN2, U0FIN3",
    ]


def test_groups_added_and_removed() -> None:
    after = BEFORE.replace("  sales: [U0SALES1]\n", "  owners: [U0OWN1]\n").replace(
        "[finance, sales]", "[finance, U0SALES1]"
    )
    assert changes(after) == [
        "group `owners` added: U0OWN1",
        "group `sales` removed (it was U0SALES1)",
        "rule `invoices`: approvers finance, sales → finance, U0SALES1",
    ]


def test_defaults_changed() -> None:
    after = BEFORE.replace(
        "  expires_after: 24h\n",
        "  expires_after: 12h\n  remind_after: 1h\n  escalate_after: 2h\n  escalate_to: [sales]\n",
    )
    assert changes(after) == [
        "defaults: expires_after 1d → 12h; remind_after none → 1h; escalate_after none → 2h; "
        "escalate_to none → sales"
    ]


def test_a_rule_changed_names_each_key() -> None:
    after = BEFORE.replace("amount_over: 10000 USD", "amount_over: [5000 USD, 4000 EUR]").replace(
        "approvals: 2", "approvals: 3\n    client: '*@big.example'\n    editable: true"
    )
    assert changes(after) == [
        "rule `parliament`: amount_over $10,000.00 → $5,000.00 or 4,000.00 EUR; "
        "client none → *@big.example; approvals 2 → 3; editable no → yes"
    ]


def test_terms_a_rule_inherits_are_reported_once_at_the_defaults() -> None:
    after = BEFORE.replace("  expires_after: 24h", "  expires_after: 24h\n  fresh_for: 1h")
    assert changes(after) == ["defaults: fresh_for none → 1h"]


def test_a_rule_that_stops_setting_a_key_shows_the_inherited_value() -> None:
    after = BEFORE.replace("    approvals: 2\n", "")
    assert changes(after) == ["rule `parliament`: approvals 2 → 1"]


def test_rules_added_removed_and_reordered() -> None:
    after = dedent(
        """\
        version: 1
        groups:
          finance: [U0FIN1, U0FIN2, U0FIN3]
          sales: [U0SALES1]
        defaults:
          approvers: [finance]
          expires_after: 24h
        rules:
          - name: no-crypto
            action: payments.*
            client: "*@crypto.example"
            forbid: true
          - name: invoices
            action: payments.*
            approvers: [finance, sales]
        """
    )
    assert changes(after) == [
        "rule `parliament` removed",
        "rule `no-crypto` added at position 1 (line 9): action payments.*, "
        "client *@crypto.example, forbid yes",
    ]
    reordered = changes(
        BEFORE.replace("name: parliament", "name: TEMP")
        .replace("name: invoices", "name: parliament")
        .replace("name: TEMP", "name: invoices")
    )
    assert reordered[0] == "rules reordered: parliament, invoices → invoices, parliament"
