"""Jira: the client wrapper (`client`), what an issue says (`issues`) and the check of Jira's
webhook signatures (`webhook`). The `jira` library is imported only where used."""
