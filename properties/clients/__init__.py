"""Several clients at once against one server: their XIDs collide, their replies must not.

Two or three clients with addresses of their own (Target.another_client) number their
calls with one XID sequence, so every call of one collides with a call of each other;
they make and remove names of their own and one shared name, write a shared file
FILE_SYNC and read it. Every reply must answer the call it was sent for, never the one
another client sent with the same XID (a duplicate request cache keyed per client), and
what one client wrote FILE_SYNC every client reads. The modules, one job each:

- rules.py: the rules a server may break, with their codes and RFC sections.
- model.py: what the server holds after the calls so far: names, fileids, the shared file.
- machine.py: the state machine: clients calling with colliding XIDs, each call judged.
- test_clients.py: the properties in every world, and the planted bugs each must catch.
"""
