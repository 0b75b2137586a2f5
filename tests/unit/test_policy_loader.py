import hashlib
from datetime import timedelta
from pathlib import Path
from textwrap import dedent

import pytest

from governance.errors import GovernanceError, PolicyError
from governance.money import Money
from governance.policy import PolicyFileError, PolicyIssue, load_policy, parse_policy
from governance.policy.issues import WHOLE_FILE

TEMPLATE = Path(__file__).parents[2] / "bot" / "templates" / "policy.yml"

CONTRACT_EXAMPLE = dedent(
    """\
    version: 1
    groups:                    # Slack user IDs
      finance: [U0FIN1, U0FIN2, U0FIN3]
      sales: [U0SALES1]
    defaults:
      approvers: [finance]     # group names or user IDs
      approvals: 1
      expires_after: 24h
    rules:                     # the first rule that matches wins; none: defaults
      - name: parliament
        action: payments.refund
        amount_over: 10000 USD
        approvals: 2
        approvers: [finance]
      - name: invoices
        action: payments.*
        approvers: [finance, sales]
    """
)


def with_rules(rules: str, defaults: str = "approvers: [finance]") -> str:
    """A valid head (groups and defaults) followed by `rules`."""
    head = dedent(
        """\
        version: 1
        groups:
          finance: [U0FIN1, U0FIN2, U0FIN3]
          sales: [U0SALES1]
        defaults:
        """
    )
    body = "".join(f"  {line}\n" for line in dedent(defaults).splitlines())
    return head + body + "rules:\n" + dedent(rules)


def line_with(text: str, fragment: str, occurrence: int = 1) -> int:
    """The 1-based number of the line holding the `occurrence`-th `fragment`."""
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


# --- files that load ---------------------------------------------------------------


def test_loads_the_contract_example() -> None:
    policy = parse_policy(CONTRACT_EXAMPLE)
    assert policy.groups == {
        "finance": frozenset({"U0FIN1", "U0FIN2", "U0FIN3"}),
        "sales": frozenset({"U0SALES1"}),
    }
    assert policy.defaults.rule_name == "defaults"
    assert policy.defaults.approvals_required == 1
    assert policy.defaults.expires_after == timedelta(hours=24)
    parliament, invoices = policy.rules
    assert (parliament.name, parliament.action) == ("parliament", "payments.refund")
    assert parliament.amount_over is not None
    assert parliament.amount_over.limits == (Money(1_000_000, "usd"),)
    assert parliament.requirement.approvals_required == 2
    assert parliament.line == 10
    assert invoices.amount_over is None
    assert invoices.requirement.approvers == {"U0FIN1", "U0FIN2", "U0FIN3", "U0SALES1"}
    assert invoices.requirement.approver_labels == ("finance", "sales")
    assert policy.warnings == ()


def test_the_starter_template_loads_without_errors_or_warnings() -> None:
    policy = load_policy(TEMPLATE)
    assert policy.warnings == ()
    assert [rule.name for rule in policy.rules] == [
        "no-crypto",
        "parliament",
        "daily-refunds",
        "sales-asks",
        "invoices",
    ]
    # It shows every key a policy may hold.
    text = TEMPLATE.read_text(encoding="utf-8")
    for key in (
        "remind_after:",
        "escalate_after:",
        "escalate_to:",
        "fresh_for:",
        "editable:",
        "approver_daily_limit:",
        "client:",
        "requester:",
        "daily_total_over:",
        "client_daily_total_over:",
        "forbid:",
        '"@',
    ):
        assert key in text, key


def test_digest_is_the_sha256_of_the_file_bytes(tmp_path: Path) -> None:
    path = tmp_path / "policy.yml"
    path.write_bytes(CONTRACT_EXAMPLE.encode())
    assert load_policy(path).digest == hashlib.sha256(path.read_bytes()).hexdigest()
    assert parse_policy(CONTRACT_EXAMPLE).digest == load_policy(path).digest


def test_digest_changes_with_any_byte_even_a_comment() -> None:
    first = parse_policy(CONTRACT_EXAMPLE).digest
    assert parse_policy(CONTRACT_EXAMPLE + "# reviewed\n").digest != first
    assert parse_policy(CONTRACT_EXAMPLE.replace("24h", "1d")).digest != first


def test_rules_inherit_what_they_leave_out_from_defaults() -> None:
    policy = parse_policy(
        with_rules(
            """\
            - name: slow
              action: payments.invoice
              expires_after: 7d
            """,
            defaults="approvers: [sales]\napprovals: 1\nexpires_after: 2h",
        )
    )
    requirement = policy.rules[0].requirement
    assert requirement.rule_name == "slow"
    assert requirement.approvers == {"U0SALES1"}
    assert requirement.expires_after == timedelta(days=7)


def test_defaults_may_leave_out_approvals_and_expiry() -> None:
    policy = parse_policy(with_rules("", defaults="approvers: [U0OWNER1, finance]"))
    assert policy.defaults.approvals_required == 1
    assert policy.defaults.expires_after == timedelta(hours=24)
    assert policy.defaults.approvers == {"U0OWNER1", "U0FIN1", "U0FIN2", "U0FIN3"}


def test_groups_and_rules_may_be_left_out_or_empty() -> None:
    policy = parse_policy("version: 1\ngroups:\ndefaults:\n  approvers: [U0OWNER1, W0OWNER2]\n")
    assert policy.groups == {}
    assert policy.rules == ()


def test_amount_over_accepts_one_limit_per_currency() -> None:
    policy = parse_policy(
        with_rules(
            """\
            - name: big
              action: payments.refund
              amount_over: [10000 USD, 9000 EUR, 1000000 JPY]
            """
        )
    )
    assert policy.rules[0].amount_over is not None
    assert policy.rules[0].amount_over.limits == (
        Money(1_000_000, "usd"),
        Money(900_000, "eur"),
        Money(1_000_000, "jpy"),
    )


def test_amount_without_currency_uses_the_default_currency() -> None:
    text = with_rules("- {name: big, action: payments.refund, amount_over: 500}\n")
    assert parse_policy(text).rules[0].amount_over.limits == (Money(50_000, "usd"),)  # type: ignore[union-attr]
    in_euros = parse_policy(text, default_currency="eur")
    assert in_euros.rules[0].amount_over.limits == (Money(50_000, "eur"),)  # type: ignore[union-attr]


def test_amount_is_read_as_written_never_through_a_float() -> None:
    text = with_rules("- {name: big, action: payments.refund, amount_over: 10000.10}\n")
    assert parse_policy(text).rules[0].amount_over.limits == (Money(1_000_010, "usd"),)  # type: ignore[union-attr]


# --- errors, each with its line ----------------------------------------------------


def test_issue_reads_as_source_line_and_message() -> None:
    issue = PolicyIssue(12, "rules[0].approvals must be a whole number ≥ 1")
    assert str(issue) == "policy.yml:12: rules[0].approvals must be a whole number ≥ 1"
    assert str(PolicyIssue(WHOLE_FILE, "is empty", "p.yml")) == "p.yml: is empty"


def test_error_names_the_source_and_lists_every_issue() -> None:
    text = CONTRACT_EXAMPLE.replace("approvals: 2", "approvals: 0").replace("24h", "1y")
    with pytest.raises(PolicyFileError) as caught:
        parse_policy(text, "conf/policy.yml")
    assert str(caught.value).splitlines() == [
        "conf/policy.yml:8: defaults.expires_after: '1y' is not a duration like "
        "30s, 15m, 24h or 7d",
        "conf/policy.yml:13: rules[0].approvals must be a whole number ≥ 1",
    ]


def test_policy_file_error_is_a_governance_error() -> None:
    assert issubclass(PolicyFileError, PolicyError)
    assert issubclass(PolicyFileError, GovernanceError)


def test_not_yaml() -> None:
    line, message = only_issue("version: 1\ngroups:\n  finance: [U0FIN1\ndefaults: {}\n")
    assert line == 4
    assert message.startswith("is not valid YAML")


def test_tabs_are_not_yaml() -> None:
    line, message = only_issue("version: 1\ndefaults:\n\tapprovers: [U0FIN1]\n")
    assert line == 3
    assert "is not valid YAML" in message


def test_empty_file() -> None:
    assert only_issue("# nothing yet\n") == (
        WHOLE_FILE,
        "is empty; it must start with `version: 1`",
    )


@pytest.mark.parametrize("text", ["- version: 1\n", "just words\n", "42\n"])
def test_not_a_mapping(text: str) -> None:
    assert only_issue(text) == (1, "the file must be a mapping of keys to values")


def test_missing_version() -> None:
    text = CONTRACT_EXAMPLE.replace("version: 1\n", "")
    assert only_issue(text) == (1, "missing `version: 1`")


@pytest.mark.parametrize("value", ["2", "'1'", "true", "1.0", "[1]"])
def test_wrong_version(value: str) -> None:
    text = "# policy\n" + CONTRACT_EXAMPLE.replace("version: 1", f"version: {value}")
    assert only_issue(text) == (2, "version must be 1, the version this program reads")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("rules:", "rule:", "unknown key `rule` at the top level (did you mean `rules`?)"),
        (
            "  approvals: 1",
            "  aprovals: 1",
            "unknown key `aprovals` in defaults (did you mean `approvals`?)",
        ),
        (
            "    approvals: 2",
            "    approvls: 2",
            "unknown key `approvls` in rules[0] (did you mean `approvals`?)",
        ),
        ("    approvals: 2", "    colour: red", "unknown key `colour` in rules[0]"),
        ("    approvals: 2", "    remind: 2h", "unknown key `remind` in rules[0]"),
        (
            "  approvals: 1",
            "  daily_total_over: 100 USD",
            "unknown key `daily_total_over` in defaults",
        ),
        (
            "    approvals: 2",
            "    escalate_aftr: 2h",
            "unknown key `escalate_aftr` in rules[0] (did you mean `escalate_after`?)",
        ),
    ],
)
def test_unknown_keys(old: str, new: str, message: str) -> None:
    text = CONTRACT_EXAMPLE.replace(old, new, 1)
    assert only_issue(text) == (line_with(text, new), message)


def test_a_key_written_twice() -> None:
    text = CONTRACT_EXAMPLE.replace("    approvals: 2\n", "    approvals: 2\n    approvals: 3\n")
    assert only_issue(text) == (
        line_with(text, "approvals: 3"),
        "`approvals` is written twice in rules[0]",
    )


def test_group_member_that_is_not_a_user_id() -> None:
    text = CONTRACT_EXAMPLE.replace("U0FIN2", "alice")
    assert only_issue(text) == (
        3,
        "groups.finance[1]: `alice` is not a Slack user ID like U0123ABCD "
        'or a Slack user-group handle like "@finance-team"',
    )


def test_user_group_handles_are_read_with_the_user_ids() -> None:
    text = CONTRACT_EXAMPLE.replace("U0FIN2", '"@finance-team"')
    policy = parse_policy(text)
    assert policy.groups["finance"] == {"U0FIN1", "U0FIN3"}  # user IDs only
    assert policy.group_definitions()["finance"].handles == ("@finance-team",)


def test_group_members_must_be_a_list() -> None:
    text = CONTRACT_EXAMPLE.replace("[U0SALES1]", "U0SALES1")
    assert only_issue(text) == (
        4,
        'groups.sales must be a list, like [U0123ABCD, "@finance-team"]',
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("UFINANCE", "group name `UFINANCE` looks like a Slack user ID; use lower case"),
        ("big team", "group name `big team` may hold only letters, digits, `-`, `_`, `.`"),
    ],
)
def test_bad_group_names(name: str, message: str) -> None:
    text = CONTRACT_EXAMPLE.replace("  sales: [U0SALES1]", f"  sales: [U0SALES1]\n  {name}: [U0X1]")
    assert only_issue(text) == (5, message)


def test_approver_that_is_neither_a_group_nor_a_user_id() -> None:
    text = CONTRACT_EXAMPLE.replace("approvers: [finance, sales]", "approvers: [finance, sails]")
    assert only_issue(text) == (
        17,
        "rules[1].approvers[1]: `sails` names neither a group (groups: finance, sales), "
        'a Slack user ID like U0123ABCD, nor a Slack user-group handle like "@finance-team"',
    )


def test_a_broken_group_is_reported_once_not_where_it_is_used() -> None:
    text = CONTRACT_EXAMPLE.replace("U0SALES1", "bob")
    assert issues_of(text) == [
        (
            4,
            "groups.sales[0]: `bob` is not a Slack user ID like U0123ABCD "
            'or a Slack user-group handle like "@finance-team"',
        )
    ]


@pytest.mark.parametrize(
    ("approvers", "message"),
    [
        ("[]", "defaults.approvers must name at least one group or user ID"),
        ("finance", "defaults.approvers must be a list, like [finance] or [finance, U0123ABCD]"),
    ],
)
def test_approvers_must_be_a_non_empty_list(approvers: str, message: str) -> None:
    text = CONTRACT_EXAMPLE.replace("approvers: [finance]     #", f"approvers: {approvers}  #")
    assert only_issue(text) == (6, message)


@pytest.mark.parametrize("value", ["0", "-1", "1.5", "two", "true", "[2]", "''"])
def test_approvals_must_be_a_positive_whole_number(value: str) -> None:
    text = CONTRACT_EXAMPLE.replace("approvals: 2", f"approvals: {value}")
    assert only_issue(text) == (13, "rules[0].approvals must be a whole number ≥ 1")


def test_defaults_asking_more_approvals_than_people_are_refused() -> None:
    text = CONTRACT_EXAMPLE.replace("  approvals: 1", "  approvals: 4")
    assert only_issue(text) == (
        7,
        "defaults.approvals is 4, but only 3 people could ever approve (finance)",
    )


def test_a_rule_asking_more_approvals_than_people_is_refused() -> None:
    text = with_rules(
        """\
        - name: sales-pair
          action: payments.invoice
          approvers: [sales]
          approvals: 2
        """
    )
    assert only_issue(text) == (
        line_with(text, "approvals: 2"),
        "rules[0].approvals is 2, but only 1 person could ever approve (sales)",
    )


def test_approvals_inherited_from_defaults_are_checked_against_the_rule_approvers() -> None:
    text = with_rules(
        """\
        - name: sales-only
          action: payments.invoice
          approvers: [sales]
        """,
        defaults="approvers: [finance]\napprovals: 2",
    )
    assert only_issue(text) == (
        line_with(text, "approvers: [sales]"),
        "rules[0] needs 2 approvals (from defaults), but only 1 person could ever approve (sales)",
    )


def test_an_empty_group_can_never_approve() -> None:
    text = CONTRACT_EXAMPLE.replace("[U0SALES1]", "[]").replace(
        "approvers: [finance, sales]", "approvers: [sales]"
    )
    assert only_issue(text) == (
        17,
        "rules[1] needs 1 approval (from defaults), but nobody could ever approve (sales)",
    )


def test_the_same_person_through_two_groups_counts_once() -> None:
    text = with_rules(
        """\
        - name: pair
          action: payments.invoice
          approvers: [sales, U0SALES1]
          approvals: 2
        """
    )
    assert "only 1 person could ever approve" in only_issue(text)[1]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "24 hours",
            "rules[0].expires_after: '24 hours' is not a duration like 30s, 15m, 24h or 7d",
        ),
        ("0h", "rules[0].expires_after: a duration must be longer than zero"),
        ("30", "rules[0].expires_after: '30' is not a duration like 30s, 15m, 24h or 7d"),
        ("", "rules[0].expires_after must be a duration like 30s, 15m, 24h or 7d"),
    ],
)
def test_bad_durations(value: str, message: str) -> None:
    text = CONTRACT_EXAMPLE.replace("    approvals: 2", f"    expires_after: {value}")
    assert only_issue(text) == (13, message)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("10k USD", "rules[0].amount_over: '10k USD' is not an amount"),
        ("0 USD", "rules[0].amount_over: the amount must be more than zero"),
        ("-5 USD", "rules[0].amount_over: the amount must be more than zero"),
        ("100 XYZ", "rules[0].amount_over: unknown currency 'XYZ'"),
        ("1.001 USD", "rules[0].amount_over: USD amounts have at most 2 decimal places"),
        ("[100 USD, 90 usd]", "rules[0].amount_over has two amounts in USD"),
        ("[]", "rules[0].amount_over must name at least one amount"),
        ("{usd: 100}", "rules[0].amount_over must be an amount like `10000 USD`"),
    ],
)
def test_bad_amounts(value: str, message: str) -> None:
    text = CONTRACT_EXAMPLE.replace("10000 USD", value)
    assert only_issue(text) == (12, message)


def test_duplicate_rule_names() -> None:
    text = CONTRACT_EXAMPLE.replace("name: invoices", "name: parliament")
    assert only_issue(text) == (15, "rules[1].name `parliament` is already used by rules[0]")


def test_a_rule_may_not_be_named_defaults() -> None:
    text = CONTRACT_EXAMPLE.replace("name: invoices", "name: defaults")
    assert only_issue(text) == (15, "rules[1].name `defaults` is kept for the defaults")


@pytest.mark.parametrize("key", ["name", "action"])
def test_rules_missing_name_or_action(key: str) -> None:
    text = with_rules(
        """\
        - approvals: 2
          name: two
          action: payments.refund
        """.replace(f"  {key}:", "  # ")
    )
    assert only_issue(text) == (line_with(text, "- approvals: 2"), f"rules[0] is missing `{key}`")


def test_rules_must_be_a_list_of_mappings() -> None:
    assert only_issue(with_rules("").replace("rules:", "rules: payments.refund")) == (
        7,
        "rules must be a list, like [{name: refunds, action: payments.refund}]",
    )
    assert only_issue(with_rules("- payments.refund\n")) == (
        8,
        "rules[0] must be a mapping of keys to values",
    )


def test_missing_defaults() -> None:
    text = "version: 1\nrules: []\n"
    assert only_issue(text) == (1, "missing `defaults`: who approves when no rule matches")


def test_defaults_without_approvers() -> None:
    text = CONTRACT_EXAMPLE.replace("  approvers: [finance]     # group names or user IDs\n", "")
    assert only_issue(text) == (6, "defaults is missing `approvers`")


def test_every_error_is_collected_in_line_order() -> None:
    text = dedent(
        """\
        version: 2
        groups:
          finance: [U0FIN1, bob]
        defaults:
          approvers: [finanse]
          approvals: 0
          expires_after: 24 hours
        rules:
          - name: a
            action: payments.refund
            amount_over: 10k USD
            aprovers: [finance]
          - name: a
          - action: payments.*
            expires_after: 0m
        """
    )
    assert [line for line, _ in issues_of(text)] == [1, 3, 5, 6, 7, 11, 12, 13, 13, 14, 15]


def test_unreadable_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yml"
    with pytest.raises(PolicyFileError) as caught:
        load_policy(missing)
    assert str(caught.value) == f"{missing}: cannot be read: No such file or directory"


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "policy.yml"
    path.write_bytes(b"version: 1\n# caf\xe9\n")
    with pytest.raises(PolicyFileError, match="is not UTF-8 text"):
        load_policy(path)


def test_errors_name_the_path_given(tmp_path: Path) -> None:
    path = tmp_path / "policy.yml"
    path.write_text(CONTRACT_EXAMPLE.replace("approvals: 2", "approvals: 0"))
    with pytest.raises(PolicyFileError) as caught:
        load_policy(path)
    assert str(caught.value) == f"{path}:13: rules[0].approvals must be a whole number ≥ 1"


# --- warnings: files that load but do not do what they seem to ---------------------


def warnings_of(text: str, **options: object) -> list[tuple[int, str]]:
    policy = parse_policy(text, **options)  # type: ignore[arg-type]
    return [(issue.line, issue.message) for issue in policy.warnings]


def test_a_rule_after_the_same_action_without_threshold_is_shadowed() -> None:
    text = with_rules(
        """\
        - name: refunds
          action: payments.refund
        - name: big-refunds
          action: payments.refund
          amount_over: 500 USD
          approvals: 2
        """
    )
    assert warnings_of(text) == [
        (
            line_with(text, "name: big-refunds"),
            "rule `big-refunds` can never apply: rule `refunds` above it matches every "
            "request it would",
        )
    ]


def test_a_broader_pattern_above_shadows_a_narrower_one() -> None:
    text = CONTRACT_EXAMPLE.replace("payments.refund", "payments.*", 1).replace(
        "action: payments.*\n    approvers", "action: payments.invoice\n    approvers"
    )
    assert warnings_of(text) == []  # the first rule has a threshold: small invoices pass
    reordered = with_rules(
        """\
        - name: all
          action: payments.*
        - name: refunds
          action: payments.re*
        - name: invoices
          action: payments.invoice
        """
    )
    assert [line for line, _ in warnings_of(reordered)] == [
        line_with(reordered, "name: refunds"),
        line_with(reordered, "name: invoices"),
    ]


def test_a_lower_threshold_above_shadows_a_higher_one() -> None:
    text = with_rules(
        """\
        - name: over-100
          action: payments.refund
          amount_over: 100 USD
        - name: over-1000
          action: payments.refund
          amount_over: [1000 USD, 50 EUR]
        - name: over-50-eur
          action: payments.refund
          amount_over: 50 EUR
        """
    )
    # over-1000 only sees amounts also over 100 USD; 50 EUR-only lets small USD through.
    assert [line for line, _ in warnings_of(text)] == [line_with(text, "name: over-1000")]


def test_warns_when_a_request_by_an_approver_could_never_be_approved() -> None:
    text = with_rules(
        """\
        - name: all-three
          action: payments.refund
          approvals: 3
        """
    )
    assert warnings_of(text) == [
        (
            line_with(text, "approvals: 3"),
            "rules[0].approvals is 3: a request made by one of its approvers can never be approved",
        )
    ]


def test_warns_of_a_pattern_that_matches_no_known_action() -> None:
    text = with_rules("- {name: typo, action: payment.refund}\n")
    known = ["payments.invoice", "payments.refund"]
    assert warnings_of(text, known_actions=known) == [
        (8, "rule `typo`: `payment.refund` matches none of payments.invoice, payments.refund")
    ]
    assert warnings_of(text) == []
