"""Warnings about rules that load but cannot do what their author meant."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from fnmatch import fnmatchcase

from governance.policy.model import Rule
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
    if not _pattern_covers(earlier.action, later.action):
        return False
    if earlier.amount_over is None:
        return True
    return later.amount_over is not None and later.amount_over.implies(earlier.amount_over)


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
