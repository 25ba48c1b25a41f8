"""The part of C's preprocessor that .x files in the wild rely on, applied before parsing.

Rules:
- The output is text plus, for each of its lines, where it came from (file, line), so
  errors point at the right file and line even through an `#include`. Removed lines
  become empty lines.
- `%` lines are C pass-through (with `\\` continuations) and vanish.
- `#define NAME [VALUE]`, `#undef`, `#ifdef`, `#ifndef`, `#if 0|1|NAME|defined(NAME)|
  !defined(NAME)`, `#elif`, `#else` and `#endif` select lines. Nothing is defined unless the
  file or the options define it (`-D NAME=VALUE`), as if rpcgen ran with none of its
  RPC_HDR/RPC_XDR/... symbols, so files keep the text meant for every output.
- Object-like macros (from `#define` or `-D`) are expanded in the lines kept, as cpp does:
  whole names only, not inside comments or string literals, a macro never inside its own
  expansion. Function-like macros are defined (for `#ifdef`) but never expanded.
- `#include "FILE"` and `<FILE>` read FILE from the including file's directory (quoted
  form only), then from the `-I` directories in order; a file not found is an error naming
  the fix. `PreprocessOptions.includes` are read first, as cpp's `-include`. Other `#`
  lines (#pragma, #ident) vanish.
- Files are read as UTF-8, or as Latin-1 when they are not UTF-8 (a byte is then a
  character, and comments in old files keep their names); `read_spec` says which.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

_DEFINED = re.compile(r"^(!)?\s*defined\s*\(?\s*(\w+)\s*\)?$")
# What expansion steps over: comments, string literals, and the names it may replace.
_LEXEME = re.compile(r'/\*|\*/|//|"(?:[^"\\\n]|\\.)*"|[A-Za-z_]\w*')
_INCLUDE = re.compile(r'^\s*(?:"([^"]+)"|<([^>]+)>)')
_MAX_DEPTH = 32
_FUNCTION_LIKE = "\0function-like"  # the value kept for `#define NAME(args) ...`


class PreprocessError(ValueError):
    """What the preprocessor cannot do; the message starts with `file:line:`."""


@dataclass(frozen=True)
class PreprocessOptions:
    """rpcgen's cpp flags: `-D NAME=VALUE` (defines), `-I DIR` (include_dirs) and
    `-include FILE` (includes, read before the file)."""

    defines: Mapping[str, str] = field(default_factory=dict)
    include_dirs: tuple[Path, ...] = ()
    includes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Preprocessed:
    text: str
    origins: tuple[tuple[str, int], ...]  # per output line: (file, line)


def read_spec(path: Path) -> tuple[str, bool]:
    """The file's text, and whether it had to be read as Latin-1 (not UTF-8)."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8"), False
    except UnicodeDecodeError:
        return data.decode("latin-1"), True


def parse_define(flag: str) -> tuple[str, str]:
    """`NAME=VALUE` or `NAME` (value 1, as cpp's -D) -> (name, value); ValueError if bad."""
    name, equals, value = flag.partition("=")
    if not name.isidentifier():
        raise ValueError(f"-D {flag}: expected NAME or NAME=VALUE, NAME a C identifier")
    return name, value if equals else "1"


def preprocess(
    text: str, source_name: str = "<spec>", options: PreprocessOptions | None = None
) -> Preprocessed:
    options = options or PreprocessOptions()
    run = _Run(dict(options.defines), options.include_dirs)
    origin = Path(source_name).parent
    for forced in options.includes:
        run.include(forced, origin, quoted=True, where=f"{source_name}: -include")
    run.file(text, source_name)
    return Preprocessed("\n".join(run.out), tuple(run.origins))


class _Run:
    """One preprocessing run: the macros and the output, shared by every included file."""

    def __init__(self, macros: dict[str, str], include_dirs: tuple[Path, ...]) -> None:
        self.macros = macros
        self.include_dirs = include_dirs
        self.out: list[str] = []
        self.origins: list[tuple[str, int]] = []
        self.depth = 0

    def emit(self, line: str, source: str, number: int) -> None:
        self.out.append(line)
        self.origins.append((source, number))

    def include(self, name: str, directory: Path, *, quoted: bool, where: str) -> None:
        searched = ([directory] if quoted else []) + list(self.include_dirs)
        found = next((d / name for d in searched if (d / name).is_file()), None)
        if found is None:
            raise PreprocessError(
                f"{where}: cannot find {name} (give the directory that holds it with -I DIR)"
            )
        if self.depth >= _MAX_DEPTH:
            raise PreprocessError(f"{where}: #include nested more than {_MAX_DEPTH} deep")
        self.depth += 1
        self.file(read_spec(found)[0], str(found))
        self.depth -= 1

    def file(self, text: str, source: str) -> None:
        lines = text.split("\n")
        # Each level: (this branch is active, an earlier branch of the level was taken).
        stack: list[tuple[bool, bool]] = []
        continuing = False
        in_comment = False
        for number, line in enumerate(lines, 1):
            where = f"{source}:line {number}"
            stripped = line.strip()
            if continuing or (not in_comment and stripped.startswith("%")):
                continuing = stripped.endswith("\\")
                self.emit("", source, number)
                continue
            active = all(level[0] for level in stack)
            if not in_comment and stripped.startswith("#"):
                words = stripped[1:].split(None, 1)
                directive = words[0] if words else ""
                rest = words[1].split("/*")[0].split("//")[0].strip() if len(words) > 1 else ""
                if directive in ("ifdef", "ifndef", "if"):
                    taken = active and self.condition(directive, rest, where)
                    stack.append((taken, taken))
                elif directive in ("elif", "else"):
                    if not stack:
                        raise PreprocessError(f"{where}: #{directive} without #if")
                    _, done = stack.pop()
                    outer = all(level[0] for level in stack)
                    taken = (
                        outer
                        and not done
                        and (directive == "else" or self.condition("if", rest, where))
                    )
                    stack.append((taken, done or taken))
                elif directive == "endif":
                    if not stack:
                        raise PreprocessError(f"{where}: #endif without #if")
                    stack.pop()
                elif directive == "define" and active and rest:
                    self.define(rest)
                elif directive == "undef" and active and rest:
                    self.macros.pop(rest.split()[0], None)
                elif directive == "include" and active:
                    self.emit("", source, number)
                    self.include_line(words[1] if len(words) > 1 else "", source, where)
                    continue
                self.emit("", source, number)
                continue
            kept, in_comment = self.expand(line, in_comment)
            self.emit(kept if active else "", source, number)
        if stack:
            raise PreprocessError(f"{source}:line {len(lines)}: {len(stack)} #if without #endif")

    def include_line(self, rest: str, source: str, where: str) -> None:
        match = _INCLUDE.match(rest)
        if match is None:
            raise PreprocessError(f'{where}: expected #include "FILE" or #include <FILE>')
        quoted = match.group(1) is not None
        name = match.group(1) or match.group(2)
        self.include(name, Path(source).parent, quoted=quoted, where=where)

    def define(self, rest: str) -> None:
        head = re.match(r"(\w+)(\()?", rest)
        if head is None:
            return
        name = head.group(1)
        self.macros[name] = _FUNCTION_LIKE if head.group(2) else rest[len(name) :].strip()

    def expand(self, line: str, in_comment: bool) -> tuple[str, bool]:
        """The line with object-like macros expanded, and whether a comment is still open."""
        pieces: list[str] = []
        at = 0
        for lexeme in _LEXEME.finditer(line):
            token = lexeme.group()
            if in_comment:
                in_comment = token != "*/"
                continue
            if token == "/*":
                in_comment = True
            elif token == "//":
                break
            elif token in self.macros and self.macros[token] != _FUNCTION_LIKE:
                pieces += [line[at : lexeme.start()], self.value(token, frozenset())]
                at = lexeme.end()
        pieces.append(line[at:])
        return "".join(pieces), in_comment

    def value(self, name: str, outer: frozenset[str]) -> str:
        seen = outer | {name}

        def replace(match: re.Match[str]) -> str:
            token = match.group()
            known = self.macros.get(token)
            if known is None or known == _FUNCTION_LIKE or token in seen:
                return token
            return self.value(token, seen)

        return re.sub(r"[A-Za-z_]\w*", replace, self.macros[name])

    def condition(self, directive: str, rest: str, where: str) -> bool:
        if directive == "ifdef":
            return rest in self.macros
        if directive == "ifndef":
            return rest not in self.macros
        if rest.isdigit():
            return int(rest) != 0
        if rest.isidentifier():  # as in C: true when defined, unless defined as 0
            value = self.macros.get(rest)
            return value is not None and value.strip() != "0"
        match = _DEFINED.match(rest)
        if match is None:
            raise PreprocessError(f"{where}: cannot evaluate #if {rest}")
        return (match.group(2) in self.macros) != bool(match.group(1))
