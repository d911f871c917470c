"""The edge's shared parts: field types (names, texts, URLs, whole numbers), `EdgeModel`, and
`parse_model` / `parse_json` with their one error shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Strict,
    StringConstraints,
    ValidationError,
)
from pydantic.alias_generators import to_camel

from chalicelib.domain.text import WHITESPACE
from chalicelib.errors import ValidationFailed, field_problem

# The OpenAPI document is generated from these models, so a constraint the server enforces must be
# one JSON Schema can say: checked on the value as sent, then surrounding whitespace dropped.
# A name has something besides whitespace and no control characters (C0, DEL).
NAME_PATTERN = rf"^[^\x00-\x1f\x7f]*[^{WHITESPACE}\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
# An address: something, one @, something; no whitespace.
EMAIL_PATTERN = rf"^[^@{WHITESPACE}]+@[^@{WHITESPACE}]+$"
Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, pattern=NAME_PATTERN),
    AfterValidator(str.strip),
]
Text = Annotated[str, StringConstraints(max_length=10_000)]
Trace = Annotated[str, StringConstraints(max_length=65_536)]
Url = Annotated[str, StringConstraints(max_length=2048, pattern=r"^https?://")]


def _whole_number(value: Any) -> Any:
    """JSON Schema's integer: 5.0 is the integer 5 (some JSON encoders write it so)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# An integer as JSON Schema means it: `Annotated[int, Strict(), Field(<bounds>), WHOLE]`: true,
# "5" and 1.5 are not integers, 5.0 is 5. The bounds go before WHOLE, so the document states them.
WHOLE = BeforeValidator(_whole_number)
# A number as JSON Schema means it: true and "0.5" are not numbers (lax pydantic takes both).
Number = Annotated[float, Strict()]


class EdgeModel(BaseModel):
    # defer_build: validators are built on first use, not when app.py imports this module
    # (every Lambda's cold start would pay for every model).
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        frozen=True,
        defer_build=True,
    )


class StrictEdgeModel(EdgeModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        defer_build=True,
    )


M = TypeVar("M", bound=BaseModel)


def _field_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "body"


def _one_of(ctx: dict[str, Any]) -> str:
    expected = str(ctx.get("expected", "")).replace(" or ", ", ")
    return "must be one of " + ", ".join(e.strip(" '") for e in expected.split(","))


def _items(count: Any) -> str:
    return f"{count} item" if count == 1 else f"{count} items"


# pydantic error types -> the contract's words. Values quoted from the model (patterns, limits,
# names) keep their case: a pattern lower-cased is a different pattern.
_PROBLEMS: dict[str, Callable[[dict[str, Any]], str]] = {
    "enum": _one_of,
    "literal_error": _one_of,
    "missing": lambda ctx: "is required",
    "extra_forbidden": lambda ctx: "is not a known field",
    "string_pattern_mismatch": lambda ctx: (
        "must not be blank or contain control characters"
        if ctx.get("pattern") == NAME_PATTERN
        else "must be an address: one @, no whitespace"
        if ctx.get("pattern") == EMAIL_PATTERN
        else f"must match the pattern {ctx.get('pattern')}"
    ),
    "model_type": lambda ctx: "must be an object",
    "model_attributes_type": lambda ctx: "must be an object",
    "dict_type": lambda ctx: "must be an object",
    "list_type": lambda ctx: "must be a list",
    "string_type": lambda ctx: "must be a string",
    "int_type": lambda ctx: "must be an integer",
    "int_parsing": lambda ctx: "must be an integer",
    "int_from_float": lambda ctx: "must be an integer",
    "float_type": lambda ctx: "must be a number",
    "float_parsing": lambda ctx: "must be a number",
    "bool_type": lambda ctx: "must be true or false",
    "bool_parsing": lambda ctx: "must be true or false",
    "string_too_short": lambda ctx: (
        "must not be empty"
        if ctx.get("min_length") == 1
        else f"must be at least {ctx.get('min_length')} characters long"
    ),
    "string_too_long": lambda ctx: f"must be at most {ctx.get('max_length')} characters long",
    "too_short": lambda ctx: f"must have at least {_items(ctx.get('min_length'))}",
    "too_long": lambda ctx: f"must have at most {_items(ctx.get('max_length'))}",
    "greater_than": lambda ctx: f"must be greater than {ctx.get('gt')}",
    "greater_than_equal": lambda ctx: f"must be at least {ctx.get('ge')}",
    "less_than": lambda ctx: f"must be less than {ctx.get('lt')}",
    "less_than_equal": lambda ctx: f"must be at most {ctx.get('le')}",
}


def _problem(err: Any) -> str:
    translate = _PROBLEMS.get(err["type"])
    if translate is not None:
        return translate(err.get("ctx") or {})
    message = str(err["msg"]).removeprefix("Value error, ")
    # Only pydantic's sentence case goes ("Input should be ..." -> "input should be ..."):
    # an acronym or a name at the start ("UUID", "ResultsReport") stays as it is.
    if len(message) > 1 and message[0].isupper() and message[1].islower():
        message = message[0].lower() + message[1:]
    return message


def parse_model(model: type[M], data: Any) -> M:
    """Validate `data` into `model`, turning pydantic's errors into the contract's error shape."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = [field_problem(_field_path(e["loc"]), _problem(e)) for e in exc.errors()]
        raise ValidationFailed("the request body is not valid", details) from exc


def parse_json(body: bytes | str | None) -> Any:
    """Decode a JSON body, or say clearly why it is not JSON."""
    import json

    from chalicelib.errors import MalformedRequest

    if not body:
        raise MalformedRequest("the body is empty", [field_problem("body", "is required")])
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedRequest(
            "the body is not valid JSON", [field_problem("body", f"is not valid JSON: {exc}")]
        ) from exc
