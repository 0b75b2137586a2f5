"""Warnings about rules that load but cannot do what their author meant, and the check
of a loaded policy against the Slack user groups a directory knows now.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from governance.policy.issues import PolicyIssue
from governance.policy.model import AmountOver, Directory, Policy, Requirement, Rule
from governance.policy.nodes import NodeReader

GLOB_CHARACTERS = frozenset("*?[")


def warn_shadowed(reader: NodeReader, rules: Sequence[Rule]) -> None:
    """A rule that every request reaching it would already have matched above never applies."""
    for position, later in enumerate(rules):
        earlier = next((rule for rule in rules[:position] if shadows(rule, later)), None)
        if earlier is not None:
            reader.warn(
                later.line,
                f"rule `{later.name}` can never apply: rule `{earlier.name}` above it "
                "matches every request it would",
            )


def shadows(earlier: Rule, later: Rule) -> bool:
    """Whether every request `later` matches, `earlier` matches too (never a false yes).

    Each key `earlier` sets must be implied by what `later` sets: a pattern covering
    `later`'s, the same or fewer requesters, a threshold `later`'s exceeds. Today's totals
    are compared only between rules counting the same requests.
    """
    if not _pattern_covers(earlier.action, later.action):
        return False
    if earlier.client is not None and (
        later.client is None or not _pattern_covers(earlier.client, later.client)
    ):
        return False
    if earlier.requester is not None and (
        # Group members can change (Slack user groups): only names written in both count.
        later.requester is None or not set(later.requester) <= set(earlier.requester)
    ):
        return False
    if earlier.amount_over is not None and (
        later.amount_over is None or not later.amount_over.implies(earlier.amount_over)
    ):
        return False
    same_count = earlier.action == later.action and earlier.client == later.client
    if earlier.daily_total_over is not None and not _total_implied(
        earlier.daily_total_over, later, later.daily_total_over if same_count else None
    ):
        return False
    # A request without a client never matches a per-client total; `later` matching
    # only requests with a client is needed, and its client's total includes this amount.
    has_client = later.client is not None or later.client_daily_total_over is not None
    return earlier.client_daily_total_over is None or (
        has_client
        and _total_implied(
            earlier.client_daily_total_over,
            later,
            later.client_daily_total_over if same_count else None,
        )
    )


def _total_implied(over: AmountOver, later: Rule, later_total: AmountOver | None) -> bool:
    """Whether `later` only matches when a total counting this amount is `over`.

    Totals never go below the amount itself, so an amount over the limit is enough.
    """
    if later_total is not None and later_total.implies(over):
        return True
    return later.amount_over is not None and later.amount_over.implies(over)


def _pattern_covers(broad: str, narrow: str) -> bool:
    """Whether every action `narrow` matches, `broad` matches too.

    Exact for equal patterns, a literal `narrow`, or a `broad` of the form `prefix*`;
    other pairs are assumed not to overlap, so a warning is never wrong.
    """
    if broad == narrow:
        return True
    if not GLOB_CHARACTERS & set(narrow):
        return fnmatchcase(narrow, broad)
    prefix = broad[:-1]
    return broad.endswith("*") and not GLOB_CHARACTERS & set(prefix) and narrow.startswith(prefix)


def warn_unknown_actions(
    reader: NodeReader, rules: Sequence[Rule], known_actions: Collection[str]
) -> None:
    """A pattern that matches no action is most likely misspelt, and silently unused."""
    for rule in rules:
        if not any(fnmatchcase(action, rule.action) for action in known_actions):
            known = ", ".join(sorted(known_actions))
            reader.warn(rule.line, f"rule `{rule.name}`: `{rule.action}` matches none of {known}")


@dataclass(frozen=True)
class DirectoryReport:
    """What `check_directory` found: errors make rules refuse every request now."""

    errors: tuple[PolicyIssue, ...]
    warnings: tuple[PolicyIssue, ...]


def check_directory(
    policy: Policy, directory: Directory, source: str = "policy.yml"
) -> DirectoryReport:
    """Look up every Slack user group the policy names, as `directory` knows them now.

    An unknown handle is a warning (it counts nobody); defaults or a rule that too few
    people could then approve is an error: every request it decides would be refused.
    """
    reader = NodeReader(source)
    for group in policy.group_defs.values():
        for handle in group.handles:
            if directory.members(handle) is None:
                reader.warn(
                    group.line,
                    f"groups.{group.name}: Slack user group {handle} is unknown: it counts nobody",
                )
    places: list[tuple[str, int, Requirement, frozenset[str]]] = [
        ("defaults", policy.defaults_line, policy.defaults, policy.defaults_written)
    ]
    places += [
        (f"rule `{r.name}`", r.line, r.requirement, r.written) for r in policy.rules if not r.forbid
    ]
    for rule in policy.rules:
        for label in rule.requester or ():
            if label.startswith("@") and directory.members(label) is None:
                reader.warn(
                    rule.line,
                    f"rule `{rule.name}`: Slack user group {label} is unknown: it counts nobody",
                )
    for where, line, terms, written in places:
        _check_terms(reader, policy, directory, where, line, terms, written)
    return DirectoryReport(
        tuple(sorted(reader.errors, key=lambda issue: issue.line)),
        tuple(sorted(reader.warnings, key=lambda issue: issue.line)),
    )


def _check_terms(
    reader: NodeReader,
    policy: Policy,
    directory: Directory,
    where: str,
    line: int,
    terms: Requirement,
    written: frozenset[str],
) -> None:
    resolver = policy.resolver(directory)
    # Handles named directly; each is reported where written, not where inherited.
    named = [
        *(terms.approver_labels if "approvers" in written else ()),
        *(terms.escalate_to_labels if "escalate_to" in written else ()),
    ]
    for label in dict.fromkeys(named):
        if label.startswith("@") and directory.members(label) is None:
            reader.warn(line, f"{where}: Slack user group {label} is unknown: it counts nobody")
    # Like the checks at load: terms a rule inherits are reported once, at the defaults.
    if "approvers" in written or "approvals" in written:
        able = len(resolver.labels(terms.approver_labels))
        needed = terms.approvals_required
        asks = f"{where} needs {needed} approval{'s' if needed > 1 else ''}"
        who = ", ".join(terms.approver_labels)
        if needed > able:
            people = "nobody" if able == 0 else f"only {able} {'person' if able == 1 else 'people'}"
            reader.error(line, f"{asks}, but {people} could approve now ({who})")
        elif needed == able:
            reader.warn(
                line, f"{asks} from {who}: a request made by one of them can never be approved now"
            )
    if "escalate_to" in written and not resolver.labels(terms.escalate_to_labels):
        shown = ", ".join(terms.escalate_to_labels)
        reader.warn(line, f"{where}: nobody to escalate to now ({shown})")
