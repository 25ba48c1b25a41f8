"""Tests of the AFS-style callback file service (reference/afs)."""
