"""The one Slack workspace every test lives in: ids and secrets shared by the fake and the builders.

Keeping them in one place makes a request built by `slack_payloads` and the answers of the
fake Web API (`auth.test`) agree on who the team, the app and the bot are.
"""

from __future__ import annotations

TEAM_ID = "T0EMPIRE"
TEAM_DOMAIN = "empire"
TEAM_NAME = "Empire Test Workspace"
APP_ID = "A0EMPIRE"
BOT_ID = "B0EMPIRE"
BOT_USER_ID = "U0EMPIREBOT"
BOT_NAME = "business-empire"

BOT_TOKEN = "xoxb-0000000000-0000000000-empirebottoken"
APP_TOKEN = "xapp-1-A0EMPIRE-0000000000-empireapptoken"
SIGNING_SECRET = "empire-test-signing-secret"
# Slack still puts the deprecated verification token into every payload.
VERIFICATION_TOKEN = "empire-verification-token"

APPROVALS_CHANNEL = "C0APPROVALS"
