"""Planted bugs of the NFS server, each behind a switch, for the checks that must find
them (properties/nfs3/test_server.py, `python3 -m bench detection`).

Rules:
- Every switch is off by default, and only tests turn one on: `nfsprop serve` has no way
  to. Each names the check that catches it.
"""

from __future__ import annotations

from dataclasses import dataclass

from reference.rpc.drc import NO_DRC_BUGS, DrcBugs


@dataclass(frozen=True, slots=True)
class ServerBugs:
    """Switchable planted bugs (mutants) of FileSystem."""

    # SETATTR applies its changes whatever its ctime guard says (SETATTR-GUARD)
    ignore_setattr_guard: bool = False
    # COMMIT of a range (count > 0) answers as if done and makes nothing durable (DURABLE)
    commit_of_a_range_syncs_nothing: bool = False
    # WRITE asked for DATA_SYNC answers DATA_SYNC and leaves the data unstable (DURABLE)
    data_sync_writes_are_unstable: bool = False
    # CREATE EXCLUSIVE keeps its verifier in memory only: retried after a restart with the
    # same verifier, it answers EXIST (CREATE-EXCLUSIVE-RETRY)
    exclusive_verifier_in_memory: bool = False
    # CREATE EXCLUSIVE of an existing file created that way returns it, whatever the
    # verifier (CREATE-EXCLUSIVE-VERIFIER)
    exclusive_create_ignores_verifier: bool = False
    # READDIR cookies are positions in the listing as it is now, and the cookie verifier
    # never changes: a removal before the position skips an entry (READDIR-RESUME)
    readdir_cookies_are_positions: bool = False
    # WRITE leaves mtime and ctime as they were (CHANGE-TIME)
    write_keeps_times: bool = False
    # wcc_data's pre-op mtime and ctime are taken after the change, its size before
    # (WCC-PRE-TIMES)
    wcc_pre_op_times_after: bool = False
    # READDIRPLUS entries carry mtime and ctime cut to whole seconds (ATTR-STEADY)
    readdirplus_times_in_seconds: bool = False
    # SETATTR of a time SET_TO_SERVER_TIME answers NFS3_OK and leaves that time alone
    # (SETATTR-TIMES)
    server_time_setattr_ignored: bool = False
    # handles are taken without checking their MAC: a damaged MAC still names the file, a
    # crafted body another (FORGED-SAME-OBJECT, FORGED-HANDLE)
    handle_mac_unchecked: bool = False
    # a handle's volume id is not compared with the store's: with handle_mac_unchecked, a
    # handle from another server instance names this one's object of that inode number
    # (FOREIGN-INSTANCE)
    handle_volume_unchecked: bool = False
    # READ answers from a cache of earlier READ replies (by file, offset and count) that no
    # WRITE empties: a file read before a write reads as before (CLIENTS-FILE-SYNC)
    read_cache_ignores_writes: bool = False
    # the planted bugs of the server's duplicate request cache (CLIENTS-OWN-REPLY)
    drc: DrcBugs = NO_DRC_BUGS
    # NFSv2 WRITE answers NFS_OK and leaves the data unstable, as an NFSv3 UNSTABLE write
    # would (NFS2-DURABLE)
    nfs2_writes_are_unstable: bool = False
    # a handle's generation is not compared with its inode's: the handle of a removed
    # object names whatever reuses its inode number (NFS2-STALE, STALE-REUSED)
    generations_unchecked: bool = False
    # a failed NFSv3 call's post-op attributes are the export root's, whatever object the
    # call was about (FAILED-ATTRIBUTES, FILEID)
    failed_replies_show_the_root: bool = False
    # RENAME changes the directories' entries and leaves their mtime and ctime as they
    # were (CHANGE-TIME)
    rename_keeps_directory_times: bool = False
    # READDIRPLUS entries carry the attributes on disk, without the UNSTABLE writes not yet
    # committed: a file's size and times lag behind GETATTR's (READDIRPLUS-UNSTABLE)
    readdirplus_attributes_on_disk: bool = False
    # MOUNT's UMNT answers and leaves the entry in the mount list (DUMP-UNMOUNTED)
    umnt_keeps_the_entry: bool = False
    # MOUNT's MNT of a directory the client has mounted adds a second entry (DUMP-DUPLICATE)
    mnt_lists_a_pair_twice: bool = False
    # MOUNT's MNT of a path outside the export answers the export's root handle, as if
    # every path were the export (MNT-OUTSIDE)
    mnt_outside_answers_the_root: bool = False


NO_BUGS = ServerBugs()  # what every server runs with
