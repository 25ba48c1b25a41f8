"""Where a property runs: the worlds, each known by its Capabilities before any target is
built. The modules, one job each:

- registry.py: the one registry of worlds (name -> description, Capabilities, how its
  server starts), the world options' check, an example's target factory.
- options.py: WorldFlags, WorldOptions and the `--target` URL.
- prerun.py: the pre-run check of a `--target` server, once per run.
- target.py: the Target interface, Capabilities, TargetFactory.
- sim.py: the simulation world's Target; sim_node.py: the simulated reference server
  node (also used by the caching clients' world).
- sockets.py: a Target over real sockets, for any server the suite can reach;
  scratch.py: a directory of the export as its root (`--scratch-dir`).
- loopback.py, ganesha.py, gonfs.py, external.py: the socket worlds: `nfsprop serve`,
  a private NFS-Ganesha, a private go-nfs, somebody else's server (`--target`).
- shared.py: one server per socket world and session, emptied before each example;
  lock.py: one example at a time on the --target server; dead.py: a --target server
  that died ends its tests once, saying so; rules.py: what a world checks of its server
  between examples (SERVER-SILENT, EXPORT-LOST), and NOT-REPEATABLE (a run on real sockets
  that Hypothesis could not repeat).
- proxied.py: an example's target through a per-message fault proxy.
- replay.py: the targets of a replayed machine, built without pytest.
"""
