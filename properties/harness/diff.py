"""Field-level differences between two decoded values (two replies to one call).

Rules: dataclasses, lists and tuples are walked field by field, element by element; every
leaf that differs is one line `path: first | second`; enums show their names, bytes their
repr, and a value longer than MAX_VALUE characters is cut with an ellipsis. A union arm
that changed (a different dataclass) is one line at that path. At most MAX_LINES lines,
then how many more.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterator

MAX_VALUE = 60
MAX_LINES = 12


def field_diff(first: object, second: object, path: str = "reply") -> list[str]:
    lines = list(_walk(first, second, path))
    if len(lines) > MAX_LINES:
        return [*lines[:MAX_LINES], f"... and {len(lines) - MAX_LINES} more fields"]
    return lines


def _walk(first: object, second: object, path: str) -> Iterator[str]:
    if first == second:
        return
    if (
        dataclasses.is_dataclass(first)
        and not isinstance(first, type)
        and type(first) is type(second)
    ):
        for field in dataclasses.fields(first):
            yield from _walk(
                getattr(first, field.name), getattr(second, field.name), f"{path}.{field.name}"
            )
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
    if dataclasses.is_dataclass(value):  # another union arm: its type says which
        return f"{type(value).__name__}(...)"
    text = repr(value)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 3] + "..."
