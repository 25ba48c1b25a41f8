"""What generated XDR modules import: precompiled primitives and the top-level wrappers.

Rules: a generated codec is a pair `_enc_T(value, out: bytearray) -> None` and
`_dec_T(buf: bytes, off: int) -> (value, next offset)`; only the wrappers here turn
the low-level failures a codec can meet (struct.error on truncation or an integer out
of range, a too-deep recursion) into XdrError, so the per-field code stays lean.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from dataclasses import FrozenInstanceError
from typing import Any, ClassVar, Self, TypeVar

from reference.xdr import XdrError

T = TypeVar("T")
K = TypeVar("K")

I32 = struct.Struct(">i")
U32 = struct.Struct(">I")
I64 = struct.Struct(">q")
U64 = struct.Struct(">Q")
F32 = struct.Struct(">f")
F64 = struct.Struct(">d")
TRUE = U32.pack(1)
FALSE = U32.pack(0)
PADDING = (b"", b"\0\0\0", b"\0\0", b"\0")  # indexed by length & 3


class EnumTable(dict[int, K]):
    """Wire value → enum member; an unknown value is an XdrError naming the type."""

    def __init__(self, type_name: str, members: Iterable[tuple[int, K]]) -> None:
        super().__init__(members)
        self.type_name = type_name

    def __missing__(self, value: int) -> K:
        raise XdrError(f"{value} is not a valid {self.type_name}")


BOOLS: EnumTable[bool] = EnumTable("bool", [(0, False), (1, True)])

set_field = object.__setattr__  # how a generated __init__ fills a frozen Record


class Record:
    """Base of generated structs and unions: frozen, compared, hashed and shown by their
    fields (`__slots__`, in declaration order), like a frozen dataclass. Generated as
    plain classes because making a dataclass runs its methods' source through exec: for
    nfs3.x's 109 types that was 70 ms every time a process loaded the module."""

    __slots__: ClassVar[tuple[str, ...]] = ()

    def field_values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def _replace(self, **changes: Any) -> Self:
        """A copy with `changes` (field name: new value), as dataclasses.replace."""
        values = dict(zip(self.__slots__, self.field_values(), strict=True))
        values.update(changes)
        return type(self)(**values)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Record)
        return self.field_values() == other.field_values()

    def __hash__(self) -> int:
        return hash(self.field_values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__qualname__}({shown})"

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __reduce__(self) -> tuple[type[Self], tuple[Any, ...]]:
        return type(self), self.field_values()


def record_fields(value: object) -> tuple[str, ...] | None:
    """The field names of a Record instance, or None for anything else."""
    return value.__slots__ if isinstance(value, Record) else None


def decode_with(codec: Callable[[bytes, int], tuple[T, int]], data: bytes) -> T:
    """Decode exactly `data` (bytes, bytearray or memoryview) with a generated codec."""
    buf = data if type(data) is bytes else bytes(data)
    try:
        value, end = codec(buf, 0)
    except struct.error:
        raise XdrError(f"truncated: {len(buf)} bytes end inside a value") from None
    except RecursionError:
        raise XdrError("nested too deeply") from None
    if end != len(buf):
        if end > len(buf):
            raise XdrError(f"truncated: {len(buf)} bytes end inside a value")
        raise XdrError(f"{len(buf) - end} trailing bytes after the value")
    return value


def decode_prefix(
    codec: Callable[[bytes, int], tuple[T, int]], data: bytes, offset: int = 0
) -> tuple[T, int]:
    """Decode one value at `offset` and return it with the offset after it (the RPC
    runtime decodes a message header this way, then the procedure's body)."""
    try:
        value, end = codec(data, offset)
    except struct.error:
        raise XdrError("truncated: the bytes end inside a value") from None
    except RecursionError:
        raise XdrError("nested too deeply") from None
    if end > len(data):
        raise XdrError("truncated: the bytes end inside a value")
    return value, end


def encode_with(codec: Callable[[T, bytearray], None], value: T) -> bytes:
    out = bytearray()
    try:
        codec(value, out)
    except struct.error as error:
        raise XdrError(f"cannot encode {value!r}: {error}") from None
    return bytes(out)


def too_long(where: str, length: int, bound: int) -> XdrError:
    return XdrError(f"{where}: length {length} exceeds its bound {bound}")


def truncated(where: str) -> XdrError:
    return XdrError(f"{where}: truncated")


def pack_array(fmt: str, values: list[T]) -> bytes:
    return struct.pack(f">{len(values)}{fmt}", *values)


def unpack_array(fmt: str, count: int, buf: bytes, off: int) -> tuple[Any, ...]:
    """`count` numbers of format `fmt` (typed Any: the caller's annotation says which)."""
    return struct.unpack_from(f">{count}{fmt}", buf, off)


def encode_void(value: None) -> bytes:
    return b""


def decode_void(data: bytes) -> None:
    if data:
        raise XdrError(f"{len(data)} trailing bytes after a void value")
