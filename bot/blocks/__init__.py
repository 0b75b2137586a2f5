"""Pure Block Kit builders: data in, Slack JSON out, testable without Slack."""

from bot.blocks.cards import CARD_STATES, CardView, build_card
from bot.blocks.modals import build_deny_modal

__all__ = ["CARD_STATES", "CardView", "build_card", "build_deny_modal"]
