"""Hypothesis strategies derived from a resolved XDR model, for any generated module.

Rules: strategies are computed from the resolved `Module` (reference.xdr.model), never
written per type by hand, so every spec the compiler accepts gets them for free. Each
drawn value is one the generated codec can encode and decodes back equal: integers lie
in their kind's range, floats are never NaN (and `float` is drawn at 32-bit width),
lengths respect their bounds, a union's discriminant selects the arm whose field is set
(a default arm gets a discriminant that no case lists). Variable lengths are capped at
MAX_DRAWN bytes or elements to keep examples small. Structs and unions are referenced
through `st.deferred`, one per name, so recursive types terminate and are built once.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from hypothesis import strategies as st

from reference.xdr.model import (
    Arm,
    Array,
    EnumRef,
    ListOf,
    Module,
    Opaque,
    Optional,
    Prim,
    String,
    StructRef,
    UnionModel,
    UnionRef,
    Void,
    XdrType,
)

MAX_DRAWN = 64  # the most bytes or elements drawn for a variable-length type

INT_RANGES = {
    "int": (-(1 << 31), (1 << 31) - 1),
    "uint": (0, (1 << 32) - 1),
    "hyper": (-(1 << 63), (1 << 63) - 1),
    "uhyper": (0, (1 << 64) - 1),
}


def strategy_for(model: Module, generated: ModuleType, xdr_type: XdrType) -> st.SearchStrategy[Any]:
    """Values of `xdr_type` (from `model`) as the module generated from `model` types them."""
    return _Strategies(model, generated).of(xdr_type)


class _Strategies:
    def __init__(self, model: Module, generated: ModuleType) -> None:
        self.model = model
        self.generated = generated
        self.named: dict[str, st.SearchStrategy[Any]] = {}

    def of(self, t: XdrType) -> st.SearchStrategy[Any]:
        if isinstance(t, Prim):
            return _primitive(t.kind)
        if isinstance(t, Void):
            return st.none()
        if isinstance(t, EnumRef):
            return st.sampled_from(list(getattr(self.generated, t.name)))
        if isinstance(t, Opaque):
            if t.fixed:
                return st.binary(min_size=t.length, max_size=t.length)
            return st.binary(max_size=min(t.length, MAX_DRAWN))
        if isinstance(t, String):
            return st.binary(max_size=min(t.bound, MAX_DRAWN))
        if isinstance(t, Array):
            element = self.of(t.element)
            if t.fixed:
                return st.lists(element, min_size=t.length, max_size=t.length)
            return st.lists(element, max_size=min(t.length, MAX_DRAWN))
        if isinstance(t, Optional):
            return st.none() | self.of(t.element)
        if isinstance(t, ListOf):
            return st.lists(self.reference(t.node), max_size=MAX_DRAWN)
        assert isinstance(t, StructRef | UnionRef)
        return self.reference(t.name)

    def reference(self, name: str) -> st.SearchStrategy[Any]:
        """The strategy of a struct or union, built lazily once (recursion ends here)."""
        if name not in self.named:
            self.named[name] = st.deferred(lambda: self._build(name))
        return self.named[name]

    def _build(self, name: str) -> st.SearchStrategy[Any]:
        cls = getattr(self.generated, name)
        union = self.model.unions.get(name)
        if union is not None:
            return self._union(cls, union)
        fields = self.model.structs[name].fields
        return st.builds(cls, **{f.name: self.of(f.type) for f in fields})

    def _union(self, cls: type, union: UnionModel) -> st.SearchStrategy[Any]:
        arms = [self._arm(cls, union, arm, st.sampled_from(arm.values)) for arm in union.arms]
        if union.default is not None:
            others = self._unlisted(union)
            if others is not None:
                arms.append(self._arm(cls, union, union.default, others))
        return st.one_of(arms)

    def _arm(
        self, cls: type, union: UnionModel, arm: Arm, values: st.SearchStrategy[int]
    ) -> st.SearchStrategy[Any]:
        discriminants = values.map(self._discriminant_maker(union))
        if arm.field is None:
            return st.builds(cls, discriminants)
        return st.builds(cls, discriminants, **{arm.field.name: self.of(arm.field.type)})

    def _discriminant_maker(self, union: UnionModel) -> Callable[[int], Any]:
        """Turns a case value into the discriminant's Python value (enum member, bool, int)."""
        t = union.discriminant.type
        if isinstance(t, EnumRef):
            enum_class: Callable[[int], Any] = getattr(self.generated, t.name)
            return enum_class
        if isinstance(t, Prim) and t.kind == "bool":
            return bool
        return int

    def _unlisted(self, union: UnionModel) -> st.SearchStrategy[int] | None:
        """Discriminant values no case lists (None when every value is listed)."""
        listed = {value for arm in union.arms for value in arm.values}
        t = union.discriminant.type
        if isinstance(t, EnumRef):
            members = [v for _, v in self.model.enums[t.name].members if v not in listed]
            return st.sampled_from(members) if members else None
        assert isinstance(t, Prim)
        if t.kind == "bool":
            left = [v for v in (0, 1) if v not in listed]
            return st.sampled_from(left) if left else None
        low, high = INT_RANGES[t.kind]
        return st.integers(low, high).filter(lambda v: v not in listed)


def _primitive(kind: str) -> st.SearchStrategy[Any]:
    if kind in INT_RANGES:
        low, high = INT_RANGES[kind]
        return st.integers(low, high)
    if kind == "float":
        return st.floats(width=32, allow_nan=False)
    if kind == "double":
        return st.floats(allow_nan=False)
    return st.booleans()
