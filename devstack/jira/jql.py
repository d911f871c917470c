"""JQL, the useful subset: ``field op value`` clauses (``= != ~ !~ > >= < <= IN, NOT IN, IS
[NOT] EMPTY``) joined by AND / OR / NOT and parentheses, functions as values, ``ORDER BY``.
``parse()`` gives the clause tree and the order; ``jql_eval`` evaluates it on issues."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from devstack.jira.formats import now

Order = list[tuple[str, bool]]  # (field name, descending)


class JqlError(Exception):
    pass


_JQL_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op>!=|!~|>=|<=|=|~|>|<)
      | (?P<punct>[(),])
      | (?P<word>[^\s=!~<>(),"']+)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "is", "empty", "null", "order", "by", "asc", "desc"}


@dataclass
class _Tok:
    kind: str  # str, op, punct, word, kw, end
    text: str


def _tokenize(jql: str) -> list[_Tok]:
    toks: list[_Tok] = []
    pos = 0
    jql = jql.strip()
    while pos < len(jql):
        m = _JQL_TOKEN.match(jql, pos)
        if not m or m.end() == pos:
            raise JqlError(f"Error in the JQL Query: unexpected character at position {pos}.")
        pos = m.end()
        if m.group("str") is not None:
            raw = m.group("str")[1:-1]
            toks.append(_Tok("str", re.sub(r"\\(.)", r"\1", raw)))
        elif m.group("op") is not None:
            toks.append(_Tok("op", m.group("op")))
        elif m.group("punct") is not None:
            toks.append(_Tok("punct", m.group("punct")))
        elif m.group("word") is not None:
            word = m.group("word")
            if word.lower() in ("&&", "||"):
                word = "and" if word == "&&" else "or"
            kind = "kw" if word.lower() in _KEYWORDS else "word"
            toks.append(_Tok(kind, word))
    toks.append(_Tok("end", ""))
    return toks


@dataclass
class Value:
    text: str | None  # None: EMPTY
    func: str | None = None


@dataclass
class Clause:
    field: str
    op: str
    values: list[Value]


@dataclass
class BoolNode:
    op: str  # and, or, not
    children: list[Any]


class _JqlParser:
    def __init__(self, jql: str) -> None:
        self.toks = _tokenize(jql)
        self.i = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def is_kw(self, *words: str) -> bool:
        tok = self.peek()
        return tok.kind == "kw" and tok.text.lower() in words

    def parse(self) -> tuple[Any | None, list[tuple[str, bool]]]:
        tree = None
        if not self.is_kw("order") and self.peek().kind != "end":
            tree = self.parse_or()
        order: list[tuple[str, bool]] = []
        if self.is_kw("order"):
            self.take()
            if not self.is_kw("by"):
                raise JqlError("Error in the JQL Query: expecting 'by' after 'order'.")
            self.take()
            while True:
                tok = self.take()
                if tok.kind not in ("word", "str"):
                    raise JqlError("Error in the JQL Query: expecting a field name in ORDER BY.")
                desc = False
                if self.is_kw("asc", "desc"):
                    desc = self.take().text.lower() == "desc"
                order.append((tok.text, desc))
                if self.peek().kind == "punct" and self.peek().text == ",":
                    self.take()
                    continue
                break
        if self.peek().kind != "end":
            raise JqlError(f"Error in the JQL Query: unexpected '{self.peek().text}'.")
        return tree, order

    def parse_or(self) -> Any:
        node = self.parse_and()
        children = [node]
        while self.is_kw("or"):
            self.take()
            children.append(self.parse_and())
        return node if len(children) == 1 else BoolNode("or", children)

    def parse_and(self) -> Any:
        children = [self.parse_not()]
        while self.is_kw("and"):
            self.take()
            children.append(self.parse_not())
        return children[0] if len(children) == 1 else BoolNode("and", children)

    def parse_not(self) -> Any:
        if self.is_kw("not"):
            self.take()
            return BoolNode("not", [self.parse_not()])
        tok = self.peek()
        if tok.kind == "punct" and tok.text == "(":
            self.take()
            node = self.parse_or()
            if self.take().text != ")":
                raise JqlError("Error in the JQL Query: expecting ')'.")
            return node
        return self.parse_clause()

    def parse_clause(self) -> Clause:
        tok = self.take()
        if tok.kind not in ("word", "str"):
            raise JqlError(f"Error in the JQL Query: expecting a field name but got '{tok.text}'.")
        fname = tok.text
        op_tok = self.take()
        if op_tok.kind == "op":
            op = op_tok.text
        elif op_tok.kind == "kw" and op_tok.text.lower() == "in":
            op = "in"
        elif op_tok.kind == "kw" and op_tok.text.lower() == "not" and self.is_kw("in"):
            self.take()
            op = "not in"
        elif op_tok.kind == "kw" and op_tok.text.lower() == "is":
            op = "is"
            if self.is_kw("not"):
                self.take()
                op = "is not"
        else:
            raise JqlError(
                f"Error in the JQL Query: expecting an operator after '{fname}' "
                f"but got '{op_tok.text}'."
            )
        if op in ("in", "not in"):
            if self.take().text != "(":
                raise JqlError("Error in the JQL Query: expecting '(' after IN.")
            values = [self.parse_value()]
            while self.peek().kind == "punct" and self.peek().text == ",":
                self.take()
                values.append(self.parse_value())
            if self.take().text != ")":
                raise JqlError("Error in the JQL Query: expecting ')'.")
        else:
            values = [self.parse_value()]
        if op in ("is", "is not") and values[0].text is not None:
            raise JqlError("Error in the JQL Query: IS only takes EMPTY or NULL.")
        return Clause(fname, op, values)

    def parse_value(self) -> Value:
        tok = self.take()
        if tok.kind == "kw" and tok.text.lower() in ("empty", "null"):
            return Value(None)
        if tok.kind == "str":
            return Value(tok.text)
        if tok.kind == "word":
            if self.peek().kind == "punct" and self.peek().text == "(":
                self.take()
                while not (self.peek().kind == "punct" and self.peek().text == ")"):
                    if self.peek().kind == "end":
                        raise JqlError("Error in the JQL Query: unterminated function call.")
                    self.take()
                self.take()
                return Value(tok.text, func=tok.text.lower())
            return Value(tok.text)
        raise JqlError(f"Error in the JQL Query: expecting a value but got '{tok.text}'.")


_REL_DATE = re.compile(r"^([+-]?)((?:\d+[wdhm])+)$", re.I)


def parse_date(text: str) -> datetime:
    text = text.strip()
    m = _REL_DATE.match(text)
    if m:
        sign = -1 if m.group(1) == "-" else 1
        total = timedelta()
        for num, unit in re.findall(r"(\d+)([wdhm])", m.group(2).lower()):
            mult = {
                "w": timedelta(weeks=1),
                "d": timedelta(days=1),
                "h": timedelta(hours=1),
                "m": timedelta(minutes=1),
            }[unit]
            total += int(num) * mult
        return now() + sign * total
    for fmt in ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise JqlError(
        f"Date value '{text}' for field is invalid. Valid formats include: "
        "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', "
        "or a period format e.g. '-5d', '4w 2d'."
    )


def parse(jql: str) -> tuple[Any | None, Order]:
    """(clause tree or None, ORDER BY list); JqlError with Jira's message if it does not parse."""
    return _JqlParser(jql).parse()
