"""Tests of the XDR stub compiler (reference/xdr)."""
