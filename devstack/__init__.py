"""Local stand-ins (Jira emulator, Slack sink) for the local stack and integration tests."""
