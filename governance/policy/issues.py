"""Problems found in a policy file, each tied to the line a person has to fix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from governance.errors import PolicyError

WHOLE_FILE = 0  # `line` of a problem no single line is to blame for (e.g. unreadable file)


@dataclass(frozen=True)
class PolicyIssue:
    line: int  # 1-based; WHOLE_FILE when the problem is the file itself
    message: str
    source: str = "policy.yml"

    def __str__(self) -> str:
        if self.line == WHOLE_FILE:
            return f"{self.source}: {self.message}"
        return f"{self.source}:{self.line}: {self.message}"


class PolicyFileError(PolicyError):
    """The file cannot be used; `issues` lists every problem, in the order of the file."""

    def __init__(self, issues: Sequence[PolicyIssue]) -> None:
        self.issues = sorted(issues, key=lambda issue: issue.line)
        super().__init__("\n".join(str(issue) for issue in self.issues))
