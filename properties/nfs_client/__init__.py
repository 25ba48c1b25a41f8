"""The caching NFS client properties: what several clients see through faults and crashes.

Programs of file operations run on caching clients (reference.client) against one
reference server in the simulation world, and the checks judge what each client returned
against the server's recorded history. The modules, one job each:

- world.py: the simulated world: the clients, one server and the history of its contents.
- scenario.py: the programs, their runs, the checks (close-to-open, bounded staleness,
  convergence, durability) and the replay files of failing runs.
- test_client.py: the properties, and the planted client bugs each must catch.
"""
