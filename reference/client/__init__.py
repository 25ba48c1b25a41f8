"""The caching NFSv3 client: a file-level API with the Linux client's caching.

Modules, one job each: options (mount options and planted bugs), errors (NFS status to
OSError), files (open files, file status, paths), attr_cache, lookup_cache, data_cache,
write_back (the caches and write-behind, no I/O), stats (counters), core (RPC plumbing,
attributes, names), file_io (reads, write-behind, COMMIT), client (NfsClient, the API).
"""

from reference.client.client import NfsClient
from reference.client.errors import StaleFileHandle
from reference.client.files import SERVER_NOW, FileStat, FsUsage, OpenFile
from reference.client.options import ClientBugs, MountOptions

__all__ = [
    "SERVER_NOW",
    "ClientBugs",
    "FileStat",
    "FsUsage",
    "MountOptions",
    "NfsClient",
    "OpenFile",
    "StaleFileHandle",
]
