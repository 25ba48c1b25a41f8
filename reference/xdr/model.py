"""Resolve a parsed specification into the types the code generator emits.

Rules: every name is resolved and every constant evaluated here, so the generator never
meets an unknown; anonymous inline types are hoisted and named `<Outer>_<field>`; a
struct whose last field is an optional pointer to itself is a linked-list node: the
pointer field is dropped and every `*Node` elsewhere becomes a `ListOf(Node)`.
Typedef names resolve to their target. Errors are XdrSpecError with file:line:column.
"""

from __future__ import annotations

import keyword
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from reference.xdr.parser import XdrSpecError
from reference.xdr.syntax import (
    Builtin,
    ConstDef,
    Declaration,
    EnumBody,
    NamedType,
    Position,
    ProgramDef,
    Specification,
    StringConstDef,
    StructBody,
    TypeDef,
    TypeSpecifier,
    UnionBody,
    Value,
)

UINT_MAX = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class Prim:
    """int, uint, hyper, uhyper, float, double or bool: one struct format character."""

    kind: str

    @property
    def format(self) -> str:
        return _PRIM_FORMATS[self.kind]

    @property
    def size(self) -> int:
        return 8 if self.kind in ("hyper", "uhyper", "double") else 4


_PRIM_FORMATS = {
    "int": "i",
    "uint": "I",
    "hyper": "q",
    "uhyper": "Q",
    "float": "f",
    "double": "d",
    "bool": "I",
}
_BUILTIN_PRIMS = {
    "int": "int",
    "unsigned int": "uint",
    "hyper": "hyper",
    "unsigned hyper": "uhyper",
    "float": "float",
    "double": "double",
    "bool": "bool",
}
# Type names C headers give .x files (rpc/types.h, rpc/xdr.h): rpcgen takes them as
# known, so a file may use them without defining them.
_C_TYPE_NAMES: dict[str, XdrType] = {}


@dataclass(frozen=True, slots=True)
class Void:
    pass


@dataclass(frozen=True, slots=True)
class EnumRef:
    name: str


@dataclass(frozen=True, slots=True)
class StructRef:
    name: str


@dataclass(frozen=True, slots=True)
class UnionRef:
    name: str


@dataclass(frozen=True, slots=True)
class Opaque:
    length: int  # the exact length if fixed, else the bound
    fixed: bool


@dataclass(frozen=True, slots=True)
class String:
    bound: int


@dataclass(frozen=True, slots=True)
class Array:
    element: XdrType
    length: int  # the exact length if fixed, else the bound
    fixed: bool


@dataclass(frozen=True, slots=True)
class Optional:
    element: XdrType


@dataclass(frozen=True, slots=True)
class ListOf:
    """A linked list of `node` structs: on the wire, optional-pointer chained."""

    node: str


XdrType = Prim | Void | EnumRef | StructRef | UnionRef | Opaque | String | Array | Optional | ListOf

MAX_NETOBJ_SIZE = 1024
_C_TYPE_NAMES.update(
    {name: Prim("int") for name in ("int32_t", "int16_t", "int8_t")}
    | {
        name: Prim("uint")
        for name in (
            *("u_int", "u_long", "u_short", "u_char", "uint32_t", "u_int32_t"),
            *("uint16_t", "u_int16_t", "uint8_t", "u_int8_t"),
        )
    }
    | {name: Prim("hyper") for name in ("int64_t", "quad_t", "longlong_t")}
    | {name: Prim("uhyper") for name in ("uint64_t", "u_int64_t", "u_quad_t", "u_longlong_t")}
    | {"netobj": Opaque(MAX_NETOBJ_SIZE, fixed=False)}
)


@dataclass(frozen=True, slots=True)
class Field:
    name: str  # a Python identifier (keywords get a trailing underscore)
    type: XdrType


@dataclass(frozen=True, slots=True)
class EnumModel:
    name: str
    members: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class StructModel:
    name: str
    fields: tuple[Field, ...]
    linked: bool = False  # a list node: the dropped last field was `Self *next`


@dataclass(frozen=True, slots=True)
class Arm:
    values: tuple[int, ...]  # empty for the default arm
    field: Field | None  # None: void


@dataclass(frozen=True, slots=True)
class UnionModel:
    name: str
    discriminant: Field
    arms: tuple[Arm, ...]
    default: Arm | None


@dataclass(frozen=True, slots=True)
class ProcedureModel:
    name: str
    number: int
    argument: XdrType
    result: XdrType


@dataclass(frozen=True, slots=True)
class VersionModel:
    name: str
    number: int
    procedures: tuple[ProcedureModel, ...]


@dataclass(frozen=True, slots=True)
class ProgramModel:
    name: str
    number: int
    versions: tuple[VersionModel, ...]


@dataclass(slots=True)
class Module:
    source_name: str
    constants: dict[str, int] = field(default_factory=dict)
    string_constants: dict[str, bytes] = field(default_factory=dict)
    enums: dict[str, EnumModel] = field(default_factory=dict)
    structs: dict[str, StructModel] = field(default_factory=dict)
    unions: dict[str, UnionModel] = field(default_factory=dict)
    typedefs: dict[str, XdrType] = field(default_factory=dict)
    programs: list[ProgramModel] = field(default_factory=list)
    order: list[str] = field(default_factory=list)  # named types in definition order

    def named_type(self, name: str) -> XdrType:
        """The type a name denotes (typedefs resolved)."""
        if name in self.typedefs:
            return self.typedefs[name]
        if name in self.enums:
            return EnumRef(name)
        if name in self.structs:
            return StructRef(name)
        return UnionRef(name)


def python_name(name: str) -> str:
    return f"{name}_" if keyword.iskeyword(name) or name in ("None", "True", "False") else name


def _named_numbers(spec: Specification) -> Iterator[tuple[str, Value, Position]]:
    """Every name a value may be: constants, then programs, versions and procedures."""
    for definition in spec.definitions:
        if isinstance(definition, ConstDef):
            yield definition.name, definition.value, definition.position
    for definition in spec.definitions:
        if isinstance(definition, ProgramDef):
            yield definition.name, definition.number, definition.position
            for version in definition.versions:
                yield version.name, version.number, version.position
                for procedure in version.procedures:
                    yield procedure.name, procedure.number, procedure.position


def resolve(spec: Specification) -> Module:
    return _Resolver(spec).run()


class _Resolver:
    def __init__(self, spec: Specification) -> None:
        self.spec = spec
        self.module = Module(spec.source_name)
        self.values: dict[str, int] = {"TRUE": 1, "FALSE": 0}
        self.declared: dict[str, TypeDef] = {}

    def error(self, position: Position, message: str) -> XdrSpecError:
        return XdrSpecError(f"{self.spec.locate(position.line, position.column)}: {message}")

    def run(self) -> Module:
        self.spec = replace(
            self.spec, definitions=tuple(d for d in self.spec.definitions if not _self_alias(d))
        )
        for definition in self.spec.definitions:
            if isinstance(definition, TypeDef):
                self._claim(definition.name, definition.position)
                self.declared[definition.name] = definition
        for definition in self.spec.definitions:
            if isinstance(definition, ConstDef):
                self._claim_value(definition.name, definition.position)
                self.values[definition.name] = self.module.constants[definition.name] = (
                    self.evaluate(definition.value, definition.position)
                )
            elif isinstance(definition, StringConstDef):
                self._claim_value(definition.name, definition.position)
                self.module.string_constants[definition.name] = definition.value
            elif isinstance(definition, TypeDef):
                self._define(definition.name, definition.declaration)
        for definition in self.spec.definitions:
            if isinstance(definition, ProgramDef):
                self.module.programs.append(self._program(definition))
        _link_lists(self.module)
        return self.module

    def _claim(self, name: str, position: Position) -> None:
        if name in self.declared:
            raise self.error(position, f"{name} is defined twice")

    def _claim_value(self, name: str, position: Position) -> None:
        if name in self.values and name not in ("TRUE", "FALSE"):
            raise self.error(position, f"constant {name} is defined twice")

    def evaluate(
        self, value: Value, position: Position, outer: frozenset[str] = frozenset()
    ) -> int:
        if isinstance(value, int):
            return value
        if value in self.values:
            return self.values[value]
        if value in outer:
            raise self.error(position, f"constant {value} is defined in terms of itself")
        # A constant defined later in the file (XDR allows any order), or the name of a
        # program, version or procedure, which rpcgen defines as its number.
        for name, number, where in _named_numbers(self.spec):
            if name == value:
                return self.evaluate(number, where, outer | {value})
        raise self.error(position, f"undefined constant {value}")

    def _define(self, name: str, declaration: Declaration) -> None:
        if name in self.module.order:
            return  # an enum already defined by a forward reference
        body = declaration.type
        if declaration.kind == "plain" and isinstance(body, EnumBody | StructBody | UnionBody):
            self._define_body(name, body)
        else:
            self.module.typedefs[name] = self.declaration_type(name, declaration)
        self.module.order.append(name)

    def _define_body(self, name: str, body: EnumBody | StructBody | UnionBody) -> None:
        if name in self.module.enums or name in self.module.structs or name in self.module.unions:
            return  # already hoisted by a forward reference
        if isinstance(body, EnumBody):
            self.module.enums[name] = self._enum(name, body)
        elif isinstance(body, StructBody):
            self.module.structs[name] = StructModel(name, ())  # placeholder: self-reference
            fields = tuple(self._field(name, d) for d in body.fields)
            names = [f.name for f in fields]
            duplicates = {n for n in names if names.count(n) > 1}
            if duplicates:
                raise self.error(body.position, f"struct {name} repeats {sorted(duplicates)}")
            self.module.structs[name] = StructModel(name, fields)
        else:
            self.module.unions[name] = self._union(name, body)

    def _enum(self, name: str, body: EnumBody) -> EnumModel:
        members = []
        next_value = 0
        for member, value in body.members:
            self._claim_value(member, body.position)
            number = next_value if value is None else self.evaluate(value, body.position)
            if not -(1 << 31) <= number < (1 << 31):
                raise self.error(body.position, f"enum value {member} = {number} is not an int")
            self.values[member] = number
            members.append((member, number))
            next_value = number + 1
        return EnumModel(name, tuple(members))

    def _field(self, outer: str, declaration: Declaration) -> Field:
        return Field(
            python_name(declaration.name),
            self.declaration_type(f"{outer}_{declaration.name}", declaration),
        )

    def _union(self, name: str, body: UnionBody) -> UnionModel:
        discriminant = self._field(name, body.discriminant)
        if not (
            isinstance(discriminant.type, EnumRef)
            or (
                isinstance(discriminant.type, Prim)
                and discriminant.type.kind in ("int", "uint", "bool")
            )
        ):
            raise self.error(
                body.discriminant.position,
                f"union {name}: the discriminant must be int, unsigned int, bool or an enum",
            )
        arms = []
        seen: dict[int, Position] = {}
        fields: dict[str, Field] = {discriminant.name: discriminant}
        for case in body.cases:
            values = tuple(self.evaluate(v, case.declaration.position) for v in case.values)
            for value in values:
                if value in seen:
                    raise self.error(case.declaration.position, f"union {name}: case {value} twice")
                seen[value] = case.declaration.position
            arms.append(Arm(values, self._arm_field(name, case.declaration, fields)))
        default = None
        if body.default is not None:
            default = Arm((), self._arm_field(name, body.default, fields))
        return UnionModel(name, discriminant, tuple(arms), default)

    def _arm_field(
        self, union: str, declaration: Declaration, fields: dict[str, Field]
    ) -> Field | None:
        if declaration.kind == "void":
            return None
        arm = self._field(union, declaration)
        known = fields.get(arm.name)
        if known is not None and known != arm:
            raise self.error(declaration.position, f"union {union}: arm {arm.name} has two types")
        fields[arm.name] = arm
        return arm

    def declaration_type(self, context: str, declaration: Declaration) -> XdrType:
        kind = declaration.kind
        position = declaration.position
        size = None
        if declaration.size is not None:
            size = self.evaluate(declaration.size, position)
            if not 0 <= size <= UINT_MAX:
                raise self.error(position, f"{declaration.name}: size {size} out of range")
        if kind == "void":
            return Void()
        if kind == "opaque_fixed":
            assert size is not None
            return Opaque(size, fixed=True)
        if kind == "opaque_var":
            return Opaque(UINT_MAX if size is None else size, fixed=False)
        if kind == "string":
            return String(UINT_MAX if size is None else size)
        assert declaration.type is not None
        element = self.type_specifier(context, declaration.type, position)
        if isinstance(element, Void):
            raise self.error(position, f"{declaration.name}: void can only stand alone")
        if kind == "plain":
            return element
        if kind == "optional":
            return Optional(element)
        if kind == "fixed_array":
            assert size is not None
            return Array(element, size, fixed=True)
        return Array(element, UINT_MAX if size is None else size, fixed=False)

    def type_specifier(self, context: str, spec: TypeSpecifier, position: Position) -> XdrType:
        if isinstance(spec, Builtin):
            if spec.name == "quadruple":
                raise self.error(
                    position, "quadruple is not supported (Python has no 128-bit float)"
                )
            return Prim(_BUILTIN_PRIMS[spec.name])
        if isinstance(spec, NamedType):
            return self._named(spec)
        self._define_body(context, spec)
        self.module.order.append(context)
        return self.module.named_type(context)

    def _named(self, spec: NamedType) -> XdrType:
        name = spec.name
        module = self.module
        if name in module.enums or name in module.structs or name in module.unions:
            return module.named_type(name)
        if name in module.typedefs:
            return module.typedefs[name]
        definition = self.declared.get(name)
        if definition is None:
            if name in _C_TYPE_NAMES:
                return _C_TYPE_NAMES[name]
            raise self.error(spec.position, f"undefined type {name}")
        body = definition.declaration.type
        if definition.declaration.kind == "plain" and isinstance(body, EnumBody):
            self._define(name, definition.declaration)
            return EnumRef(name)
        if definition.declaration.kind == "plain" and isinstance(body, StructBody):
            return StructRef(name)  # defined in its turn; the reference is enough
        if definition.declaration.kind == "plain" and isinstance(body, UnionBody):
            return UnionRef(name)
        return self.declaration_type(name, definition.declaration)

    def _program(self, program: ProgramDef) -> ProgramModel:
        versions = []
        for version in program.versions:
            procedures = []
            for procedure in version.procedures:
                if len(procedure.arguments) > 1:
                    raise self.error(
                        procedure.position,
                        f"{procedure.name}: more than one argument; wrap them in a struct",
                    )
                argument = (
                    self.declaration_type(procedure.name, procedure.arguments[0])
                    if procedure.arguments
                    else Void()
                )
                result = self.declaration_type(procedure.name, procedure.result)
                number = self.evaluate(procedure.number, procedure.position)
                self.values[procedure.name] = number
                procedures.append(ProcedureModel(procedure.name, number, argument, result))
            number = self.evaluate(version.number, version.position)
            self.values[version.name] = number
            versions.append(VersionModel(version.name, number, tuple(procedures)))
        number = self.evaluate(program.number, program.position)
        return ProgramModel(program.name, number, tuple(versions))


def _self_alias(definition: object) -> bool:
    """`typedef struct X X;`: C's way to name a struct; in XDR it says nothing new."""
    if not isinstance(definition, TypeDef):
        return False
    declaration = definition.declaration
    target = declaration.type
    return (
        declaration.kind == "plain"
        and isinstance(target, NamedType)
        and target.name == definition.name
    )


def _link_lists(module: Module) -> None:
    """Turn self-linked structs into list nodes and `*Node` everywhere into ListOf."""
    linked = set()
    for name, struct in module.structs.items():
        if struct.fields and struct.fields[-1].type == Optional(StructRef(name)):
            linked.add(name)
            module.structs[name] = StructModel(name, struct.fields[:-1], linked=True)
    if not linked:
        return

    def convert(t: XdrType) -> XdrType:
        if isinstance(t, Optional):
            if isinstance(t.element, StructRef) and t.element.name in linked:
                return ListOf(t.element.name)
            return Optional(convert(t.element))
        if isinstance(t, Array):
            return replace(t, element=convert(t.element))
        return t

    def convert_field(f: Field | None) -> Field | None:
        return None if f is None else Field(f.name, convert(f.type))

    for name, struct in module.structs.items():
        module.structs[name] = replace(
            struct, fields=tuple(Field(f.name, convert(f.type)) for f in struct.fields)
        )
    for name, union in module.unions.items():
        module.unions[name] = replace(
            union,
            arms=tuple(replace(a, field=convert_field(a.field)) for a in union.arms),
            default=None
            if union.default is None
            else replace(union.default, field=convert_field(union.default.field)),
        )
    for name, target in module.typedefs.items():
        module.typedefs[name] = convert(target)
    module.programs = [
        replace(
            program,
            versions=tuple(
                replace(
                    version,
                    procedures=tuple(
                        replace(p, argument=convert(p.argument), result=convert(p.result))
                        for p in version.procedures
                    ),
                )
                for version in program.versions
            ),
        )
        for program in module.programs
    ]
