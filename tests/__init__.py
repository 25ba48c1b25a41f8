"""Unit tests of single engines (the property suite lives in properties/)."""
