"""The nfsprop property suite: what is tested, where it runs and how it runs.

A property family drives a server (or clients) in a world and judges what it sees; the
harness runs families under pytest and Hypothesis and replays their failures. The
packages and modules, one job each:

- harness/: no protocol knowledge: the pytest plugin, Hypothesis profiles and seeds,
  the `nfsprop check` summary, findings (stable codes, verdicts) and their recording,
  recorded state-machine steps, replay files and families.
- baselines/: the known findings of foreign servers (TOML), shipped for ganesha and gonfs.
- worlds/: where a property runs: the world registry (name -> Capabilities and how its
  server starts), the Target interface, the simulation and the real-socket worlds.
- peers/: the processes the suite starts and owns: NFS-Ganesha, Toxiproxy, rpcbind,
  `nfsprop serve`, the FUSE mount.
- nfs3/: the NFSv3 server family: wire, model file system, state machine, handles,
  the rules a server may break, its properties.
- nfs_client/: the caching NFS client family (close-to-open, bounded staleness,
  convergence, durability) in a simulated world of clients.
- afs/: the AFS-style callback service family.
- rpc/: the ONC RPC family: at-most-once, bad input, record marking, Toxiproxy streams.
- xdr/: the XDR family: strategies from the .x specs, round trips.
- families.py: the registry of families (replay kind -> Family).
- conftest.py: the `world`, `capabilities` and `target_factory` fixtures.
- cli.py: the `nfsprop` command (its header says why it lives here).

A new world is one entry in worlds/registry.py (and its module); a new family is one
package and one line in families.py.
"""
