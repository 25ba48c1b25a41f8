"""The property families: MARKERS, the suite's test packages (properties/<name>/), each a
pytest marker; FAMILIES, from a replay kind to where its Family is.

Rules:
- Every test of properties/<name>/ carries the marker <name> (the pytest plugin adds it),
  so `-m nfs3` selects a family; tests/cli/test_checks.py checks that every test package
  is listed.
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

MARKERS = {
    "nfs3": "the NFSv3 server family (properties/nfs3)",
    "nfs2": "the NFSv2 server family, over UDP and TCP (properties/nfs2)",
    "rpc": "the ONC RPC family (properties/rpc)",
    "nfs_client": "the caching NFS client family (properties/nfs_client)",
    "afs": "the AFS-style callback service family (properties/afs)",
    "xdr": "the XDR family (properties/xdr)",
    "clients": "several clients of one server with colliding XIDs (properties/clients)",
    "mount": "the MOUNT v3 family (properties/mount)",
    "portmap": "the port mapper family (properties/portmap)",
}

FAMILIES = {
    "counter": "properties.rpc.counter:COUNTER",
    "machine": "properties.nfs3.machine:NFS3_SERVER",
    "nfs2": "properties.nfs2.machine:NFS2_SERVER",
    "client": "properties.nfs_client.scenario:CACHING_CLIENTS",
    "afs": "properties.afs.machine:AFS",
    "clients": "properties.clients.machine:CLIENTS",
    "mount": "properties.mount.machine:MOUNT",
    "portmap": "properties.portmap.machine:PORTMAP",
    "rebind": "properties.portmap.rebind:REBIND",
}


def family(kind: str) -> Family[Any]:
    """The Family registered for `kind` (KeyError if none is)."""
    module, _, attribute = FAMILIES[kind].partition(":")
    found = getattr(importlib.import_module(module), attribute)
    assert isinstance(found, Family) and found.kind == kind, FAMILIES[kind]
    return found


def marker_of(module_name: str) -> str | None:
    """The family marker of a test module (properties.<name>.test_x), None for others."""
    parts = module_name.split(".")
    if len(parts) >= 3 and parts[0] == "properties" and parts[1] in MARKERS:
        return parts[1]
    return None
