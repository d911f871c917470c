"""failbridge: failed tests in, linked Jira defects out."""
