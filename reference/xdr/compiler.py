"""The compiler's front door: RPC language text in, Python module text out.

Rules: compiling is a pure function of the text, the source name, the preprocessor options
and the files they include; every error in the input is an XdrSpecError whose message
starts with `file:line:column:` (or `file:line N:` for the preprocessor's).
"""

from __future__ import annotations

from reference.xdr.codegen import generate
from reference.xdr.model import resolve
from reference.xdr.parser import parse_spec
from reference.xdr.preprocess import PreprocessOptions


def compile_spec(
    text: str, source_name: str = "<spec>", options: PreprocessOptions | None = None
) -> str:
    """Compile a .x specification to the source of a typed Python module."""
    return generate(resolve(parse_spec(text, source_name, options)))
