"""The part of C's preprocessor that .x files in the wild rely on, applied before parsing.

Rules: line numbers never change (removed lines become empty lines), so errors still
point at the right place. `%` lines are C pass-through (with `\\` continuations) and
vanish. `#define NAME`, `#undef`, `#ifdef`, `#ifndef`, `#if 0|1|NAME|defined(NAME)|!defined(NAME)`,
`#elif`, `#else` and `#endif` select lines; nothing is defined unless the file defines
it, as if rpcgen ran with none of its RPC_HDR/RPC_XDR/... symbols — so files keep the
text meant for every output. Other `#` lines (#include, #pragma) vanish. Macros are not
expanded.
"""

from __future__ import annotations

import re

_DEFINED = re.compile(r"^(!)?\s*defined\s*\(?\s*(\w+)\s*\)?$")


class PreprocessError(ValueError):
    """A conditional the preprocessor cannot read; the message names line and reason."""


def preprocess(text: str) -> str:
    lines = text.split("\n")
    out: list[str] = []
    defined: set[str] = set()
    # Each level: (this branch is active, an earlier branch of the level was taken).
    stack: list[tuple[bool, bool]] = []
    continuing = False
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if continuing or stripped.startswith("%"):
            continuing = stripped.endswith("\\")
            out.append("")
            continue
        active = all(level[0] for level in stack)
        if stripped.startswith("#"):
            words = stripped[1:].split(None, 1)
            directive = words[0] if words else ""
            rest = words[1].split("/*")[0].split("//")[0].strip() if len(words) > 1 else ""
            if directive in ("ifdef", "ifndef", "if"):
                taken = active and _condition(directive, rest, defined, number)
                stack.append((taken, taken))
            elif directive in ("elif", "else"):
                if not stack:
                    raise PreprocessError(f"line {number}: #{directive} without #if")
                _, done = stack.pop()
                outer = all(level[0] for level in stack)
                taken = (
                    outer
                    and not done
                    and (directive == "else" or _condition("if", rest, defined, number))
                )
                stack.append((taken, done or taken))
            elif directive == "endif":
                if not stack:
                    raise PreprocessError(f"line {number}: #endif without #if")
                stack.pop()
            elif directive == "define" and active and rest:
                defined.add(rest.split()[0].split("(")[0])
            elif directive == "undef" and active and rest:
                defined.discard(rest.split()[0])
            out.append("")
            continue
        out.append(line if active else "")
    if stack:
        raise PreprocessError(f"line {len(lines)}: {len(stack)} #if without #endif")
    return "\n".join(out)


def _condition(directive: str, rest: str, defined: set[str], number: int) -> bool:
    if directive == "ifdef":
        return rest in defined
    if directive == "ifndef":
        return rest not in defined
    if rest.isdigit():
        return int(rest) != 0
    if rest.isidentifier():  # as in C: a name is true only if defined (no values kept)
        return rest in defined
    match = _DEFINED.match(rest)
    if match is None:
        raise PreprocessError(f"line {number}: cannot evaluate #if {rest}")
    return (match.group(2) in defined) != bool(match.group(1))
