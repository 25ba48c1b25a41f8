"""Tests of the reference NFS server's store, handles and file system (reference/nfs)."""
