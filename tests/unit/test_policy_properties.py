"""Properties of quorum and limit arithmetic, checked with hypothesis."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from fnmatch import fnmatchcase

from hypothesis import given, settings
from hypothesis import strategies as st

from governance.money import Money
from governance.policy import (
    AmountOver,
    Asked,
    Policy,
    Requirement,
    Rule,
    approver_limit_refusal,
    parse_policy,
)
from governance.policy.checks import shadows
from governance.policy.model import Group, Resolver, evaluate

PEOPLE = [f"U0P{n}" for n in range(8)]
CURRENCIES = ["usd", "eur", "jpy", "kwd"]
people = st.frozensets(st.sampled_from(PEOPLE))
currencies = st.sampled_from(CURRENCIES)


@dataclass
class Directory:
    groups: dict[str, frozenset[str]]

    def members(self, handle: str) -> frozenset[str] | None:
        return self.groups.get(handle)


@dataclass
class RunningTotals:
    """Every request decided so far counts (as pending), like the service's totals."""

    requests: list[tuple[str, str | None, Money]] = field(default_factory=list)
    asked_currencies: list[str] = field(default_factory=list)

    def today(
        self, action_glob: str, currency: str, client_glob: str | None, client: str | None
    ) -> int:
        self.asked_currencies.append(currency)
        return sum(
            amount.minor
            for action, email, amount in self.requests
            if fnmatchcase(action, action_glob)
            and amount.currency == currency
            and (client_glob is None or (email is not None and fnmatchcase(email, client_glob)))
            and (client is None or email == client)
        )

    def approved_today(self, user_id: str, currency: str) -> int:
        return 0


# --- quorum -------------------------------------------------------------------------------


@given(
    static=people,
    handle_members=st.one_of(st.none(), people),
    needed=st.integers(min_value=1, max_value=4),
    requester=st.sampled_from([*PEOPLE, "U0OUT"]),
    clicks=st.lists(st.sampled_from([*PEOPLE, "U0OUT"]), max_size=20),
)
def test_met_iff_enough_distinct_eligible_approvers_groups_and_handles_resolved(
    static: frozenset[str],
    handle_members: frozenset[str] | None,
    needed: int,
    requester: str,
    clicks: list[str],
) -> None:
    members = ", ".join([*sorted(static), '"@team"'])
    policy = parse_policy(
        f"version: 1\ngroups:\n  team: [{members}]\n"
        f"defaults:\n  approvers: [team]\n  approvals: {needed}\n"
    )
    directory = Directory({} if handle_members is None else {"@team": handle_members})
    decision = policy.decide(Asked("x.y", None, requester), None, directory)
    approvers = static | (handle_members or frozenset())
    eligible = approvers - {requester}
    assert decision.approvers == approvers
    assert decision.is_met(clicks, requester) == (len(set(clicks) & eligible) >= needed)
    # The requester's own click, and clicking twice, never change the count.
    assert decision.counted([*clicks, requester, *clicks], requester) == decision.counted(
        clicks, requester
    )
    assert (decision.refusal is None) == (len(eligible) >= needed)


@given(
    approvers=people,
    needed=st.integers(min_value=1, max_value=9),
    requester=st.sampled_from(PEOPLE),
    clicks=st.lists(st.sampled_from(PEOPLE)),
)
def test_a_forbidden_decision_is_never_met(
    approvers: frozenset[str], needed: int, requester: str, clicks: list[str]
) -> None:
    policy = parse_policy(
        "version: 1\ndefaults:\n  approvers: [U0P0]\n"
        "rules:\n  - {name: never, action: '*', forbid: true}\n"
    )
    decision = policy.decide(Asked("x.y", None, requester))
    assert decision.forbidden
    assert not decision.is_met([*approvers, *clicks], requester)
    assert decision.refusal is not None


# --- rolling daily totals ---------------------------------------------------------------

DAILY = """\
version: 1
defaults:
  approvers: [U0A1, U0A2]
rules:
  - name: unrelated
    action: payments.invoice
    daily_total_over: 1 USD
  - name: daily
    action: payments.refund
    daily_total_over: {limit} USD
  - name: per-client
    action: payments.*
    client_daily_total_over: {limit} USD
"""


@settings(max_examples=200)
@given(
    limit=st.integers(min_value=1, max_value=5000),
    parts=st.lists(st.integers(min_value=1, max_value=300_000), min_size=1, max_size=12),
)
def test_splitting_never_escapes_a_daily_total(limit: int, parts: list[int]) -> None:
    policy = parse_policy(DAILY.format(limit=limit))
    totals = RunningTotals()
    running = 0
    for part in parts:
        amount = Money(part, "usd")
        decision = policy.decide(Asked("payments.refund", amount, "U0R1"), totals)
        running += part
        # Caught exactly once today's total, this part included, is over the limit:
        # so every part after the running total passes it is caught too.
        assert (decision.rule_name == "daily") == (running > limit * 100)
        totals.requests.append(("payments.refund", None, amount))


@settings(max_examples=200)
@given(
    limit=st.integers(min_value=1, max_value=5000),
    parts=st.lists(
        st.tuples(
            st.sampled_from(["a@x.example", "b@x.example", None]),
            st.integers(min_value=1, max_value=300_000),
        ),
        min_size=1,
        max_size=12,
    ),
)
def test_per_client_totals_count_only_that_client(
    limit: int, parts: list[tuple[str | None, int]]
) -> None:
    policy = parse_policy(DAILY.format(limit=limit))
    totals = RunningTotals()
    running: dict[str | None, int] = {}
    for client, part in parts:
        amount = Money(part, "usd")
        decision = policy.decide(Asked("payments.cancel", amount, "U0R1", client), totals)
        running[client] = running.get(client, 0) + part
        caught = client is not None and running[client] > limit * 100
        assert (decision.rule_name == "per-client") == caught
        totals.requests.append(("payments.cancel", client, amount))


@given(
    limits=st.dictionaries(currencies, st.integers(min_value=1, max_value=10**6), min_size=1),
    so_far=st.dictionaries(currencies, st.integers(min_value=0, max_value=10**6)),
    amount=st.integers(min_value=1, max_value=10**6),
    currency=currencies,
)
def test_multi_currency_thresholds_never_compare_across_currencies(
    limits: dict[str, int], so_far: dict[str, int], amount: int, currency: str
) -> None:
    over = AmountOver(tuple(Money(minor, code) for code, minor in limits.items()))
    rule = Rule(
        "r",
        "a.*",
        Requirement("r", 1, frozenset({"U0A1"}), timedelta(hours=1)),
        amount_over=over,
        daily_total_over=over,
    )

    class Totals:
        asked: list[str] = []  # noqa: RUF012

        def today(self, glob: str, code: str, client_glob: str | None, client: str | None) -> int:
            self.asked.append(code)
            return so_far.get(code, 0)

        def approved_today(self, user_id: str, code: str) -> int:
            return 0

    totals = Totals()
    asked = Asked("a.b", Money(amount, currency))
    matched, _ = evaluate(rule, asked, totals, Resolver({}, None), exhaustive=True)
    if currency in limits:
        expected = amount > limits[currency] and so_far.get(currency, 0) + amount > limits[currency]
    else:
        expected = True  # a currency the threshold does not name counts as over
    assert matched == expected
    assert set(totals.asked) <= {currency}
    # The per-approver limit, too, only ever looks at the amount's own currency.
    refusal = approver_limit_refusal(over, asked.amount, so_far.get(currency, 0))
    fits = currency in limits and so_far.get(currency, 0) + amount <= limits[currency]
    assert (refusal is None) == fits


# --- the per-approver daily limit -------------------------------------------------------


@settings(max_examples=200)
@given(
    cap=st.integers(min_value=1, max_value=10**6),
    clicks=st.lists(
        st.tuples(
            st.sampled_from(["U0A1", "U0A2", "U0A3"]),
            st.integers(min_value=1, max_value=500_000),
            st.sampled_from(["usd", "eur"]),
        ),
        max_size=30,
    ),
)
def test_no_sequence_of_approvals_exceeds_an_approvers_daily_limit(
    cap: int, clicks: list[tuple[str, int, str]]
) -> None:
    limit = AmountOver((Money(cap, "usd"), Money(cap // 2 + 1, "eur")))
    approved: dict[tuple[str, str], int] = {}
    for user, minor, currency in clicks:
        so_far = approved.get((user, currency), 0)
        refusal = approver_limit_refusal(limit, Money(minor, currency), so_far)
        cap_here = cap if currency == "usd" else cap // 2 + 1
        # Refused exactly when it would take them over: never too strict either.
        assert (refusal is None) == (so_far + minor <= cap_here)
        if refusal is None:
            approved[(user, currency)] = so_far + minor
        assert all(
            total <= (cap if code == "usd" else cap // 2 + 1)
            for (_, code), total in approved.items()
        )


# --- shadowing is never wrong -------------------------------------------------------------

ACTIONS = ["payments.refund", "payments.invoice", "jobs.watch"]
PATTERNS = ["*", "payments.*", "payments.refund", "payments.invoice"]
CLIENTS = ["a@x.example", "b@y.example", None]
CLIENT_GLOBS = [None, "*@x.example", "a@x.example", "*"]
REQUESTERS = [None, ("team",), ("U0P1",), ("team", "U0P1")]
THRESHOLDS = st.one_of(
    st.none(),
    st.lists(
        st.tuples(st.sampled_from(["usd", "eur"]), st.integers(min_value=1, max_value=1000)),
        min_size=1,
        max_size=2,
        unique_by=lambda pair: pair[0],
    ).map(lambda pairs: AmountOver(tuple(Money(minor, code) for code, minor in pairs))),
)


@st.composite
def rules(draw: st.DrawFn, name: str) -> Rule:
    return Rule(
        name,
        draw(st.sampled_from(PATTERNS)),
        Requirement(name, 1, frozenset({"U0A1"}), timedelta(hours=1)),
        amount_over=draw(THRESHOLDS),
        client=draw(st.sampled_from(CLIENT_GLOBS)),
        requester=draw(st.sampled_from(REQUESTERS)),
        daily_total_over=draw(THRESHOLDS),
        client_daily_total_over=draw(THRESHOLDS),
    )


TODAY = st.lists(
    st.tuples(
        st.sampled_from(ACTIONS),
        st.sampled_from(CLIENTS),
        st.builds(Money, st.integers(1, 1500), st.sampled_from(["usd", "eur"])),
    ),
    max_size=6,
)


@settings(max_examples=300)
@given(
    earlier=rules("earlier"),
    later=rules("later"),
    today=TODAY,
    requests=st.lists(
        st.tuples(
            st.sampled_from(ACTIONS),
            st.one_of(
                st.none(),
                st.builds(Money, st.integers(1, 2000), st.sampled_from(["usd", "eur", "jpy"])),
            ),
            st.sampled_from(["U0P1", "U0P2", None]),
            st.sampled_from(CLIENTS),
        ),
        min_size=1,
        max_size=10,
    ),
)
def test_a_rule_reported_shadowed_never_matches_alone(
    earlier: Rule,
    later: Rule,
    today: list[tuple[str, str | None, Money]],
    requests: list[tuple[str, Money | None, str | None, str | None]],
) -> None:
    if not shadows(earlier, later):
        return
    resolver = Resolver({"team": Group("team", frozenset({"U0P2"}))}, None)
    totals = RunningTotals(list(today))  # real totals: each glob counts its own requests
    for action, amount, requester, client in requests:
        asked = Asked(action, amount, requester, client)
        if evaluate(later, asked, totals, resolver)[0]:
            assert evaluate(earlier, asked, totals, resolver)[0]
        assert (
            not evaluate(later, asked, None, resolver)[0]
            or (evaluate(earlier, asked, None, resolver)[0])
        )


def test_shadowing_of_totals_needs_the_same_requests_counted() -> None:
    terms = Requirement("r", 1, frozenset({"U0A1"}), timedelta(hours=1))
    over = AmountOver((Money(100, "usd"),))
    refunds = Rule("a", "payments.refund", terms, daily_total_over=over)
    everything = Rule("b", "payments.*", terms, daily_total_over=over)
    # Today's refunds can be under the limit while today's payments are over it.
    assert not shadows(everything, refunds)
    assert shadows(refunds, Rule("d", "payments.refund", terms, daily_total_over=over))
    higher = AmountOver((Money(200, "usd"),))
    assert shadows(refunds, Rule("e", "payments.refund", terms, daily_total_over=higher))
    assert not shadows(Rule("f", "payments.refund", terms, daily_total_over=higher), refunds)


def test_the_policy_helpers_used_above_are_public() -> None:
    assert Policy.__name__ == "Policy"
