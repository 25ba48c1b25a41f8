"""The AFS-style callback file service (specs/afs.x): whole files, callback promises.

The server hands out whole files with a promise to call the client back before the file
changes; a store breaks every other client's promise first; promises expire; every reply
carries the server's epoch, so clients notice a restart and revalidate. One job per module:

- files.py: the server's durable file table.  promises.py: its volatile promises.
- server.py: AfsServer, the AFS_PROGRAM service (with its planted bugs, ServerMutants).
- events.py: what the server reports to an observer (the checkers' journal).
- breaks.py: a CallbackSender running each break as a task.
- callbacks.py: the client's promises and when a copy is trusted (ClientMutants).
- local_files.py: the client's copies, in memory or in a directory.
- client.py: AfsClient, its open files and its callback service.
- aio.py: server and client on real sockets.
"""
