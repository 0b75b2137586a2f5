"""Reading `rules`: a list checked in order, where the first rule that matches wins."""

from __future__ import annotations

from yaml.nodes import Node

from governance.policy.fields import Groups, read_amount_over
from governance.policy.model import DEFAULTS_NAME, Requirement, Rule
from governance.policy.nodes import NodeReader, is_null, line_of
from governance.policy.sections import REQUIREMENT_KEYS, read_requirement

RULE_KEYS = ("name", "action", "amount_over", *REQUIREMENT_KEYS)
RULES_EXAMPLE = "[{name: refunds, action: payments.refund}]"


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
    amount_over = None
    if "amount_over" in fields:
        amount_over = read_amount_over(
            reader, fields["amount_over"], f"{path}.amount_over", default_currency
        )
    requirement = read_requirement(reader, fields, node, path, name or path, defaults, groups)
    if name is None or action is None or requirement is None:
        return None
    if "amount_over" in fields and amount_over is None:
        return None
    return Rule(name, action, requirement, amount_over, line_of(node))


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
