"""The AFS callback properties: whole-file caching with callback promises, through faults.

A state machine runs clients of the AFS-style service (reference.afs) against one server
in the simulation world, and checkers judge every read and the server's contents from the
server's journal and what each client was told. The modules, one job each:

- world.py: the service in the simulation: one server, a few clients, a journal.
- machine.py: the state machine: opens, writes, restarts, lost breaks and passing time.
- checks.py: the callback properties, judged from the journal and the clients' replies.
- test_afs.py: the properties, and the planted server and client bugs each must catch.
"""
