"""failbridge: failed tests in, linked Jira defects out."""

__version__ = "0.1.0"  # kept equal to pyproject.toml's version (a unit test checks)
