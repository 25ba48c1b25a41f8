"""Drivers for the real processes the suite starts: the servers it tests against or
through (NFS-Ganesha, go-nfs, our own `nfsprop serve`), the tools it drives them with (Toxiproxy,
the libnfs command-line tools, an rpcbind for Ganesha's start-up) and `nfsprop mount`.

Rules: every peer is a real process on 127.0.0.1 that this package starts, watches with
bounded waits and ends by pid; nothing here ever signals a process it did not start. The
long-lived ones are PeerProcesses: one base for running/pid, kill (a crash), stop,
restart and the `with` block. A missing peer raises PeerNotInstalled naming `bash
scripts/bootstrap`: the tests fail with that hint, they never skip. The modules, one job
each:

- processes.py: finding binaries, starting, reading and ending processes; PeerProcess.
- ports.py: free loopback ports for peers configured with fixed ones.
- rpcping.py: NULL calls that tell whether an RPC program answers.
- rpcbind.py: the rpcbind Ganesha needs while it starts.
- ganesha_config.py: one private Ganesha's ganesha.conf.  ganesha.py: that Ganesha.
- gonfs.py: go-nfs (nfsprop-gonfs, built from scripts/gonfs), a second foreign server.
- reference_server.py: `nfsprop serve` (ServerProcess), the reference server.
- toxiproxy.py: Toxiproxy, a TCP fault injector, and its API.
- libnfs.py: the libnfs tools (nfs-ls, nfs-cp, nfs-cat) as an independent client.
- fuse_mount.py: `nfsprop mount` (MountProcess), a FUSE mount of an export.
"""
