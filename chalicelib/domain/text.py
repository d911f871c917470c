"""Text rules shared by the edge's patterns and the domain's."""

from __future__ import annotations

# Whitespace spelled out for regex patterns: `\s` differs between JSON Schema's (ECMA) regexes,
# pydantic's (Rust) and Python's (U+0085, U+FEFF, U+001C-U+001F), so a pattern using it lets the
# OpenAPI document allow what the server refuses, or the reverse. This is the union of the three.
WHITESPACE = (
    r"\t\n\x0b\x0c\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
