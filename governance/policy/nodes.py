"""Reading composed YAML nodes while recording each problem with the line it is on.

`yaml.compose` keeps the position of every node, which `yaml.safe_load` throws away;
reading nodes lets every message name the line to fix, and lets the reader see keys
written twice (where `safe_load` silently lets the last one win).
"""

from __future__ import annotations

import difflib
from collections.abc import Collection
from typing import NamedTuple

from yaml import YAMLError
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from governance.policy.issues import PolicyIssue


class Entry(NamedTuple):
    key: str
    key_node: Node
    value: Node


def line_of(node: Node) -> int:
    return int(node.start_mark.line) + 1


def is_null(node: Node) -> bool:
    return node.tag == "tag:yaml.org,2002:null"


def text_of(node: Node) -> str | None:
    """A scalar exactly as written, so `10000.10` never passes through a float."""
    if isinstance(node, ScalarNode) and not is_null(node):
        return str(node.value)
    return None


def value_of(node: Node) -> object:
    """A scalar as YAML types it: int, bool, str …; None for anything else."""
    if not isinstance(node, ScalarNode):
        return None  # never expand collections: aliases could nest them exponentially
    try:
        return SafeConstructor().construct_object(node, deep=True)
    except (YAMLError, ValueError):  # e.g. an unknown `!tag`, or `!!int abc`
        return None


def where(path: str) -> str:
    return f"in {path}" if path else "at the top level"


class NodeReader:
    """Collects errors and warnings as a file is read, so all are reported at once."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.errors: list[PolicyIssue] = []
        self.warnings: list[PolicyIssue] = []

    def error(self, at: Node | int, message: str) -> None:
        self.errors.append(PolicyIssue(_line(at), message, self.source))

    def warn(self, at: Node | int, message: str) -> None:
        self.warnings.append(PolicyIssue(_line(at), message, self.source))

    def entries(self, node: Node, path: str) -> list[Entry] | None:
        """A mapping's entries; keys that are not names, or are written twice, are errors."""
        if not isinstance(node, MappingNode):
            self.error(node, f"{path or 'the file'} must be a mapping of keys to values")
            return None
        found: dict[str, Entry] = {}
        for key_node, value_node in node.value:
            key = value_of(key_node)
            if not isinstance(key, str):
                self.error(key_node, f"keys must be names, {where(path)}")
            elif key in found:
                self.error(key_node, f"`{key}` is written twice {where(path)}")
            else:
                found[key] = Entry(key, key_node, value_node)
        return list(found.values())

    def fields(self, node: Node, path: str, allowed: Collection[str]) -> dict[str, Node] | None:
        """Like `entries`, for a mapping of fixed keys: any other key is an error."""
        entries = self.entries(node, path)
        if entries is None:
            return None
        for entry in entries:
            if entry.key not in allowed:
                hint = _did_you_mean(entry.key, allowed)
                self.error(entry.key_node, f"unknown key `{entry.key}` {where(path)}{hint}")
        return {entry.key: entry.value for entry in entries if entry.key in allowed}

    def items(self, node: Node, path: str, example: str) -> list[Node] | None:
        if isinstance(node, SequenceNode):
            return list(node.value)
        self.error(node, f"{path} must be a list, like {example}")
        return None

    def string(self, node: Node, path: str) -> str | None:
        value = value_of(node)
        if isinstance(value, str) and value.strip():
            return value.strip()
        self.error(node, f"{path} must be a non-empty text")
        return None

    def positive_int(self, node: Node, path: str) -> int | None:
        value = value_of(node)
        # bool is an int in Python, but `approvals: yes` is a mistake, not 1.
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return value
        self.error(node, f"{path} must be a whole number ≥ 1")
        return None


def _line(at: Node | int) -> int:
    return at if isinstance(at, int) else line_of(at)


def _did_you_mean(key: str, allowed: Collection[str]) -> str:
    # A high cutoff: a wrong guess would mislead more than no guess.
    close = difflib.get_close_matches(key, list(allowed), n=1, cutoff=0.8)
    return f" (did you mean `{close[0]}`?)" if close else ""
