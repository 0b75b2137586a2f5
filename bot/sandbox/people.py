"""Who and what is in the sandbox workspace: sample people, channels and clients."""

from __future__ import annotations

from dataclasses import dataclass

from integrations.local.slack import workspace as ws

APPROVALS = ws.APPROVALS_CHANNEL
NOTIFICATIONS = "C0NOTIFY"
CHANNELS = {APPROVALS: "approvals", NOTIFICATIONS: "notifications"}


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    role: str


# The sample policy (bot/templates/sandbox-policy.yml) names these IDs.
PEOPLE = (
    Person("U0SALES1", "Riley (sales)", "requester"),
    Person("U0FIN1", "Fran (finance)", "finance approver"),
    Person("U0FIN2", "Sam (finance)", "finance approver"),
    Person("U0FIN3", "Kim (finance)", "finance approver"),
    Person("U0OWNER1", "Olu (owner)", "owner"),
    Person("U0OUTSIDER", "Otto (outsider)", "outsider"),
)
REQUESTER, FINANCE, SECOND_FINANCE = PEOPLE[0], PEOPLE[1], PEOPLE[2]
BOT_NAME = "Business Empire"


def names() -> dict[str, str]:
    """Display name by user ID, the bot included (for `<@U…>` mentions)."""
    return {ws.BOT_USER_ID: BOT_NAME, **{person.id: person.name for person in PEOPLE}}


def slack_users() -> dict[str, dict[str, str]]:
    """The `users.info` fields of each person, for the local Slack."""
    return {
        person.id: {"name": person.name.split(" ")[0].lower(), "real_name": person.name}
        for person in PEOPLE
    }


@dataclass(frozen=True)
class SampleClient:
    name: str
    email: str
    card: bool  # a working card on file, so subscriptions charge it


CLIENTS = (
    SampleClient("Acme Studio", "billing@acme.example", card=False),
    SampleClient("Globex", "ap@globex.example", card=True),
    SampleClient("Initech", "finance@initech.example", card=False),
)
