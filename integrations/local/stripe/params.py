"""Stripe's form encoding decoded into nested values, and typed reads with Stripe's errors.

`metadata[k]=v` becomes `{"metadata": {"k": "v"}}`; `expand[]=a` and `expand[0]=a` both
become `{"expand": ["a"]}`; `lines[0][amount]=5` becomes `{"lines": [{"amount": "5"}]}`.
Values stay strings until an endpoint reads them as the type it expects.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from typing import Any

from integrations.local.stripe import failures as fail

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")
# Maps whose keys are the user's own words, never list indexes.
_FREE_KEYS = frozenset({"metadata"})


def decode_form(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for key, value in pairs:
        match = _KEY.match(key)
        if not match:
            raise fail.invalid(key, f"Invalid parameter name: {key}")
        path = [match.group(1), *_SEGMENT.findall(match.group(2))]
        node = root
        for segment in path[:-1]:
            child = node.setdefault(segment, {})
            if not isinstance(child, dict):
                raise fail.invalid(key, f"Invalid parameter: {key} is given twice")
            node = child
        last = path[-1] if path[-1] != "" else str(len(node))
        node[last] = value
    return {
        key: _listify(value, key) if isinstance(value, dict) else value
        for key, value in root.items()
    }


def _listify(node: dict[str, Any], name: str = "") -> Any:
    values = {
        key: _listify(value, key) if isinstance(value, dict) else value
        for key, value in node.items()
    }
    if name not in _FREE_KEYS and values and all(key.isdigit() for key in values):
        return [values[key] for key in sorted(values, key=int)]
    return values


LIST_PARAMS = frozenset({"limit", "starting_after", "ending_before", "expand"})


class Params:
    """An endpoint's parameters; unknown names are refused as Stripe refuses them."""

    def __init__(self, values: dict[str, Any], allowed: Collection[str]) -> None:
        for name in values:
            if name not in allowed and name != "expand":
                raise fail.unknown(name)
        self.values = values

    def has(self, name: str) -> bool:
        return name in self.values

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise fail.missing(name)
            return None
        if not isinstance(value, str):
            raise fail.invalid(name, f"Invalid string: {name} must be a string")
        return value

    def integer(self, name: str, *, required: bool = False, minimum: int = 0) -> int | None:
        raw = self.text(name, required=required)
        if raw is None:
            return None
        if not re.fullmatch(r"-?\d+", raw):
            raise fail.invalid(name, f"Invalid integer: {raw}", "parameter_invalid_integer")
        number = int(raw)
        if number < minimum:
            kind = "positive" if minimum > 0 else "non-negative"
            raise fail.invalid(name, f"Invalid {kind} integer", "parameter_invalid_integer")
        return number

    def flag(self, name: str, default: bool) -> bool:
        raw = self.text(name)
        if raw is None:
            return default
        if raw not in ("true", "false"):
            raise fail.invalid(name, f"Invalid boolean: {raw}")
        return raw == "true"

    def choice(self, name: str, options: Collection[str], default: str | None = None) -> str | None:
        raw = self.text(name)
        if raw is None:
            return default
        if raw not in options:
            listed = ", ".join(sorted(options))
            raise fail.invalid(name, f"Invalid {name}: must be one of {listed}")
        return raw

    def metadata(self) -> dict[str, str]:
        value = self.values.get("metadata", {})
        if value == "":
            return {}
        if not isinstance(value, dict):
            raise fail.invalid("metadata", "Invalid metadata: must be a hash")
        for key, item in value.items():
            if len(key) > 40:
                raise fail.invalid(
                    f"metadata[{key}]", "Metadata keys can have up to 40 characters."
                )
            if not isinstance(item, str) or len(item) > 500:
                raise fail.invalid(
                    f"metadata[{key}]", "Metadata values can have up to 500 characters."
                )
        return dict(value)

    def nested(self, name: str, allowed: Collection[str]) -> Params:
        """The hash `name[...]`, its keys checked as Stripe checks them."""
        value = self.values.get(name, {})
        if value == "":
            value = {}
        if not isinstance(value, dict):
            raise fail.invalid(name, f"Invalid object: {name} must be a hash")
        for key in value:
            if key not in allowed:
                raise fail.unknown(f"{name}[{key}]")
        return Params(value, allowed)

    def items(self, name: str, allowed: Collection[str]) -> list[Params]:
        """The array of hashes `name[0][...]`, each checked as Stripe checks them."""
        value = self.values.get(name, [])
        if value == "":
            value = []
        if not isinstance(value, list):
            raise fail.invalid(name, f"Invalid array: {name} must be an array")
        found = []
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise fail.invalid(f"{name}[{index}]", "Invalid object")
            for key in item:
                if key not in allowed:
                    raise fail.unknown(f"{name}[{index}][{key}]")
            found.append(Params(item, allowed))
        return found

    def strings(self, name: str) -> list[str]:
        """`name[]=a&name[]=b` as a list; a single value as a list of one."""
        value = self.values.get(name, [])
        if isinstance(value, str):
            return [value] if value else []
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise fail.invalid(name, "Invalid array")
        return value

    def updated_metadata(self, current: dict[str, str]) -> dict[str, str]:
        """Stripe merges metadata on update; an empty value unsets a key, `metadata=` all."""
        if self.values.get("metadata") == "":
            return {}
        merged = dict(current)
        for key, value in self.metadata().items():
            if value == "":
                merged.pop(key, None)
            else:
                merged[key] = value
        return merged

    def expand(self) -> list[str]:
        value = self.values.get("expand", [])
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise fail.invalid("expand", "Invalid array")
        return value

    def limit(self) -> int:
        limit = self.integer("limit", minimum=1)
        if limit is None:
            return 10
        if limit > 100:
            raise fail.invalid("limit", "This value must be less than or equal to 100.")
        return limit
