"""Baselines: the findings known of a server, which report as `known` and do not fail a run.

Rules:
- A baseline is a TOML file of `[[known]]` tables, each with `code` (a finding code of
  properties/harness/findings.py's RULES) and `reason` (why it is known: who confirmed
  it, and what the server does). Anything else is a BaselineError of one line naming
  the file, the problem and the fix.
- SHIPPED names the baseline each foreign world of the registry comes with (this
  directory); `--baseline FILE` replaces them for every foreign world of the run and is
  the only one the target world has. Our own worlds (sim, loopback) have none: a
  finding there is always a failure.
- RULE_MODULES are the modules that define rules; loading a baseline imports them, so a
  code is checked against every rule even where no test module was imported (the xdist
  controller).
"""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path

from properties.harness.findings import RULES, Baseline

HERE = Path(__file__).parent
SHIPPED = {"ganesha": HERE / "ganesha.toml", "gonfs": HERE / "gonfs.toml"}
OWN_WORLDS = frozenset({"sim", "loopback"})
RULE_MODULES = (
    "properties.nfs3.rules",
    "properties.nfs3.optional",
    "properties.rpc.rules",
    "properties.mount.rules",
    "properties.portmap.rules",
    "properties.nfs2.rules",
    "properties.clients.rules",
)


class BaselineError(ValueError):
    """A baseline file that cannot be read, or that names codes no rule has."""


def load(path: Path) -> Baseline:
    for module in RULE_MODULES:
        importlib.import_module(module)
    try:
        body = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as error:
        raise BaselineError(f"baseline {path}: cannot read it ({error})") from None
    except tomllib.TOMLDecodeError as error:
        raise BaselineError(f"baseline {path}: not TOML ({error})") from None
    entries = body.get("known", [])
    extra = sorted(set(body) - {"known"})
    if extra or not isinstance(entries, list):
        raise BaselineError(
            f"baseline {path}: only [[known]] tables belong in a baseline, found "
            f"{', '.join(extra) or 'known as a non-table'}"
        )
    known: dict[str, str] = {}
    for number, entry in enumerate(entries, 1):
        code, reason = entry.get("code"), entry.get("reason")
        if (
            not isinstance(code, str)
            or not isinstance(reason, str)
            or set(entry)
            != {
                "code",
                "reason",
            }
        ):
            raise BaselineError(
                f"baseline {path}: [[known]] number {number} needs exactly `code` and "
                '`reason` strings, e.g. code = "READ-NOT-FILE", reason = "…"'
            )
        if code not in RULES:
            raise BaselineError(
                f"baseline {path}: unknown finding code {code!r}; the codes are listed by "
                "each finding in results.json and the summary"
            )
        known[code] = reason
    return Baseline(known)


def baselines(worlds: tuple[str, ...], given: Path | None) -> dict[str, Baseline]:
    """The baseline of each world of the run (see the module rules)."""
    chosen: dict[str, Baseline] = {}
    for world in worlds:
        if world in OWN_WORLDS:
            continue
        path = given if given is not None else SHIPPED.get(world)
        if path is not None:
            chosen[world] = load(path)
    return chosen
