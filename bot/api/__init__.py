"""The REST API under `/api/business`: other programs ask for actions that Slack approves."""
