"""Tests of the ONC RPC runtime (reference/rpc)."""
