"""The XDR properties: the generated codecs of every committed spec.

Strategies come from the compiler's own resolved model of each spec, never written per
type, so every spec the compiler accepts is covered. The modules, one job each:

- strategies.py: Hypothesis strategies derived from a resolved XDR model.
- test_xdr.py: round trips, and arbitrary or truncated bytes decode or raise XdrError.
"""
