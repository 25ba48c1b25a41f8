"""The NFS server's duplicate request cache policy: exactly the non-idempotent NFSv3 and
NFSv2 procedures, no MOUNT procedure, every other program's procedures but NULL; the
suite's list of non-idempotent procedures is the one the server caches."""

from typing import Any

from properties.nfs3.wire import NON_IDEMPOTENT
from reference.nfs.drc_policy import NFS_DRC_POLICY
from reference.rpc.stubs import Procedure
from reference.xdr.gen.mount3 import MOUNT_PROGRAM, MOUNT_V3_PROCEDURES
from reference.xdr.gen.nfs2 import NFS_VERSION_PROCEDURES
from reference.xdr.gen.nfs3 import NFS_PROGRAM, NFS_V3_PROCEDURES
from reference.xdr.gen.portmap import PMAP_PROG, PMAP_VERS_PROCEDURES


def cached(procedures: dict[int, Procedure[Any, Any]]) -> set[str]:
    """The names of the procedures of one program version that the NFS policy caches."""
    return {
        procedure.name
        for procedure in procedures.values()
        if NFS_DRC_POLICY.caches(procedure.program, procedure.version, procedure.number)
    }


def test_the_generated_program_numbers_are_the_assigned_ones() -> None:
    # RFC 1094 and RFC 1813 (NFS, MOUNT), RFC 1833 (portmapper): what the policy keys on.
    assert (NFS_PROGRAM, MOUNT_PROGRAM, PMAP_PROG) == (100003, 100005, 100000)


def test_nfs3_policy_caches_exactly_the_procedures_that_change_state() -> None:
    assert cached(NFS_V3_PROCEDURES) == {
        "NFSPROC3_SETATTR",
        "NFSPROC3_WRITE",
        "NFSPROC3_CREATE",
        "NFSPROC3_MKDIR",
        "NFSPROC3_SYMLINK",
        "NFSPROC3_MKNOD",
        "NFSPROC3_REMOVE",
        "NFSPROC3_RMDIR",
        "NFSPROC3_RENAME",
        "NFSPROC3_LINK",
    }


def test_nfs2_policy_caches_exactly_the_procedures_that_change_state() -> None:
    assert cached(NFS_VERSION_PROCEDURES) == {
        "NFSPROC_SETATTR",
        "NFSPROC_WRITE",
        "NFSPROC_CREATE",
        "NFSPROC_REMOVE",
        "NFSPROC_RENAME",
        "NFSPROC_LINK",
        "NFSPROC_SYMLINK",
        "NFSPROC_MKDIR",
        "NFSPROC_RMDIR",
    }


def test_no_mount_procedure_is_cached() -> None:
    assert cached(MOUNT_V3_PROCEDURES) == set()


def test_other_programs_keep_the_rpc_default_of_every_procedure_but_null() -> None:
    assert cached(PMAP_VERS_PROCEDURES) == {
        procedure.name for number, procedure in PMAP_VERS_PROCEDURES.items() if number != 0
    }


def test_the_suite_calls_non_idempotent_exactly_what_the_server_caches() -> None:
    assert {procedure.name for procedure in NON_IDEMPOTENT} == cached(NFS_V3_PROCEDURES)
    assert set(NFS_V3_PROCEDURES.values()) >= NON_IDEMPOTENT
