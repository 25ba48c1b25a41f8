"""The property families: one registry, FAMILIES, from a replay kind to where its Family is.

Rules:
- Each entry is "module:attribute" of a Family (properties/harness/replay/family.py) in
  the family's own package; `family(kind)` imports it when asked, so reading the
  registry (e.g. to check a replay file's kind) imports no protocol code and no cycle.
- Adding a family is its package plus one line here; `nfsprop replay` and the replay
  file checks know it from then on.
"""

from __future__ import annotations

import importlib
from typing import Any

from properties.harness.replay.family import Family

FAMILIES = {
    "counter": "properties.rpc.counter:COUNTER",
    "machine": "properties.nfs3.machine:NFS3_SERVER",
    "client": "properties.nfs_client.scenario:CACHING_CLIENTS",
    "afs": "properties.afs.machine:AFS",
}


def family(kind: str) -> Family[Any]:
    """The Family registered for `kind` (KeyError if none is)."""
    module, _, attribute = FAMILIES[kind].partition(":")
    found = getattr(importlib.import_module(module), attribute)
    assert isinstance(found, Family) and found.kind == kind, FAMILIES[kind]
    return found
