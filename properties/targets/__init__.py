"""Targets: an NFS server the properties can talk to, in one of the worlds."""
