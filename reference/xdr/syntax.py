"""The syntax tree of an RPC language file (RFC 4506 section 6, RFC 5531 section 12).

Rules: this module only describes what the file says, in the file's own terms: names
are not resolved, constants are not evaluated, anonymous inline types stay inline.
Every node that a later error can point at carries its `Position`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Position:
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.line}:{self.column}"


# A value in the file: a literal integer or the name of a constant / enum member.
Value = int | str


@dataclass(frozen=True, slots=True)
class Builtin:
    """int, unsigned int, hyper, unsigned hyper, float, double, quadruple or bool."""

    name: str


@dataclass(frozen=True, slots=True)
class NamedType:
    name: str
    position: Position


@dataclass(frozen=True, slots=True)
class EnumBody:
    members: tuple[tuple[str, Value | None], ...]  # None: previous value + 1 (rpcgen)
    position: Position


@dataclass(frozen=True, slots=True)
class StructBody:
    fields: tuple[Declaration, ...]
    position: Position


@dataclass(frozen=True, slots=True)
class Case:
    values: tuple[Value, ...]
    declaration: Declaration


@dataclass(frozen=True, slots=True)
class UnionBody:
    discriminant: Declaration
    cases: tuple[Case, ...]
    default: Declaration | None
    position: Position


TypeSpecifier = Builtin | NamedType | EnumBody | StructBody | UnionBody


@dataclass(frozen=True, slots=True)
class Declaration:
    """One declaration. kind: plain, fixed_array, var_array, opaque_fixed, opaque_var,
    string, optional or void. `size` is the fixed length or the bound (None: no bound)."""

    kind: str
    name: str
    type: TypeSpecifier | None
    size: Value | None
    position: Position


@dataclass(frozen=True, slots=True)
class ConstDef:
    name: str
    value: Value
    position: Position


@dataclass(frozen=True, slots=True)
class StringConstDef:
    """A string constant (an rpcgen extension): it only becomes a module constant."""

    name: str
    value: bytes
    position: Position


@dataclass(frozen=True, slots=True)
class TypeDef:
    """typedef, or a named enum / struct / union definition."""

    name: str
    declaration: Declaration  # for enum/struct/union: kind plain with the body as type
    position: Position


@dataclass(frozen=True, slots=True)
class ProcedureDef:
    name: str
    number: Value
    result: Declaration  # kind plain or void
    arguments: tuple[Declaration, ...]  # empty for void
    position: Position


@dataclass(frozen=True, slots=True)
class VersionDef:
    name: str
    number: Value
    procedures: tuple[ProcedureDef, ...]
    position: Position


@dataclass(frozen=True, slots=True)
class ProgramDef:
    name: str
    number: Value
    versions: tuple[VersionDef, ...]
    position: Position


Definition = ConstDef | StringConstDef | TypeDef | ProgramDef


@dataclass(frozen=True, slots=True)
class Specification:
    source_name: str
    definitions: tuple[Definition, ...] = field(default=())
    # Per line of the preprocessed text: the (file, line) it came from (an #include
    # brings other files' lines in); empty when every line is the source's own.
    origins: tuple[tuple[str, int], ...] = field(default=())

    def locate(self, line: int, column: int) -> str:
        """`file:line:column` of a place in the preprocessed text."""
        if 1 <= line <= len(self.origins):
            source, original = self.origins[line - 1]
            return f"{source}:{original}:{column}"
        return f"{self.source_name}:{line}:{column}"
