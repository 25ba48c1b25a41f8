"""Drivers for the real peers the suite tests against or through: NFS-Ganesha (`ganesha`),
Toxiproxy (`toxiproxy`) and the libnfs command-line tools (`libnfs`).

Rules: every peer is a real process on 127.0.0.1 that this package starts, watches with
bounded waits and ends by pid; nothing here ever signals a process it did not start. A
missing peer raises PeerNotInstalled naming `bash scripts/bootstrap`: the tests fail with
that hint, they never skip.
"""
