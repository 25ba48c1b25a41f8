"""The reference NFS server: a durable store, file handles, NFSv3 semantics and its services.

Modules (each states its rules at the top):
- errors: NfsError(status, message) with nfsstat3 codes.
- inode: the Inode record a store keeps, and the numbering constants.
- blocks: how file data is cut into fixed-size blocks (shared by both stores).
- pending: the volatile overlay of UNSTABLE writes not yet committed.
- store: the Store interface: durable primitives + the volatile overlay.
- memory_store / sqlite_store: the two backends.
- memo: a bounded dict for what the server remembers to skip work (handles, records).
- handles: file handles (volume id, inode, generation, MAC), v3 and v2 forms.
- names: which file names are acceptable.
- attributes: what operations return (Attributes, PreOpAttributes, Wcc) and take
  (SetAttributes).
- access: who is calling (Identity) and what the mode bits let them do.
- readdir: READDIR/READDIRPLUS reply budgets.
- fs: FileSystem, the NFSv3 semantics over a Store.
- mutants: ServerBugs, FileSystem's planted bugs (off unless a test turns one on).
- nfs3_service / nfs2_service: NFSv3 (22 procedures) and NFSv2 (18) on the wire, over
  the one FileSystem.
- mount_service: MOUNT v3, which hands out the export's root handle.
- drc_policy: which NFS and MOUNT calls the duplicate request cache keeps.
- server_main: the server as a process, what `nfsprop serve` runs.
"""
