"""The one convention for typed aggregates: dataclasses whose fields are the snake_case form of
the camelCase attributes stored and shown in the API. `from_dict` / `to_dict` convert; attributes
a newer or older writer stored that the class does not name are kept in `other`, so a read and a
write never lose anything."""

from __future__ import annotations

import dataclasses
import re
from typing import Any, ClassVar, Self

_CAMEL = re.compile(r"_([a-z0-9])")


def camel(name: str) -> str:
    return _CAMEL.sub(lambda m: m.group(1).upper(), name)


class Record:
    """Base of the domain's dataclasses (`@dataclass class Ticket(Record)`)."""

    _names: ClassVar[dict[str, str]]  # camelCase -> field name, per class
    other: dict[str, Any]

    @classmethod
    def _fields(cls) -> dict[str, str]:
        names = cls.__dict__.get("_names")
        if names is None:
            names = {camel(f.name): f.name for f in dataclasses.fields(cls) if f.name != "other"}  # type: ignore[arg-type]
            cls._names = names
        return names

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        fields = cls._fields()
        known = {fields[k]: v for k, v in data.items() if k in fields}
        other = {k: v for k, v in data.items() if k not in fields}
        return cls(**known, other=other)  # type: ignore[call-arg]

    def to_dict(self) -> dict[str, Any]:
        """Every field in its camelCase name (None included), then the attributes in `other`."""
        out = {k: self._plain(getattr(self, n)) for k, n in self._fields().items()}
        out.update(self.other)
        return out

    @staticmethod
    def _plain(value: Any) -> Any:
        if isinstance(value, Record):
            return value.to_dict()
        if isinstance(value, list):
            return [Record._plain(v) for v in value]
        return value
