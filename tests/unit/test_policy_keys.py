"""Policy v2 keys at load: groups with Slack user groups, match keys, time and edit keys."""

from datetime import timedelta
from textwrap import dedent

import pytest

from governance.money import Money
from governance.policy import PolicyFileError, parse_policy

HEAD = dedent(
    """\
    version: 1
    groups:
      finance: [U0FIN1, U0FIN2, U0FIN3]
      sales: [U0SALES1]
      owners: [U0OWN1, "@founders"]
    defaults:
    """
)


def policy_text(rules: str = "", defaults: str = "approvers: [finance]") -> str:
    body = "".join(f"  {line}\n" for line in dedent(defaults).splitlines())
    return HEAD + body + "rules:\n" + dedent(rules)


def line_with(text: str, fragment: str, occurrence: int = 1) -> int:
    found = [n for n, line in enumerate(text.splitlines(), 1) if fragment in line]
    return found[occurrence - 1]


def issues_of(text: str) -> list[tuple[int, str]]:
    with pytest.raises(PolicyFileError) as caught:
        parse_policy(text)
    return [(issue.line, issue.message) for issue in caught.value.issues]


def only_issue(text: str) -> tuple[int, str]:
    issues = issues_of(text)
    assert len(issues) == 1, issues
    return issues[0]


def warnings_of(text: str) -> list[tuple[int, str]]:
    return [(issue.line, issue.message) for issue in parse_policy(text).warnings]


# --- groups -----------------------------------------------------------------------------


def test_groups_hold_user_ids_and_user_group_handles() -> None:
    policy = parse_policy(policy_text())
    owners = policy.group_definitions()["owners"]
    assert owners.user_ids == {"U0OWN1"}
    assert owners.handles == ("@founders",)
    assert owners.line == 5
    assert policy.groups["owners"] == {"U0OWN1"}


def test_a_group_of_only_handles_loads_and_its_quorum_is_checked_when_deciding() -> None:
    text = policy_text(
        """\
        - name: board
          action: payments.refund
          approvers: ["@board"]
          approvals: 3
        """
    )
    assert parse_policy(text).warnings == ()


@pytest.mark.parametrize(
    ("member", "message"),
    [
        (
            '"@Finance"',
            '`@Finance` is not a Slack user-group handle like "@finance-team" (lower case)',
        ),
        ('"@"', '`@` is not a Slack user-group handle like "@finance-team" (lower case)'),
        ("finance", "`finance` is not a Slack user ID like U0123ABCD or a Slack user-group handle"),
    ],
)
def test_bad_group_members(member: str, message: str) -> None:
    text = policy_text().replace('"@founders"', member)
    line, text_of_issue = only_issue(text)
    assert line == 5
    assert text_of_issue.startswith(f"groups.owners[1]: {message}")


def test_an_unquoted_handle_is_a_yaml_error_with_a_hint() -> None:
    text = policy_text().replace('"@founders"', "@founders")
    line, message = only_issue(text)
    assert line == 5
    assert message.endswith('(write Slack user-group handles in quotes: "@finance-team")')


def test_an_unquoted_glob_is_a_yaml_error_with_a_hint() -> None:
    text = policy_text("- {name: c, action: payments.*, client: *@x.example}\n")
    line, message = only_issue(text)
    assert line == line_with(text, "name: c")
    assert message.endswith('(write globs that start with * in quotes: "*@example.com")')


def test_handles_may_be_named_directly_as_approvers() -> None:
    policy = parse_policy(policy_text(defaults='approvers: [finance, "@oncall"]'))
    assert policy.defaults.approver_labels == ("finance", "@oncall")
    assert policy.defaults.approvers == {"U0FIN1", "U0FIN2", "U0FIN3"}


# --- match keys -----------------------------------------------------------------------


def test_match_keys_are_read() -> None:
    text = policy_text(
        """\
        - name: everything
          action: payments.refund
          client: "*@Crypto.Example"
          requester: [sales, U0X1]
          amount_over: 100 USD
          daily_total_over: [2000 USD, 1800 EUR]
          client_daily_total_over: 500
        """
    )
    rule = parse_policy(text).rules[0]
    assert rule.client == "*@crypto.example"  # compared case-insensitively
    assert rule.requester == ("sales", "U0X1")
    assert rule.daily_total_over is not None
    assert rule.daily_total_over.limits == (Money(200_000, "usd"), Money(180_000, "eur"))
    assert rule.client_daily_total_over is not None
    assert rule.client_daily_total_over.limits == (Money(50_000, "usd"),)
    assert not rule.forbid
    assert rule.written == {
        "name",
        "action",
        "client",
        "requester",
        "amount_over",
        "daily_total_over",
        "client_daily_total_over",
    }


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "client: ''",
            'rules[0].client must be a glob on the client\'s email, like "*@example.com"',
        ),
        ("client: [a, b]", "rules[0].client must be a glob on the client's email"),
        (
            "requester: sales",
            "rules[0].requester must be a list, like [sales] or [sales, U0123ABCD]",
        ),
        ("requester: []", "rules[0].requester must name at least one group or user ID"),
        ("requester: [salse]", "rules[0].requester[0]: `salse` names neither a group"),
        ("daily_total_over: 0 USD", "rules[0].daily_total_over: the amount must be more than zero"),
        ("client_daily_total_over: [1 USD, 2 usd]", "rules[0].client_daily_total_over has two"),
        ("forbid: yes please", "rules[0].forbid must be true or false"),
        ("forbid: 1", "rules[0].forbid must be true or false"),
    ],
)
def test_bad_match_keys(line: str, message: str) -> None:
    text = policy_text(f"- name: r\n  action: payments.refund\n  {line}\n")
    found_line, found = only_issue(text)
    assert found_line == line_with(text, line.split(":")[0] + ":")
    assert found.startswith(message), found


def test_a_forbid_rule_needs_no_approvers_and_skips_the_quorum_check() -> None:
    text = policy_text(
        """\
        - name: no-crypto
          action: payments.*
          client: "*@crypto.example"
          forbid: true
        """
    )
    policy = parse_policy(text)
    assert policy.rules[0].forbid
    assert policy.warnings == ()
    # Approvers no one could satisfy are no error on a rule that refuses anyway.
    never = policy_text("- {name: n, action: x, forbid: true, approvers: [sales], approvals: 5}\n")
    assert [message for _, message in warnings_of(never)] == [
        "rules[0] forbids what it matches, so `approvers`, `approvals` have no effect"
    ]


def test_approval_terms_on_a_forbid_rule_warn_that_they_do_nothing() -> None:
    text = policy_text(
        """\
        - name: never
          action: payments.refund
          forbid: true
          approvals: 9
          remind_after: 1h
        """
    )
    assert warnings_of(text) == [
        (
            line_with(text, "approvals: 9"),
            "rules[0] forbids what it matches, so `approvals`, `remind_after` have no effect",
        )
    ]


# --- time and edit keys ---------------------------------------------------------------

TIMED = """\
approvers: [finance]
remind_after: 2h
escalate_after: 8h
escalate_to: [owners, U0X1]
fresh_for: 1h
editable: true
approver_daily_limit: [5000 USD, 4000 EUR]
"""


def test_time_and_edit_keys_in_defaults_are_inherited_by_rules() -> None:
    text = policy_text(
        """\
        - name: quick
          action: payments.invoice
          remind_after: 30m
          editable: false
        """,
        defaults=TIMED,
    )
    policy = parse_policy(text)
    defaults = policy.defaults
    assert defaults.remind_after == timedelta(hours=2)
    assert defaults.escalate_after == timedelta(hours=8)
    assert defaults.escalate_to_labels == ("owners", "U0X1")
    assert defaults.escalate_to == {"U0OWN1", "U0X1"}
    assert defaults.fresh_for == timedelta(hours=1)
    assert defaults.editable
    assert defaults.approver_daily_limit is not None
    assert defaults.approver_daily_limit.limits == (Money(500_000, "usd"), Money(400_000, "eur"))
    quick = policy.rules[0].requirement
    assert quick.remind_after == timedelta(minutes=30)
    assert quick.escalate_after == timedelta(hours=8)
    assert quick.escalate_to_labels == ("owners", "U0X1")
    assert quick.fresh_for == timedelta(hours=1)
    assert not quick.editable
    assert quick.approver_daily_limit == defaults.approver_daily_limit
    assert policy.warnings == ()


def test_time_keys_default_to_none() -> None:
    defaults = parse_policy(policy_text()).defaults
    assert defaults.remind_after is None
    assert defaults.escalate_after is None
    assert defaults.escalate_to == frozenset()
    assert defaults.fresh_for is None
    assert not defaults.editable
    assert defaults.approver_daily_limit is None


@pytest.mark.parametrize(
    ("defaults", "fragment", "message"),
    [
        (
            "approvers: [finance]\nescalate_after: 8h",
            "escalate_after",
            "defaults.escalate_after needs escalate_to: whom to ask then",
        ),
        (
            "approvers: [finance]\nescalate_to: [owners]",
            "escalate_to",
            "defaults.escalate_to needs escalate_after: when to ask them",
        ),
        (
            "approvers: [finance]\nremind_after: 8h\nescalate_after: 8h\nescalate_to: [owners]",
            "escalate_after",
            "defaults: escalate_after (8h) must be after remind_after (8h)",
        ),
        (
            "approvers: [finance]\nescalate_to: []\nescalate_after: 8h",
            "escalate_to",
            "defaults.escalate_to must name at least one group or user ID",
        ),
        (
            "approvers: [finance]\nescalate_to: owners\nescalate_after: 8h",
            "escalate_to",
            "defaults.escalate_to must be a list, like [owners] or [owners, U0123ABCD]",
        ),
        (
            "approvers: [finance]\nescalate_to: [ownerz]\nescalate_after: 8h",
            "escalate_to",
            "defaults.escalate_to[0]: `ownerz` names neither a group (groups: finance, owners, "
            "sales), a Slack user ID like U0123ABCD, nor a Slack user-group handle like "
            '"@finance-team"',
        ),
        (
            "approvers: [finance]\nremind_after: soon",
            "remind_after",
            "defaults.remind_after: 'soon' is not a duration like 30s, 15m, 24h or 7d",
        ),
        (
            "approvers: [finance]\nfresh_for: 0s",
            "fresh_for",
            "defaults.fresh_for: a duration must be longer than zero",
        ),
        (
            "approvers: [finance]\neditable: 'yes'",
            "editable",
            "defaults.editable must be true or false",
        ),
        (
            "approvers: [finance]\napprover_daily_limit: lots",
            "approver_daily_limit",
            "defaults.approver_daily_limit: 'lots' is not an amount",
        ),
    ],
)
def test_bad_time_and_edit_keys(defaults: str, fragment: str, message: str) -> None:
    text = policy_text(defaults=defaults)
    assert only_issue(text) == (line_with(text, fragment), message)


def test_escalate_to_a_group_that_is_nobody_is_refused() -> None:
    text = (
        policy_text(defaults="approvers: [finance]").replace(
            'owners: [U0OWN1, "@founders"]', "owners: []"
        )
        + "  - name: r\n    action: x\n    escalate_after: 1h\n    escalate_to: [owners]\n"
    )
    assert only_issue(text) == (
        line_with(text, "escalate_to: [owners]"),
        "rules[0].escalate_to: nobody could be asked (owners)",
    )


def test_a_rule_breaking_the_order_of_inherited_times_is_refused_at_its_own_key() -> None:
    text = policy_text(
        """\
        - name: late-reminder
          action: payments.refund
          remind_after: 9h
        """,
        defaults=TIMED,
    )
    assert only_issue(text) == (
        line_with(text, "remind_after: 9h"),
        "rules[0]: escalate_after (8h, from defaults) must be after remind_after (9h)",
    )


def test_a_rule_escalating_without_anyone_to_ask_is_refused() -> None:
    text = policy_text("- {name: r, action: payments.refund, escalate_after: 4h}\n")
    assert only_issue(text) == (
        line_with(text, "escalate_after"),
        "rules[0].escalate_after needs escalate_to: whom to ask then",
    )


def test_reminders_after_expiry_warn() -> None:
    text = policy_text(
        """\
        - name: short
          action: payments.refund
          expires_after: 2h
        """,
        defaults=TIMED,
    )
    assert warnings_of(text) == [
        (
            line_with(text, "expires_after: 2h"),
            "rules[0]: remind_after (2h, from defaults) is not before expires_after (2h): "
            "the request expires before anyone is reminded",
        ),
        (
            line_with(text, "expires_after: 2h"),
            "rules[0]: escalate_after (8h, from defaults) is not before expires_after (2h): "
            "the request expires before anyone is asked",
        ),
    ]


def test_all_errors_of_the_new_keys_are_collected_with_lines() -> None:
    text = dedent(
        """\
        version: 1
        groups:
          finance: [U0FIN1, "@Fin"]
        defaults:
          approvers: [finance]
          remind_after: 3h
          escalate_after: 2h
          escalate_to: [U0FIN1]
        rules:
          - name: a
            action: payments.refund
            client: 5
            requester: [nobody]
            forbid: maybe
            daily_total_over: lots
            editable: sometimes
        """
    )
    assert [line for line, _ in issues_of(text)] == [3, 7, 12, 13, 14, 15, 16]


# --- shadowing with the new match keys -------------------------------------------------


@pytest.mark.parametrize(
    ("earlier", "later", "shadowed"),
    [
        ("client: '*@x.example'", "client: 'a@x.example'", True),
        ("client: '*@x.example'", "client: '*@y.example'", False),
        ("client: '*@x.example'", "", False),
        ("", "client: 'a@x.example'", True),
        ("requester: [sales, U0X1]", "requester: [U0X1]", True),
        ("requester: [U0X1]", "requester: [sales, U0X1]", False),
        ("requester: [sales]", "requester: [U0SALES1]", False),  # groups change; not assumed
        ("requester: [sales]", "", False),
        ("daily_total_over: 100 USD", "daily_total_over: 200 USD", True),
        ("daily_total_over: 200 USD", "daily_total_over: 100 USD", False),
        ("daily_total_over: 100 USD", "amount_over: 100 USD", True),  # total ≥ the amount
        ("daily_total_over: 100 USD", "", False),
        ("amount_over: 100 USD", "daily_total_over: 500 USD", False),
        ("client_daily_total_over: 100 USD", "client_daily_total_over: 100 USD", True),
        ("client_daily_total_over: 100 USD", "amount_over: 200 USD", False),  # maybe no client
        (
            "client_daily_total_over: 100 USD",
            "amount_over: 200 USD\n  client: '*@x.example'",
            True,
        ),
        ("forbid: true", "approvals: 2", True),
    ],
)
def test_shadowing_with_new_keys(earlier: str, later: str, shadowed: bool) -> None:
    def rule(name: str, extra: str) -> str:
        return f"- name: {name}\n  action: payments.refund\n" + (f"  {extra}\n" if extra else "")

    text = policy_text(rule("first", earlier) + rule("second", later))
    expected = (
        [
            (
                line_with(text, "name: second"),
                "rule `second` can never apply: rule `first` above it matches every request "
                "it would",
            )
        ]
        if shadowed
        else []
    )
    assert warnings_of(text) == expected


def test_the_quorum_check_still_counts_user_ids_when_no_handle_is_involved() -> None:
    text = policy_text("- {name: r, action: x, approvers: [owners, sales], approvals: 3}\n")
    assert parse_policy(text).warnings == ()  # owners holds a handle: decided later
    text = policy_text("- {name: r, action: x, approvers: [sales, U0X1], approvals: 3}\n")
    assert only_issue(text) == (
        line_with(text, "name: r"),
        "rules[0].approvals is 3, but only 2 people could ever approve (sales, U0X1)",
    )
