"""Tests that start the real peers (NFS-Ganesha, Toxiproxy, libnfs tools) on 127.0.0.1."""
