"""Local stand-ins for the platforms the bot talks to (Slack, Stripe), served on 127.0.0.1.

They speak each platform's wire format, so the real SDKs drive them. `empire sandbox` runs
the bot against them, and the tests use them as their fake servers.
"""
