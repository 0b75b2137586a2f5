"""The Web API methods the fake answers, with Slack's response shapes and error names."""

from integrations.local.slack.api import apps, chat, directory, files, views
from integrations.local.slack.api.registry import (
    APP_TOKEN_METHODS,
    METHODS,
    CallContext,
    SlackMethodError,
)

__all__ = [
    "APP_TOKEN_METHODS",
    "METHODS",
    "CallContext",
    "SlackMethodError",
    "apps",
    "chat",
    "directory",
    "files",
    "views",
]
