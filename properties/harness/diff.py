"""Field-level differences between two decoded values (two replies to one call).

Rules: XDR records, dataclasses, lists and tuples are walked field by field, element by
element; every leaf that differs is one line `path: first | second`; enums show their
names, bytes their repr, and a value longer than MAX_VALUE characters is cut with an
ellipsis. A union arm that changed (a different record) is one line at that path. At
most MAX_LINES lines, then how many more.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterator

from reference.xdr.runtime import record_fields

MAX_VALUE = 60
MAX_LINES = 12


def field_names(value: object) -> tuple[str, ...] | None:
    """The field names of a generated XDR record or a dataclass instance, else None."""
    names = record_fields(value)
    if names is None and dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = tuple(field.name for field in dataclasses.fields(value))
    return names


def field_diff(first: object, second: object, path: str = "reply") -> list[str]:
    lines = list(_walk(first, second, path))
    if len(lines) > MAX_LINES:
        return [*lines[:MAX_LINES], f"... and {len(lines) - MAX_LINES} more fields"]
    return lines


def _walk(first: object, second: object, path: str) -> Iterator[str]:
    if first == second:
        return
    names = field_names(first)
    if names is not None and type(first) is type(second):
        for name in names:
            yield from _walk(getattr(first, name), getattr(second, name), f"{path}.{name}")
        return
    if isinstance(first, list | tuple) and isinstance(second, list | tuple):
        if len(first) != len(second):
            yield f"{path}: {len(first)} items | {len(second)} items"
        for index, (one, other) in enumerate(zip(first, second, strict=False)):
            yield from _walk(one, other, f"{path}[{index}]")
        return
    yield f"{path}: {_shown(first)} | {_shown(second)}"


def _shown(value: object) -> str:
    if isinstance(value, enum.Enum):
        return value.name
    if field_names(value) is not None:  # another union arm: its type says which
        return f"{type(value).__name__}(...)"
    text = repr(value)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 3] + "..."
