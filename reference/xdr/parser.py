"""Parse RPC language text into a `Specification`.

Rules: the grammar is RFC 4506 section 6 plus RFC 5531's program definitions, with the
rpcgen habits real .x files rely on: enum members without "= value", `unsigned` alone,
C's char/short/long (4 bytes on the wire), string constants, `struct X` used as a type
name, `%` pass-through lines, preprocessor conditionals, macros and includes (see
preprocess.py; errors name the file a line came from). Every
syntax error is an XdrSpecError whose message starts with `file:line:column:`.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from typing import cast

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from reference.xdr.preprocess import PreprocessError, PreprocessOptions, preprocess
from reference.xdr.syntax import (
    Builtin,
    Case,
    ConstDef,
    Declaration,
    Definition,
    EnumBody,
    NamedType,
    Position,
    ProcedureDef,
    ProgramDef,
    Specification,
    StringConstDef,
    StructBody,
    TypeDef,
    TypeSpecifier,
    UnionBody,
    Value,
    VersionDef,
)


class XdrSpecError(ValueError):
    """A .x file that is not valid RPC language, or that names something undefined."""


_GRAMMAR = r"""
start: definition*

?definition: const_def | typedef_def | enum_def | struct_def | union_def | program_def

const_def: "const" IDENT "=" value ";"
         | "const" IDENT "=" STRING ";"          -> string_const_def
typedef_def: "typedef" declaration ";"
enum_def: "enum" IDENT enum_body ";"
struct_def: "struct" IDENT struct_body ";"
union_def: "union" IDENT union_body ";"

enum_body: "{" enum_member ("," enum_member)* ","? "}"
enum_member: IDENT ["=" value]
struct_body: "{" (declaration ";")+ "}"
union_body: "switch" "(" declaration ")" "{" case_spec+ default_spec? "}"
case_spec: case_label+ declaration ";"
case_label: "case" value ":"
default_spec: "default" ":" declaration ";"

declaration: type_specifier IDENT                    -> decl_plain
           | type_specifier IDENT "[" value "]"      -> decl_fixed_array
           | type_specifier IDENT "<" [value] ">"    -> decl_var_array
           | "opaque" IDENT "[" value "]"            -> decl_opaque_fixed
           | "opaque" IDENT "<" [value] ">"          -> decl_opaque_var
           | "string" IDENT "<" [value] ">"          -> decl_string
           | type_specifier "*" IDENT                -> decl_optional
           | "void"                                  -> decl_void

type_specifier: UNSIGNED? (INT_KW | CHAR_KW | SHORT_KW | LONG_KW) -> int_type
              | UNSIGNED? HYPER_KW                   -> hyper_type
              | UNSIGNED                             -> unsigned_type
              | FLOAT_KW                             -> float_type
              | DOUBLE_KW                            -> double_type
              | QUADRUPLE_KW                         -> quadruple_type
              | BOOL_KW                              -> bool_type
              | "enum" enum_body                     -> inline_enum
              | "struct" struct_body                 -> inline_struct
              | "union" union_body                   -> inline_union
              | ("struct" | "enum" | "union") IDENT  -> named_type
              | IDENT                                -> named_type

program_def: "program" IDENT "{" version_def+ "}" "=" value ";"
version_def: "version" IDENT "{" procedure_def+ "}" "=" value ";"
procedure_def: proc_result IDENT "(" proc_args ")" "=" value ";"
// rpcgen: `string` alone, as a result or argument, is string<>.
proc_result: proc_type
           | "void"                                  -> result_void
proc_args: "void"                                    -> args_void
         | proc_type ("," proc_type)*                -> args_types
?proc_type: type_specifier
          | "string"                                 -> unbounded_string

value: NUMBER | IDENT

// \b: a name that starts with a keyword (interval, boolean, doubles) stays a name.
UNSIGNED.2: /unsigned\b/
INT_KW.2: /int\b/
CHAR_KW.2: /char\b/
SHORT_KW.2: /short\b/
LONG_KW.2: /long\b/
HYPER_KW.2: /hyper\b/
FLOAT_KW.2: /float\b/
DOUBLE_KW.2: /double\b/
QUADRUPLE_KW.2: /quadruple\b/
BOOL_KW.2: /bool\b/
IDENT: /[A-Za-z][A-Za-z0-9_]*/
NUMBER: /-?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)/
STRING: /"[^"\n]*"/

COMMENT: "/*" /(.|\n)*?/ "*/"
LINE_COMMENT: "//" /[^\n]*/
%import common.WS
%ignore WS
%ignore COMMENT
%ignore LINE_COMMENT
"""


@cache
def _lark() -> Lark:
    return Lark(_GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=True)


def parse_spec(
    text: str, source_name: str = "<spec>", options: PreprocessOptions | None = None
) -> Specification:
    """Parse RPC language text; raise XdrSpecError naming file:line:column on bad syntax."""
    try:
        source = preprocess(text, source_name, options)
    except PreprocessError as error:
        raise XdrSpecError(str(error)) from None
    spec = Specification(source_name, origins=source.origins)
    try:
        tree = _lark().parse(source.text)
    except UnexpectedInput as error:
        raise XdrSpecError(_describe(error, spec.locate(error.line, error.column))) from None
    definitions = tuple(_definition(child) for child in tree.children if isinstance(child, Tree))
    return replace(spec, definitions=definitions)


def _describe(error: UnexpectedInput, where: str) -> str:
    if isinstance(error, UnexpectedToken):
        expected = ", ".join(sorted(_readable(name) for name in error.expected)[:8])
        if error.token.type == "$END":
            return f"{where}: unexpected end of file (expected {expected})"
        return f"{where}: unexpected {error.token.value!r} (expected {expected})"
    if isinstance(error, UnexpectedCharacters):
        return f"{where}: unexpected character {error.char!r}"
    if isinstance(error, UnexpectedEOF):
        return f"{where}: unexpected end of file"
    return f"{where}: syntax error"


_PUNCTUATION = {
    "SEMICOLON": "';'",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "LPAR": "'('",
    "RPAR": "')'",
    "LSQB": "'['",
    "RSQB": "']'",
    "LESSTHAN": "'<'",
    "MORETHAN": "'>'",
    "EQUAL": "'='",
    "COMMA": "','",
    "COLON": "':'",
    "STAR": "'*'",
    "IDENT": "a name",
    "NUMBER": "a number",
}


def _readable(terminal: str) -> str:
    if terminal in _PUNCTUATION:
        return _PUNCTUATION[terminal]
    return terminal.removesuffix("_KW").lower().strip("_")


def _position(node: Tree[Token] | Token) -> Position:
    if isinstance(node, Token):
        return Position(node.line or 0, node.column or 0)
    return Position(node.meta.line, node.meta.column) if not node.meta.empty else Position(0, 0)


def _subtree(node: Tree[Token] | Token | None) -> Tree[Token]:
    assert isinstance(node, Tree)
    return node


def _token(node: Tree[Token] | Token | None) -> Token:
    assert isinstance(node, Token)
    return node


def _value(node: Tree[Token] | Token | None) -> Value:
    token = _token(_subtree(node).children[0])
    if token.type == "NUMBER":
        return _parse_number(token.value)
    return str(token.value)


def _optional_value(node: Tree[Token] | Token | None) -> Value | None:
    return None if node is None else _value(node)


def _parse_number(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("-")
    if digits[:2] in ("0x", "0X"):
        return sign * int(digits[2:], 16)
    if len(digits) > 1 and digits.startswith("0"):
        return sign * int(digits[1:], 8)
    return sign * int(digits)


def _definition(node: Tree[Token]) -> Definition:
    kind = node.data
    children = node.children
    if kind == "const_def":
        return ConstDef(_token(children[0]).value, _value(children[1]), _position(node))
    if kind == "string_const_def":
        text = _token(children[1]).value[1:-1].encode("latin-1")
        return StringConstDef(_token(children[0]).value, text, _position(node))
    if kind == "typedef_def":
        declaration = _declaration(_subtree(children[0]))
        return TypeDef(declaration.name, declaration, _position(node))
    if kind in ("enum_def", "struct_def", "union_def"):
        name = _token(children[0])
        body = _body(kind.removesuffix("_def"), _subtree(children[1]))
        declaration = Declaration("plain", name.value, body, None, _position(name))
        return TypeDef(name.value, declaration, _position(node))
    if kind == "program_def":
        *versions, number = children
        return ProgramDef(
            _token(versions[0]).value,
            _value(number),
            tuple(_version(_subtree(child)) for child in versions[1:]),
            _position(node),
        )
    raise AssertionError(f"unknown definition {kind}")


def _body(kind: str, node: Tree[Token]) -> TypeSpecifier:
    if kind == "enum":
        members = []
        for member in node.children:
            member_tree = _subtree(member)
            name = _token(member_tree.children[0]).value
            members.append((str(name), _optional_value(member_tree.children[1])))
        return EnumBody(tuple(members), _position(node))
    if kind == "struct":
        fields = tuple(_declaration(_subtree(child)) for child in node.children)
        return StructBody(fields, _position(node))
    discriminant, *rest = node.children
    default: Declaration | None = None
    cases = []
    for child in rest:
        child_tree = _subtree(child)
        if child_tree.data == "default_spec":
            default = _declaration(_subtree(child_tree.children[0]))
            continue
        *labels, declaration = child_tree.children
        values = tuple(_value(_subtree(label).children[0]) for label in labels)
        cases.append(Case(values, _declaration(_subtree(declaration))))
    return UnionBody(_declaration(_subtree(discriminant)), tuple(cases), default, _position(node))


_BUILTINS = {
    "float_type": "float",
    "double_type": "double",
    "quadruple_type": "quadruple",
    "bool_type": "bool",
    "unsigned_type": "unsigned int",
}


def _type_specifier(node: Tree[Token]) -> TypeSpecifier:
    kind = node.data
    if kind in ("int_type", "hyper_type"):
        unsigned = any(isinstance(c, Token) and c.type == "UNSIGNED" for c in node.children)
        base = "int" if kind == "int_type" else "hyper"  # char, short, long: 4 bytes in XDR
        return Builtin(f"unsigned {base}" if unsigned else base)
    if kind in _BUILTINS:
        return Builtin(_BUILTINS[kind])
    if kind in ("inline_enum", "inline_struct", "inline_union"):
        return _body(kind.removeprefix("inline_"), _subtree(node.children[0]))
    name = _token([c for c in node.children if isinstance(c, Token)][-1])
    return NamedType(name.value, _position(name))


_DECLARATION_KINDS = {
    "decl_plain": "plain",
    "decl_fixed_array": "fixed_array",
    "decl_var_array": "var_array",
    "decl_opaque_fixed": "opaque_fixed",
    "decl_opaque_var": "opaque_var",
    "decl_string": "string",
    "decl_optional": "optional",
}


def _declaration(node: Tree[Token]) -> Declaration:
    if node.data == "decl_void":
        return Declaration("void", "", None, None, _position(node))
    kind = _DECLARATION_KINDS[node.data]
    children = list(node.children)
    type_spec = None
    if kind not in ("opaque_fixed", "opaque_var", "string"):
        type_spec = _type_specifier(_subtree(children.pop(0)))
    name = _token(children.pop(0))
    size = _optional_value(children[0]) if children else None
    return Declaration(kind, name.value, type_spec, size, _position(name))


def _version(node: Tree[Token]) -> VersionDef:
    name, *procedures, number = node.children
    return VersionDef(
        _token(name).value,
        _value(number),
        tuple(_procedure(_subtree(child)) for child in procedures),
        _position(node),
    )


def _procedure(node: Tree[Token]) -> ProcedureDef:
    result_node, name, args_node, number = (cast(Tree[Token], c) for c in node.children)
    position = _position(node)
    if result_node.data == "result_void":
        result = Declaration("void", "", None, None, position)
    else:
        result = _procedure_type(_subtree(result_node.children[0]), position)
    arguments: tuple[Declaration, ...] = ()
    if args_node.data == "args_types":
        arguments = tuple(
            _procedure_type(_subtree(child), position) for child in args_node.children
        )
    return ProcedureDef(_token(name).value, _value(number), result, arguments, position)


def _procedure_type(node: Tree[Token], position: Position) -> Declaration:
    if node.data == "unbounded_string":
        return Declaration("string", "", None, None, position)
    return Declaration("plain", "", _type_specifier(node), None, position)
