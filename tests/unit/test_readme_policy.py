"""The policy example in the README is a policy the bot accepts, without warnings."""

from __future__ import annotations

import re
from pathlib import Path

from governance.policy import parse_policy

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_policy_example_loads_cleanly() -> None:
    section = README.read_text(encoding="utf-8").split("## The policy file", 1)[1]
    example = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert example is not None
    policy = parse_policy(example.group(1), "README.md")
    assert policy.warnings == ()
    assert [rule.name for rule in policy.rules] == [
        "no-crypto",
        "parliament",
        "daily-refunds",
        "sales-asks",
        "big-invoices",
    ]
