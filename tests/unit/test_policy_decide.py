from datetime import timedelta
from textwrap import dedent

import pytest
from hypothesis import given
from hypothesis import strategies as st

from governance.money import Money
from governance.policy import AmountOver, Policy, PolicyFileError, Requirement, parse_policy

POLICY = dedent(
    """\
    version: 1
    groups:
      finance: [U0FIN1, U0FIN2, U0FIN3]
      sales: [U0SALES1]
    defaults:
      approvers: [finance]
      approvals: 1
      expires_after: 24h
    rules:
      - name: parliament
        action: payments.refund
        amount_over: [10000 USD, 9000 EUR]
        approvals: 2
        approvers: [finance]
        expires_after: 4h
      - name: invoices
        action: payments.*
        approvers: [finance, sales]
    """
)
FINANCE = frozenset({"U0FIN1", "U0FIN2", "U0FIN3"})


@pytest.fixture(scope="module")
def policy() -> Policy:
    return parse_policy(POLICY)


def usd(dollars: int, cents: int = 0) -> Money:
    return Money(dollars * 100 + cents, "usd")


# --- which rule applies -------------------------------------------------------------


def test_first_matching_rule_wins(policy: Policy) -> None:
    requirement = policy.decide("payments.refund", usd(20_000))
    assert requirement.rule_name == "parliament"
    assert requirement.approvals_required == 2
    assert requirement.approvers == FINANCE
    assert requirement.expires_after == timedelta(hours=4)


def test_a_later_rule_applies_when_an_earlier_one_does_not_match(policy: Policy) -> None:
    requirement = policy.decide("payments.refund", usd(50))
    assert requirement.rule_name == "invoices"
    assert requirement.approvers == FINANCE | {"U0SALES1"}
    assert requirement.expires_after == timedelta(hours=24)  # from defaults


def test_order_decides_between_rules_that_both_match() -> None:
    swapped = POLICY.replace("payments.refund", "payments.*").replace(
        "action: payments.*\n    approvers", "action: payments.refund\n    approvers"
    )
    assert parse_policy(swapped).decide("payments.refund", usd(20_000)).rule_name == "parliament"


def test_defaults_when_no_rule_matches(policy: Policy) -> None:
    requirement = policy.decide("marketplace.proposal", None)
    assert requirement == policy.defaults
    assert requirement.rule_name == "defaults"
    assert requirement.approvers == FINANCE
    assert policy.rule_for("marketplace.proposal", None) is None


@pytest.mark.parametrize(
    ("action", "rule"),
    [
        ("payments.invoice", "invoices"),
        ("payments.cancel_subscription", "invoices"),
        ("payments", "defaults"),
        ("Payments.invoice", "defaults"),  # names are matched case-sensitively
        ("xpayments.invoice", "defaults"),
    ],
)
def test_action_patterns_are_globs_on_the_dotted_name(
    policy: Policy, action: str, rule: str
) -> None:
    assert policy.decide(action, None).rule_name == rule


# --- amount thresholds ----------------------------------------------------------------


def test_an_amount_equal_to_the_threshold_is_not_over_it(policy: Policy) -> None:
    assert policy.decide("payments.refund", usd(10_000)).rule_name == "invoices"


def test_one_minor_unit_over_the_threshold_is_over_it(policy: Policy) -> None:
    assert policy.decide("payments.refund", usd(10_000, 1)).rule_name == "parliament"


def test_each_currency_is_compared_with_its_own_threshold(policy: Policy) -> None:
    assert policy.decide("payments.refund", Money(900_000, "eur")).rule_name == "invoices"
    assert policy.decide("payments.refund", Money(900_001, "eur")).rule_name == "parliament"


def test_an_amount_in_a_currency_no_threshold_names_is_over_it(policy: Policy) -> None:
    assert policy.decide("payments.refund", Money(1, "gbp")).rule_name == "parliament"
    assert policy.decide("payments.refund", Money(1, "jpy")).rule_name == "parliament"


def test_an_unknown_amount_is_treated_as_over_the_threshold(policy: Policy) -> None:
    # Refunding "the whole refundable rest" has no amount until Stripe is asked; the
    # stricter rule must apply rather than let it slip under the threshold.
    assert policy.decide("payments.refund", None).rule_name == "parliament"


def test_amount_over_describes_itself() -> None:
    over = AmountOver((usd(10_000), Money(900_000, "eur")))
    assert over.describe() == "over $10,000.00 or 9,000.00 EUR"


# --- who may approve, and when it is enough ---------------------------------------------


def test_only_listed_people_may_approve(policy: Policy) -> None:
    requirement = policy.decide("payments.refund", usd(20_000))
    assert requirement.may_approve("U0FIN1", requester_id="U0SALES1")
    assert not requirement.may_approve("U0SALES1", requester_id="U0FIN1")
    assert not requirement.may_approve("U0STRANGER", requester_id="U0FIN1")


def test_the_requester_may_not_approve(policy: Policy) -> None:
    requirement = policy.decide("payments.refund", usd(20_000))
    assert not requirement.may_approve("U0FIN1", requester_id="U0FIN1")
    assert requirement.eligible("U0FIN1") == {"U0FIN2", "U0FIN3"}


def test_approvals_count_distinct_people(policy: Policy) -> None:
    requirement = policy.decide("payments.refund", usd(20_000))
    assert not requirement.is_met(["U0FIN2", "U0FIN2", "U0FIN2"], requester_id="U0SALES1")
    assert requirement.is_met(["U0FIN2", "U0FIN3", "U0FIN2"], requester_id="U0SALES1")


def test_the_requesters_own_approval_never_counts(policy: Policy) -> None:
    requirement = policy.decide("payments.refund", usd(20_000))
    assert not requirement.is_met(["U0FIN1", "U0FIN2"], requester_id="U0FIN1")
    assert requirement.counted(["U0FIN1", "U0FIN2", "U0SALES1"], "U0FIN1") == {"U0FIN2"}


def test_describe_names_the_count_and_the_groups(policy: Policy) -> None:
    assert policy.decide("payments.refund", None).describe() == "2 approvals from finance"
    assert policy.decide("payments.invoice", None).describe() == "1 approval from finance or sales"
    three = Requirement("r", 1, frozenset({"U1", "U2"}), timedelta(1), ("a", "b", "U1"))
    assert three.describe() == "1 approval from a, b or U1"
    unlabelled = Requirement("r", 2, frozenset({"U2", "U1"}), timedelta(1))
    assert unlabelled.describe() == "2 approvals from U1 or U2"


# --- properties -------------------------------------------------------------------------

people = st.frozensets(st.sampled_from([f"U0P{n}" for n in range(8)]), min_size=1)
currencies = st.sampled_from(["usd", "eur", "jpy", "kwd"])


@given(people, st.integers(min_value=1, max_value=9), st.sampled_from(["U0P0", "U0P1", "U0X"]))
def test_satisfiable_iff_enough_eligible_people_besides_the_requester(
    approvers: frozenset[str], needed: int, requester: str
) -> None:
    requirement = Requirement("r", needed, approvers, timedelta(hours=1))
    eligible = approvers - {requester}
    assert requirement.can_be_met(requester) == (len(eligible) >= needed)
    # Everyone who may approve, approving, is enough exactly when it can be met.
    assert requirement.is_met(approvers | {requester}, requester) == requirement.can_be_met(
        requester
    )


@given(
    people,
    st.integers(min_value=1, max_value=9),
    st.lists(st.sampled_from([f"U0P{n}" for n in range(10)])),
    st.sampled_from(["U0P0", "U0P9"]),
)
def test_met_iff_enough_distinct_eligible_clicks(
    approvers: frozenset[str], needed: int, clicks: list[str], requester: str
) -> None:
    requirement = Requirement("r", needed, approvers, timedelta(hours=1))
    counted = {user for user in clicks if requirement.may_approve(user, requester)}
    assert requirement.is_met(clicks, requester) == (len(counted) >= needed)
    assert requirement.counted(clicks, requester) == counted


@given(
    st.integers(min_value=1, max_value=10**9),
    st.integers(min_value=1, max_value=10**9),
    currencies,
    currencies,
)
def test_over_a_threshold_iff_strictly_greater_in_its_currency(
    amount: int, limit: int, amount_currency: str, limit_currency: str
) -> None:
    over = AmountOver((Money(limit, limit_currency),))
    expected = amount > limit if amount_currency == limit_currency else True
    assert over.is_exceeded_by(Money(amount, amount_currency)) == expected
    assert over.is_exceeded_by(None)


@given(st.integers(min_value=1, max_value=6), st.integers(min_value=1, max_value=8))
def test_a_policy_loads_iff_its_approvers_can_give_the_approvals(
    group_size: int, approvals: int
) -> None:
    members = ", ".join(f"U0P{n}" for n in range(group_size))
    text = (
        f"version: 1\ngroups:\n  team: [{members}]\n"
        f"defaults:\n  approvers: [team]\n  approvals: {approvals}\n"
    )
    if approvals > group_size:
        with pytest.raises(PolicyFileError, match="could ever approve"):
            parse_policy(text)
        return
    policy = parse_policy(text)
    assert bool(policy.warnings) == (approvals == group_size)
    # A request from outside the group can always be approved.
    assert policy.defaults.can_be_met("U0OUTSIDER")


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["payments.*", "payments.refund", "payments.invoice", "*"]),
            st.one_of(st.none(), st.integers(min_value=1, max_value=1000)),
        ),
        max_size=5,
    ),
    st.sampled_from(["payments.refund", "payments.invoice", "jobs.watch"]),
    st.one_of(st.none(), st.integers(min_value=1, max_value=2000)),
)
def test_decide_returns_the_first_rule_whose_pattern_and_threshold_match(
    rules: list[tuple[str, int | None]], action: str, dollars: int | None
) -> None:
    lines = ["version: 1", "defaults:", "  approvers: [U0A1, U0A2]", "rules:"]
    for index, (pattern, threshold) in enumerate(rules):
        lines.append(f"  - name: r{index}")
        lines.append(f"    action: '{pattern}'")
        if threshold is not None:
            lines.append(f"    amount_over: {threshold} USD")
    policy = parse_policy("\n".join(lines) + "\n")
    amount = None if dollars is None else usd(dollars)

    def applies(pattern: str, threshold: int | None) -> bool:
        pattern_fits = pattern in ("*", action) or (
            pattern == "payments.*" and action.startswith("payments.")
        )
        over = threshold is None or amount is None or amount.minor > threshold * 100
        return pattern_fits and over

    expected = next(
        (f"r{i}" for i, (pattern, threshold) in enumerate(rules) if applies(pattern, threshold)),
        "defaults",
    )
    assert policy.decide(action, amount).rule_name == expected
