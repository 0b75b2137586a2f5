"""A local Slack: the Web API, response URLs, uploads and Socket Mode, for the sandbox and tests."""
