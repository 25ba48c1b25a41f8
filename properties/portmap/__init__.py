"""The port mapper family (RFC 1833 §3): SET, UNSET, GETPORT and DUMP against a model of
the mappings, and a client that finds a server through the port mapper across restarts.

The modules, one job each:

- rules.py: the rules a port mapper may break, with their codes and RFC sections.
- model.py: the mappings of one example's own programs, and what each call must answer.
- world.py: where the calls go (a simulated port mapper node, or the target's own port)
  and which execution of a call answered it.
- machine.py: the state machine: random SET, UNSET, GETPORT and DUMP, each reply judged;
  the PORTMAP replay family.
- rebind.py: a counter server whose port moves on every restart, found through the port
  mapper by reference.rpc.portmap.RebindingCaller; the REBIND replay family.
- test_portmap.py, test_rebind.py: the properties, and the planted bugs they find.
"""
