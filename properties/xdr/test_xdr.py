"""XDR: every type of every spec round-trips; bad bytes are an XdrError.

Every type of every committed spec round-trips, and arbitrary (or truncated) bytes decode
to a value or an XdrError, nothing else.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from properties.harness.findings import check
from properties.xdr.strategies import strategy_for
from reference.xdr import XdrError
from reference.xdr.model import Module, resolve
from reference.xdr.parser import parse_spec
from reference.xdr.regen import SPECS


@dataclass(frozen=True, slots=True)
class NamedType:
    """One named type of one committed spec, with its generated codecs."""

    spec: str
    name: str

    def __str__(self) -> str:
        return f"{self.spec}.{self.name}"

    @property
    def generated(self) -> ModuleType:
        return importlib.import_module(f"reference.xdr.gen.{self.spec}")

    @property
    def encode(self) -> Callable[[Any], bytes]:
        encode: Callable[[Any], bytes] = getattr(self.generated, f"encode_{self.name}")
        return encode

    @property
    def decode(self) -> Callable[[bytes], Any]:
        decode: Callable[[bytes], Any] = getattr(self.generated, f"decode_{self.name}")
        return decode

    def values(self) -> st.SearchStrategy[Any]:
        return values_of(self.spec, self.name)


@cache
def model_of(stem: str) -> Module:
    path = SPECS / f"{stem}.x"
    return resolve(parse_spec(path.read_text(), path.name))


@cache
def values_of(stem: str, name: str) -> st.SearchStrategy[Any]:
    model = model_of(stem)
    generated = importlib.import_module(f"reference.xdr.gen.{stem}")
    return strategy_for(model, generated, model.named_type(name))


def named_types() -> list[NamedType]:
    return [
        NamedType(path.stem, name)
        for path in sorted(Path(SPECS).glob("*.x"))
        for name in model_of(path.stem).order
    ]


NAMED_TYPES = named_types()


@check("XDR-NAMED-TYPES", "every .x spec has named types", "RFC 4506 §6")
def test_every_spec_has_named_types() -> None:
    assert {t.spec for t in NAMED_TYPES} >= {"nfs3", "mount3", "portmap", "rpc_msg", "nfs2"}


@check("XDR-ROUND-TRIP", "every type encodes and decodes back", "RFC 4506 §4")
@pytest.mark.parametrize("named", NAMED_TYPES, ids=str)
@given(data=st.data())
def test_round_trip(named: NamedType, data: st.DataObject) -> None:
    value = data.draw(named.values(), label="value")
    assert named.decode(named.encode(value)) == value


@check("XDR-GARBAGE", "arbitrary bytes decode or raise XdrError", "RFC 4506 §4")
@pytest.mark.parametrize("named", NAMED_TYPES, ids=str)
@given(garbage=st.binary(max_size=512))
def test_arbitrary_bytes_decode_or_raise_xdr_error(named: NamedType, garbage: bytes) -> None:
    try:
        value = named.decode(garbage)
    except XdrError:
        return
    # A decoder that accepted the bytes consumed all of them: the value re-encodes to as
    # many bytes (not always the same ones: padding need not be zero on input).
    assert len(named.encode(value)) == len(garbage)


@check("XDR-TRUNCATED", "a truncated encoding raises XdrError", "RFC 4506 §4")
@pytest.mark.parametrize("named", NAMED_TYPES, ids=str)
@given(data=st.data())
def test_truncated_encoding_raises_xdr_error(named: NamedType, data: st.DataObject) -> None:
    encoding = named.encode(data.draw(named.values(), label="value"))
    keep = data.draw(st.integers(0, len(encoding) - 1), label="kept bytes")
    with pytest.raises(XdrError):
        named.decode(encoding[:keep])
