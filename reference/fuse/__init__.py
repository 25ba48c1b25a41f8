"""`nfsprop mount`: the caching NFS client (reference.client) as a FUSE file system, so that
ordinary programs (cp, cat, ls, mv, rm) use an NFSv3 server like a local disk.

Modules, one job each: url (the NFS URL, the same for `nfsprop check --target`),
loop_thread (a private asyncio loop that runs the client's coroutines for synchronous
callers), operations (the FUSE callbacks, mapped onto NfsClient calls), mount (connect,
mount, serve, unmount).
"""
