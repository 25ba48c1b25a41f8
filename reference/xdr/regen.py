"""Regenerate every committed module in reference/xdr/gen from reference/xdr/specs.

Rules: `python -m reference.xdr.regen` rewrites the generated modules; `--check` writes
nothing and exits 1 naming every module that is out of date (CI runs the same check
as a test). The mapping is fixed: specs/NAME.x → gen/NAME.py.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from reference.xdr.compiler import compile_spec

PACKAGE = Path(__file__).resolve().parent
SPECS = PACKAGE / "specs"
GENERATED = PACKAGE / "gen"


def expected_modules() -> dict[Path, str]:
    """Each generated module's path and the text the current compiler gives it."""
    return {
        GENERATED / f"{spec.stem}.py": compile_spec(spec.read_text(), f"specs/{spec.name}")
        for spec in sorted(SPECS.glob("*.x"))
    }


def stale_modules() -> list[Path]:
    return [
        path
        for path, text in expected_modules().items()
        if not path.exists() or path.read_text() != text
    ]


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments == ["--check"]:
        stale = stale_modules()
        for path in stale:
            print(f"{path.relative_to(PACKAGE.parent.parent)} is out of date", file=sys.stderr)
        if stale:
            print("fix: python -m reference.xdr.regen", file=sys.stderr)
        return 1 if stale else 0
    if arguments:
        print("usage: python -m reference.xdr.regen [--check]", file=sys.stderr)
        return 2
    GENERATED.mkdir(exist_ok=True)
    (GENERATED / "__init__.py").write_text('"""Modules generated from ../specs. Do not edit."""\n')
    for path, text in expected_modules().items():
        path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
