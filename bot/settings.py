"""Every setting, from the environment or a `.env` file in the working folder.

This is the only module that reads the environment.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REQUIRED_TO_SERVE = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "EMPIRE_APPROVALS_CHANNEL")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=True
    )

    DATABASE_URL: str = "sqlite:///./empire.db"
    SLACK_BOT_TOKEN: SecretStr | None = None
    SLACK_SIGNING_SECRET: SecretStr | None = None
    SLACK_APP_TOKEN: SecretStr | None = None
    SLACK_API_URL: str = "https://slack.com/api/"
    EMPIRE_APPROVALS_CHANNEL: str | None = None
    EMPIRE_NOTIFY_CHANNEL: str | None = None
    EMPIRE_POLICY_FILE: Path = Path("./policy.yml")
    EMPIRE_CURRENCY: str = Field(default="usd")
    STRIPE_API_KEY: SecretStr | None = None
    STRIPE_API_BASE: str = "https://api.stripe.com"
    STRIPE_WEBHOOK_SECRET: SecretStr | None = None
    EMPIRE_SIGNING_KEY: SecretStr | None = None
    EMPIRE_API_PEPPER: SecretStr | None = None
    EMPIRE_MASTER_KEY: SecretStr | None = None
    EMPIRE_RECONCILE_HOUR: int = Field(default=6, ge=0, le=23)
    EMPIRE_AUDIT_CHECKPOINT_EVERY: timedelta = timedelta(hours=6)

    @field_validator("EMPIRE_CURRENCY")
    @classmethod
    def _lower_currency(cls, value: str) -> str:
        from governance.money import is_currency_code

        if not is_currency_code(value):
            raise ValueError(f"{value!r} is not an ISO currency code")
        return value.lower()

    @field_validator("EMPIRE_AUDIT_CHECKPOINT_EVERY", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        from governance.policy.durations import parse_duration

        return parse_duration(value) if isinstance(value, str) else value

    @field_validator("SLACK_API_URL")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @property
    def notify_channel(self) -> str | None:
        return self.EMPIRE_NOTIFY_CHANNEL or self.EMPIRE_APPROVALS_CHANNEL

    def missing_for_serve(self) -> list[str]:
        return [name for name in REQUIRED_TO_SERVE if not getattr(self, name)]


def secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""
