"""Reading `rules`: a list checked in order, where the first rule that matches wins."""

from __future__ import annotations

from yaml.nodes import Node

from governance.policy.fields import Groups, read_amount_over, read_approvers, read_flag, read_glob
from governance.policy.model import DEFAULTS_NAME, AmountOver, Requirement, Rule
from governance.policy.nodes import NodeReader, is_null, line_of
from governance.policy.sections import REQUIREMENT_KEYS, read_requirement

# What a request must be for the rule to apply; every key given must match.
MATCH_KEYS = (
    "action",
    "amount_over",
    "client",
    "requester",
    "daily_total_over",
    "client_daily_total_over",
)
THRESHOLD_KEYS = ("amount_over", "daily_total_over", "client_daily_total_over")
RULE_KEYS = ("name", *MATCH_KEYS, "forbid", *REQUIREMENT_KEYS)
RULES_EXAMPLE = "[{name: refunds, action: payments.refund}]"
REQUESTER_EXAMPLE = "[sales] or [sales, U0123ABCD]"


def read_rules(
    reader: NodeReader,
    node: Node | None,
    defaults: Requirement | None,
    groups: Groups,
    default_currency: str,
) -> list[Rule]:
    if node is None or is_null(node):
        return []
    rules: list[Rule] = []
    taken: dict[str, str] = {}  # rule name -> the path of the rule that first used it
    for index, item in enumerate(reader.items(node, "rules", RULES_EXAMPLE) or []):
        rule = _read_rule(
            reader, item, f"rules[{index}]", taken, defaults, groups, default_currency
        )
        if rule is not None:
            rules.append(rule)
    return rules


def _read_rule(
    reader: NodeReader,
    node: Node,
    path: str,
    taken: dict[str, str],
    defaults: Requirement | None,
    groups: Groups,
    default_currency: str,
) -> Rule | None:
    fields = reader.fields(node, path, RULE_KEYS)
    if fields is None:
        return None
    for key in ("name", "action"):
        if key not in fields:
            reader.error(node, f"{path} is missing `{key}`")
    name = _read_name(reader, fields.get("name"), path, taken)
    action = reader.string(fields["action"], f"{path}.action") if "action" in fields else None
    broken = False
    thresholds: dict[str, AmountOver] = {}
    for key in THRESHOLD_KEYS:
        if key in fields:
            limit = read_amount_over(reader, fields[key], f"{path}.{key}", default_currency)
            if limit is None:
                broken = True
            else:
                thresholds[key] = limit
    client = None
    if "client" in fields:
        client = read_glob(reader, fields["client"], f"{path}.client")
        broken = broken or client is None
    requester = None
    if "requester" in fields:
        who = read_approvers(
            reader, fields["requester"], f"{path}.requester", groups, REQUESTER_EXAMPLE
        )
        requester = None if who is None else who.labels
        broken = broken or requester is None
    forbid = False
    if "forbid" in fields:
        flag = read_flag(reader, fields["forbid"], f"{path}.forbid")
        forbid, broken = bool(flag), broken or flag is None
    if forbid:
        _warn_unused_terms(reader, fields, path)
    requirement = read_requirement(
        reader,
        fields,
        node,
        path,
        name or path,
        defaults,
        groups,
        default_currency,
        forbid=forbid,
    )
    if name is None or action is None or requirement is None or broken:
        return None
    return Rule(
        name=name,
        action=action,
        requirement=requirement,
        amount_over=thresholds.get("amount_over"),
        line=line_of(node),
        client=client,
        requester=requester,
        daily_total_over=thresholds.get("daily_total_over"),
        client_daily_total_over=thresholds.get("client_daily_total_over"),
        forbid=forbid,
        written=frozenset(fields),
    )


def _warn_unused_terms(reader: NodeReader, fields: dict[str, Node], path: str) -> None:
    """Approval terms on a rule that refuses every request it matches are dead text."""
    unused = [key for key in REQUIREMENT_KEYS if key in fields]
    if unused:
        keys = ", ".join(f"`{key}`" for key in unused)
        reader.warn(
            fields[unused[0]],
            f"{path} forbids what it matches, so {keys} {'has' if len(unused) == 1 else 'have'} "
            "no effect",
        )


def _read_name(
    reader: NodeReader, node: Node | None, path: str, taken: dict[str, str]
) -> str | None:
    if node is None:
        return None
    name = reader.string(node, f"{path}.name")
    if name == DEFAULTS_NAME:
        reader.error(node, f"{path}.name `{DEFAULTS_NAME}` is kept for the defaults")
        return None
    if name is not None and name in taken:
        reader.error(node, f"{path}.name `{name}` is already used by {taken[name]}")
        return None
    if name is not None:
        taken[name] = path
    return name
