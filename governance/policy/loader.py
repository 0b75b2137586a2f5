"""Loading `policy.yml`: every problem is collected and reported with its line.

A policy that loads is one that can be followed: every approver resolves to people,
and no requirement asks for more approvals than there are people to give them.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Collection
from pathlib import Path
from types import MappingProxyType

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from governance.policy.checks import warn_shadowed, warn_unknown_actions
from governance.policy.issues import WHOLE_FILE, PolicyFileError, PolicyIssue
from governance.policy.model import Group, Policy
from governance.policy.nodes import NodeReader, line_of, value_of
from governance.policy.rules import read_rules
from governance.policy.sections import read_defaults, read_groups

SUPPORTED_VERSION = 1
TOP_KEYS = ("version", "groups", "defaults", "rules")


def load_policy(
    path: str | os.PathLike[str],
    *,
    default_currency: str = "usd",
    known_actions: Collection[str] | None = None,
) -> Policy:
    """Read and check the policy file at `path`; raises `PolicyFileError`."""
    source = os.fspath(path)
    try:
        data = Path(source).read_bytes()
        text = data.decode("utf-8-sig")
    except OSError as exc:
        raise _whole_file_error(source, f"cannot be read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise _whole_file_error(source, "is not UTF-8 text") from exc
    return _read(text, data, source, default_currency, known_actions)


def _whole_file_error(source: str, message: str) -> PolicyFileError:
    return PolicyFileError([PolicyIssue(WHOLE_FILE, message, source)])


def parse_policy(
    text: str,
    source: str = "policy.yml",
    *,
    default_currency: str = "usd",
    known_actions: Collection[str] | None = None,
) -> Policy:
    """Check policy text; `source` names it in messages. Raises `PolicyFileError`."""
    return _read(text, text.encode("utf-8"), source, default_currency, known_actions)


def _read(
    text: str,
    data: bytes,
    source: str,
    default_currency: str,
    known_actions: Collection[str] | None,
) -> Policy:
    reader = NodeReader(source)
    root = _compose(reader, text)
    top = reader.fields(root, "", TOP_KEYS) if root is not None else None
    if root is None or top is None:
        raise PolicyFileError(reader.errors)
    _check_version(reader, top.get("version"))
    groups = read_groups(reader, top.get("groups"))
    defaults = read_defaults(reader, top.get("defaults"), groups, default_currency)
    rules = read_rules(reader, top.get("rules"), defaults, groups, default_currency)
    if reader.errors or defaults is None:
        raise PolicyFileError(reader.errors)
    warn_shadowed(reader, rules)
    if known_actions is not None:
        warn_unknown_actions(reader, rules, known_actions)
    defaults_node = top.get("defaults")
    return Policy(
        groups=MappingProxyType(dict(groups.members)),
        defaults=defaults,
        rules=tuple(rules),
        digest=hashlib.sha256(data).hexdigest(),
        warnings=tuple(sorted(reader.warnings, key=lambda issue: issue.line)),
        group_defs=MappingProxyType(
            {
                name: Group(name, members, groups.handles.get(name, ()), groups.lines[name])
                for name, members in groups.members.items()
            }
        ),
        defaults_line=line_of(defaults_node) if defaults_node is not None else 1,
        defaults_written=frozenset(_keys(defaults_node)),
    )


def _keys(node: Node | None) -> list[str]:
    if not isinstance(node, MappingNode):
        return []
    return [str(key.value) for key, _ in node.value if isinstance(key, ScalarNode)]


def _compose(reader: NodeReader, text: str) -> Node | None:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = int(mark.line) + 1 if mark is not None else WHOLE_FILE
        reader.error(line, f"is not valid YAML: {exc.problem or exc.context}{_hint(exc)}")
        return None
    except yaml.YAMLError as exc:
        reader.error(WHOLE_FILE, f"is not valid YAML: {exc}")
        return None
    if root is None:
        reader.error(WHOLE_FILE, f"is empty; it must start with `version: {SUPPORTED_VERSION}`")
    return root


def _hint(exc: yaml.MarkedYAMLError) -> str:
    """`@team` and `*@x.com` must be quoted in YAML; say so where the parser stumbles."""
    problem = f"{exc.problem} {exc.context}"
    if "alias" in problem:
        return ' (write globs that start with * in quotes: "*@example.com")'
    if "'@'" in problem:
        return ' (write Slack user-group handles in quotes: "@finance-team")'
    return ""


def _check_version(reader: NodeReader, node: Node | None) -> None:
    if node is None:
        reader.error(1, f"missing `version: {SUPPORTED_VERSION}`")
        return
    value = value_of(node)
    if type(value) is not int or value != SUPPORTED_VERSION:
        reader.error(node, f"version must be {SUPPORTED_VERSION}, the version this program reads")
